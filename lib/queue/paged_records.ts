/**
 * Records in order, their bytes copied into shared pages: what the memory queue holds, and the
 * spool's memory cache. At full load a held record outlives V8's young generation, so one object
 * per record was promoted to the old generation, which grew by tens of MiB of garbage between
 * collections; here a record is a slot in rings of parallel arrays, and pages are used again.
 * Records are added at the back and dropped from the front; each has an id, one more than the
 * record before it.
 *
 * @module
 */
import type { QueuedRecord } from "./queue.ts";

/** A page of record bytes, and how many held records are on it. */
interface Page {
  readonly bytes: Uint8Array;
  held: number;
  /** False for the buffer of one large record, which is not reused. */
  readonly shared: boolean;
}

/** A FIFO of records with ids `firstId` .. `nextId - 1`. */
export class PagedRecords {
  /** Bytes per page; a record larger than a quarter of it gets a buffer of its own. */
  static readonly PAGE_BYTES = 256 * 1024;

  // Rings indexed from #head, a power of two long: no object per record, and no array
  // reallocated while the number held stays within their size.
  #pages: (Page | undefined)[] = new Array(16);
  #starts = new Int32Array(16);
  #lengths = new Int32Array(16);
  #tags: (string | undefined)[] = new Array(16);
  #tokens: (string | undefined)[] = new Array(16);
  #head = 0;
  #count = 0;
  #firstId: number;
  #bytes = 0;
  /** The page being written, and where. */
  #page: Page | null = null;
  #at = 0;
  /** Free pages, for reuse. */
  readonly #pool: Uint8Array[] = [];
  readonly #poolPages: number;

  /**
   * An empty store whose first record gets `firstId`; it keeps up to `poolPages` free pages for
   * reuse (more go to the garbage collector).
   */
  constructor(firstId: number, poolPages: number) {
    this.#firstId = firstId;
    this.#poolPages = poolPages;
  }

  /** The id of the first record held (`nextId` when none is). */
  get firstId(): number {
    return this.#firstId;
  }

  /** The id the next record pushed gets. */
  get nextId(): number {
    return this.#firstId + this.#count;
  }

  /** Records held. */
  get count(): number {
    return this.#count;
  }

  /** Bytes of the records held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Copies the record's bytes (the caller may reuse its buffer at once); returns its id. */
  push(record: QueuedRecord): number {
    const size = record.bytes.length;
    let page: Page;
    let start = 0;
    if (size > PagedRecords.PAGE_BYTES / 4) {
      page = { bytes: record.bytes.slice(), held: 1, shared: false };
    } else {
      if (this.#page === null || this.#at + size > PagedRecords.PAGE_BYTES) this.#turnPage();
      page = this.#page!;
      start = this.#at;
      page.bytes.set(record.bytes, start);
      page.held++;
      this.#at += size;
    }
    if (this.#count === this.#starts.length) this.#resize(this.#count * 2);
    const at = (this.#head + this.#count++) & (this.#starts.length - 1);
    this.#pages[at] = page;
    this.#starts[at] = start;
    this.#lengths[at] = size;
    this.#tags[at] = record.tags;
    this.#tokens[at] = record.token;
    this.#bytes += size;
    return this.nextId - 1;
  }

  /**
   * The record with `id` (held: `firstId` <= id < `nextId`), with its id when `withId`. Its
   * bytes are a view of a page: copy them before the next push.
   */
  get(id: number, withId: boolean): QueuedRecord {
    if (id < this.#firstId || id >= this.nextId) {
      throw new RangeError(
        `Record ${id} is not held (held: ${this.#firstId} to ${this.nextId - 1})`,
      );
    }
    const i = (this.#head + id - this.#firstId) & (this.#starts.length - 1);
    const start = this.#starts[i];
    const bytes = this.#pages[i]!.bytes.subarray(start, start + this.#lengths[i]);
    const tags = this.#tags[i]!;
    const token = this.#tokens[i];
    if (!withId) return token === undefined ? { bytes, tags } : { bytes, tags, token };
    return token === undefined ? { bytes, tags, id } : { bytes, tags, id, token };
  }

  /**
   * Drops the first record (if any). Its page is free once no held record is on it; views of it
   * stay valid until the next push.
   */
  dropFirst(): void {
    if (this.#count === 0) return;
    const mask = this.#starts.length - 1;
    const i = this.#head;
    const page = this.#pages[i]!;
    this.#bytes -= this.#lengths[i];
    this.#pages[i] = this.#tags[i] = this.#tokens[i] = undefined;
    this.#head = (i + 1) & mask;
    this.#count--;
    this.#firstId++;
    // The page being written never is free: records still go onto it.
    if (--page.held === 0 && page.shared && page !== this.#page) this.#free(page.bytes);
    // After a burst, rings far larger than what is held are given back.
    if (mask >= 4096 && this.#count * 8 < mask) this.#resize((mask + 1) / 2);
  }

  /** Free pages a store keeps when nothing is held (an idle relay holds little). */
  static readonly IDLE_POOL_PAGES = 4;

  /** Keeps at most `pages` free pages (the rest to the garbage collector): for an idle relay. */
  trimPool(pages: number = PagedRecords.IDLE_POOL_PAGES): void {
    if (this.#pool.length > pages) this.#pool.length = pages;
  }

  #turnPage(): void {
    const last = this.#page;
    // The page ending now holds no record any more: free (its views are valid until this push).
    if (last !== null && last.held === 0) this.#free(last.bytes);
    const bytes = this.#pool.pop() ?? new Uint8Array(PagedRecords.PAGE_BYTES);
    this.#page = { bytes, held: 0, shared: true };
    this.#at = 0;
  }

  #free(bytes: Uint8Array): void {
    if (this.#pool.length < this.#poolPages) this.#pool.push(bytes);
  }

  /** New rings of `size` (a power of two, at least the records held), those records first. */
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
