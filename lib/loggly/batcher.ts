/**
 * Pure batching policy: records are grouped by account and tag set (one request carries one of
 * each) and a batch closes on count, on bytes (never over the request limit) or when it has
 * lingered long enough. A record's bytes are copied into its batch's body as it is added: the
 * body is written once, and no object per event is kept while the batch waits and is sent.
 *
 * @module
 */
import { addId, type IdRuns, sliceRuns } from "../queue/id_runs.ts";
import type { QueuedRecord, Receipt } from "../queue/queue.ts";

/** Events that go to Loggly in one request. */
export interface Batch {
  readonly tags: string;
  /** The accepted token the events go to; absent for the relay's own. */
  readonly token?: string;
  /** The request body: `bytes` bytes of JSON lines joined by newlines (the buffer may be longer). */
  body: Uint8Array<ArrayBuffer>;
  /** Body size: the events joined by newlines. */
  bytes: number;
  /** Events in the body. */
  count: number;
  /** The events' places in a durable queue, in order, as runs; absent in memory. */
  idRuns?: IdRuns;
  /** When the first event was added (ms, from the caller's clock). */
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
/** A new batch's body starts this large and doubles as events come (up to the byte limit). */
const FIRST_BODY_BYTES = 16 * 1024;
/** Bodies of delivered batches kept for reuse, and the largest kept. */
const POOL_BODIES = 8;
const KEEP_BODY_BYTES = 1024 * 1024;

/** The key of the request a record or batch belongs to: its account and its tags. */
export function routeKey(of: { readonly tags: string; readonly token?: string }): string {
  return of.token === undefined ? of.tags : `${of.token}/${of.tags}`;
}

/** The body bytes of a batch: its events joined by newlines. */
export function bodyOf(batch: Batch): Uint8Array<ArrayBuffer> {
  return batch.body.subarray(0, batch.bytes);
}

/** Each event of a batch (views into its body). */
export function* eventsOf(batch: Batch): Generator<Uint8Array> {
  const body = bodyOf(batch);
  let start = 0;
  for (let i = 0; i < batch.count; i++) {
    const end = i === batch.count - 1 ? body.length : body.indexOf(10, start);
    yield body.subarray(start, end);
    start = end + 1;
  }
}

/** What the queue needs to release a batch's events once Loggly has them. */
export function receiptFor(batch: Batch): Receipt {
  const bytes = batch.bytes - (batch.count - 1); // without the newlines
  return batch.idRuns === undefined
    ? { events: batch.count, bytes }
    : { events: batch.count, bytes, idRuns: batch.idRuns };
}

/** The batch cut in two after its first `n` events (0 < n < count); both share its body. */
export function splitBatch(batch: Batch, n: number): [Batch, Batch] {
  let at = -1;
  for (let i = 0; i < n; i++) at = batch.body.indexOf(10, at + 1);
  return [part(batch, 0, at, 0, n), part(batch, at + 1, batch.bytes, n, batch.count)];
}

/** The events `first` to `last` (exclusive) of `batch`, whose bytes are [`from`, `to`). */
function part(batch: Batch, from: number, to: number, first: number, last: number): Batch {
  const { idRuns, ...route } = batch;
  const body = batch.body.subarray(from, to);
  const piece: Batch = { ...route, body, bytes: to - from, count: last - first };
  return idRuns === undefined ? piece : { ...piece, idRuns: sliceRuns(idRuns, first, last) };
}

/** Open batches, one per account and tag set. */
export class Batcher {
  #open = new Map<string, Batch>();
  #limits: BatchLimits;
  readonly #pool: Uint8Array<ArrayBuffer>[] = [];
  #openEvents = 0;

  constructor(limits: BatchLimits) {
    this.#limits = limits;
  }

  /** New limits (a reload); batches open now close by them. */
  setLimits(limits: BatchLimits): void {
    this.#limits = limits;
  }

  /** Adds a record (its bytes are copied); returns the batches this closed (zero to three). */
  add(record: QueuedRecord, now: number): Batch[] {
    const closed: Batch[] = [];
    const size = record.bytes.length;
    const key = routeKey(record);
    let batch = this.#open.get(key);
    if (batch && batch.bytes + 1 + size > this.#limits.maxBytes) {
      this.#close(batch, key, closed);
      batch = undefined;
    }
    if (!batch) {
      if (this.#open.size >= (this.#limits.maxOpen ?? DEFAULT_MAX_OPEN)) {
        // Senders choosing endless tag sets (or accounts) must not grow memory or the run loop's scans: the
        // oldest open batch (Maps keep insertion order) goes out now.
        const [oldKey, oldest] = this.#open.entries().next().value!;
        this.#close(oldest, oldKey, closed);
      }
      const body = this.#pool.pop() ?? new Uint8Array(this.#firstBodyBytes(size));
      batch = record.token === undefined
        ? { tags: record.tags, body, bytes: -1, count: 0, openedAt: now }
        : { tags: record.tags, token: record.token, body, bytes: -1, count: 0, openedAt: now };
      this.#open.set(key, batch);
    }
    this.#append(batch, record);
    this.#openEvents++;
    if (batch.count >= this.#limits.maxEvents || batch.bytes >= this.#limits.maxBytes) {
      this.#close(batch, key, closed);
    }
    return closed;
  }

  /**
   * A delivered batch's body may be written again (only a whole body, not a half of a split);
   * its events must not be read after this.
   */
  recycle(batch: Batch): void {
    const body = batch.body;
    if (
      body.byteOffset === 0 && body.length === body.buffer.byteLength &&
      body.length <= KEEP_BODY_BYTES && this.#pool.length < POOL_BODIES
    ) {
      this.#pool.push(body);
    }
  }

  /** Lets the kept bodies go (when the queue is drained: an idle relay holds none). */
  trim(): void {
    this.#pool.length = 0;
  }

  #append(batch: Batch, record: QueuedRecord): void {
    const at = batch.bytes + 1; // after the newline (none before the first event)
    const need = at + record.bytes.length;
    if (need > batch.body.length) {
      let length = batch.body.length * 2;
      while (length < need) length *= 2;
      const grown = new Uint8Array(Math.max(Math.min(length, this.#limits.maxBytes), need));
      grown.set(batch.body.subarray(0, Math.max(0, batch.bytes)));
      batch.body = grown;
    }
    if (batch.count > 0) batch.body[at - 1] = 10;
    batch.body.set(record.bytes, at);
    batch.bytes = need;
    batch.count++;
    if (record.id !== undefined) addId(batch.idRuns ??= [], record.id);
  }

  #firstBodyBytes(size: number): number {
    return Math.max(Math.min(FIRST_BODY_BYTES, this.#limits.maxBytes), size);
  }

  #close(batch: Batch, key: string, closed: Batch[]): void {
    this.#open.delete(key);
    this.#openEvents -= batch.count;
    closed.push(batch);
  }

  /** Closes and returns the batches that have lingered for `lingerMs` by `now`. */
  due(now: number): Batch[] {
    const closed: Batch[] = [];
    for (const [key, batch] of this.#open) {
      if (now - batch.openedAt >= this.#limits.lingerMs) this.#close(batch, key, closed);
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
    this.#openEvents = 0;
    return all;
  }

  /** Events in open batches. */
  get openRecords(): number {
    return this.#openEvents;
  }
}
