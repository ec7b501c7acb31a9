/**
 * The spool across real crashes: the relay runs as a subprocess, events flow over TCP, and the
 * relay is killed with SIGKILL at seeded random moments, with Loggly down, slow, or torn writes.
 * What the relay had persisted at each kill (read from a copy of its spool, so that reading does
 * not recover the original) must all reach the stand-in after restarts.
 */
import { mulberry32 } from "./oracle.ts";
import { spooledEvents } from "./spool_reader.ts";
import assert from "node:assert/strict";
import { sendTcp, writeAll } from "./helpers.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";
import { RelayProcess, waitUntil } from "./relay_process.ts";

const encoder = new TextEncoder();
const BATCH = 50;
const CONCURRENCY = 4;

function relay(stub: LogglyStub, dir: string, extra: string[] = []): RelayProcess {
  return new RelayProcess([
    "--token",
    TEST_TOKEN,
    "--loggly-url",
    stub.url,
    "--spool",
    dir,
    "--batch-max-events",
    String(BATCH),
    "--concurrency",
    String(CONCURRENCY),
    "--linger",
    "20ms",
    "--retry-max-delay",
    "100ms",
    "--shutdown-timeout",
    "200ms",
    ...extra,
  ]);
}

/** Messages in the spool at `dir` (read from a copy, so the original stays as the crash left it). */
async function spooled(dir: string): Promise<string[]> {
  return (await spooledEvents(dir)).map((event) => String(event.message));
}

/** Writes numbered lines to the relay until `stop` resolves or the connection breaks. */
async function flood(port: number, prefix: string, stop: Promise<void>): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let sent = 0;
  let stopped = false;
  stop.then(() => stopped = true);
  try {
    while (!stopped) {
      let chunk = "";
      for (let i = 0; i < 20; i++) chunk += `<13>${prefix}-${sent++}\n`;
      await writeAll(conn, encoder.encode(chunk));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } catch {
    // the relay was killed under us
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
  return sent;
}

Deno.test("spool: SIGKILL at random moments, Loggly down then slow: every persisted event arrives", async () => {
  const seed = Number(Deno.env.get("SPOOL_CRASH_SEED") ?? 20261127);
  const random = mulberry32(seed);
  const dir = await Deno.makeTempDir({ prefix: "spool-crash-" });
  const stub = new LogglyStub(TEST_TOKEN).start();
  await stub.stop(); // down for the first cycles
  const persisted = new Set<string>();
  let duplicatesBound = 0;
  try {
    for (let cycle = 0; cycle < 4; cycle++) {
      if (cycle === 2) {
        stub.delayMs = 150; // up but slow: requests are in flight when the kill comes
        stub.start();
      }
      const p = relay(stub, dir);
      const { tcp } = await p.ready();
      const { promise: stop, resolve } = Promise.withResolvers<void>();
      const flooding = flood(tcp, `c${cycle}`, stop);
      await new Promise((r) => setTimeout(r, 100 + random() * 300));
      p.child.kill("SIGKILL");
      await p.child.status;
      resolve();
      await flooding;
      for (const message of await spooled(dir)) persisted.add(message);
      if (stub.delayMs > 0) duplicatesBound += BATCH * CONCURRENCY;
    }
    stub.delayMs = 0;
    const p = relay(stub, dir);
    await p.ready();
    const arrived = () => new Set(stub.messages());
    await waitUntil(() => [...persisted].every((m) => arrived().has(m)), 20_000).catch(() => {
      const missing = [...persisted].filter((m) => !arrived().has(m));
      throw new Error(
        `seed ${seed}: ${missing.length} persisted events never arrived, e.g. ${
          missing.slice(0, 5)
        }`,
      );
    });
    assert.equal(await p.stop(), 0);
    const all = stub.messages();
    const duplicates = all.length - new Set(all).size;
    assert.ok(persisted.size > 1000, `only ${persisted.size} events were persisted`);
    // A connection is read, spooled and committed in order, so what survives of each cycle must
    // be a prefix of what was sent: only the tail still in the socket or in the last 5 ms group
    // commit may be lost to a kill. A gap would be an event lost from the middle.
    const delivered = new Set(all);
    for (let cycle = 0; cycle < 4; cycle++) {
      const got = [...delivered].filter((m) => m.startsWith(`c${cycle}-`));
      const highest = Math.max(...got.map((m) => Number(m.split("-")[1])));
      assert.equal(got.length, highest + 1, `seed ${seed}: cycle ${cycle} has gaps`);
    }
    assert.ok(duplicates <= duplicatesBound, `${duplicates} duplicates, bound ${duplicatesBound}`);
    assert.match(p.stderr, /Spool holds \d+ events .* from before/);
  } finally {
    await stub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool: a torn write-ahead log (power cut mid-write) is skipped; the rest is delivered", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-torn-" });
  const stub = new LogglyStub(TEST_TOKEN).start();
  await stub.stop();
  try {
    const p = relay(stub, dir);
    const { tcp } = await p.ready();
    for (let i = 0; i < 10; i++) {
      await sendTcp(tcp, Array.from({ length: 100 }, (_, j) => `<13>t-${i * 100 + j}\n`).join(""));
      await new Promise((r) => setTimeout(r, 20)); // separate group commits
    }
    await waitUntil(async () => (await spooled(dir)).length === 1000);
    p.child.kill("SIGKILL");
    await p.child.status;
    // Cut the WAL inside its last frame, as a power cut in the middle of a write would.
    const wal = `${dir}/spool.db-wal`;
    const size = (await Deno.stat(wal)).size;
    await Deno.truncate(wal, size - 1000);
    const intact = await spooled(dir);
    assert.ok(intact.length >= 800 && intact.length < 1000, `${intact.length} intact`);

    stub.start();
    const again = relay(stub, dir);
    await again.ready();
    await stub.waitForCount(intact.length, 10_000);
    assert.deepEqual(new Set(stub.messages()), new Set(intact));
    assert.equal(await again.stop(), 0);
  } finally {
    await stub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool: a restart with a backlog sends it while accepting new events", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-backlog-" });
  const stub = new LogglyStub(TEST_TOKEN).start();
  await stub.stop();
  try {
    const first = relay(stub, dir);
    const { tcp } = await first.ready();
    await sendTcp(tcp, Array.from({ length: 500 }, (_, i) => `<13>old-${i}\n`).join(""));
    await waitUntil(async () => (await spooled(dir)).length === 500);
    assert.equal(await first.stop(), 0); // Loggly is down: the 500 stay in the spool
    assert.match(first.stderr, /500 events kept in the spool/);

    stub.start();
    const second = relay(stub, dir);
    const ports = await second.ready();
    await sendTcp(ports.tcp, Array.from({ length: 100 }, (_, i) => `<13>new-${i}\n`).join(""));
    await stub.waitForCount(600, 10_000);
    const messages = new Set(stub.messages());
    for (let i = 0; i < 500; i++) assert.ok(messages.has(`old-${i}`));
    for (let i = 0; i < 100; i++) assert.ok(messages.has(`new-${i}`));
    assert.equal(await second.stop(), 0);
  } finally {
    await stub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
