/** Record ids as runs: what batches and receipts carry instead of one number per event. */
import assert from "node:assert/strict";
import {
  addId,
  addRun,
  idCount,
  type IdRuns,
  idsOf,
  mergeRuns,
  sliceRuns,
} from "../lib/queue/id_runs.ts";

Deno.test("id runs: consecutive ids extend one run, a gap or a step back begins another", () => {
  const runs: IdRuns = [];
  for (const id of [5, 6, 7, 9, 10, 3, 4]) addId(runs, id);
  assert.deepEqual(runs, [5, 7, 9, 10, 3, 4]);
  assert.equal(idCount(runs), 7);
  assert.deepEqual([...idsOf(runs)], [5, 6, 7, 9, 10, 3, 4]);
  addRun(runs, 5, 8); // follows 4
  assert.deepEqual(runs, [5, 7, 9, 10, 3, 8]);
  assert.equal(idCount([]), 0);
});

Deno.test("id runs: merged sorted, overlapping and adjacent runs joined", () => {
  assert.deepEqual(mergeRuns([5, 5, 3, 4, 10, 11, 1, 1, 4, 4]), [[1, 1], [3, 5], [10, 11]]);
  assert.deepEqual(mergeRuns([1, 10, 2, 3, 11, 12]), [[1, 12]]);
  assert.deepEqual(mergeRuns([]), []);
});

Deno.test("id runs: any slice by position holds the same ids as slicing the plain list", () => {
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let round = 0; round < 500; round++) {
    const ids: number[] = [];
    let id = random(100);
    for (let i = random(40); i > 0; i--) {
      id += random(4) === 0 ? random(20) - 8 : 1; // mostly consecutive, some gaps and steps back
      ids.push(id);
    }
    const runs: IdRuns = [];
    for (const each of ids) addId(runs, each);
    assert.deepEqual([...idsOf(runs)], ids);
    const from = random(ids.length + 1);
    const to = from + random(ids.length - from + 1);
    const slice = sliceRuns(runs, from, to);
    assert.deepEqual([...idsOf(slice)], ids.slice(from, to), `${ids} [${from}, ${to})`);
    assert.equal(idCount(slice), to - from);
  }
});
