import type { EventQueue, QueuedRecord } from "./queue.ts";

/** A bounded in-memory {@link EventQueue}: a FIFO of records plus held-count accounting. */
export class MemoryQueue implements EventQueue {
  #items: (QueuedRecord | undefined)[] = [];
  #head = 0;
  #heldEvents = 0;
  #heldBytes = 0;
  #waiters: (() => void)[] = [];
  #listener: () => void = () => {};
  #acked: (records: readonly QueuedRecord[]) => void = () => {};
  readonly #maxEvents: number;
  readonly #maxBytes: number;

  constructor(maxEvents: number, maxBytes: number) {
    this.#maxEvents = maxEvents;
    this.#maxBytes = maxBytes;
  }

  get full(): boolean {
    return this.#heldEvents >= this.#maxEvents || this.#heldBytes >= this.#maxBytes;
  }

  get pending(): number {
    return this.#items.length - this.#head;
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

  push(record: QueuedRecord): void {
    this.#items.push(record);
    this.#heldEvents++;
    this.#heldBytes += record.bytes.length;
    if (this.pending === 1) this.#listener();
  }

  whenNotFull(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  take(max: number): QueuedRecord[] {
    const end = Math.min(this.#items.length, this.#head + max);
    const out = this.#items.slice(this.#head, end) as QueuedRecord[];
    this.#items.fill(undefined, this.#head, end);
    this.#head = end;
    if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  onAvailable(listener: () => void): void {
    this.#listener = listener;
  }

  onAck(listener: (records: readonly QueuedRecord[]) => void): void {
    this.#acked = listener;
  }

  flushed(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  ack(records: readonly QueuedRecord[]): void {
    for (const record of records) this.#heldBytes -= record.bytes.length;
    this.#heldEvents -= records.length;
    this.#acked(records);
    if (!this.full && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }
}
