import assert from "node:assert/strict";
import { type Frame, SyslogFramer } from "../lib/syslog/framing.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const LF_BYTE = 10;

/** What a frame looks like in assertions: its text, plus truncation metadata when set. */
type Out = string | { text: string; originalBytes: number; limit: number };

function show(frames: Frame[]): Out[] {
  return frames.map((f) => {
    const text = dec.decode(f.bytes);
    return f.truncated ? { text, ...f.truncated } : text;
  });
}

/** Feeds the chunks then ends the stream, checking the buffer bound after every push. */
function run(limit: number, chunks: Uint8Array[]): Frame[] {
  const framer = new SyslogFramer(limit);
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    frames.push(...framer.push(chunk));
    assert.ok(framer.bufferedBytes <= limit + 16, `buffered ${framer.bufferedBytes}`);
  }
  frames.push(...framer.end());
  assert.equal(framer.bufferedBytes, 0);
  return frames;
}

/** Checks input in one chunk, in 1-byte chunks, and split in two at every position. */
function check(input: string | Uint8Array, expected: Out[], limit = 1024): void {
  const bytes = typeof input === "string" ? enc.encode(input) : input;
  assert.deepEqual(show(run(limit, [bytes])), expected, "one chunk");
  const single = Array.from(bytes, (_, k) => bytes.subarray(k, k + 1));
  assert.deepEqual(show(run(limit, single)), expected, "1-byte chunks");
  for (let k = 0; k <= bytes.length; k++) {
    const split = [bytes.subarray(0, k), bytes.subarray(k)];
    assert.deepEqual(show(run(limit, split)), expected, `split at ${k}`);
  }
}

Deno.test("LF framing", () => {
  check("<13>a\nbb b\n<14>ccc\n", ["<13>a", "bb b", "<14>ccc"]);
});

Deno.test("octet counting, bodies may hold LF, CR and NUL", () => {
  check("3 abc5 hello", ["abc", "hello"]);
  check("7 a\nb\r\0c\n11 <13>x\r\n\n yz", ["a\nb\r\0c\n", "<13>x\r\n\n yz"]);
  check("10 0123456789", ["0123456789"]);
});

Deno.test("mixed framings on one stream", () => {
  check("3 abcplain line\n4 x yz<1>last\n5 a\nbc\n", [
    "abc",
    "plain line",
    "x yz",
    "<1>last",
    "a\nbc\n",
  ]);
});

Deno.test("CRLF, NUL terminators and empty lines", () => {
  check("a\r\nb\r\n", ["a", "b"]);
  check("a\r\r\n", ["a\r"]);
  check("a\0b\r\0c\n", ["a", "b", "c"]);
  check("\n\n\r\n\0a\n\n\r\n\0\0", ["a"]);
  check("\r", []);
  check("3 abc\n\n4 defg\r\n", ["abc", "defg"]);
});

Deno.test("bogus octet counts fall back to LF framing", () => {
  check("12abc\n", ["12abc"]);
  check("0 x\n", ["0 x"]);
  check("99999999999 x\nok\n", ["99999999999 x", "ok"]);
  check("12\n", ["12"]);
  check("1234567890\n", ["1234567890"]);
  check("3 abcdef\n", ["abc", "def"]); // count too short: the rest is a line
  check("10 abc\n5 hello\nnext\n", ["abc\n5 hell", "o", "next"]); // too long: resyncs
});

Deno.test("oversize octet-counted message is truncated, the rest skipped", () => {
  const body = "x".repeat(20);
  check(`20 ${body}3 abc`, [{ text: "x".repeat(8), originalBytes: 20, limit: 8 }, "abc"], 8);
  check(`8 ${"y".repeat(8)}9 ${"z".repeat(9)}`, ["yyyyyyyy", {
    text: "zzzzzzzz",
    originalBytes: 9,
    limit: 8,
  }], 8);
});

Deno.test("oversize LF line is truncated with its full length", () => {
  check("0123456789abcdef\nnext\n", [
    { text: "01234567", originalBytes: 16, limit: 8 },
    "next",
  ], 8);
  check("0123456789\r\nok\0", [{ text: "01234567", originalBytes: 10, limit: 8 }, "ok"], 8);
  check("01234567\r\n012345678\n", ["01234567", {
    text: "01234567",
    originalBytes: 9,
    limit: 8,
  }], 8);
  check("123456789012 x\n", [{ text: "1234", originalBytes: 14, limit: 4 }], 4);
});

Deno.test("3 MB line in 64 KiB chunks stays bounded", () => {
  const line = new Uint8Array(3 * 1024 * 1024 + 1).fill(97);
  line[line.length - 1] = LF_BYTE;
  const all = new Uint8Array(line.length + 7);
  all.set(line);
  all.set(enc.encode("<13>ok\n"), line.length);
  const chunks: Uint8Array[] = [];
  for (let k = 0; k < all.length; k += 65536) chunks.push(all.subarray(k, k + 65536));
  const frames = show(run(1024, chunks));
  assert.deepEqual(frames, [
    { text: "a".repeat(1024), originalBytes: 3 * 1024 * 1024, limit: 1024 },
    "<13>ok",
  ]);
});

Deno.test("huge declared length is skipped as it streams in", () => {
  const framer = new SyslogFramer(1024);
  const first = framer.push(enc.encode("999999999 "));
  assert.deepEqual(first, []);
  const chunk = new Uint8Array(65536).fill(98);
  const frames = framer.push(chunk);
  assert.deepEqual(show(frames), [{
    text: "b".repeat(1024),
    originalBytes: 999999999,
    limit: 1024,
  }]);
  for (let k = 0; k < 48; k++) {
    assert.deepEqual(framer.push(chunk), []);
    assert.equal(framer.bufferedBytes, 0);
  }
  assert.deepEqual(framer.end(), []);
  check(`9999999999 ${"c".repeat(300)}`, [{
    text: "c".repeat(16),
    originalBytes: 9999999999,
    limit: 16,
  }], 16);
});

Deno.test("end() returns the partial message", () => {
  check("<13>abc", ["<13>abc"]);
  check("abc\r", ["abc"]);
  check("12", ["12"]);
  check("10 abc", [{ text: "abc", originalBytes: 10, limit: 1024 }]);
  check("10 ", []);
  check("", []);
  check("a\nb", ["a", "b"]);
  check("0123456789", [{ text: "0123", originalBytes: 10, limit: 4 }], 4);
  const framer = new SyslogFramer(64);
  framer.push(enc.encode("5 ab"));
  assert.equal(framer.bufferedBytes, 2);
  assert.equal(framer.end().length, 1);
  assert.deepEqual(show(framer.push(enc.encode("x\n"))), ["x"]); // reusable after end()
});

Deno.test("frames survive reuse of the pushed chunk", () => {
  const framer = new SyslogFramer(64);
  const chunk = enc.encode("abc\n3 def");
  const frames = framer.push(chunk);
  chunk.fill(0);
  assert.deepEqual(show(frames), ["abc", "def"]);
});

Deno.test("rejects a bad limit", () => {
  assert.throws(() => new SyslogFramer(0), RangeError);
  assert.throws(() => new SyslogFramer(1.5), RangeError);
});

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

Deno.test("random messages in random chunks come out exactly", () => {
  const limit = 200;
  for (let seed = 1; seed <= 300; seed++) {
    const rand = rng(seed);
    const parts: number[] = [];
    const expected: Frame[] = [];
    for (let m = rand(30); m > 0; m--) {
      const size = 1 + rand(rand(4) === 0 ? 400 : 120);
      const body = new Uint8Array(size);
      if (rand(2) === 0) { // octet counted: any bytes
        for (let k = 0; k < size; k++) body[k] = rand(256);
        parts.push(...enc.encode(`${size} `), ...body);
      } else { // LF framed: no LF/NUL, no trailing CR, never a leading MSG-LEN
        for (let k = 0; k < size; k++) body[k] = 32 + rand(200);
        body[0] = 60; // "<"
        parts.push(...body, ...(rand(2) ? [13, 10] : rand(2) ? [10] : [0]));
        if (rand(5) === 0) parts.push(10); // stray empty line
      }
      const kept = body.slice(0, Math.min(size, limit));
      expected.push(
        size > limit ? { bytes: kept, truncated: { originalBytes: size, limit } } : {
          bytes: kept,
        },
      );
    }
    const all = new Uint8Array(parts);
    const chunks: Uint8Array[] = [];
    for (let k = 0; k < all.length;) {
      const len = rand(3) === 0 ? 1 + rand(4) : 1 + rand(700);
      chunks.push(all.slice(k, k + len));
      k += len;
    }
    assert.deepEqual(run(limit, chunks), expected, `seed ${seed}`);
  }
});
