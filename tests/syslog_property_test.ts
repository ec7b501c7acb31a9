/**
 * Property tests of the syslog parser, with a seeded generator (SYSLOG_PROPERTY_SEED replays):
 * random bytes never make it throw, and generated valid RFC 5424 messages round-trip field by field.
 */
import { FACILITIES, mulberry32, SEVERITIES } from "./oracle.ts";
import assert from "node:assert/strict";
import { encodeEvent } from "../lib/encode.ts";
import { normaliseSyslog } from "../lib/syslog/normalise.ts";
import { parseSyslog } from "../lib/syslog/parse.ts";

const SEED = Number(Deno.env.get("SYSLOG_PROPERTY_SEED") ?? 5424);
const NOW = new Date("2026-11-26T12:00:00Z");

/** Helpers over one seeded stream. */
function generator(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]) => items[int(items.length)];
  /** PRINTUSASCII (33..126) without the characters that matter in the header or SD names. */
  const token = (max: number, exclude = "") => {
    let out = "";
    const length = 1 + int(max);
    while (out.length < length) {
      const c = String.fromCharCode(33 + int(94));
      if (!exclude.includes(c)) out += c;
    }
    return out;
  };
  return { next, int, pick, token };
}

Deno.test("property: random bytes never make the parser throw; every event encodes within 1 MB", () => {
  const g = generator(SEED);
  const interesting = [
    0x3c,
    0x3e,
    0x5b,
    0x5d,
    0x22,
    0x5c,
    0x20,
    0x0a,
    0x0d,
    0x00,
    0xff,
    0x31,
    0x2d,
  ];
  for (let i = 0; i < 20_000; i++) {
    const length = g.pick([0, 1, 2, 5, 20, 100, 400, 3000]);
    const bytes = new Uint8Array(length);
    for (let j = 0; j < length; j++) {
      bytes[j] = g.next() < 0.5 ? g.pick(interesting) : g.int(256);
    }
    if (length > 4 && g.next() < 0.5) bytes.set(new TextEncoder().encode(`<${g.int(1000)}>`), 0);
    let encoded: Uint8Array;
    try {
      const parsed = parseSyslog(bytes, { now: NOW, timeZone: "Europe/Berlin" });
      const { event } = normaliseSyslog(parsed, { bytes }, "tcp", "127.0.0.1", NOW);
      encoded = encodeEvent(event, 1_000_000).bytes;
    } catch (error) {
      throw new Error(`seed ${SEED}, case ${i}: threw ${error} on ${JSON.stringify([...bytes])}`);
    }
    assert.ok(encoded.length <= 1_000_000);
    JSON.parse(new TextDecoder().decode(encoded));
  }
});

function escapeParam(value: string): string {
  return value.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

Deno.test("property: generated RFC 5424 messages round-trip field by field", () => {
  const g = generator(SEED + 1);
  for (let i = 0; i < 5_000; i++) {
    const priority = g.int(192);
    const ms =
      Date.UTC(2000 + g.int(40), g.int(12), 1 + g.int(28), g.int(24), g.int(60), g.int(60)) +
      g.int(1000);
    const offsetMinutes = g.pick([0, 60, -300, 330, 345, -720, 840]);
    const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
    const fraction = g.pick([
      "",
      `.${String(ms % 1000).padStart(3, "0")}`,
      `.${String(ms % 1000).padStart(3, "0")}123`,
    ]);
    const wholeMs = fraction === "" ? ms - (ms % 1000) : ms;
    const sign = offsetMinutes < 0 ? "-" : "+";
    const abs = Math.abs(offsetMinutes);
    const zone = offsetMinutes === 0 && g.next() < 0.5
      ? "Z"
      : `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${
        String(abs % 60).padStart(2, "0")
      }`;
    // A lone "-" is NILVALUE, not a value: generate "--" instead.
    const field = (max: number) => g.next() < 0.2 ? null : g.token(max).replace(/^-$/, "--");
    const host = field(255);
    const app = field(48);
    const procId = field(128);
    const msgId = field(32);
    const sd: Record<string, Record<string, string>> = {};
    const sdCount = g.int(4);
    let sdText = "";
    for (let k = 0; k < sdCount; k++) {
      const id = `${g.token(20, '= ]"@')}@${1000 + k}`;
      const name = g.token(10, '= ]"');
      const value = g.pick([
        "",
        "plain",
        'with "quote"',
        "back\\slash",
        "close]bracket",
        "ünïcødé",
      ]);
      sd[id] = { [name]: value };
      sdText += `[${id} ${name}="${escapeParam(value)}"]`;
    }
    const message = g.pick([
      "",
      "hello",
      "ünïcødé message",
      'a [bracket] and "quotes"',
      "x".repeat(300),
    ]);
    const bom = g.next() < 0.3 ? "\uFEFF" : "";
    const text = `<${priority}>1 ${local}${fraction}${zone} ${host ?? "-"} ${app ?? "-"} ` +
      `${procId ?? "-"} ${msgId ?? "-"} ${sdText || "-"}${
        message === "" && !bom ? "" : " " + bom + message
      }`;
    const parsed = parseSyslog(new TextEncoder().encode(text), { now: NOW, timeZone: "UTC" });
    const where = `seed ${SEED + 1}, case ${i}: ${JSON.stringify(text)}`;
    assert.equal(parsed.parseError, undefined, where);
    assert.equal(parsed.timestamp, new Date(wholeMs).toISOString(), where);
    assert.equal(parsed.message, message, where);
    assert.equal(parsed.syslog?.priority, priority, where);
    assert.equal(parsed.syslog?.facility, FACILITIES[priority >> 3], where);
    assert.equal(parsed.syslog?.severity, SEVERITIES[priority & 7], where);
    assert.equal(parsed.syslog?.host, host ?? undefined, where);
    assert.equal(parsed.syslog?.appName, app ?? undefined, where);
    assert.equal(parsed.syslog?.procId, procId ?? undefined, where);
    assert.equal(parsed.syslog?.msgId, msgId ?? undefined, where);
    assert.deepEqual(parsed.syslog?.structuredData ?? {}, sd, where);
  }
});
