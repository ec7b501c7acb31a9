/**
 * Record ids as runs of consecutive ids. What a queue hands out is consecutive, so a batch holds
 * one or a few runs instead of one number per event: what lives for a request's round trip (and
 * so outlives V8's young generation) does not grow with the events in it.
 *
 * @module
 */

/** Runs of ids, flattened: `[first, last, first, last, ...]`, each inclusive, in the order added. */
export type IdRuns = number[];

/** Adds the ids `first` to `last` (inclusive): extends the last run when they follow it. */
export function addRun(runs: IdRuns, first: number, last: number): void {
  const n = runs.length;
  if (n > 0 && runs[n - 1] === first - 1) runs[n - 1] = last;
  else runs.push(first, last);
}

/** Adds one id. */
export function addId(runs: IdRuns, id: number): void {
  addRun(runs, id, id);
}

/** How many ids the runs hold. */
export function idCount(runs: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < runs.length; i += 2) n += runs[i + 1] - runs[i] + 1;
  return n;
}

/** The ids at positions `from` to `to` (exclusive) in the runs' order, as runs. */
export function sliceRuns(runs: readonly number[], from: number, to: number): IdRuns {
  const out: IdRuns = [];
  let at = 0; // position of the current run's first id
  for (let i = 0; i < runs.length && at < to; i += 2) {
    const size = runs[i + 1] - runs[i] + 1;
    const start = Math.max(from, at);
    const end = Math.min(to, at + size);
    if (start < end) addRun(out, runs[i] + start - at, runs[i] + end - at - 1);
    at += size;
  }
  return out;
}

/** Every id in the runs, in their order. */
export function* idsOf(runs: readonly number[]): Generator<number> {
  for (let i = 0; i < runs.length; i += 2) {
    for (let id = runs[i]; id <= runs[i + 1]; id++) yield id;
  }
}

/** The runs sorted and merged (overlapping or adjacent ones joined), as [first, last] pairs. */
export function mergeRuns(runs: readonly number[]): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < runs.length; i += 2) pairs.push([runs[i], runs[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [first, last] of pairs) {
    const previous = out[out.length - 1];
    if (previous && first <= previous[1] + 1) previous[1] = Math.max(previous[1], last);
    else out.push([first, last]);
  }
  return out;
}
