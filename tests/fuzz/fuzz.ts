/**
 * A bounded-time mutation fuzzer for the parser, the normaliser/encoder and the TCP framer.
 *
 *   deno run -A tests/fuzz/fuzz.ts [--seconds 60] [--seed N]
 *
 * Each input must: parse, normalise and encode without throwing, to valid JSON of at most 1 MB;
 * frame without throwing, never holding more than limit + 16 bytes, and give the same frames
 * under two different random chunkings; take no more than 100 ms. Before and after, pathological
 * shapes are timed at 64 KiB, 256 KiB and 1 MiB: growth much faster than the size is a finding
 * (a 1 MB message must parse in linear time). Findings are minimised and printed; exit 1 if any.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { encodeEvent } from "../../lib/encode.ts";
import { type Frame, SyslogFramer } from "../../lib/syslog/framing.ts";
import { normaliseSyslog } from "../../lib/syslog/normalise.ts";
import { parseSyslog } from "../../lib/syslog/parse.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { seconds: { type: "string", default: "60" }, seed: { type: "string" } },
});
const SECONDS = Number(values.seconds);
let seed = Number(values.seed ?? Date.now() % 2 ** 31);
const START_SEED = seed;
const NOW = new Date("2026-11-26T12:00:00Z");
const LIMIT = 256;
const SLOW_MS = 100;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(random() * n);

const SEEDS = [
  '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] \uFEFFAn application event',
  '<13>1 2026-11-26T21:30:46.123456+01:00 host app 12 - [a@1 x="q\\"uote\\\\back\\]"][b@2 y=""] msg',
  "<34>Oct 11 22:14:15 mymachine su[42]: 'su root' failed for lonvick on /dev/pts/8",
  "<189>123: router1: *Mar  1 18:46:11.203 UTC: %LINK-3-UPDOWN: Interface Gi0/1, changed state",
  "<13>2026-11-26T21:30:46.123+01:00 host app[12]: rfc3339 in 3164",
  '<14>ossec: {"rule":{"level":7},"agent":{"name":"web"},"full_log":"x"}',
  '<14>@cee: {"msg":"hi"}',
  "Oct  1 00:00:00 no pri at all",
  "52 <13>1 2026-01-01T00:00:00Z h a - - - octet\n<14>line\n",
].map((s) => encoder.encode(s));
const SPECIAL = [
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
  0x39,
  0x3d,
];

function mutate(input: Uint8Array): Uint8Array {
  let bytes = [...input];
  for (let n = 1 + int(4); n > 0; n--) {
    const at = int(bytes.length + 1);
    switch (int(7)) {
      case 0:
        if (bytes.length) bytes[int(bytes.length)] ^= 1 << int(8);
        break;
      case 1:
        bytes.splice(at, 0, SPECIAL[int(SPECIAL.length)]);
        break;
      case 2:
        bytes.splice(at, 1 + int(8));
        break;
      case 3: {
        const other = SEEDS[int(SEEDS.length)];
        const from = int(other.length);
        bytes.splice(at, 0, ...other.subarray(from, from + 1 + int(40)));
        break;
      }
      case 4: {
        const slice = bytes.slice(at, at + 1 + int(6));
        const times = 1 + int(200);
        const run: number[] = [];
        for (let i = 0; i < times && run.length < 2_000; i++) run.push(...slice);
        bytes.splice(at, 0, ...run);
        break;
      }
      case 5:
        bytes.splice(at, 0, ...encoder.encode(String(int(2 ** 31)) + " "));
        break;
      default:
        bytes = bytes.map((b) => (random() < 0.02 ? int(256) : b));
    }
  }
  return Uint8Array.from(bytes.slice(0, 4096)); // size is the scaling check's job
}

/** Checks one input; returns what is wrong with it, or null. */
function check(input: Uint8Array): string | null {
  const started = performance.now();
  try {
    const parsed = parseSyslog(input, { now: NOW, timeZone: "Europe/Berlin" });
    const { event } = normaliseSyslog(parsed, { bytes: input }, "tcp", "127.0.0.1", NOW);
    const { bytes } = encodeEvent(event, 1_000_000);
    if (bytes.length > 1_000_000) return `encoded event of ${bytes.length} bytes`;
    JSON.parse(decoder.decode(bytes));
  } catch (error) {
    return `parse/normalise/encode threw: ${error}`;
  }
  try {
    const a = frames(input, 1 + int(7));
    const b = frames(input, 1 + int(97));
    if (a !== b) return "two chunkings gave different frames";
  } catch (error) {
    return `framing: ${error instanceof Error ? error.message : error}`;
  }
  const ms = performance.now() - started;
  return ms > SLOW_MS ? `took ${ms.toFixed(0)} ms` : null;
}

/** The frames of `input` pushed in chunks of `size`, as one comparable string. */
function frames(input: Uint8Array, size: number): string {
  const framer = new SyslogFramer(LIMIT);
  const out: Frame[] = [];
  for (let at = 0; at < input.length; at += size) {
    out.push(...framer.push(input.slice(at, at + size)));
    if (framer.bufferedBytes > LIMIT + 16) throw new Error(`held ${framer.bufferedBytes} bytes`);
  }
  out.push(...framer.end());
  // A hash of every frame's bytes and truncation: cheap to compare, unlike the bytes themselves.
  let hash = 2166136261;
  for (const f of out) {
    for (const b of f.bytes) hash = Math.imul(hash ^ b, 16777619);
    hash = Math.imul(hash ^ (f.truncated?.originalBytes ?? 0x1ff), 16777619);
  }
  return `${out.length}:${hash >>> 0}`;
}

/** Deletes chunks of `input` while the failure persists. */
function minimise(input: Uint8Array): Uint8Array {
  let best = input;
  for (let chunk = Math.max(1, best.length >> 1); chunk >= 1; chunk >>= 1) {
    for (let at = 0; at < best.length;) {
      const candidate = Uint8Array.from([...best.subarray(0, at), ...best.subarray(at + chunk)]);
      if (check(candidate) !== null) best = candidate;
      else at += chunk;
    }
  }
  return best;
}

/** Parse time (min of 3) of pathological shapes at growing sizes; too fast a growth is a finding. */
function scaling(): string[] {
  const shapes: Record<string, (n: number) => string> = {
    "SD params": (n) => "<13>1 - h a - - [x@1" + ' a="b"'.repeat(n / 6) + "] m",
    "open brackets": (n) => "<13>1 - h a - - " + "[".repeat(n),
    "digits and spaces": (n) => "1 ".repeat(n / 2),
    "escapes in SD": (n) => '<13>1 - h a - - [x@1 a="' + "\\".repeat(n) + '"]',
    "colons": (n) => "<13>Oct 11 22:14:15 " + ":".repeat(n),
    "spaces": (n) => "<13>" + " ".repeat(n) + "x",
    "long tag": (n) => "<13>Oct 11 22:14:15 host " + "a".repeat(n) + "[1]: m",
    "digits": (n) => "<13>" + "9".repeat(n),
  };
  const findings: string[] = [];
  for (const [name, make] of Object.entries(shapes)) {
    const time = (size: number) => {
      const input = encoder.encode(make(size));
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        parseSyslog(input, { now: NOW, timeZone: "UTC" });
        new SyslogFramer(1 << 20).push(input);
        best = Math.min(best, performance.now() - t);
      }
      return best;
    };
    const [small, medium, large] = [65_536, 262_144, 1_048_576].map(time);
    const growth = large / Math.max(medium, 0.5);
    if (growth > 6 && large > 20) {
      findings.push(
        `${name}: ${small.toFixed(1)} / ${medium.toFixed(1)} / ${
          large.toFixed(1)
        } ms at 64K/256K/1M`,
      );
    }
  }
  return findings;
}

const findings: string[] = scaling().map((f) => `super-linear: ${f}`);
const deadline = Date.now() + SECONDS * 1000;
let tried = 0;
const corpus: Uint8Array[] = [...SEEDS];
while (Date.now() < deadline && findings.length < 10) {
  for (let i = 0; i < 200; i++) {
    const input = mutate(corpus[int(corpus.length)]);
    tried++;
    const problem = check(input);
    if (problem !== null) {
      const small = minimise(input);
      findings.push(`${check(small) ?? problem}: ${JSON.stringify(decoder.decode(small))}`);
    } else if (corpus.length < 500 && random() < 0.01) corpus.push(input);
  }
}
findings.push(...scaling().map((f) => `super-linear (after): ${f}`));
const rate = Math.round(tried / SECONDS);
console.log(
  `seed ${START_SEED}: ${tried} inputs in ${SECONDS} s (${rate}/s), ${findings.length} findings`,
);
for (const finding of findings) console.log(`  ${finding}`);
Deno.exit(findings.length > 0 ? 1 : 0);
