/**
 * Fault scenario 7 (issue 11): an outage of Loggly and a stop while events are undelivered.
 * During the outage at most one request per 5 s; once Loggly is back, delivery resumes within
 * 10 s and one line says so, with how long it was down. A stop with undelivered events exits 3
 * and tells the events never sent from those in requests cut off at the shutdown timeout.
 */
import assert from "node:assert/strict";
import { figures, logLines, numberedLines, startRig, waitUntil, writeAll } from "./fault_kit.ts";

const OUTAGE_MS = 15_000;

Deno.test("fault 7a: during a 15 s outage one request per 5 s; delivery resumes within 10 s, said once", async () => {
  const rig = await startRig([]);
  const { stub } = rig;
  try {
    stub.fail({ status: 503, times: 1_000_000 });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: rig.ports.tcp });
    await writeAll(conn, numberedLines("outage", 2_000));
    conn.close();
    const downAt = Date.now();
    await waitUntil(() => Date.now() - downAt >= OUTAGE_MS, OUTAGE_MS + 1_000);
    const during = stub.requestTimes.slice();
    stub.recover();
    const upAt = Date.now();
    await stub.waitForCount(2_000, 30_000);
    const resumedAfter = stub.requestTimes.find((t) => t >= upAt)! - upAt;
    const drainedAfter = Date.now() - upAt;

    // The third failure in a row makes it an outage: from then on starts are 5 s apart (the
    // first two retries follow a short backoff, for a blip).
    const gaps = during.slice(3).map((t, i) => t - during[i + 2]);
    // Measured where the stand-in receives them: allow for arrival jitter.
    assert.ok(gaps.every((g) => g >= 4_500), `gaps ${gaps.join(", ")} ms`);
    let mostIn5s = 0;
    for (const t of during.slice(3)) {
      mostIn5s = Math.max(mostIn5s, during.filter((u) => u >= t && u < t + 4_500).length);
    }
    assert.ok(mostIn5s <= 1, `${mostIn5s} requests within 5 s`);
    assert.ok(resumedAfter <= 10_000, `resumed ${resumedAfter} ms after Loggly came back`);
    // The stand-in counts the events before the relay has read its answer and logged.
    const resumedLine = /Loggly accepts events again after [\d.]+ s/;
    await waitUntil(() => logLines(rig.relay, resumedLine).length > 0, 10_000);
    const resumed = logLines(rig.relay, resumedLine);
    assert.equal(resumed.length, 1, rig.relay.stderr.slice(-3000));
    // Requests that started once the outage was on are probes: a few events each.
    const largestProbe = Math.max(...stub.requestBytes.slice(3, during.length));
    assert.ok(largestProbe <= 4_096, `a probe of ${largestProbe} bytes`);
    figures("7a outage", {
      outage_s: OUTAGE_MS / 1000,
      requests_during: during.length,
      most_requests_in_5s_from_third_failure: mostIn5s,
      largest_probe_bytes: largestProbe,
      first_request_after_recovery_ms: resumedAfter,
      all_2000_delivered_after_ms: drainedAfter,
      resume_line: JSON.parse(resumed[0]).message.slice(0, 80),
    });
  } finally {
    await rig.close();
  }
});

Deno.test("fault 7b: a stop with undelivered events exits 3 and tells unsent from in flight", async () => {
  // 20,000 events, Loggly down (connections refused): never sent.
  const down = await startRig(["--shutdown-timeout", "1s"]);
  await down.stub.stop();
  let codeDown = -1;
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: down.ports.tcp });
    await writeAll(conn, numberedLines("down", 20_000));
    conn.close();
    await waitUntil(async () =>
      (await down.metric('loggly_relay_events_received_total{input="tcp"}')) === 20_000
    );
    codeDown = await down.stopRelay();
  } finally {
    await down.close();
  }
  assert.equal(codeDown, 3, down.relay.stderr.slice(-2000));
  assert.match(
    down.relay.stderr,
    /Stopped with 20000 events not delivered to Loggly \(0 delivered\)/,
  );

  // Loggly holds the requests unanswered: at the timeout they are in flight, not "not delivered".
  const slow = await startRig(["--shutdown-timeout", "1s"]);
  slow.stub.hold = true;
  let codeSlow = -1;
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: slow.ports.tcp });
    await writeAll(conn, numberedLines("slow", 8_000));
    conn.close();
    await waitUntil(async () =>
      (await slow.metric('loggly_relay_events_received_total{input="tcp"}')) === 8_000
    );
    await waitUntil(() => slow.stub.openRequests === 4); // --concurrency 4, all held
    codeSlow = await slow.stopRelay();
  } finally {
    slow.stub.release();
    await slow.close();
  }
  assert.equal(codeSlow, 3, slow.relay.stderr.slice(-2000));
  const line =
    /Stopped with (\d+) events not delivered to Loggly and (\d+) in requests aborted at the shutdown timeout/
      .exec(slow.relay.stderr);
  assert.ok(line, slow.relay.stderr.slice(-2000));
  assert.equal(Number(line[1]) + Number(line[2]), 8_000);
  assert.equal(Number(line[2]), 4_000, "four requests of 1000 were in flight");
  figures("7b shutdown", {
    down_exit: codeDown,
    down_not_delivered: 20_000,
    slow_exit: codeSlow,
    slow_never_sent: Number(line[1]),
    slow_in_flight: Number(line[2]),
  });
});
