/**
 * Property tests of the syslog parser, with a small seeded PRNG and no dependency but Deno:
 *
 * 1. Random bytes (any length, invalid UTF-8, NULs, huge or broken PRIs, brackets, fragments of
 *    real headers, mutated valid messages) never make parseSyslog throw, and every result is
 *    either a usable event (a PRI was read and every field is well formed) or names a parseError.
 * 2. Generated valid RFC 5424 messages (every PRI, RFC 3339 stamps with fractions and offsets,
 *    PRINTUSASCII header fields of every allowed length or NILVALUE, up to three SD elements with
 *    escaped values, UTF-8 MSG with or without BOM) parse back to exactly the generated fields.
 *
 * The seed is printed with every failure; SYSLOG_PROPERTY_SEED=<n> (with --allow-env) replays
 * another run. Without --allow-env the fixed default seed is used.
 */
import { FACILITIES, RESULT_KEYS, SEVERITIES, SYSLOG_KEYS } from "./oracle.ts";
import assert from "node:assert/strict";
import { encodeEvent } from "../lib/encode.ts";
import type { StructuredData, SyslogFields } from "../lib/event.ts";
import { normaliseSyslog } from "../lib/syslog/normalise.ts";
import { type ParsedSyslog, parseSyslog } from "../lib/syslog/parse.ts";

const DEFAULT_SEED = 0x5eed5424;
const RANDOM_INPUTS = 25_000;
const ROUND_TRIPS = 6_000;
const NOW = new Date("2026-11-27T12:00:00Z");

/** The seed from SYSLOG_PROPERTY_SEED when env access is granted, else the default. */
function chooseSeed(): number {
  try {
    const name = "SYSLOG_PROPERTY_SEED";
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return DEFAULT_SEED;
    }
    const value = Deno.env.get(name);
    return value === undefined || value === "" ? DEFAULT_SEED : Number(value) >>> 0;
  } catch {
    return DEFAULT_SEED;
  }
}

const SEED = chooseSeed();

/** mulberry32 with a splitmix-style seed mix: tiny, fast, reproducible. */
class Rng {
  #state: number;

  constructor(seed: number) {
    let z = (seed + 0x9e3779b9) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    this.#state = (z ^ (z >>> 16)) | 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.#state ^ (this.#state >>> 15), 1 | this.#state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** A generator for case `index` of a run: each case can be replayed on its own. */
function caseRng(seed: number, stream: number, index: number): Rng {
  return new Rng(seed ^ Math.imul(stream, 0x27d4eb2d) ^ Math.imul(index + 1, 0x165667b1));
}

const encoder = new TextEncoder();

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ------------------------------------------------------------------ generated RFC 5424 messages

/** A string of `length` characters from PRINTUSASCII (33..126) minus `exclude`. */
function printUsAscii(rng: Rng, length: number, exclude = ""): string {
  let out = "";
  while (out.length < length) {
    const c = String.fromCharCode(33 + rng.int(94));
    if (!exclude.includes(c)) out += c;
  }
  return out;
}

/** A length in [1, max], mostly short, sometimes exactly max. */
function fieldLength(rng: Rng, max: number): number {
  if (rng.chance(0.1)) return max;
  if (rng.chance(0.6)) return rng.range(1, Math.min(max, 12));
  return rng.range(1, max);
}

/** Any Unicode text, no U+FEFF (a leading one is the BOM) and no lone surrogates. */
function unicodeText(rng: Rng, maxLength: number): string {
  const pools = [
    " abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ ",
    "äöüßéèçñøåÄÖÜ€£¥§°±µ",
    "日本語中文한국어עבריתالعربية",
    "\t\u00a0\u2028\u2029\u200b\u0301",
    "😀🚀👍🏽🇩🇪𝄞",
  ];
  const length = rng.int(maxLength + 1);
  let out = "";
  while ([...out].length < length) {
    const pool = [...rng.pick(pools)];
    out += rng.pick(pool);
  }
  return out;
}

/** A small random JSON object (as a value and as text). */
function jsonObject(rng: Rng, depth = 0): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  const keys = rng.int(5);
  for (let k = 0; k < keys; k++) {
    const key = rng.chance(0.05) ? "__proto__" : rng.chance(0.5) ? `k${k}` : unicodeText(rng, 6);
    const kind = rng.int(depth < 2 ? 7 : 5);
    const value = kind === 0
      ? rng.int(1_000_000) - 500_000
      : kind === 1
      ? rng.next()
      : kind === 2
      ? unicodeText(rng, 12)
      : kind === 3
      ? rng.chance(0.5)
      : kind === 4
      ? null
      : kind === 5
      ? [rng.int(10), unicodeText(rng, 4)]
      : jsonObject(rng, depth + 1);
    if (key === "__proto__") {
      Object.defineProperty(object, key, { value, enumerable: true, writable: true });
    } else {
      object[key] = value;
    }
  }
  return object;
}

/** Sets an own property, also for "__proto__". */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    configurable: true,
    writable: true,
  });
}

const SD_NAME_EXCLUDE = '= ]"';

/** An SD-NAME: 1..32 PRINTUSASCII except '=', SP, ']' and '"'. */
function sdName(rng: Rng, pool: readonly string[]): string {
  if (rng.chance(0.3)) return rng.pick(pool);
  return printUsAscii(rng, fieldLength(rng, 32), SD_NAME_EXCLUDE);
}

/** A PARAM-VALUE as sent: '"', '\' and ']' escaped; a '\' before another character may stay bare. */
function escapeValue(rng: Rng, value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"' || c === "]") {
      out += "\\" + c;
    } else if (c === "\\") {
      const next = value[i + 1];
      const bareAllowed = next !== undefined && next !== '"' && next !== "\\" && next !== "]";
      out += bareAllowed && rng.chance(0.5) ? "\\" : "\\\\";
    } else {
      out += c;
    }
  }
  return out;
}

function paramValue(rng: Rng): string {
  if (rng.chance(0.3)) {
    return rng.pick(['"', "\\", "]", '\\"', '"]', "\\\\", "a\\b", "[x]", "", " ", "a=b", "\\n"]) +
      (rng.chance(0.5) ? unicodeText(rng, 6) : "");
  }
  return unicodeText(rng, 24);
}

interface GeneratedMessage {
  text: string;
  expected: ParsedSyslog;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/** An RFC 3339 TIMESTAMP as RFC 5424 allows it, and the instant it means (ISO, UTC, ms). */
function timestamp(rng: Rng): { text: string; iso: string } {
  const year = rng.chance(0.85)
    ? rng.range(1970, 2099)
    : rng.chance(0.6)
    ? rng.range(0, 9999)
    : rng.pick([0, 1, 99, 100, 1582, 1900, 2000, 9999]);
  const month = rng.range(1, 12);
  const day = rng.chance(0.1) ? daysIn(year, month) : rng.range(1, daysIn(year, month));
  const hour = rng.range(0, 23);
  const minute = rng.range(0, 59);
  const second = rng.range(0, 59);
  const fractionDigits = rng.chance(0.3) ? 0 : rng.range(1, 6);
  let fraction = "";
  for (let k = 0; k < fractionDigits; k++) fraction += String(rng.int(10));
  const ms = Number(fraction.padEnd(3, "0").slice(0, 3)); // digits past the third are cut
  let offsetMinutes = 0;
  let zone = "Z";
  if (rng.chance(0.75)) {
    const hours = rng.chance(0.7) ? rng.pick([0, 1, 2, 3, 5, 8, 9, 10]) : rng.range(0, 23);
    const minutes = rng.chance(0.7) ? rng.pick([0, 0, 30, 45]) : rng.range(0, 59);
    const sign = rng.chance(0.5) ? -1 : 1;
    offsetMinutes = sign * (hours * 60 + minutes);
    zone = `${sign < 0 ? "-" : "+"}${pad(hours, 2)}:${pad(minutes, 2)}`;
  }
  const text =
    `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:` +
    `${pad(second, 2)}${fractionDigits > 0 ? "." + fraction : ""}${zone}`;
  const wall = new Date(0);
  wall.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, takes years 0..99 literally
  wall.setUTCHours(hour, minute, second, ms);
  return { text, iso: new Date(wall.getTime() - offsetMinutes * 60_000).toISOString() };
}

/** A valid RFC 5424 message and the parse result it must give. */
function generate5424(rng: Rng): GeneratedMessage {
  const priority = rng.int(192);
  const syslog: SyslogFields = {};
  const expected: ParsedSyslog = { message: "" };
  let stamp = "-";
  if (rng.chance(0.9)) {
    const t = timestamp(rng);
    stamp = t.text;
    expected.timestamp = t.iso;
  }
  // HOSTNAME 255, APP-NAME 48, PROCID 128, MSGID 32; a lone "-" is the NILVALUE either way.
  const fields = (["host", "appName", "procId", "msgId"] as const).map((key, k) => {
    if (rng.chance(0.15)) return "-";
    const value = printUsAscii(rng, fieldLength(rng, [255, 48, 128, 32][k]));
    if (value !== "-") syslog[key] = value;
    return value;
  });
  let sdText = "";
  const elements = rng.pick([0, 0, 1, 1, 2, 3]);
  if (elements > 0) {
    const data: StructuredData = {};
    const ids = new Set<string>();
    for (let e = 0; e < elements; e++) {
      let id = rng.chance(0.5)
        ? `${printUsAscii(rng, rng.range(1, 20), SD_NAME_EXCLUDE + "@")}@${rng.range(1, 99999)}`
        : sdName(rng, ["timeQuality", "origin", "meta", "__proto__", "constructor", "x"]);
      while (ids.has(id)) id += "x"; // an SD-ID must not repeat in a message
      if (id.length > 32) continue;
      ids.add(id);
      const params: Record<string, string | string[]> = {};
      setOwn(data, id, params);
      sdText += `[${id}`;
      const count = rng.int(5);
      for (let p = 0; p < count; p++) {
        const name = sdName(rng, ["a", "ip", "a", "__proto__", "toString"]); // names may repeat
        const value = paramValue(rng);
        sdText += ` ${name}="${escapeValue(rng, value)}"`;
        if (!Object.hasOwn(params, name)) setOwn(params, name, value);
        else {
          const before = params[name];
          setOwn(params, name, Array.isArray(before) ? [...before, value] : [before, value]);
        }
      }
      sdText += "]";
    }
    if (ids.size > 0) syslog.structuredData = data;
  }
  let msgText = "";
  if (rng.chance(0.85)) {
    const kind = rng.int(10);
    let message: string;
    if (kind === 0) {
      message = "";
    } else if (kind <= 2) {
      const value = jsonObject(rng);
      message = (kind === 2 ? "@cee: " : rng.pick(["", " "])) + JSON.stringify(value);
      expected.json = JSON.parse(JSON.stringify(value));
    } else {
      message = kind <= 5 ? unicodeText(rng, 80) : printUsAscii(rng, rng.int(200));
      if (rng.chance(0.1)) message = "  " + message;
      const start = message.trimStart();
      if (start.startsWith("{") || message.startsWith("@cee:")) message = "x" + message;
    }
    message = message.replace(/[\r\n\0]+$/, ""); // trailing line ends are framing, not message
    expected.message = message;
    msgText = " " + (rng.chance(0.3) ? "\ufeff" : "") + message;
  }
  syslog.facility = FACILITIES[priority >> 3];
  syslog.severity = SEVERITIES[priority & 7];
  syslog.priority = priority;
  expected.syslog = syslog;
  const trailer = rng.chance(0.15) ? rng.pick(["\n", "\r\n", "\0", "\n\0"]) : "";
  const text = `<${priority}>1 ${stamp} ${fields.join(" ")} ${sdText || "-"}${msgText}${trailer}`;
  return { text, expected };
}

Deno.test(`property: ${ROUND_TRIPS} generated RFC 5424 messages round-trip field by field`, () => {
  const stats = { sd: 0, bom: 0, json: 0, nilStamp: 0, maxHost: 0 };
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const { text, expected } = generate5424(caseRng(SEED, 2, i));
    const parsed = parseSyslog(encoder.encode(text), { now: NOW, timeZone: "Europe/Berlin" });
    try {
      assert.deepEqual(parsed, expected);
    } catch (error) {
      throw new Error(
        `seed ${SEED}, round-trip case ${i}: ${JSON.stringify(text)}\n${(error as Error).message}`,
      );
    }
    if (expected.syslog?.structuredData) stats.sd++;
    if (text.includes("\ufeff")) stats.bom++;
    if (expected.json) stats.json++;
    if (expected.timestamp === undefined) stats.nilStamp++;
    if (expected.syslog?.host?.length === 255) stats.maxHost++;
  }
  // The generator must actually reach the interesting shapes.
  assert.ok(
    stats.sd > ROUND_TRIPS / 3 && stats.bom > 500 && stats.json > 500,
    JSON.stringify(stats),
  );
  assert.ok(stats.nilStamp > 200 && stats.maxHost > 50, JSON.stringify(stats));
});

// ------------------------------------------------------------------ random bytes

const PRI_FORMS = [
  "<0>",
  "<13>",
  "<191>",
  "<192>",
  "<999>",
  "<00013>",
  "<013>",
  "<-1>",
  "<>",
  "< 13>",
  "<1e3>",
  "<0x1f>",
  "<4294967296>",
  "<18446744073709551617>",
  "<99999999999999999999999999999999999999>",
  "<" + "9".repeat(400) + ">",
  "<13",
  "<",
  ">",
  "13>",
];

const FRAGMENTS: readonly (string | number[])[] = [
  "1 ",
  "1",
  "-",
  " ",
  "  ",
  "[",
  "]",
  "[x@1",
  ' a="',
  '"]',
  '[x@1 a="v"]',
  "\\",
  '\\"',
  "\\]",
  "=",
  '"',
  "@",
  ":",
  ": ",
  "Nov 26 21:30:46",
  "Feb 29 12:00:00",
  "*Mar  1 00:00:18.123 UTC",
  ".Nov 26 2026 21:30:46.5 CET",
  "Dec 31 23:59:59 ",
  "2026-11-26T21:30:46.123+01:00",
  "2026-02-30T25:61:61Z",
  "9999-12-31T23:59:59.999999999-23:59",
  "0000-01-01T00:00:00Z",
  "2026-11-26T21:30:46+99:99",
  "2026-11-26t21:30:46z",
  "%ASA-6-302013: ",
  "123: ",
  "000123: ",
  "host: ",
  "app[1]: ",
  "app[",
  "[]",
  "{",
  "}",
  '{"a":1}',
  "@cee:",
  "\t",
  "\r",
  "\n",
  "\r\n",
  "\0",
  "ü",
  "日本",
  "\u2028",
  [0xef, 0xbb, 0xbf],
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80, 0x80],
  [0xf0, 0x9f, 0x98, 0x80],
];

const INTERESTING_BYTES = [
  ...encoder.encode('<>[]"\\ =@:-.*%{}\r\n\t0123456789TZ+1'),
  0x00,
  0xff,
  0xc3,
  0x80,
  0xef,
];

const LENGTHS = [0, 1, 2, 3, 4, 5, 8, 13, 32, 64, 100, 255, 256, 512, 1024, 2048, 4096];

function randomInput(rng: Rng): Uint8Array {
  const mode = rng.int(5);
  const length = rng.chance(0.005) ? 65_536 : rng.pick(LENGTHS);
  if (mode === 0) { // uniform bytes, sometimes behind a PRI
    const body = new Uint8Array(length);
    for (let j = 0; j < length; j++) body[j] = rng.int(256);
    return rng.chance(0.5) ? concat([encoder.encode(rng.pick(PRI_FORMS)), body]) : body;
  }
  if (mode === 1) { // bytes that matter to the parser, densely
    const body = new Uint8Array(length);
    for (let j = 0; j < length; j++) body[j] = rng.pick(INTERESTING_BYTES);
    return rng.chance(0.5) ? concat([encoder.encode(rng.pick(PRI_FORMS)), body]) : body;
  }
  if (mode === 2) { // header fragments glued together
    const parts: Uint8Array[] = [];
    let total = 0;
    if (rng.chance(0.8)) parts.push(encoder.encode(rng.pick(PRI_FORMS)));
    while (total < length) {
      const f = rng.pick(FRAGMENTS);
      const bytes = typeof f === "string" ? encoder.encode(f) : Uint8Array.from(f);
      parts.push(bytes);
      total += bytes.length;
    }
    return concat(parts);
  }
  // A valid message, mutated: flipped, inserted, deleted bytes, or cut short.
  const bytes = [...encoder.encode(generate5424(rng).text)];
  const edits = rng.range(1, 8);
  for (let e = 0; e < edits && bytes.length > 0; e++) {
    const at = rng.int(bytes.length);
    const op = rng.int(4);
    if (op === 0) bytes[at] = rng.chance(0.5) ? rng.int(256) : rng.pick(INTERESTING_BYTES);
    else if (op === 1) bytes.splice(at, 0, rng.pick(INTERESTING_BYTES));
    else if (op === 2) bytes.splice(at, 1);
    else bytes.length = at;
  }
  return Uint8Array.from(bytes);
}

const lenientDecoder = new TextDecoder();

/** A result is a usable event, or it names a parseError; every field present is well formed. */
function checkResult(r: ParsedSyslog, bytes: Uint8Array): void {
  for (const key of Object.keys(r)) assert.ok(RESULT_KEYS.has(key), `unknown key ${key}`);
  assert.equal(typeof r.message, "string");
  assert.ok(!/[\r\n\0]$/.test(r.message), "the message ends with a line end or NUL");
  const text = lenientDecoder.decode(bytes);
  assert.ok(text.includes(r.message), "the message is not text of the input");
  if (r.timestamp !== undefined) {
    assert.equal(new Date(r.timestamp).toISOString(), r.timestamp, "timestamp form");
  }
  if (r.parseError !== undefined) {
    assert.ok(typeof r.parseError === "string" && r.parseError.length > 0, "empty parseError");
  } else {
    // Usable: without a parseError, a PRI was read.
    assert.equal(typeof r.syslog?.priority, "number", "no parseError, yet no PRI");
  }
  if (r.syslog !== undefined) {
    const s = r.syslog;
    assert.ok(Object.keys(s).length > 0, "empty syslog object");
    for (const key of Object.keys(s)) assert.ok(SYSLOG_KEYS.has(key), `unknown syslog key ${key}`);
    if (s.priority !== undefined) {
      assert.ok(Number.isInteger(s.priority) && s.priority >= 0 && s.priority <= 191, "PRI");
      assert.equal(s.facility, FACILITIES[s.priority >> 3]);
      assert.equal(s.severity, SEVERITIES[s.priority & 7]);
    } else {
      assert.equal(s.facility, undefined);
      assert.equal(s.severity, undefined);
    }
    for (const key of ["host", "appName", "procId", "msgId"] as const) {
      const value = s[key];
      if (value === undefined) continue;
      assert.ok(typeof value === "string" && value.length > 0, `empty ${key}`);
      assert.ok(!value.includes(" "), `${key} holds a space`);
      assert.ok(text.includes(value), `${key} is not text of the input`);
    }
    if (s.structuredData !== undefined) {
      assert.ok(Object.keys(s.structuredData).length > 0, "empty structuredData");
      for (const params of Object.values(s.structuredData)) {
        for (const value of Object.values(params)) {
          const values = Array.isArray(value) ? value : [value];
          assert.ok(values.length > 0 && values.every((v) => typeof v === "string"), "SD value");
        }
      }
    }
  }
  if (r.json !== undefined) {
    assert.ok(r.json !== null && typeof r.json === "object" && !Array.isArray(r.json), "json");
  }
}

Deno.test(`property: ${RANDOM_INPUTS} random inputs never throw and give an event or a parseError`, () => {
  let withError = 0;
  let withPri = 0;
  for (let i = 0; i < RANDOM_INPUTS; i++) {
    const bytes = randomInput(caseRng(SEED, 1, i));
    try {
      const parsed = parseSyslog(bytes, { now: NOW, timeZone: i % 2 ? "Europe/Berlin" : "UTC" });
      checkResult(parsed, bytes);
      const { event } = normaliseSyslog(parsed, { bytes }, "udp", "192.0.2.1", NOW);
      const encoded = encodeEvent(event, 1_000_000).bytes;
      assert.ok(encoded.length <= 1_000_000, "event over the size limit");
      JSON.parse(new TextDecoder().decode(encoded));
      if (parsed.parseError !== undefined) withError++;
      if (parsed.syslog?.priority !== undefined) withPri++;
    } catch (error) {
      const shown = bytes.length > 4096 ? `${bytes.length} bytes` : hex(bytes);
      throw new Error(
        `seed ${SEED}, random case ${i}: ${(error as Error).message}\ninput (hex): ${shown}`,
      );
    }
  }
  // Both outcomes must be well represented, or the generator is not exploring.
  assert.ok(
    withError > RANDOM_INPUTS / 10 && withPri > RANDOM_INPUTS / 3,
    `${withError} ${withPri}`,
  );
});
