import assert from "node:assert/strict";
import { MemoryQueue } from "../lib/queue/memory_queue.ts";
import type { QueuedRecord } from "../lib/queue/queue.ts";

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
  q.ack(taken.slice(0, 1));
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
  q.ack(taken);
  assert.equal(await settled(first), true);
  assert.equal(await settled(second), true);
});

Deno.test("an ack that leaves the queue full wakes no waiter", async () => {
  const q = new MemoryQueue(1, 10_000);
  q.push(record(1));
  q.push(record(2));
  const waiter = q.whenNotFull();
  q.ack(q.take(1));
  assert.equal(await settled(waiter), false);
  q.ack(q.take(1));
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
    q.ack(taken);
  }
  const rest = q.take(Infinity);
  for (const r of rest) assert.equal(r.tags, String(expected++));
  q.ack(rest);
  assert.equal(expected, next);
  assert.equal(q.pending, 0);
  assert.equal(q.heldEvents, 0);
  assert.equal(q.heldBytes, 0);
});
