import assert from "node:assert/strict";
import type { Logger } from "../lib/log.ts";
import {
  OUTAGE_AFTER_FAILURES,
  PROBE_INTERVAL_MS,
  PROBE_MAX_BYTES,
  PROBE_MAX_EVENTS,
} from "../lib/loggly/outage.ts";
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
    deadLetter: (batch, status, answer) => {
      dead.push({ count: batch.count, status, answer });
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
  assert.deepEqual(await sender.stop(2000), { unsent: 0, inFlight: 0 });
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
  assert.deepEqual(await sender.stop(300), { unsent: 3, inFlight: 0 });
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
    assert.deepEqual(await sender.stop(100), { unsent: 1, inFlight: 0 });
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
    assert.deepEqual(await sender.stop(100), { unsent: 1, inFlight: 0 });
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

// ---------------------------------------------------------------- on a fake clock

/** A clock the test moves: `sleep` waits on it, `advance` fires what falls due, in order. */
class FakeClock {
  now = 0;
  #timers: { at: number; seq: number; fire: () => void }[] = [];
  #seq = 0;

  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = { at: this.now + Math.max(0, ms), seq: this.#seq++, fire: () => resolve() };
      this.#timers.push(timer);
      signal?.addEventListener("abort", () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        resolve();
      }, { once: true });
    });

  /** Moves time forward by `ms`, letting the sender run after every timer that fires. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    await settle();
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.now = due.at;
      due.fire();
      await settle();
    }
    this.now = end;
    await settle();
  }
}

/** Lets every promise chain that does not wait on a timer run to its end. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** A stand-in for Loggly behind a fake `fetch`: down (connection refused) or up, holding answers. */
class FakeLoggly {
  up = false;
  /** While up, answers wait for `answerAll` (to see how many requests are out at once). */
  hold = false;
  /** While down, answer this HTTP status instead of refusing the connection. */
  downStatus: number | null = null;
  retryAfter: string | null = null;
  readonly calls: { at: number; events: number; bytes: number }[] = [];
  readonly delivered: string[] = [];
  #open: { messages: string[]; answer: () => void }[] = [];
  readonly #clock: FakeClock;

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  get open(): number {
    return this.#open.length;
  }

  get openEvents(): number[] {
    return this.#open.map((o) => o.messages.length);
  }

  readonly fetch = ((_url: string, init: RequestInit): Promise<Response> => {
    const body = new TextDecoder().decode(init.body as Uint8Array);
    const messages = body.split("\n").map((line) => JSON.parse(line).message as string);
    this.calls.push({ at: this.#clock.now, events: messages.length, bytes: body.length });
    if (!this.up) {
      if (this.downStatus === null) {
        return Promise.reject(new TypeError("error sending request: Connection refused"));
      }
      const headers: Record<string, string> = this.retryAfter === null
        ? {}
        : { "retry-after": this.retryAfter };
      return Promise.resolve(new Response("down", { status: this.downStatus, headers }));
    }
    const { promise, resolve, reject } = Promise.withResolvers<Response>();
    const answer = () => {
      this.delivered.push(...messages);
      resolve(new Response('{"response":"ok"}', { status: 200 }));
    };
    init.signal?.addEventListener("abort", () => reject(init.signal!.reason), { once: true });
    if (this.hold) this.#open.push({ messages, answer });
    else answer();
    return promise;
  }) as typeof fetch;

  /** Answers every request that is out. */
  answerAll(): void {
    for (const open of this.#open.splice(0)) open.answer();
  }
}

/** A logger that keeps each line, its placeholders filled in. */
function capture(lines: { level: string; text: string }[]): Logger {
  const at = (level: string) => (message: string, props: Record<string, unknown> = {}) =>
    lines.push({ level, text: message.replace(/\{(\w+)\}/g, (_, k) => String(props[k])) });
  return {
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    fatal: at("fatal"),
  } as unknown as Logger;
}

function fakeSender(clock: FakeClock, loggly: FakeLoggly, options: Partial<SenderOptions> = {}) {
  const queue = new MemoryQueue(100_000, 64 * 1024 * 1024);
  const lines: { level: string; text: string }[] = [];
  const sender = new Sender(queue, {
    ...senderDefaults("http://loggly.invalid"),
    fetch: loggly.fetch,
    now: () => clock.now,
    sleep: clock.sleep,
    retryInitialDelayMs: 500,
    retryMaxDelayMs: 60_000,
    batchMaxEvents: 100,
    concurrency: 4,
    log: capture(lines),
    ...options,
  });
  return { queue, sender, lines };
}

Deno.test("outage: one small probe per 5 s in all, whatever the concurrency; at full speed once Loggly is back", async () => {
  const clock = new FakeClock();
  const loggly = new FakeLoggly(clock);
  const { queue, sender, lines } = fakeSender(clock, loggly);
  for (let i = 0; i < 2000; i++) queue.push(record(i));
  sender.start();
  await clock.advance(0);
  // Four requests were out before the first failure came back: they start the outage.
  assert.deepEqual(loggly.calls.map((c) => [c.at, c.events]), [[0, 100], [0, 100], [0, 100], [
    0,
    100,
  ]]);
  await clock.advance(60_000);
  const probes = loggly.calls.slice(4);
  assert.equal(probes.length, 12, JSON.stringify(probes.map((c) => c.at)));
  for (const [i, probe] of probes.entries()) {
    const inWindow = loggly.calls.filter((c) => c.at >= probe.at && c.at < probe.at + 5000);
    assert.equal(inWindow.length, 1, `requests in the 5 s from ${probe.at} ms`);
    const previous = i === 0 ? 0 : probes[i - 1].at;
    assert.equal(probe.at - previous, PROBE_INTERVAL_MS);
    assert.ok(probe.events <= PROBE_MAX_EVENTS && probe.bytes <= PROBE_MAX_BYTES, `${probe}`);
  }
  assert.equal(queue.heldEvents, 2000);
  // One line when the outage starts, then one a minute.
  const failing = lines.filter((l) => /^Loggly is failing/.test(l.text)).map((l) => l.text);
  assert.equal(failing.length, 2);
  assert.match(failing[0], /Connection refused\), 3 requests in a row for 0\.0 s; 2000 events/);
  assert.match(failing[1], /16 requests in a row for 60\.0 s/);

  // Loggly comes back between two probes.
  const back = clock.now + 1234;
  await clock.advance(1234);
  loggly.up = true;
  loggly.hold = true;
  const before = loggly.calls.length;
  while (loggly.calls.length === before && clock.now - back <= PROBE_INTERVAL_MS) {
    await clock.advance(100);
  }
  const probe = loggly.calls[before];
  assert.ok(probe.at - back <= PROBE_INTERVAL_MS, `first request ${probe.at - back} ms after`);
  assert.ok(probe.events <= PROBE_MAX_EVENTS);
  assert.equal(loggly.open, 1);
  const answeredAt = clock.now;
  loggly.answerAll();
  await settle();
  // At once, the clock standing still: every slot busy with a full batch (the first is what the
  // probes left of theirs).
  assert.deepEqual(loggly.openEvents, [90, 100, 100, 100]);
  assert.ok(loggly.calls.slice(before + 1).every((c) => c.at === answeredAt));
  let most = 0;
  while (loggly.open > 0) {
    most = Math.max(most, loggly.open);
    loggly.answerAll();
    await settle();
  }
  assert.equal(most, 4);
  assert.equal(loggly.delivered.length, 2000);
  assert.equal(new Set(loggly.delivered).size, 2000);
  assert.equal(queue.heldEvents, 0);
  const resumed = lines.filter((l) => /accepts events again/.test(l.text));
  assert.deepEqual(resumed, [{
    level: "info",
    text: `Loggly accepts events again after ${(probe.at / 1000).toFixed(1)} s of failed ` +
      "deliveries; sending the backlog of 1990 events",
  }]);
  assert.deepEqual(await sender.stop(1000), { unsent: 0, inFlight: 0 });
});

Deno.test("outage: an isolated failure backs off briefly, and is not yet an outage", async () => {
  const clock = new FakeClock();
  const loggly = new FakeLoggly(clock);
  const { queue, sender, lines } = fakeSender(clock, loggly, { concurrency: 1 });
  for (let i = 0; i < 5; i++) queue.push(record(i));
  sender.start();
  await clock.advance(10); // --linger
  assert.equal(loggly.calls.length, 1);
  loggly.up = true;
  await clock.advance(250); // random 0.5 of the first ceiling, --retry-initial-delay 500 ms
  assert.deepEqual(loggly.calls.map((c) => c.at), [10, 260]);
  assert.equal(loggly.delivered.length, 5);
  assert.ok(OUTAGE_AFTER_FAILURES > 1);
  const said = lines.filter((l) => l.level !== "debug"); // -v adds a line per request
  assert.deepEqual(said.map((l) => l.level), ["warn", "info"]);
  assert.match(
    said[0].text,
    /^Sending 5 events failed \(.*Connection refused\); retry 1 in 250 ms$/,
  );
  assert.match(said[1].text, /after 0\.3 s of failed deliveries; sending the backlog of 0 events/);
  assert.deepEqual(await sender.stop(1000), { unsent: 0, inFlight: 0 });
});

Deno.test("outage: a Retry-After longer than 5 s wins over the probe cadence", async () => {
  const clock = new FakeClock();
  const loggly = new FakeLoggly(clock);
  loggly.downStatus = 429;
  loggly.retryAfter = "20";
  const { queue, sender } = fakeSender(clock, loggly);
  for (let i = 0; i < 500; i++) queue.push(record(i));
  sender.start();
  await clock.advance(100_000);
  const starts = loggly.calls.slice(4).map((c) => c.at);
  assert.deepEqual(starts, [20_000, 40_000, 60_000, 80_000, 100_000]);
  const stopped = sender.stop(0);
  await clock.advance(0);
  assert.deepEqual(await stopped, { unsent: 500, inFlight: 0 });
});

Deno.test("stop: events in requests the timeout aborts are told apart from those never sent", async () => {
  const clock = new FakeClock();
  const loggly = new FakeLoggly(clock);
  loggly.up = true;
  loggly.hold = true; // Loggly takes the requests and never answers
  const { queue, sender } = fakeSender(clock, loggly, { concurrency: 2 });
  for (let i = 0; i < 250; i++) queue.push(record(i));
  sender.start();
  await clock.advance(0);
  assert.deepEqual(loggly.openEvents, [100, 100]);
  const stopped = sender.stop(1000);
  await clock.advance(1000);
  assert.deepEqual(await stopped, { unsent: 50, inFlight: 200 });
  assert.equal(queue.heldEvents, 250);
});
