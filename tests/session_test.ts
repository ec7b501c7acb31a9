/**
 * The connection session on its own (no sockets): framing into the intake, back-pressure, the
 * idle and slow-message deadlines, and the flush at the end.
 */
import assert from "node:assert/strict";
import { LOGGLY_MAX_EVENT_BYTES } from "../lib/config.ts";
import { Ingest } from "../lib/ingest.ts";
import { logger } from "../lib/log.ts";
import { M, Metrics } from "../lib/metrics.ts";
import { MemoryQueue } from "../lib/queue/memory_queue.ts";
import { messageStart, Sessions } from "../lib/syslog/session.ts";
import { Throttle } from "../lib/throttle.ts";
import { TokenPolicy } from "../lib/tokens.ts";
import { TEST_TOKEN } from "./loggly_stub.ts";

const enc = new TextEncoder();

/** Sessions of a "tcp" input over a real intake and queue of `maxEvents`. */
function setup(maxEvents = 100, limits = { idleTimeoutMs: 1000, messageTimeoutMs: 500 }) {
  const metrics = new Metrics();
  const queue = new MemoryQueue(maxEvents, 1 << 20);
  const ingest = new Ingest({
    tags: [],
    timeZone: "UTC",
    maxEventBytes: LOGGLY_MAX_EVENT_BYTES,
    now: () => new Date(0),
    metrics,
    throttle: new Throttle(10_000, () => 0),
    log: logger("input"),
    queue,
    tokens: new TokenPolicy(TEST_TOKEN),
  });
  const sessions = new Sessions("tcp", { ingest, metrics, maxMessageBytes: 1024 }, limits);
  const messages = () =>
    queue.take(1000).map((r) => JSON.parse(new TextDecoder().decode(r.bytes)).message);
  return { metrics, queue, sessions, messages };
}

Deno.test("messageStart: a read that completes a message starts the clock of the one it leaves held", () => {
  assert.equal(messageStart(null, 0, 0, 5), null); // nothing held
  assert.equal(messageStart(null, 10, 0, 5), 5); // a message begins
  assert.equal(messageStart(5, 20, 0, 9), 5); // it goes on: still the same message
  assert.equal(messageStart(5, 7, 1, 9), 9); // it ended in this read; another began
  assert.equal(messageStart(5, 0, 3, 9), null); // ended, nothing new held
});

Deno.test("session: frames go to the intake; the answer says when the queue is full", () => {
  const t = setup(3);
  const session = t.sessions.open("10.0.0.1", () => {}, 0);
  assert.equal(session.data(enc.encode("<13>a\n<13>b\n<13>ha"), 1), false);
  assert.equal(session.data(enc.encode("lf\n"), 2), true, "three events: the queue is full");
  assert.deepEqual(t.messages(), ["a", "b", "half"]);
  assert.equal(t.metrics.get(M.received, { input: "tcp" }), 3);
  assert.equal(t.metrics.get(M.connections, { input: "tcp" }), 1);
  assert.equal(t.metrics.get(M.connectionsOpen, { input: "tcp" }), 1);
  t.sessions.closed(session);
  assert.equal(t.metrics.get(M.connectionsOpen, { input: "tcp" }), 0);
});

Deno.test("session: idle and slow-message deadlines, never while paused by the relay", () => {
  const t = setup();
  const closed: string[] = [];
  const session = t.sessions.open("10.0.0.1", () => closed.push("s"), 0);
  assert.equal(session.overdue(999), null);
  assert.equal(session.overdue(1000)?.reason, "idle");
  session.data(enc.encode("<13>begun"), 1000);
  assert.equal(session.overdue(1499), null);
  assert.equal(session.overdue(1500)?.reason, "slow message");
  session.paused();
  assert.equal(session.overdue(10_000), null, "paused: neither deadline runs");
  session.resumed(10_000);
  assert.equal(session.overdue(10_499), null, "the message gets a fresh deadline");
  t.sessions.sweep(10_500);
  assert.deepEqual(closed, ["s"]);
  assert.equal(
    t.metrics.get(M.connectionsClosed, { input: "tcp", reason: "slow message" }),
    1,
  );
});

Deno.test("session: end() forwards what is held; cut by the relay, it is marked incomplete", () => {
  const t = setup();
  const peerClosed = t.sessions.open("10.0.0.1", () => {}, 0);
  peerClosed.data(enc.encode("<13>last line"), 1);
  peerClosed.end(false);
  const cut = t.sessions.open("10.0.0.2", () => {}, 0);
  cut.data(enc.encode("<13>half a mess"), 1);
  cut.end(true);
  const events = t.queue.take(10).map((r) => JSON.parse(new TextDecoder().decode(r.bytes)));
  assert.deepEqual(events.map((e) => [e.message, e.relay.incomplete]), [
    ["last line", undefined],
    ["half a mess", true],
  ]);
  assert.equal(t.metrics.get(M.incomplete, { input: "tcp" }), 1);
});
