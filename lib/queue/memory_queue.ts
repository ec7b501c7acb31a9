/**
 * The in-memory queue. It keeps events as bytes in pages, not as one object each: at full load a
 * queued event outlives V8's young generation, so one object per event was promoted to the old
 * generation, which grew by tens of MiB of garbage between collections. `take` hands out views
 * of the pages, which the sender copies into request bodies at once; a page is used again once
 * every event in it was taken.
 *
 * @module
 */
import type { EventQueue, QueuedRecord, Receipt } from "./queue.ts";

/** A page of event bytes, and how many of its events wait to be taken. */
interface Page {
  readonly bytes: Uint8Array;
  waiting: number;
  /** False for the buffer of one large event, which is not reused. */
  readonly shared: boolean;
}

/** Free pages kept for reuse once the queue drains (more are kept while it is busy). */
const IDLE_POOL_PAGES = 4;

/** A bounded in-memory {@link EventQueue}: a FIFO of event bytes plus held-count accounting. */
export class MemoryQueue implements EventQueue {
  /** Bytes per page; an event larger than a quarter of it gets a buffer of its own. */
  static readonly PAGE_BYTES = 256 * 1024;

  readonly copiesBytes = true;
  // Waiting events, in rings of parallel arrays of references and small numbers (no object per
  // event, and no array reallocated while the queue stays within its size).
  #pages: (Page | undefined)[] = new Array(16);
  #starts = new Int32Array(16);
  #lengths = new Int32Array(16);
  #tags: (string | undefined)[] = new Array(16);
  #tokens: (string | undefined)[] = new Array(16);
  /** Ring index of the first waiting event, and how many wait. */
  #head = 0;
  #count = 0;
  /** The page being written, and where. */
  #page: Page | null = null;
  #at = 0;
  /** A page wholly taken, to reuse at the next take (its views are valid until then). */
  #spent: Uint8Array[] = [];
  /**
   * Free pages for reuse, as many as the byte bound can fill (a smaller pool let ~140 MB/s of
   * pages go to the garbage collector at full load, tens of MiB of external memory between
   * collections); cut to a few whenever the queue drains, so that an idle relay holds little.
   */
  readonly #pool: Uint8Array[] = [];
  readonly #poolPages: number;
  #heldEvents = 0;
  #heldBytes = 0;
  #waiters: (() => void)[] = [];
  #listener: () => void = () => {};
  readonly #maxEvents: number;
  readonly #maxBytes: number;

  constructor(maxEvents: number, maxBytes: number) {
    this.#maxEvents = maxEvents;
    this.#maxBytes = maxBytes;
    this.#poolPages = Math.min(Math.ceil(maxBytes / MemoryQueue.PAGE_BYTES), 256) + 2;
  }

  get full(): boolean {
    return this.#heldEvents >= this.#maxEvents || this.#heldBytes >= this.#maxBytes;
  }

  get pending(): number {
    return this.#count;
  }

  get heldEvents(): number {
    return this.#heldEvents;
  }

  get heldBytes(): number {
    return this.#heldBytes;
  }

  offer(record: QueuedRecord): boolean {
    if (this.full) return false;
    this.push(record);
    return true;
  }

  /** Copies the record's bytes: the caller may reuse its buffer once this returns. */
  push(record: QueuedRecord): void {
    const size = record.bytes.length;
    let page: Page;
    let start = 0;
    if (size > MemoryQueue.PAGE_BYTES / 4) {
      page = { bytes: record.bytes.slice(), waiting: 1, shared: false };
    } else {
      if (this.#page === null || this.#at + size > MemoryQueue.PAGE_BYTES) this.#turnPage();
      page = this.#page!;
      start = this.#at;
      page.bytes.set(record.bytes, start);
      page.waiting++;
      this.#at += size;
    }
    if (this.#count === this.#starts.length) this.#resize(this.#count * 2);
    const at = (this.#head + this.#count++) & (this.#starts.length - 1);
    this.#pages[at] = page;
    this.#starts[at] = start;
    this.#lengths[at] = size;
    this.#tags[at] = record.tags;
    this.#tokens[at] = record.token;
    this.#heldEvents++;
    this.#heldBytes += size;
    if (this.pending === 1) this.#listener();
  }

  whenNotFull(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The records' bytes are views of the queue's pages: copy them before the next push or take. */
  take(max: number): QueuedRecord[] {
    this.#reuseSpent();
    const n = Math.min(this.#count, max);
    const out: QueuedRecord[] = new Array(n);
    const mask = this.#starts.length - 1;
    for (let k = 0; k < n; k++) {
      const i = (this.#head + k) & mask;
      const page = this.#pages[i]!;
      const start = this.#starts[i];
      const bytes = page.bytes.subarray(start, start + this.#lengths[i]);
      const tags = this.#tags[i]!;
      const token = this.#tokens[i];
      out[k] = token === undefined ? { bytes, tags } : { bytes, tags, token };
      this.#pages[i] = this.#tags[i] = this.#tokens[i] = undefined;
      // A page is spent once its last waiting event is taken (the current page never is).
      if (--page.waiting === 0 && page.shared && page !== this.#page) this.#spent.push(page.bytes);
    }
    this.#head = (this.#head + n) & mask;
    this.#count -= n;
    // After a burst, rings far larger than what waits are given back.
    if (mask >= 4096 && this.#count * 8 < mask) this.#resize((mask + 1) / 2);
    return out;
  }

  onAvailable(listener: () => void): void {
    this.#listener = listener;
  }

  /** The queue copies what it is given: there are never records of the caller's to release. */
  onAck(_listener: (records: readonly QueuedRecord[]) => void): void {}

  flushed(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  ack(receipt: Receipt): void {
    this.#heldBytes -= receipt.bytes;
    this.#heldEvents -= receipt.events;
    if (this.#heldEvents === 0 && this.#pool.length > IDLE_POOL_PAGES) {
      this.#pool.length = IDLE_POOL_PAGES;
    }
    if (!this.full && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }

  #turnPage(): void {
    const last = this.#page;
    // The page ending now was wholly taken already: free for reuse (no view of it is in use);
    // else it is spent when its last event is taken.
    if (last !== null && last.waiting === 0) this.#spent.push(last.bytes);
    this.#reuseSpent();
    const bytes = this.#pool.pop() ?? new Uint8Array(MemoryQueue.PAGE_BYTES);
    this.#page = { bytes, waiting: 0, shared: true };
    this.#at = 0;
  }

  #reuseSpent(): void {
    for (const page of this.#spent) {
      if (this.#pool.length < this.#poolPages) this.#pool.push(page);
    }
    this.#spent.length = 0;
  }

  /** New rings of `size` (a power of two, at least the events waiting), those events first. */
  #resize(size: number): void {
    const order = (k: number) => (this.#head + k) & (this.#starts.length - 1);
    const pages: (Page | undefined)[] = new Array(size);
    const starts = new Int32Array(size);
    const lengths = new Int32Array(size);
    const tags: (string | undefined)[] = new Array(size);
    const tokens: (string | undefined)[] = new Array(size);
    for (let k = 0; k < this.#count; k++) {
      const i = order(k);
      pages[k] = this.#pages[i];
      starts[k] = this.#starts[i];
      lengths[k] = this.#lengths[i];
      tags[k] = this.#tags[i];
      tokens[k] = this.#tokens[i];
    }
    this.#pages = pages;
    this.#starts = starts;
    this.#lengths = lengths;
    this.#tags = tags;
    this.#tokens = tokens;
    this.#head = 0;
  }
}
