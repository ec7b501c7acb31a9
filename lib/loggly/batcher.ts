/**
 * Pure batching policy: records are grouped by account and tag set (one request carries one of
 * each) and a batch closes on count, on bytes (never over the request limit) or when it has
 * lingered long enough.
 *
 * @module
 */
import type { QueuedRecord } from "../queue/queue.ts";

/** Records that go to Loggly in one request. */
export interface Batch {
  readonly tags: string;
  /** The accepted token the records go to; absent for the relay's own. */
  readonly token?: string;
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

/** The key of the request a record or batch belongs to: its account and its tags. */
export function routeKey(of: { readonly tags: string; readonly token?: string }): string {
  return of.token === undefined ? of.tags : `${of.token}/${of.tags}`;
}

/** Open batches, one per account and tag set. */
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
    const key = routeKey(record);
    let batch = this.#open.get(key);
    if (batch && batch.bytes + 1 + size > this.#limits.maxBytes) {
      this.#close(batch, closed);
      batch = undefined;
    }
    if (!batch) {
      if (this.#open.size >= (this.#limits.maxOpen ?? DEFAULT_MAX_OPEN)) {
        // Senders choosing endless tag sets (or accounts) must not grow memory or the run loop's scans: the
        // oldest open batch (Maps keep insertion order) goes out now.
        this.#close(this.#open.values().next().value!, closed);
      }
      batch = record.token === undefined
        ? { tags: record.tags, records: [], bytes: -1, openedAt: now }
        : { tags: record.tags, token: record.token, records: [], bytes: -1, openedAt: now };
      this.#open.set(key, batch);
    }
    batch.records.push(record);
    batch.bytes += 1 + size;
    if (batch.records.length >= this.#limits.maxEvents || batch.bytes >= this.#limits.maxBytes) {
      this.#close(batch, closed);
    }
    return closed;
  }

  #close(batch: Batch, closed: Batch[]): void {
    this.#open.delete(routeKey(batch));
    closed.push(batch);
  }

  /** Closes and returns the batches that have lingered for `lingerMs` by `now`. */
  due(now: number): Batch[] {
    const closed: Batch[] = [];
    for (const [key, batch] of this.#open) {
      if (now - batch.openedAt >= this.#limits.lingerMs) {
        closed.push(batch);
        this.#open.delete(key);
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
