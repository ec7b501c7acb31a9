/**
 * The durable queue (`--spool DIR`): every event is written to SQLite in WAL mode, in group
 * commits, and deleted only when Loggly accepted the request that carried it. Recent records are
 * also kept in memory, so the sender reads the disk only for a backlog (after a restart, or when
 * an outage outgrew the memory cache).
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { accessReason } from "../access.ts";
import type { Logger } from "../log.ts";
import { M, type Metrics } from "../metrics.ts";
import { addRun, type IdRuns, mergeRuns } from "./id_runs.ts";
import { PagedRecords } from "./paged_records.ts";
import type { EventQueue, QueuedRecord, Receipt } from "./queue.ts";

/** What a crash (kill -9) or a power cut may lose, per policy; see the README. */
export type SpoolSync = "always" | "interval" | "os";

/** Settings of a spool. */
export interface SpoolOptions {
  dir: string;
  sync: SpoolSync;
  /** Bytes of events held before back-pressure. */
  maxBytes: number;
  /** Bytes of recent records also kept in memory (at most). */
  cacheBytes: number;
  /** Bytes held (taken or not) at which inputs feel back-pressure while Loggly keeps up. */
  memoryBytes: number;
  /**
   * True while deliveries fail (an outage): only then does the spool take events beyond
   * `memoryBytes`. While Loggly keeps up, inputs feel back-pressure at the memory bound, as with
   * the memory queue, instead of racing ahead of the sender into a disk backlog.
   */
  outage?: () => boolean;
  /** With `interval`: how often the WAL is fsynced. */
  syncIntervalMs?: number;
  metrics: Metrics;
  log: Logger;
}

/** A spool that cannot be opened: in use, unwritable, or not a spool. */
export class SpoolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SpoolError";
  }
}

/** Longest wait before pushed records are committed (group commit). */
const COMMIT_DELAY_MS = 5;
/** Records that trigger a commit at once. */
const COMMIT_RECORDS = 4096;
const RETRY_FAILED_COMMIT_MS = 1000;
/** Rows per multi-row INSERT (3 parameters each; SQLite allows 32766). */
const INSERT_ROWS = 128;
const DEFAULT_SYNC_INTERVAL_MS = 1000;
const WAKE_INTERVAL_MS = 500;

/**
 * Opens (creating if needed) the spool in `options.dir`; throws SpoolError with what to do. A
 * damaged database file is moved aside (kept for inspection, never deleted) and a new one begun,
 * so that a relay under a service manager does not crash-loop on it.
 */
export function openSpool(options: SpoolOptions): Spool {
  const path = `${options.dir}/spool.db`;
  try {
    Deno.mkdirSync(options.dir, { recursive: true });
  } catch (error) {
    throw new SpoolError(
      `Cannot create --spool ${options.dir} (${accessReason(error, "write")}): ` +
        "pick a writable directory",
      { cause: error },
    );
  }
  try {
    return spoolOn(openDatabase(path, options), options);
  } catch (error) {
    if (!/not a database|malformed|corrupt/i.test(reason(error))) throw explain(error, options);
    const aside = `${path}.damaged-${Date.now()}`;
    for (const suffix of ["", "-wal", "-shm"]) {
      try {
        Deno.renameSync(path + suffix, aside + suffix);
      } catch {
        // that file did not exist
      }
    }
    options.metrics.inc(M.spoolDamaged);
    options.log.error(
      "The spool {path} is damaged ({error}); moved it to {aside} and started a new one. " +
        "Events in it were not sent",
      { path, error: reason(error), aside },
    );
    try {
      return spoolOn(openDatabase(path, options), options);
    } catch (again) {
      throw explain(again, options);
    }
  }
}

/** The spool over an open database; the database is closed (its lock freed) if that fails. */
function spoolOn(db: DatabaseSync, options: SpoolOptions): Spool {
  try {
    return new Spool(db, options);
  } catch (error) {
    db.close();
    throw error;
  }
}

function openDatabase(path: string, options: SpoolOptions): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    // 16 KiB pages: a third less CPU per event than 4 KiB (new spool files only).
    db.exec(`PRAGMA page_size = 16384; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;
      PRAGMA synchronous = ${options.sync === "always" ? "FULL" : "NORMAL"};
      PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 2048;`);
    // Take the exclusive lock now: a second relay on the same directory must fail at start.
    db.exec("BEGIN EXCLUSIVE; COMMIT;");
    db.exec(`CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, tags TEXT NOT NULL,
        body BLOB NOT NULL, token TEXT);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);`);
    // Spools written before --accept-token have no token column: their events are the relay's.
    const columns = db.prepare("PRAGMA table_info(events)").all() as { name: string }[];
    if (!columns.some((c) => c.name === "token")) {
      db.exec("ALTER TABLE events ADD COLUMN token TEXT");
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function explain(error: unknown, options: SpoolOptions): SpoolError {
  const text = accessReason(error, "write");
  const message = /locked|busy/i.test(text)
    ? `--spool ${options.dir} is in use by another loggly-relay: give each relay its own directory`
    : /readonly|read-only|permission|unable to open|disk I\/O/i.test(text)
    ? `Cannot write --spool ${options.dir} (${text}): pick a writable directory`
    : `--spool ${options.dir} cannot be opened (${text})`;
  return new SpoolError(message, { cause: error });
}

/** The statements a spool runs, prepared on one database. */
interface Statements {
  insert: StatementSync;
  insertMany: StatementSync;
  deleteRange: StatementSync;
  countRange: StatementSync;
  countAll: StatementSync;
  setTaken: StatementSync;
  readBacklog: StatementSync;
}

function prepare(db: DatabaseSync): Statements {
  return {
    insert: db.prepare("INSERT INTO events (id, tags, body, token) VALUES (?, ?, ?, ?)"),
    insertMany: db.prepare(
      "INSERT INTO events (id, tags, body, token) VALUES " +
        Array(INSERT_ROWS).fill("(?, ?, ?, ?)").join(","),
    ),
    deleteRange: db.prepare("DELETE FROM events WHERE id BETWEEN ? AND ?"),
    countRange: db.prepare("SELECT count(*) AS n FROM events WHERE id BETWEEN ? AND ?"),
    countAll: db.prepare("SELECT count(*) AS n FROM events"),
    setTaken: db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('taken', ?)"),
    readBacklog: db.prepare(
      "SELECT id, tags, body, token FROM events WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
    ),
  };
}

/** The SQLite-backed {@link EventQueue}. */
export class Spool implements EventQueue {
  /** Replaced only when a full disk makes the spool start over ({@link Spool.#startOver}). */
  #db: DatabaseSync;
  #sql: Statements;
  readonly #o: SpoolOptions;
  /** Recent records, their bytes copied; the next record pushed gets the cache's `nextId`. */
  readonly #cache: PagedRecords;
  /** Next id to hand to the sender. */
  #readId: number;
  /** Records on disk only, not yet taken (ids below the cache's first). */
  #backlog: number;
  /**
   * Records from this id on are not yet committed (all cached), but for those in #cancelled:
   * delivered before they were written, they never will be. Records below it are on disk, but
   * for those delivered before their commit (never written).
   */
  #unwrittenFrom: number;
  #cancelled = new Set<number>();
  /** Acked ids that are on disk, to delete in the next commit. */
  #toDelete: IdRuns = [];
  #takenThrough: number;
  #commitTimer: ReturnType<typeof setTimeout> | undefined;
  #syncTimer: ReturnType<typeof setInterval> | undefined;
  #wakeTimer: ReturnType<typeof setInterval> | undefined;
  /** Callers of `flushed`, each with the last id pushed before it asked. */
  #flushWaiters: { through: number; wake: () => void }[] = [];
  /** True while records wait in memory because the disk refused them (back-pressure). */
  #failing = false;
  /** True from a logged write failure until a commit with records works again. */
  #failureLogged = false;
  #lastFailureLog = -Infinity;
  #lastCheckpointLog = -Infinity;
  #closed = false;
  /** True from starting over on a full disk until records are written again. */
  #startedOver = false;
  #heldEvents: number;
  #heldBytes: number;
  #notFullWaiters: (() => void)[] = [];
  #listener: () => void = () => {};

  constructor(db: DatabaseSync, options: SpoolOptions) {
    this.#db = db;
    this.#sql = prepare(db);
    this.#o = options;
    const stats = db.prepare(
      "SELECT count(*) AS n, coalesce(sum(length(body)), 0) AS bytes, min(id) AS first, " +
        "max(id) AS last FROM events",
    ).get() as { n: number; bytes: number; first: number | null; last: number | null };
    const taken = db.prepare("SELECT value FROM meta WHERE key = 'taken'").get() as
      | { value: number }
      | undefined;
    this.#takenThrough = taken?.value ?? 0;
    // Never reuse an id below the "taken" watermark, or new events would count as replayed.
    const nextId = Math.max(stats.last ?? 0, this.#takenThrough) + 1;
    const pages = Math.ceil(options.cacheBytes / PagedRecords.PAGE_BYTES) + 2;
    this.#cache = new PagedRecords(nextId, pages);
    this.#unwrittenFrom = nextId;
    this.#readId = stats.first ?? nextId;
    this.#backlog = stats.n;
    this.#heldEvents = stats.n;
    this.#heldBytes = stats.bytes;
    if (stats.n > 0) {
      const replayed = (db.prepare("SELECT count(*) AS n FROM events WHERE id <= ?").get(
        this.#takenThrough,
      ) as { n: number }).n;
      options.metrics.inc(M.spoolRecovered, {}, stats.n);
      options.metrics.inc(M.spoolReplayed, {}, replayed);
      options.log.info(
        "Spool holds {events} events ({bytes} bytes) from before; sending them first. " +
          "{replayed} of them were in flight when the relay stopped and may reach Loggly twice",
        { events: stats.n, bytes: stats.bytes, replayed },
      );
    }
    // An outage beginning makes room without any ack: wake paused inputs now and then.
    this.#wakeTimer = setInterval(() => this.#wakeIfNotFull(), WAKE_INTERVAL_MS);
    if (options.sync === "interval") {
      this.#syncTimer = setInterval(
        () => this.#checkpoint(),
        options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS,
      );
    }
  }

  get full(): boolean {
    if (this.#failing || this.#heldBytes >= this.#o.maxBytes) return true;
    return this.#heldBytes >= this.#o.memoryBytes && !(this.#o.outage?.() ?? true);
  }

  get pending(): number {
    return this.#backlog + (this.#cache.nextId - Math.max(this.#readId, this.#cache.firstId));
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
    this.#cache.push(record);
    this.#heldEvents++;
    this.#heldBytes += record.bytes.length;
    // While writes fail, retries are the timer's job: re-running the whole failed transaction on
    // every push would be quadratic and freeze the event loop.
    if (this.#unwritten() >= COMMIT_RECORDS && !this.#failing) this.#commit();
    else this.#scheduleCommit();
    if (this.pending === 1) this.#listener();
  }

  whenNotFull(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.#notFullWaiters.push(resolve));
  }

  onAvailable(listener: () => void): void {
    this.#listener = listener;
  }

  /** Records from memory are views of the cache's pages: copy them before the next push. */
  take(max: number): QueuedRecord[] {
    if (max <= 0) return [];
    if (this.#readId < this.#cache.firstId) return this.#takeBacklog(max);
    const from = this.#readId;
    const to = Math.min(this.#cache.nextId, from + max);
    const out: QueuedRecord[] = new Array(to - from);
    for (let id = from; id < to; id++) out[id - from] = this.#cache.get(id, true);
    this.#readId = to;
    return out;
  }

  #takeBacklog(max: number): QueuedRecord[] {
    let rows: { id: number; tags: string; body: Uint8Array; token: string | null }[];
    try {
      rows = this.#sql.readBacklog.all(this.#readId, this.#cache.firstId, max) as typeof rows;
    } catch (error) {
      // A damaged page under the backlog: skip to what memory holds rather than crash on every
      // start. The rows stay in the file; they are counted and named here.
      this.#o.metrics.inc(M.spoolDamaged);
      this.#o.log.error(
        "Cannot read the spool's backlog from id {from} ({error}); skipping {events} events " +
          "that stay in {dir}/spool.db",
        { from: this.#readId, error: reason(error), events: this.#backlog, dir: this.#o.dir },
      );
      this.#readId = this.#cache.firstId;
      this.#backlog = 0;
      return [];
    }
    const out = rows.map((row): QueuedRecord =>
      row.token === null
        ? { id: row.id, tags: row.tags, bytes: row.body }
        : { id: row.id, tags: row.tags, bytes: row.body, token: row.token }
    );
    this.#backlog -= out.length;
    this.#readId = out.length < max ? this.#cache.firstId : out[out.length - 1].id! + 1;
    if (out.length < max && this.#backlog !== 0) {
      // The disk held fewer than counted (a torn tail rolled back): trust the disk.
      this.#backlog = 0;
    }
    return out;
  }

  ack(receipt: Receipt): void {
    // Records not yet committed are not on disk: those are never written.
    let cancelled = false;
    const runs = receipt.idRuns ?? [];
    for (let i = 0; i < runs.length; i += 2) {
      const [first, last] = [runs[i], runs[i + 1]];
      if (first < this.#unwrittenFrom) {
        addRun(this.#toDelete, first, Math.min(last, this.#unwrittenFrom - 1));
      }
      for (let id = Math.max(first, this.#unwrittenFrom); id <= last; id++) {
        this.#cancelled.add(id);
        cancelled = true;
      }
    }
    this.#heldBytes -= receipt.bytes;
    this.#heldEvents -= receipt.events;
    // Idle: free pages beyond a few go (a cache grown while the disk failed leaves many).
    if (this.#heldEvents === 0) this.#cache.trimPool();
    if (cancelled) this.#cancel();
    this.#scheduleCommit();
    this.#wakeIfNotFull();
  }

  flushed(): Promise<void> {
    if (this.#unwritten() === 0) return Promise.resolve();
    const through = this.#cache.nextId - 1;
    return new Promise((wake) => this.#flushWaiters.push({ through, wake }));
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    clearInterval(this.#syncTimer);
    clearInterval(this.#wakeTimer);
    this.#commit();
    this.#closed = true;
    clearTimeout(this.#commitTimer); // a failed last commit must not retry on a closed database
    // Only events neither written nor delivered: those delivered from memory were cancelled.
    const lost = this.#unwritten();
    if (lost > 0) {
      this.#o.log.error("{events} events could not be written to the spool before exit: lost", {
        events: lost,
      });
      this.#o.metrics.inc(M.dropped, { input: "any", reason: "spool write failed at exit" }, lost);
      this.#heldEvents -= lost;
    }
    if (this.#db.isOpen) {
      try {
        this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch (error) {
        this.#o.log.warn("Spool checkpoint at close failed: {error}", { error });
      }
      this.#db.close();
    }
    for (const waiter of this.#flushWaiters.splice(0)) waiter.wake();
    return Promise.resolve();
  }

  #scheduleCommit(): void {
    this.#commitTimer ??= setTimeout(() => this.#commit(), COMMIT_DELAY_MS);
  }

  /** One transaction for everything pushed and acked since the last: group commit. */
  #commit(): void {
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    const unwritten = this.#unwritten();
    if (this.#closed || (unwritten === 0 && this.#toDelete.length === 0)) return;
    if (!this.#db.isOpen) this.#reopen();
    if (this.#failing) this.#checkpointQuietly();
    const taken = this.#readId - 1;
    try {
      this.#db.exec("BEGIN");
      this.#insertUnwritten();
      this.#deleteAcked(taken);
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#rollback();
      // The acks must not wait for the inserts: a delivered event left on disk would be sent
      // again after a restart, and while it is there its space cannot be reused.
      if (unwritten > 0) this.#commitAcks(taken);
      if (/\bfull\b/i.test(reason(error)) && this.#startOver()) {
        this.#o.metrics.inc(M.spoolWriteErrors);
        this.#commit(); // what waits in memory, into the new database
      } else {
        this.#fail(error);
      }
      return;
    }
    this.#takenThrough = Math.max(this.#takenThrough, taken);
    this.#unwrittenFrom = this.#cache.nextId;
    this.#cancelled.clear();
    this.#toDelete = [];
    if (unwritten > 0) {
      this.#startedOver = false;
      this.#recovered();
    }
    this.#trimCache();
    for (const waiter of this.#flushWaiters.splice(0)) waiter.wake();
  }

  /** Deletes the acked records and moves the "taken" watermark, inside an open transaction. */
  #deleteAcked(taken: number): void {
    // Acks come a batch at a time, mostly in id order: delete whole ranges, not single rows.
    for (const [first, last] of mergeRuns(this.#toDelete)) this.#sql.deleteRange.run(first, last);
    if (taken > this.#takenThrough) this.#sql.setTaken.run(taken);
  }

  /** Last resort on a full disk: if all on it was delivered, a new database; false if not done. */
  #startOver(): boolean {
    // SQLite can then neither delete (that needs room in its log, as much as the pages the events
    // fill) nor empty its log (that needs room in the database). When every event on disk was
    // delivered, the files hold nothing to keep: removing them frees what the spool itself filled,
    // and nothing delivered is sent again after a restart. Once until records are written again,
    // so that a disk filled by others does not make the spool remove its files over and over.
    if (this.#startedOver) return false;
    // Cheap first: events held that are not waiting in memory are on disk, not yet acked.
    if (this.#heldEvents !== this.#unwritten() || this.#backlog !== 0) return false;
    try {
      if (!this.#onlyAckedOnDisk()) return false;
      this.#db.close();
    } catch {
      return false;
    }
    const path = `${this.#o.dir}/spool.db`;
    let removed = true;
    // The log first: a log left beside a new database would be read into it.
    for (const suffix of ["-wal", "-shm", ""]) {
      try {
        Deno.removeSync(path + suffix);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        removed = false;
        break;
      }
    }
    this.#reopen(); // the new database, or the old one if its files could not be removed
    if (!removed) return false;
    this.#startedOver = true;
    this.#toDelete = [];
    this.#takenThrough = 0; // written again with the next commit
    this.#readId = Math.max(this.#readId, this.#cache.firstId); // nothing untaken was on disk
    this.#o.log.warn(
      "The disk under the spool in {dir} is full and every event in the spool was delivered: " +
        "began the spool afresh to free its space",
      { dir: this.#o.dir },
    );
    return true;
  }

  /** True when every event in the database is among the acked ones (reads only). */
  #onlyAckedOnDisk(): boolean {
    let acked = 0;
    for (const [first, last] of mergeRuns(this.#toDelete)) {
      acked += (this.#sql.countRange.get(first, last) as { n: number }).n;
    }
    return acked === (this.#sql.countAll.get() as { n: number }).n;
  }

  /** Opens the database again after {@link Spool.#startOver}; on failure, commits retry it. */
  #reopen(): void {
    try {
      this.#db = openDatabase(`${this.#o.dir}/spool.db`, this.#o);
      this.#sql = prepare(this.#db);
    } catch (error) {
      this.#o.log.error("Cannot open the spool in {dir} again ({error}); retrying", {
        dir: this.#o.dir,
        error: reason(error),
      });
    }
  }

  /** Commits only the acks and the watermark, after a transaction with inserts failed. */
  #commitAcks(taken: number): void {
    if (this.#toDelete.length === 0 && taken <= this.#takenThrough) return;
    try {
      this.#db.exec("BEGIN");
      this.#deleteAcked(taken);
      this.#db.exec("COMMIT");
    } catch {
      this.#rollback(); // the disk refuses even these: they are retried with the inserts
      return;
    }
    this.#takenThrough = Math.max(this.#takenThrough, taken);
    this.#toDelete = [];
  }

  /** Uncommitted records that are to be written: not delivered already. */
  #unwritten(): number {
    return this.#cache.nextId - this.#unwrittenFrom - this.#cancelled.size;
  }

  /**
   * After acks of uncommitted records (now in #cancelled): the first record to write moves past
   * those delivered; with none left, back-pressure ends.
   */
  #cancel(): void {
    while (this.#cancelled.delete(this.#unwrittenFrom)) this.#unwrittenFrom++;
    const none = this.#unwritten() === 0;
    const unwritten = none ? Infinity : this.#unwrittenFrom;
    if (this.#flushWaiters.length > 0) {
      const waiting = this.#flushWaiters;
      this.#flushWaiters = waiting.filter((waiter) => waiter.through >= unwritten);
      for (const waiter of waiting) if (waiter.through < unwritten) waiter.wake();
    }
    if (none && this.#failing) {
      // Nothing is held only in memory any more: accept events again and try the disk with the
      // next ones at the usual pace, not after the failed commit's retry delay.
      this.#failing = false;
      clearTimeout(this.#commitTimer);
      this.#commitTimer = undefined;
    }
  }

  /**
   * Inserts the uncommitted records not delivered already, many rows per statement (one
   * statement per row costs twice the CPU).
   */
  #insertUnwritten(): void {
    const values: (number | string | Uint8Array | null)[] = new Array(INSERT_ROWS * 4);
    const skip = this.#cancelled.size > 0 ? this.#cancelled : null;
    let rows = 0;
    for (let id = this.#unwrittenFrom; id < this.#cache.nextId; id++) {
      if (skip?.has(id)) continue;
      const r = this.#cache.get(id, false);
      values[rows * 4] = id;
      values[rows * 4 + 1] = r.tags;
      values[rows * 4 + 2] = r.bytes;
      values[rows * 4 + 3] = r.token ?? null;
      if (++rows === INSERT_ROWS) {
        this.#sql.insertMany.run(...values);
        rows = 0;
      }
    }
    for (let i = 0; i < rows; i++) {
      this.#sql.insert.run(values[i * 4], values[i * 4 + 1], values[i * 4 + 2], values[i * 4 + 3]);
    }
  }

  /** A commit with records went through: the disk takes writes again. */
  #recovered(): void {
    this.#failing = false;
    if (this.#failureLogged) {
      this.#failureLogged = false;
      this.#o.log.info("Spool writes work again; accepting events");
    }
    this.#wakeIfNotFull();
  }

  #rollback(): void {
    try {
      this.#db.exec("ROLLBACK");
    } catch {
      // no transaction was open
    }
  }

  /** A failed write (disk full, I/O error): records wait in memory, inputs push back; retry. */
  #fail(error: unknown): void {
    this.#failing = this.#unwritten() > 0;
    this.#o.metrics.inc(M.spoolWriteErrors);
    const now = Date.now();
    if (now - this.#lastFailureLog >= 10_000) {
      this.#lastFailureLog = now;
      this.#failureLogged = true;
      this.#o.log.error(
        this.#failing
          ? "Cannot write the spool in {dir} ({error}); inputs are paused (UDP drops) while " +
            "events wait in memory, until they are written or delivered: free disk space or fix " +
            "the directory"
          : "Cannot write the spool in {dir} ({error}); delivered events stay in it, and may be " +
            "sent again after a restart, until it can be written: free disk space or fix the " +
            "directory",
        { dir: this.#o.dir, error: reason(error) },
      );
    }
    clearTimeout(this.#commitTimer);
    this.#commitTimer = setTimeout(() => this.#commit(), RETRY_FAILED_COMMIT_MS);
  }

  /** Keeps the memory cache within its bound; committed records past it are read from disk. */
  #trimCache(): void {
    // Records from #unwrittenFrom on are not on disk yet (delivered ones aside): they stay.
    while (this.#cache.bytes > this.#o.cacheBytes && this.#cache.firstId < this.#unwrittenFrom) {
      if (this.#cache.firstId >= this.#readId) this.#backlog++;
      this.#cache.dropFirst();
    }
  }

  #checkpoint(): void {
    if (!this.#db.isOpen) return; // a start over could not open the new database yet
    try {
      this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)"); // fsyncs the WAL, then the database
    } catch (error) {
      // The commits themselves went through: count and log, but do not stop the inputs.
      this.#o.metrics.inc(M.spoolWriteErrors);
      const now = Date.now();
      if (now - this.#lastCheckpointLog < 10_000) return;
      this.#lastCheckpointLog = now;
      this.#o.log.warn("Spool checkpoint failed ({error}); retrying", { error: reason(error) });
    }
  }

  /** Checkpoints before a failed commit is retried; errors are left to the commit. */
  #checkpointQuietly(): void {
    // A write-ahead log that filled the disk is reused from its start only once checkpointed,
    // which the `os` and `always` policies otherwise do at ~32 MiB.
    try {
      this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    } catch {
      // still no room: the commit that follows fails, and is counted, too
    }
  }

  #wakeIfNotFull(): void {
    if (this.full || this.#notFullWaiters.length === 0) return;
    for (const wake of this.#notFullWaiters.splice(0)) wake();
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
