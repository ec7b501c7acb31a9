/** The SQLite spool on its own: persistence, order, bounds, lock, damage, disk full. */
import assert from "node:assert/strict";
import { logger } from "../lib/log.ts";
import { M, Metrics } from "../lib/metrics.ts";
import type { QueuedRecord } from "../lib/queue/queue.ts";
import {
  openSpool,
  ranges,
  type Spool,
  SpoolError,
  type SpoolOptions,
} from "../lib/queue/spool.ts";
import { run } from "./helpers.ts";

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
    spool.ack(first);
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
      spool.ack(batch);
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
    spool.ack(spool.take(accepted));
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

Deno.test("spool: acked ids are deleted as merged ranges, never past an unacked id", () => {
  assert.deepEqual(ranges([5, 3, 4, 10, 1, 11, 4]), [[1, 1], [3, 5], [10, 11]]);
  assert.deepEqual(ranges([]), []);
});

Deno.test("spool: out-of-order acks across many commits leave exactly the unacked records", async () => {
  await withDir(async (dir) => {
    let spool = openSpool(options(dir));
    for (let i = 0; i < 1000; i++) spool.push(record(i));
    const taken = spool.take(1000);
    // Ack every third record, in reverse order, over several commits.
    const acked = taken.filter((_, i) => i % 3 === 0).reverse();
    for (let i = 0; i < acked.length; i += 50) {
      spool.ack(acked.slice(i, i + 50));
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
    spool.ack(spool.take(10)); // all delivered: the table is empty, the watermark is 10
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
      options(dir, { cacheBytes: 1000, maxBytes: 100_000, outage: () => outage }),
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
