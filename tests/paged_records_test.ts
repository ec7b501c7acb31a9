/** The paged record store under the memory queue and the spool's cache. */
import assert from "node:assert/strict";
import { PagedRecords } from "../lib/queue/paged_records.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("paged records: consecutive ids from the first, bytes counted, dropped from the front", () => {
  const records = new PagedRecords(41, 4);
  assert.equal(records.firstId, 41);
  assert.equal(records.nextId, 41);
  records.dropFirst(); // nothing held: nothing happens
  assert.equal(records.firstId, 41);
  assert.equal(records.push({ bytes: encoder.encode("one"), tags: "a" }), 41);
  assert.equal(records.push({ bytes: encoder.encode("two!"), tags: "", token: "t" }), 42);
  assert.equal(records.count, 2);
  assert.equal(records.bytes, 7);
  assert.deepEqual(records.get(42, true), {
    bytes: encoder.encode("two!"),
    tags: "",
    id: 42,
    token: "t",
  });
  assert.deepEqual(records.get(41, false), { bytes: encoder.encode("one"), tags: "a" });
  records.dropFirst();
  assert.equal(records.firstId, 42);
  assert.equal(records.bytes, 4);
  records.dropFirst();
  assert.equal(records.count, 0);
  assert.equal(records.firstId, 43);
  assert.equal(records.nextId, 43);
  assert.equal(records.bytes, 0);
});

Deno.test("paged records: held records keep their bytes while pages turn and are reused", () => {
  const records = new PagedRecords(0, 2);
  const text = (n: number) => `${n}:`.padEnd(n % 97 === 0 ? 70_000 : 500 + (n % 300), "x");
  let pushed = 0;
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < 60; i++) records.push({ bytes: encoder.encode(text(pushed++)), tags: "" });
    // Keep the last 100 or so: the pages of the dropped ones go back to the pool and are reused.
    while (records.count > 100) records.dropFirst();
    for (let id = records.firstId; id < records.nextId; id++) {
      assert.equal(decoder.decode(records.get(id, false).bytes), text(id));
    }
  }
  records.trimPool(0);
  while (records.count > 0) records.dropFirst();
  assert.equal(records.bytes, 0);
});

Deno.test("paged records: an id not held is an error, not another record's bytes", () => {
  const records = new PagedRecords(10, 4);
  records.push({ bytes: new Uint8Array([1]), tags: "" });
  records.push({ bytes: new Uint8Array([2]), tags: "" });
  records.dropFirst();
  assert.deepEqual(records.get(11, false).bytes, new Uint8Array([2]));
  for (const id of [9, 10, 12, 10 + 16]) assert.throws(() => records.get(id, false), RangeError);
});
