import assert from "node:assert/strict";
import { Sender, type SenderOptions } from "../lib/loggly/sender.ts";
import { M, Metrics } from "../lib/metrics.ts";
import { MemoryQueue } from "../lib/queue/memory_queue.ts";
import type { QueuedRecord } from "../lib/queue/queue.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";

const encoder = new TextEncoder();

function record(n: number, tags = "", size = 0): QueuedRecord {
  const event = { timestamp: new Date(0).toISOString(), message: `m${n}`, pad: "x".repeat(size) };
  return { bytes: encoder.encode(JSON.stringify(event)), tags };
}

async function withSender(
  options: Partial<SenderOptions>,
  body: (
    ctx: { stub: LogglyStub; queue: MemoryQueue; sender: Sender; metrics: Metrics },
  ) => Promise<void>,
): Promise<void> {
  const stub = new LogglyStub(TEST_TOKEN).start();
  const queue = new MemoryQueue(100_000, 64 * 1024 * 1024);
  const metrics = new Metrics();
  const sender = new Sender(queue, {
    ...senderDefaults(stub.url),
    lingerMs: 20,
    concurrency: 2,
    retryMaxDelayMs: 100,
    metrics,
    ...options,
  });
  sender.start();
  try {
    await body({ stub, queue, sender, metrics });
  } finally {
    await sender.stop(1000);
    await stub.stop();
  }
}

Deno.test("sender delivers in batches of at most batchMaxEvents, in order, and acks them", async () => {
  await withSender({ batchMaxEvents: 100 }, async ({ stub, queue, metrics }) => {
    for (let i = 0; i < 250; i++) queue.push(record(i));
    await stub.waitForCount(250);
    assert.deepEqual(stub.messages(), Array.from({ length: 250 }, (_, i) => `m${i}`));
    assert.ok(stub.requestBytes.length >= 3);
    await stub.waitFor(() => queue.heldEvents === 0, 2000, "acks");
    assert.equal(metrics.get(M.sent), 250);
    assert.deepEqual(stub.violations, []);
  });
});

Deno.test("sender keeps up to `concurrency` requests in flight, and no more", async () => {
  await withSender({ batchMaxEvents: 10, concurrency: 3 }, async ({ stub, queue }) => {
    stub.delayMs = 100;
    for (let i = 0; i < 100; i++) queue.push(record(i));
    await stub.waitForCount(100);
    assert.equal(stub.maxConcurrent, 3);
  });
});

Deno.test("sender never sends a request over batchMaxBytes", async () => {
  await withSender({ batchMaxBytes: 10_000 }, async ({ stub, queue }) => {
    for (let i = 0; i < 60; i++) queue.push(record(i, "", 900));
    await stub.waitForCount(60);
    assert.ok(Math.max(...stub.requestBytes) <= 10_000, `sizes ${stub.requestBytes}`);
  });
});

Deno.test("sender flushes a partial batch after the linger time", async () => {
  await withSender({ lingerMs: 30, batchMaxEvents: 1000 }, async ({ stub, queue }) => {
    queue.push(record(1));
    await stub.waitForCount(1, 2000);
  });
});

Deno.test("sender sends events with different tags in different requests", async () => {
  await withSender({}, async ({ stub, queue }) => {
    queue.push(record(1, "a,b"));
    queue.push(record(2, ""));
    queue.push(record(3, "a,b"));
    await stub.waitForCount(3);
    const byMessage = Object.fromEntries(stub.received.map((r) => [r.event.message, r.tags]));
    assert.deepEqual(byMessage, { m1: ["a", "b"], m2: [], m3: ["a", "b"] });
  });
});

Deno.test("sender retries 503 and 429, honouring Retry-After, without losing events", async () => {
  await withSender({}, async ({ stub, queue, metrics }) => {
    stub.fail({ status: 503, times: 2 });
    stub.fail({ status: 429, times: 1, retryAfter: "1" });
    const started = Date.now();
    for (let i = 0; i < 10; i++) queue.push(record(i));
    await stub.waitForCount(10, 10_000);
    assert.ok(Date.now() - started >= 1000, "Retry-After: 1 was not honoured");
    assert.equal(metrics.get(M.retries), 3);
    assert.deepEqual(stub.messages().sort(), Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
  });
});

Deno.test("sender keeps events through an outage (connection refused) and delivers after", async () => {
  await withSender({}, async ({ stub, queue }) => {
    await stub.stop();
    for (let i = 0; i < 20; i++) queue.push(record(i));
    await stub.waitFor(() => false, 300).catch(() => {}); // let a few retries fail
    assert.equal(queue.heldEvents, 20);
    stub.start();
    await stub.waitForCount(20, 10_000);
  });
});

Deno.test("sender keeps events on 403 (bad token) and retries slowly", async () => {
  await withSender({ retryMaxDelayMs: 200 }, async ({ stub, queue, metrics }) => {
    stub.fail({ status: 403, times: 2 });
    queue.push(record(1));
    await stub.waitForCount(1, 5000);
    assert.deepEqual(stub.statuses.slice(0, 3), [403, 403, 200]);
    assert.equal(metrics.get(M.retries), 2);
  });
});

Deno.test("sender dead-letters events of a batch refused with 400 and does not retry", async () => {
  const dead: { count: number; status: number; answer: string }[] = [];
  await withSender({
    deadLetter: (records, status, answer) => {
      dead.push({ count: records.length, status, answer });
      return Promise.resolve();
    },
  }, async ({ stub, queue }) => {
    stub.fail({ status: 400, times: 1, body: "bad request" });
    queue.push(record(1));
    await stub.waitFor(() => dead.length === 1, 5000, "dead letter");
    await stub.waitFor(() => queue.heldEvents === 0, 2000, "ack");
    assert.deepEqual(dead, [{ count: 1, status: 400, answer: "bad request" }]);
    queue.push(record(2));
    await stub.waitForCount(1);
    assert.deepEqual(stub.statuses, [400, 200]);
  });
});

Deno.test("sender splits a batch Loggly answers 413 for, and delivers every event", async () => {
  await withSender({ lingerMs: 50 }, async ({ stub, queue }) => {
    stub.fail({ status: 413, times: 1 });
    for (let i = 0; i < 8; i++) queue.push(record(i));
    await stub.waitForCount(8, 5000);
    assert.equal(stub.statuses[0], 413);
    assert.ok(stub.statuses.length >= 3);
  });
});

Deno.test("sender stop flushes a lingering batch at once", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  const queue = new MemoryQueue(1000, 1 << 20);
  const sender = new Sender(queue, { ...senderDefaults(stub.url), lingerMs: 60_000 });
  sender.start();
  for (let i = 0; i < 5; i++) queue.push(record(i));
  assert.equal(await sender.stop(2000), 0);
  assert.equal(stub.received.length, 5);
  await stub.stop();
});

Deno.test("sender stop gives up after its timeout and reports the undelivered count", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  await stub.stop(); // Loggly unreachable for the whole test
  const queue = new MemoryQueue(1000, 1 << 20);
  const sender = new Sender(queue, senderDefaults(stub.url));
  sender.start();
  for (let i = 0; i < 3; i++) queue.push(record(i));
  assert.equal(await sender.stop(300), 3);
});

function senderDefaults(url: string): SenderOptions {
  return {
    url,
    token: TEST_TOKEN,
    fetch,
    now: Date.now,
    random: () => 0.5,
    batchMaxEvents: 100,
    batchMaxBytes: 5_000_000,
    lingerMs: 10,
    concurrency: 1,
    retryInitialDelayMs: 10,
    retryMaxDelayMs: 50,
    deadLetter: () => Promise.resolve(),
    metrics: new Metrics(),
  };
}

Deno.test("a redirect is not Loggly's acceptance: the events are kept and retried", async () => {
  const target = new LogglyStub(TEST_TOKEN).start();
  const redirecting = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(null, { status: 302, headers: { location: `${target.url}/landing` } }),
  );
  const port = (redirecting.addr as Deno.NetAddr).port;
  const queue = new MemoryQueue(100, 1 << 20);
  const sender = new Sender(queue, senderDefaults(`http://127.0.0.1:${port}`));
  sender.start();
  queue.push(record(1));
  try {
    await target.waitFor(() => false, 300).catch(() => {});
    assert.equal(queue.heldEvents, 1);
    assert.deepEqual(target.statuses, [], "the redirect was followed");
  } finally {
    assert.equal(await sender.stop(100), 1);
    await redirecting.shutdown();
    await target.stop();
  }
});

Deno.test("a 200 without Loggly's ok answer (a proxy, a portal) is not acceptance", async () => {
  const portal = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("<html>Sign in to the Wi-Fi</html>", { status: 200 }),
  );
  const queue = new MemoryQueue(100, 1 << 20);
  const metrics = new Metrics();
  const url = `http://127.0.0.1:${(portal.addr as Deno.NetAddr).port}`;
  const sender = new Sender(queue, { ...senderDefaults(url), metrics });
  sender.start();
  queue.push(record(1));
  try {
    const deadline = Date.now() + 5000;
    while (metrics.get(M.retries) < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(metrics.get(M.retries) >= 2);
    assert.equal(metrics.get(M.sent), 0);
  } finally {
    assert.equal(await sender.stop(100), 1);
    await portal.shutdown();
  }
});

Deno.test("404 (a wrong --loggly-url) keeps the events and retries, it does not dead-letter", async () => {
  let dead = 0;
  await withSender({
    deadLetter: () => {
      dead++;
      return Promise.resolve();
    },
  }, async ({ stub, queue }) => {
    stub.fail({ status: 404, times: 2 });
    queue.push(record(1));
    await stub.waitForCount(1, 5000);
    assert.deepEqual(stub.statuses, [404, 404, 200]);
    assert.equal(dead, 0);
  });
});
