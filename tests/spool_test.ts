/** The SQLite spool on its own: persistence, order, bounds, lock, damage, disk full. */
import assert from "node:assert/strict";
import { logger } from "../lib/log.ts";
import { M, Metrics } from "../lib/metrics.ts";
import { type QueuedRecord, receiptOf } from "../lib/queue/queue.ts";
import { openSpool, type Spool, SpoolError, type SpoolOptions } from "../lib/queue/spool.ts";
import { run } from "./helpers.ts";
import { spooledEvents } from "./spool_reader.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function record(n: number, size = 0): QueuedRecord {
  return {
    bytes: encoder.encode(`{"message":"e${n}${"x".repeat(size)}"}`),
    tags: n % 2 ? "a" : "",
  };
}

function names(records: QueuedRecord[]): string[] {
  return records.map((r) => JSON.parse(decoder.decode(r.bytes)).message.replace(/x+$/, ""));
}

function options(dir: string, extra: Partial<SpoolOptions> = {}): SpoolOptions {
  return {
    dir,
    sync: "interval",
    maxBytes: 1 << 30,
    cacheBytes: 1 << 20,
    metrics: new Metrics(),
    log: logger("spool-test"),
    ...extra,
    // Back-pressure at the cache size unless a test sets it apart.
    memoryBytes: extra.memoryBytes ?? extra.cacheBytes ?? 1 << 20,
  };
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spool-test-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("spool: records come out in order with their tags, and survive close and reopen", async () => {
  await withDir(async (dir) => {
    let spool: Spool = openSpool(options(dir));
    for (let i = 0; i < 10; i++) spool.push(record(i));
    await spool.flushed();
    const first = spool.take(4);
    assert.deepEqual(names(first), ["e0", "e1", "e2", "e3"]);
    assert.deepEqual(first.map((r) => r.tags), ["", "a", "", "a"]);
    spool.ack(receiptOf(first));
    assert.equal(spool.heldEvents, 6);
    await spool.close();

    const metrics = new Metrics();
    spool = openSpool(options(dir, { metrics }));
    assert.equal(spool.heldEvents, 6);
    assert.equal(spool.pending, 6);
    assert.equal(metrics.get(M.spoolRecovered), 6);
    assert.deepEqual(names(spool.take(100)), ["e4", "e5", "e6", "e7", "e8", "e9"]);
    await spool.close();
  });
});

Deno.test("spool: records taken but not acked before a stop are sent again, and counted", async () => {
  await withDir(async (dir) => {
    let spool = openSpool(options(dir));
    for (let i = 0; i < 5; i++) spool.push(record(i));
    const inFlight = spool.take(3); // handed to the sender, never acked
    assert.equal(inFlight.length, 3);
    await spool.close();
    const metrics = new Metrics();
    spool = openSpool(options(dir, { metrics }));
    assert.equal(metrics.get(M.spoolReplayed), 3);
    assert.deepEqual(names(spool.take(10)), ["e0", "e1", "e2", "e3", "e4"]);
    await spool.close();
  });
});

Deno.test("spool: a backlog larger than the memory cache is read back from disk in order", async () => {
  await withDir(async (dir) => {
    const spool = openSpool(options(dir, { cacheBytes: 2000 }));
    for (let i = 0; i < 500; i++) spool.push(record(i, 20));
    await spool.flushed();
    const out: QueuedRecord[] = [];
    while (spool.pending > 0) {
      const batch = spool.take(37);
      out.push(...batch);
      spool.ack(receiptOf(batch));
    }
    assert.deepEqual(names(out), Array.from({ length: 500 }, (_, i) => `e${i}`));
    assert.equal(spool.heldEvents, 0);
    await spool.close();
  });
});

Deno.test("spool: full at --spool-max-bytes (offer refuses), free again after acks", async () => {
  await withDir(async (dir) => {
    const spool = openSpool(options(dir, { maxBytes: 1000 }));
    let accepted = 0;
    while (spool.offer(record(accepted, 50))) accepted++;
    assert.ok(spool.full);
    assert.ok(accepted > 5 && accepted < 30, `accepted ${accepted}`);
    let woke = false;
    const waiting = spool.whenNotFull().then(() => woke = true);
    spool.ack(receiptOf(spool.take(accepted)));
    await waiting;
    assert.ok(woke && !spool.full);
    await spool.close();
  });
});

Deno.test("spool: a second relay on the same directory is refused with a clear error", async () => {
  await withDir(async (dir) => {
    const spool = openSpool(options(dir));
    try {
      assert.throws(
        () => openSpool(options(dir)),
        (error: unknown) =>
          error instanceof SpoolError && /in use by another loggly-relay/.test(error.message),
      );
    } finally {
      await spool.close();
    }
  });
});

Deno.test("spool: a damaged database file is moved aside, counted, and a new spool begun", async () => {
  await withDir(async (dir) => {
    await Deno.writeFile(`${dir}/spool.db`, new Uint8Array(8192).fill(0x5a));
    const metrics = new Metrics();
    const spool = openSpool(options(dir, { metrics }));
    spool.push(record(1));
    await spool.flushed();
    assert.equal(metrics.get(M.spoolDamaged), 1);
    const kept = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes("damaged"));
    assert.equal(kept.length, 1, "the damaged file is kept for inspection");
    await spool.close();
  });
});

Deno.test("spool: a directory that cannot be created is a clear error", () => {
  assert.throws(
    () => openSpool(options("/proc/loggly-relay-spool")),
    (error: unknown) =>
      error instanceof SpoolError && /pick a writable directory/.test(error.message),
  );
});

/** Runs `body` with a fresh tmpfs of `size` mounted at a temporary directory (needs root, as CI is). */
async function withTmpfs(
  size: string,
  opts: string,
  body: (dir: string) => void | Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "spool-tmpfs-" });
  const mount = await run("mount", ["-t", "tmpfs", "-o", `size=${size}${opts}`, "tmpfs", dir]);
  assert.equal(mount.code, 0, `mount failed (the test needs root): ${mount.stderr}`);
  try {
    await body(dir);
  } finally {
    await run("umount", [dir]);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("spool: a read-only directory is a clear error at start", async () => {
  await withTmpfs("1m", ",ro", (dir) => {
    assert.throws(
      () => openSpool(options(`${dir}`)),
      (error: unknown) => error instanceof SpoolError && /writable/.test(error.message),
    );
  });
});

Deno.test("spool: disk full pauses inputs (full), is counted, and recovers when space returns", async () => {
  await withTmpfs("2m", "", async (dir) => {
    const metrics = new Metrics();
    const spool = openSpool(options(`${dir}/spool`, { metrics, cacheBytes: 64 << 20 }));
    const filler = `${dir}/filler`;
    // Leave the spool little room, then write more than fits.
    await run("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k", "count=24"]);
    const pushed: QueuedRecord[] = [];
    for (let i = 0; i < 3000 && !spool.full; i++) {
      const r = record(i, 400);
      spool.push(r);
      pushed.push(r);
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(spool.full, "the spool never noticed the full disk");
    assert.ok(metrics.get(M.spoolWriteErrors) >= 1);
    await Deno.remove(filler);
    await spool.whenNotFull();
    await spool.flushed();
    // Nothing pushed was lost: everything comes out, in order.
    const out: QueuedRecord[] = [];
    while (spool.pending > 0) out.push(...spool.take(500));
    assert.deepEqual(names(out), names(pushed));
    await spool.close();
  });
});

/** `promise`, or an error naming `what` after `ms`: a spool that stays stuck fails, not hangs. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every 10 ms until it holds; an error naming `what` after `ms`. */
async function until(
  condition: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Fills the file system under `dir` to the last byte with `dir/filler`. */
async function fillDisk(dir: string): Promise<void> {
  await run("dd", ["if=/dev/zero", `of=${dir}/filler`, "bs=4k"]); // ends with "No space left"
}

/** Bytes of the spool's files in `dir`: at most what starting it afresh could free. */
function spoolFileBytes(dir: string): number {
  return [...Deno.readDirSync(dir)].reduce(
    (sum, e) => sum + Deno.statSync(`${dir}/${e.name}`).size,
    0,
  );
}

/** Closes `spool` even after a failed assertion (a second close is a no-op or throws). */
async function closeQuietly(spool: Spool): Promise<void> {
  try {
    await spool.close();
  } catch {
    // closed already
  }
}

const LOST_AT_EXIT = { input: "any", reason: "spool write failed at exit" };

Deno.test("spool: a disk the spool filled itself is free again once everything is delivered; nothing is sent twice", async () => {
  await withTmpfs("2m", "", async (dir) => {
    const metrics = new Metrics();
    const path = `${dir}/spool`;
    const spool = openSpool(options(path, { metrics, cacheBytes: 64 << 20 }));
    let pushed = 0;
    try {
      // Loggly is down: the spool takes events until its write-ahead log has filled the disk.
      while (!spool.full && pushed < 20_000) {
        for (let i = 0; i < 100; i++) spool.push(record(pushed++, 400));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(spool.full, "the spool never noticed the full disk");
      assert.ok(metrics.get(M.spoolWriteErrors) >= 1);
      const notFull = spool.whenNotFull();
      const flushed = spool.flushed();
      // Loggly is back: everything is delivered, from memory.
      while (spool.pending > 0) spool.ack(receiptOf(spool.take(100)));
      assert.equal(spool.heldEvents, 0);
      await within(notFull, 3000, "whenNotFull after every event was delivered");
      await within(flushed, 3000, "flushed after every event was delivered");
      assert.equal(spool.full, false);
      // New events are written again: the delivered ones no longer hold the disk.
      for (let i = 0; i < 10; i++) spool.push(record(pushed + i));
      await within(spool.flushed(), 5000, "flushed for events pushed after the delivery");
      assert.equal(spool.full, false);
      await spool.close();
      assert.equal(metrics.get(M.dropped, LOST_AT_EXIT), 0, "delivered events counted as lost");
    } finally {
      await closeQuietly(spool);
    }
    // Only the undelivered events are on disk: a restart sends none of the delivered again.
    const onDisk = (await spooledEvents(path)).map((event) => String(event.message));
    assert.deepEqual(onDisk, Array.from({ length: 10 }, (_, i) => `e${pushed + i}`));
    const reopened = new Metrics();
    const again = openSpool(options(path, { metrics: reopened }));
    try {
      assert.equal(reopened.get(M.spoolRecovered), 10);
      assert.equal(reopened.get(M.spoolReplayed), 0);
      assert.equal(again.take(100).length, 10);
    } finally {
      await again.close();
    }
  });
});

Deno.test("spool: on a full disk, events delivered before they were written are neither written nor counted lost", async () => {
  await withTmpfs("1m", "", async (dir) => {
    const metrics = new Metrics();
    const path = `${dir}/spool`;
    const spool = openSpool(options(path, { metrics, cacheBytes: 64 << 20 }));
    try {
      await fillDisk(dir); // by someone else: starting the spool afresh frees too little
      const first = Array.from({ length: 1000 }, (_, i) => record(i, 400));
      for (const r of first) spool.push(r);
      assert.ok(spoolFileBytes(path) < 400_000, "the spool's own files are small");
      await until(() => spool.full, 5000, "full on a full disk");
      const firstWritten = spool.flushed(); // an HTTP request waiting for the first 1000
      for (let i = 1000; i < 2000; i++) spool.push(record(i, 400));
      const allWritten = spool.flushed();
      let firstDone = false;
      let allDone = false;
      firstWritten.then(() => firstDone = true);
      allWritten.then(() => allDone = true);
      const taken = spool.take(2000);
      assert.equal(taken.length, 2000);
      // The first 1000 are delivered from memory: their waiter is done, the rest still waits.
      spool.ack(receiptOf(taken.slice(0, 1000)));
      await within(firstWritten, 1000, "flushed for delivered events");
      assert.ok(firstDone && !allDone);
      assert.ok(spool.full, "1000 events still wait in memory for the disk");
      spool.ack(receiptOf(taken.slice(1000, 1500)));
      assert.ok(spool.full && !allDone, "500 events still wait in memory for the disk");
      await spool.close();
      // Lost: only the 500 that were neither written nor delivered.
      assert.equal(metrics.get(M.dropped, LOST_AT_EXIT), 500);
      assert.equal(spool.heldEvents, 0);
    } finally {
      await closeQuietly(spool);
    }
    await Deno.remove(`${dir}/filler`);
    assert.deepEqual(await spooledEvents(path), []);
  });
});

Deno.test("spool: on a full disk, delivering every event waiting in memory ends the back-pressure", async () => {
  await withTmpfs("1m", "", async (dir) => {
    const metrics = new Metrics();
    const path = `${dir}/spool`;
    const spool = openSpool(options(path, { metrics, cacheBytes: 64 << 20 }));
    try {
      await fillDisk(dir);
      for (let i = 0; i < 2000; i++) spool.push(record(i, 400));
      await until(() => spool.full, 5000, "full on a full disk");
      const notFull = spool.whenNotFull();
      const flushed = spool.flushed();
      spool.ack(receiptOf(spool.take(2000)));
      await within(notFull, 1000, "whenNotFull after delivery, the disk still full");
      await within(flushed, 1000, "flushed after delivery, the disk still full");
      assert.equal(spool.full, false);
      await spool.close();
      assert.equal(metrics.get(M.dropped, LOST_AT_EXIT), 0);
    } finally {
      await closeQuietly(spool);
    }
  });
});

Deno.test("spool: while inserts fail for want of space, acks are still committed; freed space resumes writes", async () => {
  await withTmpfs("2m", "", async (dir) => {
    const metrics = new Metrics();
    const path = `${dir}/spool`;
    const spool = openSpool(options(path, { metrics, cacheBytes: 64 << 20 }));
    const before = Array.from({ length: 200 }, (_, i) => record(i, 200));
    const after = Array.from({ length: 3000 }, (_, i) => record(200 + i, 400));
    try {
      for (const r of before) spool.push(r);
      await spool.flushed();
      const inFlight = spool.take(200);
      // Room for deleting a few pages, not for 1.3 MB of new events.
      await fillDisk(dir);
      await Deno.truncate(`${dir}/filler`, (await Deno.stat(`${dir}/filler`)).size - (384 << 10));
      for (const r of after) spool.push(r);
      await until(() => spool.full, 5000, "full when the new events do not fit");
      // 199 of those on disk are delivered; one stays in flight, so the spool is kept.
      spool.ack(receiptOf(inFlight.slice(1)));
      await until(
        async () => (await spooledEvents(path)).length === 1,
        5000,
        "the acked events deleted while the inserts fail",
      );
      assert.ok(spool.full, "3000 events still wait in memory for the disk");
      // Space returns: the waiting events are written and the inputs resume.
      await Deno.remove(`${dir}/filler`);
      await within(spool.whenNotFull(), 5000, "whenNotFull once space returned");
      await within(spool.flushed(), 5000, "flushed once space returned");
      await spool.close();
      assert.equal(metrics.get(M.dropped, LOST_AT_EXIT), 0);
    } finally {
      await closeQuietly(spool);
    }
    const onDisk = (await spooledEvents(path)).map((event) => String(event.message));
    assert.deepEqual(onDisk.map((m) => m.replace(/x+$/, "")), names([before[0], ...after]));
  });
});

Deno.test("spool: out-of-order acks across many commits leave exactly the unacked records", async () => {
  await withDir(async (dir) => {
    let spool = openSpool(options(dir));
    for (let i = 0; i < 1000; i++) spool.push(record(i));
    const taken = spool.take(1000);
    // Ack every third record, in reverse order, over several commits.
    const acked = taken.filter((_, i) => i % 3 === 0).reverse();
    for (let i = 0; i < acked.length; i += 50) {
      spool.ack(receiptOf(acked.slice(i, i + 50)));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await spool.close();
    spool = openSpool(options(dir));
    const left = names(spool.take(2000));
    assert.deepEqual(left, names(taken.filter((_, i) => i % 3 !== 0)));
    await spool.close();
  });
});

Deno.test("spool: after everything was acked, new events are not counted as replayed", async () => {
  await withDir(async (dir) => {
    let spool = openSpool(options(dir));
    for (let i = 0; i < 10; i++) spool.push(record(i));
    spool.ack(receiptOf(spool.take(10))); // all delivered: the table is empty, the watermark is 10
    await spool.close();
    spool = openSpool(options(dir));
    for (let i = 10; i < 13; i++) spool.push(record(i)); // never handed to the sender
    await spool.close();
    const metrics = new Metrics();
    spool = openSpool(options(dir, { metrics }));
    assert.equal(metrics.get(M.spoolRecovered), 3);
    assert.equal(metrics.get(M.spoolReplayed), 0);
    await spool.close();
  });
});

Deno.test("spool: while Loggly keeps up, full at the memory bound; in an outage, up to the disk bound", async () => {
  await withDir(async (dir) => {
    let outage = false;
    const spool = openSpool(
      options(dir, { cacheBytes: 500, memoryBytes: 1000, maxBytes: 100_000, outage: () => outage }),
    );
    let accepted = 0;
    while (spool.offer(record(accepted, 50))) accepted++;
    assert.ok(accepted < 30, `healthy: ${accepted} taken past the memory bound`);
    const waiting = spool.whenNotFull();
    outage = true; // deliveries start failing: the disk absorbs the rest
    await waiting; // woken without any ack
    while (spool.offer(record(accepted, 50))) accepted++;
    assert.ok(accepted > 1000, `outage: only ${accepted} taken`);
    await spool.close();
  });
});

Deno.test("spool: an accepted token survives close and reopen, records without one stay own", async () => {
  await withDir(async (dir) => {
    let spool = openSpool(options(dir));
    spool.push(record(0));
    spool.push({ ...record(1), token: "11111111-2222-4333-8444-555555555555" });
    await spool.close();
    spool = openSpool(options(dir, { cacheBytes: 0 }));
    const out = spool.take(10);
    assert.deepEqual(out.map((r) => r.token), [undefined, "11111111-2222-4333-8444-555555555555"]);
    assert.deepEqual(names(out), ["e0", "e1"]);
    await spool.close();
  });
});

Deno.test("spool: a spool written before tokens were kept opens, and its events are the relay's", async () => {
  await withDir(async (dir) => {
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(`${dir}/spool.db`);
    db.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE events (id INTEGER PRIMARY KEY, tags TEXT NOT NULL, body BLOB NOT NULL);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);`);
    db.prepare("INSERT INTO events (id, tags, body) VALUES (1, 'a', ?)").run(record(7).bytes);
    db.close();
    const spool = openSpool(options(dir));
    const out = spool.take(10);
    assert.deepEqual(names(out), ["e7"]);
    assert.equal(out[0].token, undefined);
    assert.equal(out[0].tags, "a");
    spool.push({ ...record(8), token: "11111111-2222-4333-8444-555555555555" });
    await spool.flushed();
    await spool.close();
  });
});

Deno.test("spool: pushed bytes are copied: the caller reuses its buffer at once, nothing changes", async () => {
  await withDir(async (dir) => {
    let spool = openSpool(options(dir));
    const buffer = new Uint8Array(64);
    for (let i = 0; i < 200; i++) {
      const { written } = encoder.encodeInto(`{"message":"e${i}"}`, buffer);
      spool.push({ bytes: buffer.subarray(0, written), tags: "" });
      buffer.fill(0x20); // as the encoder does with its one buffer
    }
    assert.deepEqual(names(spool.take(3)), ["e0", "e1", "e2"]);
    await spool.flushed();
    await spool.close();
    spool = openSpool(options(dir));
    assert.deepEqual(names(spool.take(1000)), Array.from({ length: 200 }, (_, i) => `e${i}`));
    await spool.close();
  });
});

/** A small seeded generator (mulberry32), so that a failure replays. */
function mulberry32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("spool: random pushes, takes, acks and commits over a small cache keep every event once", async () => {
  await withDir(async (dir) => {
    // A cache of 40 kB: most events leave memory and come back from disk; a few are larger
    // than a quarter page (buffers of their own among the pages).
    let spool = openSpool(options(dir, { cacheBytes: 40_000 }));
    const random = mulberry32(20261130);
    const text = (n: number, size: number) => `{"message":"e${n}${"x".repeat(size)}"}`;
    const sent = new Map<number, string>(); // number -> text, for every event pushed
    const delivered: string[] = [];
    const unacked: QueuedRecord[] = [];
    let pushed = 0;
    for (let round = 0; round < 400; round++) {
      for (let i = Math.floor(random() * 40); i > 0; i--) {
        const size = random() < 0.01 ? 70_000 : Math.floor(random() * 300);
        sent.set(pushed, text(pushed, size));
        spool.push({ bytes: encoder.encode(sent.get(pushed)!), tags: String(pushed % 3) });
        pushed++;
      }
      // Taken records are read at once (views), acked now or later, in any order.
      const taken = spool.take(Math.floor(random() * 30));
      for (const r of taken) assert.equal(r.tags, String(Number(names([r])[0].slice(1)) % 3));
      unacked.push(...taken.map((r) => ({ ...r, bytes: r.bytes.slice() })));
      // Acked in receipts of records picked at random: delivered out of order, with gaps.
      while (unacked.length > 0 && round < 350 && random() < 0.6) {
        const batch: QueuedRecord[] = [];
        for (let k = 1 + Math.floor(random() * 30); k > 0 && unacked.length > 0; k--) {
          batch.push(unacked.splice(Math.floor(random() * unacked.length), 1)[0]);
        }
        spool.ack(receiptOf(batch));
        delivered.push(...batch.map((r) => decoder.decode(r.bytes)));
      }
      if (random() < 0.2) await new Promise((resolve) => setTimeout(resolve, 6)); // a commit
    }
    await spool.close();
    // After a restart: exactly the events not acked, each once, in order, with their bytes.
    spool = openSpool(options(dir, { cacheBytes: 40_000 }));
    const left: string[] = [];
    for (let batch = spool.take(100); batch.length > 0; batch = spool.take(100)) {
      left.push(...batch.map((r) => decoder.decode(r.bytes)));
      spool.ack(receiptOf(batch));
    }
    await spool.close();
    const deliveredSet = new Set(delivered);
    const expected = [...sent.values()].filter((t) => !deliveredSet.has(t));
    assert.equal(delivered.length, deliveredSet.size, "an event was delivered twice");
    assert.deepEqual(left, expected);
    assert.ok(delivered.length > 1000 && left.length > 100, `${delivered.length} ${left.length}`);
  });
});
