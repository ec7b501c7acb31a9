/**
 * Events per second over the last 15 minutes, for the status page's chart: counters are sampled
 * about once a second and each sample keeps the rate since the one before. Pure: the caller
 * samples, with its own clock.
 *
 * @module
 */

/** How many samples are kept: 15 minutes at one a second. */
export const HISTORY_SAMPLES = 900;

/** The chart's data: sample times (ms since the epoch) and, per series, events/s at each. */
export interface HistoryData {
  readonly t: number[];
  readonly series: Record<string, number[]>;
}

/** A ring of per-second rates, one series per counter name. */
export class RateHistory {
  readonly #capacity: number;
  readonly #times: number[] = [];
  readonly #series = new Map<string, number[]>();
  #last: Map<string, number> | null = null;
  #lastAt = 0;

  constructor(capacity: number = HISTORY_SAMPLES) {
    this.#capacity = capacity;
  }

  /** Records the counters' values at `now`; the first call only sets the baseline. */
  sample(now: number, counters: Readonly<Record<string, number>>): void {
    const previous = this.#last;
    this.#last = new Map(Object.entries(counters));
    const seconds = (now - this.#lastAt) / 1000;
    this.#lastAt = now;
    if (previous === null || seconds <= 0) return;
    const length = this.#times.length;
    for (const [name, value] of this.#last) {
      let series = this.#series.get(name);
      if (series === undefined) {
        // A series that appears late (an input bound by a reload) starts at zero.
        series = new Array(length).fill(0);
        this.#series.set(name, series);
      }
      // A counter never goes down; a smaller value is a reset (a reload), counted from zero.
      const delta = value >= (previous.get(name) ?? 0) ? value - (previous.get(name) ?? 0) : value;
      series.push(Math.round((delta / seconds) * 10) / 10);
    }
    for (const [name, series] of this.#series) {
      if (!this.#last.has(name)) series.push(0);
    }
    this.#times.push(now);
    if (this.#times.length > this.#capacity) {
      this.#times.shift();
      for (const series of this.#series.values()) series.shift();
    }
  }

  /** A copy of what is kept, oldest first. */
  data(): HistoryData {
    const series: Record<string, number[]> = {};
    for (const [name, values] of this.#series) series[name] = [...values];
    return { t: [...this.#times], series };
  }
}
