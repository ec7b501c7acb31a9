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

/** Allows at most `limit` occurrences per interval, and counts those it refused. */
export class RateLimit {
  readonly #limit: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #windowAt = -Infinity;
  #used = 0;
  #refused = 0;

  constructor(limit: number, intervalMs: number, now: () => number) {
    this.#limit = limit;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * True when one more is allowed now. `refusedBefore` is set, when a new interval begins, to how
   * many the interval before refused (for a "... more not shown" line).
   */
  take(): { allowed: boolean; refusedBefore: number } {
    const now = this.#now();
    let refusedBefore = 0;
    if (now - this.#windowAt >= this.#intervalMs) {
      refusedBefore = this.#refused;
      this.#windowAt = now;
      this.#used = 0;
      this.#refused = 0;
    }
    if (this.#used < this.#limit) {
      this.#used++;
      return { allowed: true, refusedBefore };
    }
    this.#refused++;
    return { allowed: false, refusedBefore };
  }
}
