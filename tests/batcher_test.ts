import assert from "node:assert/strict";
import { type Batch, Batcher } from "../lib/loggly/batcher.ts";
import type { QueuedRecord } from "../lib/queue/queue.ts";

/** A record of `size` bytes (the letter `fill` repeated) with the given tags. */
function record(size: number, tags = "", fill = "x"): QueuedRecord {
  return { bytes: new TextEncoder().encode(fill.repeat(size)), tags };
}

/** The body Loggly would get: the records joined by newlines. */
function bodyLength(batch: Batch): number {
  return batch.records.reduce((n, r) => n + r.bytes.length, 0) + batch.records.length - 1;
}

const LIMITS = { maxEvents: 1000, maxBytes: 10_000, lingerMs: 1000 };

Deno.test("batch closes when it reaches maxEvents", () => {
  const batcher = new Batcher({ ...LIMITS, maxEvents: 3 });
  assert.deepEqual(batcher.add(record(10), 0), []);
  assert.deepEqual(batcher.add(record(10), 0), []);
  const closed = batcher.add(record(10), 0);
  assert.equal(closed.length, 1);
  assert.equal(closed[0].records.length, 3);
  assert.equal(batcher.openRecords, 0);
});

Deno.test("batch bytes are the record lengths plus one newline between records", () => {
  const batcher = new Batcher(LIMITS);
  batcher.add(record(10), 0);
  batcher.add(record(20), 0);
  batcher.add(record(5), 0);
  const [batch] = batcher.drain();
  assert.equal(batch.bytes, 10 + 20 + 5 + 2);
  assert.equal(batch.bytes, bodyLength(batch));
});

Deno.test("batch closes before a record would take it over maxBytes", () => {
  const batcher = new Batcher({ ...LIMITS, maxBytes: 100 });
  batcher.add(record(40), 0);
  batcher.add(record(40), 0); // 81 bytes
  const closed = batcher.add(record(40), 0); // 122 would be too many
  assert.equal(closed.length, 1);
  assert.equal(closed[0].records.length, 2);
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
  assert.equal(batches.reduce((n, b) => n + b.records.length, 0), 2000);
  for (const batch of batches) {
    assert.ok(batch.bytes <= maxBytes, `${batch.bytes} > ${maxBytes}`);
    assert.equal(batch.bytes, bodyLength(batch));
  }
});

Deno.test("a record larger than maxBytes alone goes alone, closing the open batch first", () => {
  const batcher = new Batcher({ ...LIMITS, maxBytes: 100 });
  const small = record(10);
  const huge = record(500);
  batcher.add(small, 0);
  const closed = batcher.add(huge, 0);
  assert.equal(closed.length, 2);
  assert.deepEqual(closed[0].records, [small]);
  assert.deepEqual(closed[1].records, [huge]);
  assert.equal(closed[1].bytes, 500);
  assert.equal(batcher.openRecords, 0);
});

Deno.test("a record larger than maxBytes on an empty batcher goes alone at once", () => {
  const batcher = new Batcher({ ...LIMITS, maxBytes: 100 });
  const closed = batcher.add(record(101), 0);
  assert.equal(closed.length, 1);
  assert.equal(closed[0].records.length, 1);
  assert.equal(batcher.nextDue(), null);
});

Deno.test("records with different tags go in separate batches", () => {
  const batcher = new Batcher(LIMITS);
  batcher.add(record(1, "a"), 0);
  batcher.add(record(1, "a,b"), 0);
  batcher.add(record(1, "a"), 0);
  batcher.add(record(1, ""), 0);
  const batches = batcher.drain();
  const byTags = Object.fromEntries(batches.map((b) => [b.tags, b.records.length]));
  assert.deepEqual(byTags, { "a": 2, "a,b": 1, "": 1 });
  for (const batch of batches) assert.ok(batch.records.every((r) => r.tags === batch.tags));
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
  const out: QueuedRecord[] = [];
  for (const r of records) for (const b of batcher.add(r, 0)) out.push(...b.records);
  for (const b of batcher.drain()) out.push(...b.records);
  assert.equal(out.length, records.length);
  out.forEach((r, i) => assert.equal(r, records[i], `record ${i} out of order`));
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
  assert.equal(closed[0].records.length, 2);
  assert.equal(batcher.openRecords, 1);
});
