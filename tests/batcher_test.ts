import assert from "node:assert/strict";
import {
  type Batch,
  Batcher,
  bodyOf,
  eventsOf,
  receiptFor,
  splitBatch,
} from "../lib/loggly/batcher.ts";
import type { QueuedRecord } from "../lib/queue/queue.ts";

/** A record of `size` bytes (the letter `fill` repeated) with the given tags. */
function record(size: number, tags = "", fill = "x"): QueuedRecord {
  return { bytes: new TextEncoder().encode(fill.repeat(size)), tags };
}

/** The events of a batch, as text. */
function texts(batch: Batch): string[] {
  return [...eventsOf(batch)].map((e) => new TextDecoder().decode(e));
}

/** The body Loggly would get, as text. */
function bodyText(batch: Batch): string {
  return new TextDecoder().decode(bodyOf(batch));
}

const LIMITS = { maxEvents: 1000, maxBytes: 10_000, lingerMs: 1000 };

Deno.test("batch closes when it reaches maxEvents", () => {
  const batcher = new Batcher({ ...LIMITS, maxEvents: 3 });
  assert.deepEqual(batcher.add(record(10), 0), []);
  assert.deepEqual(batcher.add(record(10), 0), []);
  const closed = batcher.add(record(10), 0);
  assert.equal(closed.length, 1);
  assert.equal(closed[0].count, 3);
  assert.equal(batcher.openRecords, 0);
});

Deno.test("batch bytes are the record lengths plus one newline between records", () => {
  const batcher = new Batcher(LIMITS);
  batcher.add(record(10), 0);
  batcher.add(record(20), 0);
  batcher.add(record(5), 0);
  const [batch] = batcher.drain();
  assert.equal(batch.bytes, 10 + 20 + 5 + 2);
  assert.equal(bodyText(batch), `${"x".repeat(10)}\n${"x".repeat(20)}\n${"x".repeat(5)}`);
});

Deno.test("batch closes before a record would take it over maxBytes", () => {
  const batcher = new Batcher({ ...LIMITS, maxBytes: 100 });
  batcher.add(record(40), 0);
  batcher.add(record(40), 0); // 81 bytes
  const closed = batcher.add(record(40), 0); // 122 would be too many
  assert.equal(closed.length, 1);
  assert.equal(closed[0].count, 2);
  assert.equal(closed[0].bytes, 81);
  assert.equal(batcher.openRecords, 1);
});

Deno.test("batch closes when it reaches maxBytes exactly", () => {
  const batcher = new Batcher({ ...LIMITS, maxBytes: 21 });
  batcher.add(record(10), 0);
  const closed = batcher.add(record(10), 0);
  assert.equal(closed.length, 1);
  assert.equal(closed[0].bytes, 21);
});

Deno.test("batches never exceed maxBytes for records of varied sizes", () => {
  const maxBytes = 1000;
  const batcher = new Batcher({ ...LIMITS, maxBytes });
  const batches: Batch[] = [];
  for (let i = 0; i < 2000; i++) batches.push(...batcher.add(record(1 + (i * 37) % 300), 0));
  batches.push(...batcher.drain());
  assert.equal(batches.reduce((n, b) => n + b.count, 0), 2000);
  for (const batch of batches) {
    assert.ok(batch.bytes <= maxBytes, `${batch.bytes} > ${maxBytes}`);
    assert.equal(bodyOf(batch).length, batch.bytes);
    assert.equal(texts(batch).length, batch.count);
  }
});

Deno.test("a record larger than maxBytes alone goes alone, closing the open batch first", () => {
  const batcher = new Batcher({ ...LIMITS, maxBytes: 100 });
  const small = record(10);
  const huge = record(500);
  batcher.add(small, 0);
  const closed = batcher.add(huge, 0);
  assert.equal(closed.length, 2);
  assert.deepEqual(texts(closed[0]), ["x".repeat(10)]);
  assert.deepEqual(texts(closed[1]), ["x".repeat(500)]);
  assert.equal(closed[1].bytes, 500);
  assert.equal(batcher.openRecords, 0);
});

Deno.test("a record larger than maxBytes on an empty batcher goes alone at once", () => {
  const batcher = new Batcher({ ...LIMITS, maxBytes: 100 });
  const closed = batcher.add(record(101), 0);
  assert.equal(closed.length, 1);
  assert.equal(closed[0].count, 1);
  assert.equal(batcher.nextDue(), null);
});

Deno.test("records with different tags go in separate batches", () => {
  const batcher = new Batcher(LIMITS);
  batcher.add(record(1, "a"), 0);
  batcher.add(record(1, "a,b"), 0);
  batcher.add(record(1, "a"), 0);
  batcher.add(record(1, ""), 0);
  const batches = batcher.drain();
  const byTags = Object.fromEntries(batches.map((b) => [b.tags, b.count]));
  assert.deepEqual(byTags, { "a": 2, "a,b": 1, "": 1 });
});

Deno.test("count limit applies per tag set", () => {
  const batcher = new Batcher({ ...LIMITS, maxEvents: 2 });
  assert.deepEqual(batcher.add(record(1, "a"), 0), []);
  assert.deepEqual(batcher.add(record(1, "b"), 0), []);
  const closed = batcher.add(record(1, "a"), 0);
  assert.equal(closed.length, 1);
  assert.equal(closed[0].tags, "a");
  assert.equal(batcher.openRecords, 1);
});

Deno.test("nextDue is null when nothing is open, else the earliest openedAt + lingerMs", () => {
  const batcher = new Batcher(LIMITS);
  assert.equal(batcher.nextDue(), null);
  batcher.add(record(1, "a"), 500);
  batcher.add(record(1, "b"), 200);
  batcher.add(record(1, "b"), 900); // does not move the batch's opening time
  assert.equal(batcher.nextDue(), 1200);
});

Deno.test("due(now) closes only the batches that lingered lingerMs", () => {
  const batcher = new Batcher(LIMITS);
  batcher.add(record(1, "a"), 0);
  batcher.add(record(1, "b"), 500);
  assert.deepEqual(batcher.due(999), []);
  const first = batcher.due(1000);
  assert.deepEqual(first.map((b) => b.tags), ["a"]);
  assert.equal(batcher.nextDue(), 1500);
  assert.deepEqual(batcher.due(1500).map((b) => b.tags), ["b"]);
  assert.equal(batcher.nextDue(), null);
});

Deno.test("a batch opened after one closed lingers from its own first record", () => {
  const batcher = new Batcher({ ...LIMITS, maxEvents: 2 });
  batcher.add(record(1), 0);
  assert.equal(batcher.add(record(1), 100).length, 1);
  batcher.add(record(1), 300);
  assert.equal(batcher.nextDue(), 1300);
});

Deno.test("drain closes every open batch and leaves none", () => {
  const batcher = new Batcher(LIMITS);
  batcher.add(record(1, "a"), 0);
  batcher.add(record(1, "b"), 0);
  assert.equal(batcher.openRecords, 2);
  assert.equal(batcher.drain().length, 2);
  assert.equal(batcher.openRecords, 0);
  assert.deepEqual(batcher.drain(), []);
  assert.equal(batcher.nextDue(), null);
});

Deno.test("records keep their order within and across batches", () => {
  const batcher = new Batcher({ ...LIMITS, maxEvents: 7, maxBytes: 60 });
  const records = Array.from({ length: 100 }, (_, i) => record(1 + (i % 9), "", String(i % 10)));
  const out: string[] = [];
  for (const r of records) for (const b of batcher.add(r, 0)) out.push(...texts(b));
  for (const b of batcher.drain()) out.push(...texts(b));
  assert.equal(out.length, records.length);
  out.forEach((t, i) => {
    assert.equal(t, new TextDecoder().decode(records[i].bytes), `record ${i} out of order`);
  });
});

Deno.test("Batcher: past maxOpen tag sets, the oldest open batch closes early", () => {
  const batcher = new Batcher({ maxEvents: 100, maxBytes: 10_000, lingerMs: 1000, maxOpen: 2 });
  const rec = (tags: string) => ({ bytes: new Uint8Array(10), tags });
  assert.deepEqual(batcher.add(rec("a"), 0), []);
  assert.deepEqual(batcher.add(rec("b"), 0), []);
  const closed = batcher.add(rec("c"), 0);
  assert.deepEqual(closed.map((b) => b.tags), ["a"]);
  assert.equal(batcher.openRecords, 2);
  assert.deepEqual(batcher.drain().map((b) => b.tags), ["b", "c"]);
});

Deno.test("Batcher: a batch closed for bytes is not closed twice when maxOpen is reached", () => {
  const batcher = new Batcher({ maxEvents: 100, maxBytes: 25, lingerMs: 1000, maxOpen: 1 });
  const rec = { bytes: new Uint8Array(10), tags: "a" };
  batcher.add(rec, 0);
  batcher.add(rec, 0);
  const closed = batcher.add(rec, 0); // 10+1+10+1+10 > 25: the first batch closes
  assert.equal(closed.length, 1);
  assert.equal(closed[0].count, 2);
  assert.equal(batcher.openRecords, 1);
});

Deno.test("a record's bytes are copied: the batch keeps its events when the buffer is reused", () => {
  const batcher = new Batcher(LIMITS);
  const buffer = new TextEncoder().encode("first");
  batcher.add({ bytes: buffer, tags: "" }, 0);
  buffer.set(new TextEncoder().encode("XXXXX"));
  batcher.add({ bytes: buffer, tags: "" }, 0);
  assert.deepEqual(texts(batcher.drain()[0]), ["first", "XXXXX"]);
});

Deno.test("bodies grow past their first size, and a recycled body serves the next batch", () => {
  const batcher = new Batcher({ ...LIMITS, maxEvents: 100, maxBytes: 1 << 20 });
  for (let i = 0; i < 99; i++) batcher.add(record(1000, "", String(i % 10)), 0);
  const [closed] = batcher.add(record(1000, "", "9"), 0);
  assert.equal(closed.count, 100);
  assert.equal(closed.bytes, 100 * 1000 + 99);
  assert.equal(texts(closed)[42], "2".repeat(1000));
  batcher.recycle(closed);
  batcher.add(record(3, "", "z"), 0);
  const [next] = batcher.drain();
  assert.equal(next.body.buffer, closed.body.buffer, "the delivered body is written again");
  assert.equal(bodyText(next), "zzz");
});

Deno.test("splitBatch: two halves at an event boundary, sharing the body, ids split alike", () => {
  const batcher = new Batcher(LIMITS);
  const ids = [10, 11, 12, 20, 21];
  for (const [i, text] of ["a", "bb", "ccc", "dddd", "e"].entries()) {
    batcher.add({ bytes: new TextEncoder().encode(text), tags: "t", id: ids[i] }, 0);
  }
  const [batch] = batcher.drain();
  assert.deepEqual(receiptFor(batch), { events: 5, bytes: 11, idRuns: [10, 12, 20, 21] });
  const [first, rest] = splitBatch(batch, 2);
  assert.deepEqual([bodyText(first), first.count, first.tags], ["a\nbb", 2, "t"]);
  assert.deepEqual([bodyText(rest), rest.count], ["ccc\ndddd\ne", 3]);
  assert.deepEqual(receiptFor(first), { events: 2, bytes: 3, idRuns: [10, 11] });
  assert.deepEqual(receiptFor(rest), { events: 3, bytes: 8, idRuns: [12, 12, 20, 21] });
  assert.equal(first.body.buffer, batch.body.buffer);
  const [one, two] = splitBatch(rest, 2);
  assert.deepEqual([texts(one), texts(two)], [["ccc", "dddd"], ["e"]]);
  const memory = new Batcher(LIMITS);
  memory.add(record(4), 0);
  memory.add(record(6), 0);
  const [unsplit] = memory.drain();
  assert.deepEqual(receiptFor(unsplit), { events: 2, bytes: 10 });
  assert.equal("idRuns" in splitBatch(unsplit, 1)[0], false);
});
