/** The queue gauges are read when /metrics is rendered: exact at scrape time, never a second old. */
import assert from "node:assert/strict";
import { M, Metrics } from "../lib/metrics.ts";
import { sendTcp, startHarness } from "./helpers.ts";

Deno.test("metrics: an observed gauge is read at every render, get, series and total", () => {
  const m = new Metrics();
  let held = 3;
  m.observe("queue_events", () => held);
  assert.match(m.render(), /^queue_events 3$/m);
  held = 5;
  assert.match(m.render(), /^# TYPE queue_events gauge\nqueue_events 5$/m);
  assert.equal(m.get("queue_events"), 5);
  assert.deepEqual(m.series("queue_events"), [{ labels: {}, value: 5 }]);
  assert.equal(m.total("queue_events"), 5);
});

/** A gauge's value as /metrics renders it (NaN when absent). */
function gauge(metrics: Metrics, name: string): number {
  const line = metrics.render().split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

/** Polls `predicate` every 5 ms until it holds; throws after `timeoutMs`. */
async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("relay: loggly_relay_queue_events and _bytes match the queue the moment they are read", async () => {
  const h = await startHarness(["--linger", "10ms"]);
  h.stub.hold = true; // requests stay out, their events held, until released
  const { metrics } = h.relay;
  try {
    await sendTcp(h.relay.tcp!.port, "<13>one\n<13>two\n<13>three\n");
    await until(() => metrics.get(M.received, { input: "tcp" }) === 3);
    assert.equal(gauge(metrics, M.queueEvents), 3);
    assert.ok(gauge(metrics, M.queueBytes) > 0);
    await until(() => h.stub.openRequests > 0);
    h.stub.hold = false;
    h.stub.release();
    await until(() => metrics.get(M.sent) === 3);
    assert.equal(gauge(metrics, M.queueEvents), 0);
    assert.equal(gauge(metrics, M.queueBytes), 0);
  } finally {
    h.stub.hold = false;
    h.stub.release();
    await h.stop();
  }
});
