/**
 * Logs a recurring problem at most once per interval, with how often it happened since the last
 * line: a flood of bad input must not become a flood of log lines.
 *
 * @module
 */

/** Counts occurrences per key and reports them at most once per interval. */
export class Throttle {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, { at: number; count: number }>();

  constructor(intervalMs: number, now: () => number) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * Records one occurrence of `key` (or `by`); returns how many occurred since the last report
   * when it is time to report again, else 0.
   */
  hit(key: string, by = 1): number {
    const now = this.#now();
    const entry = this.#last.get(key);
    if (!entry) {
      this.#last.set(key, { at: now, count: 0 });
      return by;
    }
    entry.count += by;
    if (now - entry.at < this.#intervalMs) return 0;
    const count = entry.count;
    entry.at = now;
    entry.count = 0;
    return count;
  }
}
