import { mulberry32 } from "./oracle.ts";
import assert from "node:assert/strict";
import { type Frame, SyslogFramer } from "../lib/syslog/framing.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const LF_BYTE = 10;

/** What a frame looks like in assertions: its text, plus truncation or incompleteness when set. */
type Out = string | {
  text: string;
  originalBytes?: number;
  limit?: number;
  incomplete?: true;
};

function show(frames: Frame[]): Out[] {
  return frames.map((f) => {
    const text = dec.decode(f.bytes);
    if (!f.truncated && !f.incomplete) return text;
    return { text, ...f.truncated, ...(f.incomplete ? { incomplete: true } : {}) };
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

/** Like check, plus split in three at every pair of positions (for short inputs). */
function check3(input: string, expected: Out[], limit = 1024): void {
  check(input, expected, limit);
  const bytes = enc.encode(input);
  for (let j = 0; j <= bytes.length; j++) {
    for (let k = j; k <= bytes.length; k++) {
      const split = [bytes.subarray(0, j), bytes.subarray(j, k), bytes.subarray(k)];
      assert.deepEqual(show(run(limit, split)), expected, `split at ${j}, ${k}`);
    }
  }
}

Deno.test("LF framing", () => {
  check("<13>a\nbb b\n<14>ccc\n", ["<13>a", "bb b", "<14>ccc"]);
});

Deno.test("octet counting, bodies may hold LF, CR and NUL", () => {
  check("4 <1>a8 <2>hello", ["<1>a", "<2>hello"]);
  check("10 <1>a\nb\r\0c\n11 <13>x\r\n\n yz", ["<1>a\nb\r\0c\n", "<13>x\r\n\n yz"]);
  check("13 <1>0123456789", ["<1>0123456789"]);
  check("1 <1 <", ["<", "<"]); // the PRI need not be complete: only the `<` decides
  check("4 <1>\n", ["<1>\n"]); // the body's own trailing LF is kept
});

Deno.test("mixed framings on one stream", () => {
  check("5 <1>abplain line\n7 <2>x yz<1>last\n8 <3>a\nbc\n12 hello\n6 <4>end", [
    "<1>ab",
    "plain line",
    "<2>x yz",
    "<1>last",
    "<3>a\nbc\n",
    "12 hello",
    "<4>end",
  ]);
});

Deno.test("CRLF, NUL terminators and empty lines", () => {
  check("a\r\nb\r\n", ["a", "b"]);
  check("a\r\r\n", ["a\r"]);
  check("a\0b\r\0c\n", ["a", "b", "c"]);
  check("\n\n\r\n\0a\n\n\r\n\0\0", ["a"]);
  check("\r", []);
  check("4 <1>a\n\n5 <2>de\r\n", ["<1>a", "<2>de"]);
  check("5 \r\n5 \0", ["5 ", "5 "]); // digits and SP, then a terminator: a line
});

Deno.test("bogus octet counts fall back to LF framing", () => {
  check("12abc\n", ["12abc"]);
  check("12<1>abc\n", ["12<1>abc"]); // no SP
  check("0 x\n", ["0 x"]);
  check("0 <1>x\n", ["0 <1>x"]); // a MSG-LEN never starts with 0
  check("99999999999 <1>x\nok\n", ["99999999999 <1>x", "ok"]); // more than 10 digits
  check("12 \n", ["12 "]);
  check("12  <1>x\n", ["12  <1>x"]); // two SPs
  check("12\n", ["12"]);
  check("1234567890\n", ["1234567890"]);
  check("3 <1>def\n", ["<1>", "def"]); // count too short: the rest is a line
  check("10 <1>abc\n5 <2>hello\nnext\n", ["<1>abc\n5 <", "2>hello", "next"]); // too long
});

Deno.test("digits and SP without a PRI start an LF line", () => {
  check("12 hello\n", ["12 hello"]);
  check("1700000000 disk almost full\n", ["1700000000 disk almost full"]);
  check("5 x\r\n3 <1>", ["5 x", "<1>"]);
  check("1 a1 <", ["1 a1 <"]); // the line's first bytes decide, later ones are content
});

Deno.test("a Unix time prefix does not swallow the stream", () => {
  const lines = ["1700000000 disk almost full"];
  for (let k = 0; k < 1000; k++) lines.push(`<14>line ${k}`);
  const bytes = enc.encode(lines.map((l) => l + "\n").join(""));
  const inOne = run(1024, [bytes]);
  assert.equal(inOne.length, 1001);
  assert.equal(dec.decode(inOne[0].bytes), "1700000000 disk almost full");
  assert.ok(inOne.every((f) => f.truncated === undefined));
  assert.deepEqual(show(inOne), lines);
  // the same in small chunks, including one that ends right after "1700000000 "
  for (const size of [11, 7, 64]) {
    const chunks: Uint8Array[] = [];
    for (let k = 0; k < bytes.length; k += size) chunks.push(bytes.subarray(k, k + size));
    assert.deepEqual(show(run(1024, chunks)), lines, `chunks of ${size}`);
  }
});

Deno.test("SP at a chunk boundary: the next chunk's first byte decides (PEEK)", () => {
  const octet = "a\n13 <13>hello wor<14>x\n";
  const line = "a\n13 hello world\n<14>x\n";
  const cut = 5; // "a\n13 " | rest
  const octetOut = ["a", "<13>hello wor", "<14>x"];
  const lineOut = ["a", "13 hello world", "<14>x"];
  for (const [input, expected] of [[octet, octetOut], [line, lineOut]] as const) {
    const bytes = enc.encode(input);
    const framer = new SyslogFramer(1024);
    assert.deepEqual(show(framer.push(bytes.subarray(0, cut))), ["a"]);
    assert.equal(framer.bufferedBytes, 3); // "13 " held
    assert.deepEqual(
      show([...framer.push(bytes.subarray(cut)), ...framer.end()]),
      expected.slice(1),
    );
    check3(input, expected);
  }
  // digits split across chunks, then SP alone, then the deciding byte alone
  check3("1 <2 <3", ["<", "<3"]);
  check3("12 x\n3 <1>", ["12 x", "<1>"]);
  check3("1234567890 <1>", [{
    text: "<1>",
    originalBytes: 1234567890,
    limit: 1024,
    incomplete: true,
  }]);
  check3("1234567890 x", ["1234567890 x"]);
  // held digits and SP longer than the limit: a truncated line
  check3("12 x\n", [{ text: "12", originalBytes: 4, limit: 2 }], 2);
  check3("12 <1>", [{ text: "<1", originalBytes: 12, limit: 2 }], 2); // emitted, rest skipped
});

Deno.test("oversize octet-counted message is truncated, the rest skipped", () => {
  const body = "<1>" + "x".repeat(17);
  check(`20 ${body}4 <2>a`, [{ text: "<1>xxxxx", originalBytes: 20, limit: 8 }, "<2>a"], 8);
  check(`8 <1>${"y".repeat(5)}9 <2>${"z".repeat(6)}`, ["<1>yyyyy", {
    text: "<2>zzzzz",
    originalBytes: 9,
    limit: 8,
  }], 8);
  // the skipped tail may look like framing: it is still skipped
  check(`12 <1>xx\n3 <2>yz\n`, [{ text: "<1>xx\n3 <2", originalBytes: 12, limit: 10 }, "z"], 10);
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
  check("1700000000 disk\n", [{ text: "1700", originalBytes: 15, limit: 4 }], 4);
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
  const first = framer.push(enc.encode("999999999 ")); // PEEK: held until the next byte
  assert.deepEqual(first, []);
  assert.equal(framer.bufferedBytes, 10);
  const start = new Uint8Array(65536).fill(98);
  start.set(enc.encode("<13>"));
  const frames = framer.push(start);
  assert.deepEqual(show(frames), [{
    text: "<13>" + "b".repeat(1020),
    originalBytes: 999999999,
    limit: 1024,
  }]);
  assert.equal(framer.bufferedBytes, 0);
  const chunk = new Uint8Array(65536).fill(98);
  chunk.set(enc.encode("\n12 <13>x\n"), 100); // framing-like bytes inside are skipped too
  for (let k = 0; k < 48; k++) {
    assert.deepEqual(framer.push(chunk), []);
    assert.equal(framer.bufferedBytes, 0);
  }
  assert.deepEqual(framer.end(), []);
  check(`9999999999 <${"c".repeat(300)}`, [{
    text: "<" + "c".repeat(15),
    originalBytes: 9999999999,
    limit: 16,
  }], 16);
});

Deno.test("end() returns the partial message", () => {
  check("<13>abc", ["<13>abc"]);
  check("abc\r", ["abc"]);
  check("12", ["12"]);
  check("10 <1>abc", [{ text: "<1>abc", incomplete: true }]); // short of its MSG-LEN
  check("10 <", [{ text: "<", incomplete: true }]);
  check("10 ", ["10 "]); // digits and SP, no byte to decide: a line
  check("10 abc", ["10 abc"]);
  check("", []);
  check("a\nb", ["a", "b"]);
  check("0123456789", [{ text: "0123", originalBytes: 10, limit: 4 }], 4);
  check("1234 ", [{ text: "1234", originalBytes: 5, limit: 4 }], 4);
  const framer = new SyslogFramer(64);
  framer.push(enc.encode("5 <1"));
  assert.equal(framer.bufferedBytes, 2);
  assert.deepEqual(show(framer.end()), [{ text: "<1", incomplete: true }]);
  assert.deepEqual(show(framer.push(enc.encode("x\n"))), ["x"]); // reusable after end()
  // end() in PEEK: the held "5 " comes out as a line, untruncated
  assert.deepEqual(framer.push(enc.encode("5 ")), []);
  assert.equal(framer.bufferedBytes, 2);
  const peeked = framer.end();
  assert.equal(peeked.length, 1);
  assert.deepEqual(peeked[0].bytes, new Uint8Array([0x35, 0x20]));
  assert.equal(peeked[0].truncated, undefined);
  assert.equal(framer.bufferedBytes, 0);
  assert.deepEqual(show(framer.push(enc.encode("4 <1>x"))), ["<1>x"]); // reusable after end()
});

Deno.test("end(true): what is held when the relay cuts the stream is marked incomplete", () => {
  const framer = new SyslogFramer(64);
  assert.deepEqual(show(framer.push(enc.encode("<13>whole\n<13>half-a-mess"))), ["<13>whole"]);
  assert.deepEqual(show(framer.end(true)), [{ text: "<13>half-a-mess", incomplete: true }]);
  assert.deepEqual(framer.end(true), []); // nothing held: nothing comes out
  framer.push(enc.encode("12 <1>ab"));
  assert.deepEqual(show(framer.end(true)), [{ text: "<1>ab", incomplete: true }]);
  // Over the limit and cut: both marks.
  const small = new SyslogFramer(4);
  small.push(enc.encode("abcdefgh"));
  assert.deepEqual(show(small.end(true)), [{
    text: "abcd",
    originalBytes: 8,
    limit: 4,
    incomplete: true,
  }]);
  // A line ended by its LF is whole, however the stream then ends.
  framer.push(enc.encode("<13>done\n"));
  assert.deepEqual(framer.end(true), []);
});

Deno.test("frames whole in a chunk are views of it; bytes held across pushes are copies", () => {
  const framer = new SyslogFramer(64);
  const chunk = enc.encode("abc\n4 <1>d12 x\n12 ");
  const frames = framer.push(chunk);
  assert.deepEqual(show(frames), ["abc", "<1>d", "12 x"]);
  assert.ok(frames.every((f) => f.bytes.buffer === chunk.buffer), "not views of the chunk");
  chunk.fill(0);
  const next = enc.encode("y\n");
  const more = framer.push(next); // the held "12 " was copied: chunk's reuse does not show
  next.fill(0);
  assert.deepEqual(show(more), ["12 y"]);
});

Deno.test("rejects a bad limit", () => {
  assert.throws(() => new SyslogFramer(0), RangeError);
  assert.throws(() => new SyslogFramer(1.5), RangeError);
});

/** Whole numbers below `n` from a seeded stream, so failures reproduce. */
function rng(seed: number): (n: number) => number {
  const next = mulberry32(seed);
  return (n) => Math.floor(next() * n);
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
      if (rand(2) === 0) { // octet counted: a PRI's "<", then any bytes
        for (let k = 0; k < size; k++) body[k] = rand(256);
        body[0] = 60; // "<"
        parts.push(...enc.encode(`${size} `), ...body);
      } else { // LF framed: no LF/NUL, no trailing CR, never a leading MSG-LEN SP "<"
        for (let k = 0; k < size; k++) body[k] = 32 + rand(200);
        const kind = rand(4);
        if (kind === 0) body[0] = 60; // "<"
        else if (kind === 1) { // digits, often then SP: "1700000000 disk full"
          const head = enc.encode(`${1 + rand(10 ** (1 + rand(10)))}${rand(4) ? " " : ""}`);
          body.set(head.subarray(0, size));
        }
        const m = /^[1-9][0-9]{0,9} /.exec(dec.decode(body.subarray(0, 12)));
        if (m && body[m[0].length] === 60) body[m[0].length] = 120; // "<" would mean octets
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

Deno.test("setLimit: a message begun keeps its limit; the next ones get the new one", () => {
  const framer = new SyslogFramer(10);
  assert.deepEqual(show(framer.push(enc.encode("abcdefghijkl\nabc"))), [
    { text: "abcdefghij", originalBytes: 12, limit: 10 },
  ]);
  framer.setLimit(4); // "abc" is held: that line keeps 10
  assert.deepEqual(show(framer.push(enc.encode("defgh\nabcdefgh\n8 <1>abcde"))), [
    "abcdefgh",
    { text: "abcd", originalBytes: 8, limit: 4 },
    { text: "<1>a", originalBytes: 8, limit: 4 },
  ]);
  framer.setLimit(100);
  assert.deepEqual(show(framer.push(enc.encode("abcdefghijkl\n"))), ["abcdefghijkl"]);
  assert.throws(() => framer.setLimit(0), RangeError);
});
