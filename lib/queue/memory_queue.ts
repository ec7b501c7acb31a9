/**
 * The in-memory queue. It keeps events as bytes in pages, not as one object each: at full load a
 * queued event outlives V8's young generation, so one object per event was promoted to the old
 * generation, which grew by tens of MiB of garbage between collections. `take` hands out views
 * of the pages, which the sender copies into request bodies at once; a page is used again once
 * every event in it was taken.
 *
 * @module
 */
import { PagedRecords } from "./paged_records.ts";
import type { EventQueue, QueuedRecord, Receipt } from "./queue.ts";

/** A bounded in-memory {@link EventQueue}: a FIFO of event bytes plus held-count accounting. */
export class MemoryQueue implements EventQueue {
  /**
   * The waiting events. Free pages are kept for reuse, as many as the byte bound can fill (a
   * smaller pool let ~140 MB/s of pages go to the garbage collector at full load, tens of MiB of
   * external memory between collections); cut to a few whenever the queue drains, so that an
   * idle relay holds little.
   */
  readonly #waiting: PagedRecords;
  #heldEvents = 0;
  #heldBytes = 0;
  #waiters: (() => void)[] = [];
  #listener: () => void = () => {};
  #maxEvents: number;
  #maxBytes: number;

  constructor(maxEvents: number, maxBytes: number) {
    this.#maxEvents = maxEvents;
    this.#maxBytes = maxBytes;
    const pages = Math.min(Math.ceil(maxBytes / PagedRecords.PAGE_BYTES), 256) + 2;
    this.#waiting = new PagedRecords(0, pages);
  }

  get full(): boolean {
    return this.#heldEvents >= this.#maxEvents || this.#heldBytes >= this.#maxBytes;
  }

  get pending(): number {
    return this.#waiting.count;
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
    this.#waiting.push(record);
    this.#heldEvents++;
    this.#heldBytes += record.bytes.length;
    if (this.pending === 1) this.#listener();
  }

  whenNotFull(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The records' bytes are views of the queue's pages: copy them before the next push. */
  take(max: number): QueuedRecord[] {
    const n = Math.min(this.#waiting.count, max);
    const out: QueuedRecord[] = new Array(n);
    for (let k = 0; k < n; k++) {
      out[k] = this.#waiting.get(this.#waiting.firstId, false);
      this.#waiting.dropFirst();
    }
    return out;
  }

  onAvailable(listener: () => void): void {
    this.#listener = listener;
  }

  flushed(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  ack(receipt: Receipt): void {
    this.#heldBytes -= receipt.bytes;
    this.#heldEvents -= receipt.events;
    if (this.#heldEvents === 0) this.#waiting.trimPool();
    this.#wakeIfNotFull();
  }

  /** New bounds (a reload): what is held stays; inputs wait, or go on, by the new ones. */
  resize(maxEvents: number, maxBytes: number): void {
    this.#maxEvents = maxEvents;
    this.#maxBytes = maxBytes;
    this.#wakeIfNotFull();
  }

  #wakeIfNotFull(): void {
    if (!this.full && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }
}
