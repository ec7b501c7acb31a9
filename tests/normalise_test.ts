import assert from "node:assert/strict";
import { normaliseSyslog } from "../lib/syslog/normalise.ts";
import { type ParsedSyslog, parseSyslog } from "../lib/syslog/parse.ts";
import type { Frame } from "../lib/syslog/framing.ts";

const TOKEN = "0b6d4f7e-1a2b-4c3d-9e8f-123456789abc";
const RECEIVED = new Date("2026-11-27T12:00:05.000Z");
const FRAME: Frame = { bytes: new Uint8Array(0) };

function parsed(extra: Partial<ParsedSyslog> = {}): ParsedSyslog {
  return {
    timestamp: "2026-11-27T12:00:00.123Z",
    message: "hello",
    syslog: { host: "web-1", appName: "app", severity: "info", facility: "local0", priority: 134 },
    ...extra,
  };
}

Deno.test("a plain message keeps its fields and records the input", () => {
  const { event, tags } = normaliseSyslog(parsed(), FRAME, "udp", undefined, RECEIVED);
  assert.deepEqual(event, {
    timestamp: "2026-11-27T12:00:00.123Z",
    message: "hello",
    syslog: { host: "web-1", appName: "app", severity: "info", facility: "local0", priority: 134 },
    relay: { input: "udp" },
  });
  assert.deepEqual(tags, []);
});

Deno.test("Loggly's SD element becomes tags and leaves the event", () => {
  const structuredData = {
    [`${TOKEN}@41058`]: { tag: ["a", "b"] },
    "meta@1": { k: "v" },
  };
  const { event, tags } = normaliseSyslog(
    parsed({ syslog: { host: "h", structuredData } }),
    FRAME,
    "tcp",
    undefined,
    RECEIVED,
  );
  assert.deepEqual(tags, ["a", "b"]);
  assert.deepEqual(event.syslog?.structuredData, { "meta@1": { k: "v" } });
  assert.ok(!JSON.stringify(event).includes(TOKEN));
});

Deno.test("a single tag= is one tag", () => {
  const structuredData = { [`${TOKEN}@41058`]: { tag: "only" } };
  const { tags } = normaliseSyslog(
    parsed({ syslog: { structuredData } }),
    FRAME,
    "udp",
    undefined,
    RECEIVED,
  );
  assert.deepEqual(tags, ["only"]);
});

Deno.test("when Loggly's element was the only SD, structuredData is left out", () => {
  const structuredData = { [`${TOKEN}@41058`]: { tag: "x" } };
  const { event } = normaliseSyslog(
    parsed({ syslog: { host: "h", structuredData } }),
    FRAME,
    "udp",
    undefined,
    RECEIVED,
  );
  assert.deepEqual(event.syslog, { host: "h" });
});

Deno.test("normalising does not change the parsed message", () => {
  const p = parsed({ syslog: { structuredData: { [`${TOKEN}@41058`]: { tag: "x" } } } });
  const copy = structuredClone(p);
  normaliseSyslog(p, FRAME, "udp", undefined, RECEIVED);
  assert.deepEqual(p, copy);
});

Deno.test("Loggly's element from a real RFC 5424 line gives tags and no token", () => {
  const line = `<134>1 2026-11-27T12:00:00.123Z web-1 app 42 ID7 ` +
    `[${TOKEN}@41058 tag="a" tag="b"][meta@1 k="v"] {"x":1}`;
  const p = parseSyslog(new TextEncoder().encode(line), { now: RECEIVED, timeZone: "UTC" });
  const { event, tags } = normaliseSyslog(p, FRAME, "tcp", "10.0.0.1:5000", RECEIVED);
  assert.deepEqual(tags, ["a", "b"]);
  assert.deepEqual(event.syslog?.structuredData, { "meta@1": { k: "v" } });
  assert.deepEqual(event.json, { x: 1 });
  assert.ok(!JSON.stringify(event).includes(TOKEN));
});

Deno.test("without a timestamp the event takes the time it was received", () => {
  const { event } = normaliseSyslog(
    parsed({ timestamp: undefined }),
    FRAME,
    "udp",
    undefined,
    RECEIVED,
  );
  assert.equal(event.timestamp, "2026-11-27T12:00:05.000Z");
});

Deno.test("peer, parseError and the frame's truncation go into relay", () => {
  const frame: Frame = {
    bytes: new Uint8Array(0),
    truncated: { originalBytes: 9000, limit: 4096 },
  };
  const { event } = normaliseSyslog(
    parsed({ parseError: "Timestamp could not be read" }),
    frame,
    "tcp",
    "192.0.2.7:40000",
    RECEIVED,
  );
  assert.deepEqual(event.relay, {
    input: "tcp",
    peer: "192.0.2.7:40000",
    parseError: "Timestamp could not be read",
    truncated: { originalBytes: 9000, limit: 4096 },
  });
});

Deno.test("a message without a header has no syslog field", () => {
  const { event } = normaliseSyslog(
    { message: "just text", parseError: "No header" },
    FRAME,
    "udp",
    undefined,
    RECEIVED,
  );
  assert.equal("syslog" in event, false);
  assert.equal(event.message, "just text");
});

Deno.test("JSON keys come in the order timestamp, message, syslog, json, relay", () => {
  const { event } = normaliseSyslog(
    parsed({ json: { a: 1 } }),
    FRAME,
    "udp",
    "127.0.0.1:1",
    RECEIVED,
  );
  assert.deepEqual(Object.keys(event), ["timestamp", "message", "syslog", "json", "relay"]);
  assert.match(JSON.stringify(event), /^\{"timestamp":.*"message":.*"syslog":.*"json":.*"relay":/);
});
