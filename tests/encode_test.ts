import assert from "node:assert/strict";
import { byteLength, encodeEvent, EventEncoder, truncateEvent } from "../lib/encode.ts";
import type { Event } from "../lib/event.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

function event(message: string, extra: Partial<Event> = {}): Event {
  return {
    timestamp: "2026-11-27T12:00:00.000Z",
    message,
    syslog: {
      host: "web-1",
      appName: "nginx",
      severity: "info",
      facility: "local0",
      priority: 134,
    },
    relay: { input: "tcp", peer: "10.0.0.7:51234" },
    ...extra,
  };
}

/** Encodes and decodes back, failing on invalid UTF-8 or JSON. */
function roundTrip(e: Event, maxBytes: number): { out: Event; length: number; cut: boolean } {
  const { bytes, cut } = encodeEvent(e, maxBytes);
  return { out: JSON.parse(decoder.decode(bytes)), length: bytes.length, cut };
}

Deno.test("a small event is encoded unchanged", () => {
  const e = event("hello", { json: { a: 1, b: ["x"] } });
  const { out, cut, length } = roundTrip(e, 1000);
  assert.equal(cut, false);
  assert.deepEqual(out, e);
  assert.equal(length, byteLength(JSON.stringify(e)));
});

Deno.test("an event exactly at the limit is not cut", () => {
  const e = event("hello");
  const size = byteLength(JSON.stringify(e));
  assert.equal(encodeEvent(e, size).cut, false);
  assert.equal(encodeEvent(e, size - 1).cut, true);
});

Deno.test("an event over the limit is cut to fit and marked relay.truncated", () => {
  const e = event("m".repeat(5000));
  const original = byteLength(JSON.stringify(e));
  const { out, cut, length } = roundTrip(e, 1000);
  assert.equal(cut, true);
  assert.ok(length <= 1000, `${length} bytes`);
  assert.deepEqual(out.relay.truncated, { originalBytes: original, limit: 1000 });
  assert.ok(e.message.startsWith(out.message));
  assert.ok(out.message.length > 500, "the message keeps as much as fits");
  assert.deepEqual(out.syslog, e.syslog);
  assert.equal(out.relay.peer, e.relay.peer);
});

Deno.test("json is dropped first when cutting", () => {
  const body = { text: "j".repeat(3000) };
  const e = event(JSON.stringify(body), { json: body });
  const { out, length } = roundTrip(e, 2000);
  assert.ok(length <= 2000);
  assert.equal(out.json, undefined);
  assert.ok(out.message.length > 1000);
  assert.ok(out.relay.truncated);
});

Deno.test("cutting does not change the original event", () => {
  const e = event("m".repeat(5000), { json: { a: 1 } });
  const copy = structuredClone(e);
  truncateEvent(e, 99999, 1000);
  assert.deepEqual(e, copy);
});

Deno.test("a second cut keeps the largest original size and the smallest limit", () => {
  const e = event("m".repeat(5000));
  const once = truncateEvent(e, 9000, 2000);
  const twice = truncateEvent(once, 1900, 1000);
  assert.deepEqual(twice.relay.truncated, { originalBytes: 9000, limit: 1000 });
});

Deno.test("multi-byte characters are never split, at any limit", () => {
  const message = "😀漢字é".repeat(300);
  for (let limit = 300; limit < 340; limit++) {
    const { out, length } = roundTrip(event(message), limit); // fatal decoder: no bad UTF-8
    assert.ok(length <= limit, `${length} > ${limit}`);
    assert.ok(message.startsWith(out.message), `limit ${limit}: not a prefix`);
    assert.ok(!/[\uD800-\uDBFF]$/.test(out.message), `limit ${limit}: half a surrogate pair`);
  }
});

Deno.test("a message of control characters and quotes (escapes expand) still fits", () => {
  const message = '\u0001"\\\n\t\u001f😀'.repeat(2000);
  for (let limit = 500; limit < 560; limit++) {
    const { out, length } = roundTrip(event(message), limit);
    assert.ok(length <= limit, `${length} > ${limit}`);
    assert.ok(message.startsWith(out.message));
    assert.ok(out.message.length > 0);
    assert.ok(!/[\uD800-\uDBFF]$/.test(out.message), `limit ${limit}: half a surrogate pair`);
  }
});

Deno.test("structured data goes when the header alone takes over half the limit", () => {
  const structuredData = { "meta@1": { big: "s".repeat(800) } };
  const e = event("m".repeat(2000), { syslog: { host: "h", structuredData } });
  const { out, length } = roundTrip(e, 1000);
  assert.ok(length <= 1000);
  assert.equal(out.syslog?.host, "h");
  assert.equal(out.syslog?.structuredData, undefined);
});

Deno.test("a 3 MB message fits Loggly's 1,000,000-byte event limit", () => {
  const message = "línea ✓ ".repeat(300_000); // about 3 MB of UTF-8
  assert.ok(byteLength(message) > 3_000_000);
  const { out, length, cut } = roundTrip(event(message), 1_000_000);
  assert.equal(cut, true);
  assert.ok(length <= 1_000_000, `${length} bytes`);
  assert.ok(length > 999_000, `${length} bytes: should use nearly all of the limit`);
  assert.ok(message.startsWith(out.message));
});

Deno.test("EventEncoder gives the same bytes as encodeEvent, small events or large", () => {
  const encoder = new EventEncoder(1_000_000);
  for (let i = 0; i < 5000; i += 7) {
    const event: Event = {
      timestamp: "2026-11-26T21:30:46.123Z",
      // Up to ~120 kB of UTF-8: past the encoder's buffer now and then.
      message: `event ${i} ${"é🙂".repeat(i % 50 === 0 ? i * 4 : i % 50)}`,
      relay: { input: "tcp" },
    };
    // Compared at once: the bytes are valid until the next encoding.
    assert.deepEqual(encoder.encode(event).bytes, encodeEvent(event, 1_000_000).bytes);
  }
});

Deno.test("EventEncoder cuts an event over the limit, like encodeEvent", () => {
  const event: Event = { timestamp: "t", message: "x".repeat(5000), relay: { input: "udp" } };
  const { bytes, cut } = new EventEncoder(1000).encode(event);
  assert.equal(cut, true);
  assert.deepEqual(bytes, encodeEvent(event, 1000).bytes);
});

Deno.test("EventEncoder reuses one buffer: each encoding overwrites the last", () => {
  const enc = new EventEncoder(1_000_000);
  const event = (n: number): Event => ({
    timestamp: "t",
    message: `e${n}`,
    relay: { input: "tcp" },
  });
  const first = enc.encode(event(1)).bytes;
  const second = enc.encode(event(2)).bytes;
  assert.equal(first.buffer, second.buffer);
  assert.equal(new TextDecoder().decode(first), new TextDecoder().decode(second));
  assert.equal(JSON.parse(new TextDecoder().decode(second)).message, "e2");
  assert.equal(enc.encodeWhole({ a: 1 })?.buffer, second.buffer);
});
