import assert from "node:assert/strict";
import { MemoryQueue } from "../lib/queue/memory_queue.ts";
import { type QueuedRecord, receiptOf } from "../lib/queue/queue.ts";
import { mulberry32 } from "./oracle.ts";

/** A record of `size` bytes whose tags field carries `id`, so that order can be checked. */
function record(id: number | string, size = 10): QueuedRecord {
  return { bytes: new Uint8Array(size), tags: String(id) };
}

const ids = (records: readonly QueuedRecord[]) => records.map((r) => r.tags);

/** Resolves to true if `promise` settles within the current microtask queue drain. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true);
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

Deno.test("records come out in the order they went in", () => {
  const q = new MemoryQueue(100, 10_000);
  for (let i = 0; i < 5; i++) q.push(record(i));
  assert.deepEqual(ids(q.take(2)), ["0", "1"]);
  assert.deepEqual(ids(q.take(10)), ["2", "3", "4"]);
  assert.deepEqual(q.take(10), []);
});

Deno.test("pending counts records not yet taken", () => {
  const q = new MemoryQueue(100, 10_000);
  q.push(record(1));
  q.push(record(2));
  assert.equal(q.pending, 2);
  q.take(1);
  assert.equal(q.pending, 1);
});

Deno.test("the queue is full at maxEvents held events", () => {
  const q = new MemoryQueue(2, 10_000);
  assert.equal(q.offer(record(1)), true);
  assert.equal(q.full, false);
  assert.equal(q.offer(record(2)), true);
  assert.equal(q.full, true);
});

Deno.test("the queue is full at maxBytes held bytes", () => {
  const q = new MemoryQueue(100, 25);
  q.push(record(1, 10));
  q.push(record(2, 10));
  assert.equal(q.full, false);
  q.push(record(3, 5));
  assert.equal(q.full, true);
  assert.equal(q.heldBytes, 25);
});

Deno.test("offer refuses a record when full and leaves the queue as it was", () => {
  const q = new MemoryQueue(1, 10_000);
  q.offer(record(1));
  assert.equal(q.offer(record(2)), false);
  assert.equal(q.heldEvents, 1);
  assert.deepEqual(ids(q.take(10)), ["1"]);
});

Deno.test("push takes a record even past the bounds", () => {
  const q = new MemoryQueue(1, 10);
  q.push(record(1, 10));
  q.push(record(2, 10));
  assert.equal(q.heldEvents, 2);
  assert.equal(q.heldBytes, 20);
  assert.equal(q.pending, 2);
});

Deno.test("taken but unacked records still count against the bounds", () => {
  const q = new MemoryQueue(2, 10_000);
  q.push(record(1));
  q.push(record(2));
  q.take(2);
  assert.equal(q.pending, 0);
  assert.equal(q.heldEvents, 2);
  assert.equal(q.heldBytes, 20);
  assert.equal(q.full, true);
  assert.equal(q.offer(record(3)), false);
});

Deno.test("ack frees the records' place", () => {
  const q = new MemoryQueue(2, 10_000);
  q.push(record(1));
  q.push(record(2));
  const taken = q.take(2);
  q.ack(receiptOf(taken.slice(0, 1)));
  assert.equal(q.heldEvents, 1);
  assert.equal(q.heldBytes, 10);
  assert.equal(q.full, false);
  assert.equal(q.offer(record(3)), true);
});

Deno.test("whenNotFull resolves at once when there is room", async () => {
  const q = new MemoryQueue(2, 10_000);
  assert.equal(await settled(q.whenNotFull()), true);
});

Deno.test("whenNotFull waits while full and ack wakes every waiter", async () => {
  const q = new MemoryQueue(1, 10_000);
  q.push(record(1));
  const first = q.whenNotFull();
  const second = q.whenNotFull();
  const taken = q.take(1);
  assert.equal(await settled(first), false, "taking alone must not wake waiters");
  q.ack(receiptOf(taken));
  assert.equal(await settled(first), true);
  assert.equal(await settled(second), true);
});

Deno.test("an ack that leaves the queue full wakes no waiter", async () => {
  const q = new MemoryQueue(1, 10_000);
  q.push(record(1));
  q.push(record(2));
  const waiter = q.whenNotFull();
  q.ack(receiptOf(q.take(1)));
  assert.equal(await settled(waiter), false);
  q.ack(receiptOf(q.take(1)));
  assert.equal(await settled(waiter), true);
});

Deno.test("onAvailable fires when a record arrives on an empty queue", () => {
  const q = new MemoryQueue(100, 10_000);
  let calls = 0;
  q.onAvailable(() => calls++);
  q.push(record(1));
  assert.equal(calls, 1);
  q.push(record(2)); // already had records to take
  assert.equal(calls, 1);
  q.take(10);
  q.offer(record(3)); // empty again, even though records are held
  assert.equal(calls, 2);
});

Deno.test("many take/ack cycles keep FIFO order across internal compaction", () => {
  const q = new MemoryQueue(1_000_000, 1e12);
  let next = 0;
  let expected = 0;
  for (let round = 0; round < 5000; round++) {
    for (let i = 0; i < 3; i++) q.push(record(next++, 1));
    const taken = q.take(2 + (round % 2));
    for (const r of taken) assert.equal(r.tags, String(expected++));
    q.ack(receiptOf(taken));
  }
  const rest = q.take(Infinity);
  for (const r of rest) assert.equal(r.tags, String(expected++));
  q.ack(receiptOf(rest));
  assert.equal(expected, next);
  assert.equal(q.pending, 0);
  assert.equal(q.heldEvents, 0);
  assert.equal(q.heldBytes, 0);
});

Deno.test("pages: random sizes (some over a quarter page) and takes keep every event's bytes", () => {
  const q = new MemoryQueue(1_000_000, 1e12);
  const random = mulberry32(20261130);
  const model: string[] = [];
  let pushed = 0;
  const text = (n: number, size: number) => String(n % 10).repeat(size);
  for (let round = 0; round < 3000; round++) {
    const pushes = Math.floor(random() * 8);
    for (let i = 0; i < pushes; i++) {
      const size = random() < 0.02
        ? 70_000 + Math.floor(random() * 30_000)
        : 1 + Math.floor(random() * 2000);
      const token = pushed % 7 === 0 ? "t" + pushed : undefined;
      const bytes = new TextEncoder().encode(text(pushed, size));
      q.push(token === undefined ? { bytes, tags: "a" } : { bytes, tags: "a", token });
      bytes.fill(0); // the queue copied it
      model.push(text(pushed, size) + "|" + (token ?? ""));
      pushed++;
    }
    const taken = q.take(Math.floor(random() * 10));
    // Read at once: the views are valid only until the next push or take.
    const got = taken.map((r) => new TextDecoder().decode(r.bytes) + "|" + (r.token ?? ""));
    assert.deepEqual(got, model.splice(0, got.length));
    q.ack(receiptOf(taken));
  }
  const rest = q.take(Infinity).map((r) =>
    new TextDecoder().decode(r.bytes) + "|" + (r.token ?? "")
  );
  assert.deepEqual(rest, model);
});

Deno.test("rings grow for a burst and shrink after it, keeping FIFO order", () => {
  const q = new MemoryQueue(1_000_000, 1e12);
  for (let i = 0; i < 100_000; i++) q.push(record(i, 1));
  let expected = 0;
  for (const n of [99_000, 500, 499]) {
    for (const r of q.take(n)) assert.equal(r.tags, String(expected++));
    for (let i = 0; i < 10; i++) q.push(record(100_000 + expected * 10 + i, 1));
  }
  assert.equal(q.pending, 1 + 30);
  assert.equal(q.take(Infinity).length, 31);
});

Deno.test("pages: a large event between small ones never frees a page whose events still wait", () => {
  const q = new MemoryQueue(1_000_000, 1e12);
  const enc = new TextEncoder();
  const text = (n: number, size: number) => (String(n) + ":").padEnd(size, "x");
  const model: string[] = [];
  let n = 0;
  const push = (size: number) => {
    q.push({ bytes: enc.encode(text(n, size)), tags: "" });
    model.push(text(n++, size));
  };
  const takeAndCheck = (count: number) => {
    const got = q.take(count).map((r) => new TextDecoder().decode(r.bytes));
    assert.deepEqual(got, model.splice(0, got.length));
  };
  // A page full of waiting events, then a large event, then one that turns the page.
  for (let i = 0; i < 262; i++) push(1000);
  push(100_000);
  for (let i = 0; i < 300; i++) push(1000); // written into a new page, not over the waiting ones
  takeAndCheck(1);
  for (let i = 0; i < 600; i++) push(1000);
  takeAndCheck(Infinity);
  // Small, large, small…: taking the first must not free the page of the others.
  push(1000);
  push(100_000);
  for (let i = 0; i < 300; i++) push(1000); // that page fills and is no longer the current one
  takeAndCheck(1);
  for (let i = 0; i < 600; i++) push(1000); // pages turn and the pool is drawn on
  takeAndCheck(Infinity);
});
