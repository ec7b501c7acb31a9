/**
 * Pure batching policy: records are grouped by tag set and a batch closes on count, on bytes
 * (never over the request limit) or when it has lingered long enough.
 *
 * @module
 */
import type { QueuedRecord } from "../queue/queue.ts";

/** Records that go to Loggly in one request. */
export interface Batch {
  readonly tags: string;
  readonly records: QueuedRecord[];
  /** Body size: the records joined by newlines. */
  bytes: number;
  /** When the first record was added (ms, from the caller's clock). */
  readonly openedAt: number;
}

/** Limits a batch closes at. */
export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
  lingerMs: number;
  /** Most tag sets with an open batch; past it the oldest batch closes early (default 1000). */
  maxOpen?: number;
}

const DEFAULT_MAX_OPEN = 1000;

/** Open batches, one per tag set. */
export class Batcher {
  #open = new Map<string, Batch>();
  readonly #limits: BatchLimits;

  constructor(limits: BatchLimits) {
    this.#limits = limits;
  }

  /** Adds a record; returns the batches this closed (zero to three). */
  add(record: QueuedRecord, now: number): Batch[] {
    const closed: Batch[] = [];
    const size = record.bytes.length;
    let batch = this.#open.get(record.tags);
    if (batch && batch.bytes + 1 + size > this.#limits.maxBytes) {
      this.#close(batch, closed);
      batch = undefined;
    }
    if (!batch) {
      if (this.#open.size >= (this.#limits.maxOpen ?? DEFAULT_MAX_OPEN)) {
        // Senders choosing endless tag sets must not grow memory or the run loop's scans: the
        // oldest open batch (Maps keep insertion order) goes out now.
        this.#close(this.#open.values().next().value!, closed);
      }
      batch = { tags: record.tags, records: [], bytes: -1, openedAt: now };
      this.#open.set(record.tags, batch);
    }
    batch.records.push(record);
    batch.bytes += 1 + size;
    if (batch.records.length >= this.#limits.maxEvents || batch.bytes >= this.#limits.maxBytes) {
      this.#close(batch, closed);
    }
    return closed;
  }

  #close(batch: Batch, closed: Batch[]): void {
    this.#open.delete(batch.tags);
    closed.push(batch);
  }

  /** Closes and returns the batches that have lingered for `lingerMs` by `now`. */
  due(now: number): Batch[] {
    const closed: Batch[] = [];
    for (const [tags, batch] of this.#open) {
      if (now - batch.openedAt >= this.#limits.lingerMs) {
        closed.push(batch);
        this.#open.delete(tags);
      }
    }
    return closed;
  }

  /** When the next open batch falls due, or null when none is open. */
  nextDue(): number | null {
    let next: number | null = null;
    for (const batch of this.#open.values()) {
      const at = batch.openedAt + this.#limits.lingerMs;
      if (next === null || at < next) next = at;
    }
    return next;
  }

  /** Closes and returns every open batch (for shutdown). */
  drain(): Batch[] {
    const all = [...this.#open.values()];
    this.#open.clear();
    return all;
  }

  /** Records in open batches. */
  get openRecords(): number {
    let n = 0;
    for (const batch of this.#open.values()) n += batch.records.length;
    return n;
  }
}
