/** The pacing policy while Loggly fails: pure, on a clock the tests move by hand. */
import assert from "node:assert/strict";
import {
  HEALTHY,
  isOutage,
  mayStart,
  nextStartAt,
  OUTAGE_AFTER_FAILURES,
  type Pacing,
  PROBE_INTERVAL_MS,
  PROBE_MAX_BYTES,
  PROBE_MAX_EVENTS,
  probeSize,
  requestDelivered,
  requestFailed,
  requestStarted,
} from "../lib/loggly/outage.ts";
import { MAX_RETRY_AFTER_MS } from "../lib/loggly/retry.ts";

const BACKOFF = { initialMs: 500, maxMs: 60_000 };
const half = () => 0.5;

/** A request that starts at `at` and fails `latency` ms later. */
function fail(p: Pacing, at: number, latency = 0, retryAfterMs: number | null = null): Pacing {
  return requestFailed(requestStarted(p, at), at + latency, retryAfterMs, BACKOFF, half);
}

Deno.test("outage: while deliveries succeed, nothing is paced", () => {
  assert.equal(mayStart(HEALTHY, 0, 0), true);
  assert.equal(nextStartAt(HEALTHY), -Infinity);
  assert.equal(isOutage(HEALTHY), false);
});

Deno.test("outage: the first failures back off with jitter, one request at a time", () => {
  const first = fail(HEALTHY, 1000);
  assert.deepEqual(first, { failures: 1, since: 1000, lastStartAt: 1000, notBefore: 1250 });
  assert.equal(mayStart(first, 1249, 0), false);
  assert.equal(mayStart(first, 1250, 0), true);
  assert.equal(mayStart(first, 9999, 1), false, "a second request while one is out");
  const second = fail(first, 1250);
  assert.equal(second.since, 1000);
  assert.equal(nextStartAt(second), 1250 + 500); // ceiling 1000, half of it
  assert.equal(isOutage(second), false);
});

Deno.test("outage: the backoff before the outage never exceeds the probe interval", () => {
  const slow = { initialMs: 60_000, maxMs: 600_000 };
  const p = requestFailed(requestStarted(HEALTHY, 0), 0, null, slow, () => 0.999);
  assert.ok(p.notBefore <= PROBE_INTERVAL_MS, `${p.notBefore}`);
});

Deno.test(`outage: from ${OUTAGE_AFTER_FAILURES} failures in a row, one request per 5 s, no more and no less`, () => {
  let p = HEALTHY;
  let now = 0;
  const starts: number[] = [];
  // Loggly refuses connections at once for ten minutes; the sender starts whenever allowed.
  while (now < 600_000) {
    if (mayStart(p, now, 0)) {
      starts.push(now);
      p = fail(p, now, 3);
    }
    now += 1;
  }
  assert.ok(isOutage(p));
  const established = starts[OUTAGE_AFTER_FAILURES - 1];
  assert.ok(established < 2000, `the outage began at ${established} ms`);
  const later = starts.slice(OUTAGE_AFTER_FAILURES - 1);
  for (let i = 1; i < later.length; i++) {
    const gap = later[i] - later[i - 1];
    assert.ok(gap >= PROBE_INTERVAL_MS, `gap ${gap} ms before request ${i}`);
    assert.ok(gap <= PROBE_INTERVAL_MS + 1, `gap ${gap} ms before request ${i}`);
  }
  assert.ok(later.length >= 119, `${later.length} requests in 10 minutes`);
});

Deno.test("outage: in an outage a probe may start while earlier ones are unanswered", () => {
  let p = HEALTHY;
  for (let i = 0; i < OUTAGE_AFTER_FAILURES; i++) p = fail(p, i * 10);
  const at = nextStartAt(p);
  assert.equal(mayStart(p, at, 3), true, "three probes into a black hole do not hold the fourth");
  p = requestStarted(p, at);
  assert.equal(mayStart(p, at + PROBE_INTERVAL_MS - 1, 0), false);
});

Deno.test("outage: requests that were already out when Loggly went down count, and pace the next", () => {
  // Four requests start together; all fail: the outage begins, and the next waits 5 s from them.
  let p = HEALTHY;
  for (let i = 0; i < 4; i++) p = requestStarted(p, 100);
  for (let i = 0; i < 4; i++) p = requestFailed(p, 110, null, BACKOFF, half);
  assert.ok(isOutage(p));
  assert.equal(nextStartAt(p), 100 + PROBE_INTERVAL_MS);
  assert.equal(mayStart(p, 5099, 0), false);
  assert.equal(mayStart(p, 5100, 0), true);
});

Deno.test("outage: a slow failure does not stretch the cadence past its end", () => {
  let p = HEALTHY;
  for (let i = 0; i < OUTAGE_AFTER_FAILURES; i++) p = fail(p, i * 10);
  p = fail(p, 20_000, 30_000); // a probe that timed out after 30 s
  assert.equal(nextStartAt(p), 50_000);
});

Deno.test("outage: a longer Retry-After wins over the 5 s cadence; a shorter one does not", () => {
  let p = HEALTHY;
  for (let i = 0; i < OUTAGE_AFTER_FAILURES; i++) p = fail(p, 0);
  const slow = fail(p, 10_000, 5, 30_000);
  assert.equal(nextStartAt(slow), 10_005 + 30_000);
  const quick = fail(p, 10_000, 5, 2_000);
  assert.equal(nextStartAt(quick), 10_000 + PROBE_INTERVAL_MS);
  const huge = fail(p, 10_000, 0, 10 * MAX_RETRY_AFTER_MS);
  assert.equal(nextStartAt(huge), 10_000 + MAX_RETRY_AFTER_MS);
  // Before the outage too.
  assert.equal(nextStartAt(fail(HEALTHY, 0, 0, 7_000)), 7_000);
});

Deno.test("outage: one accepted request ends it, at full concurrency at once", () => {
  let p = HEALTHY;
  for (let i = 0; i < 10; i++) p = fail(p, i * PROBE_INTERVAL_MS);
  assert.equal(p.since, 0);
  const after = requestDelivered(requestStarted(p, 50_000));
  assert.deepEqual(after, { ...HEALTHY, lastStartAt: 50_000 });
  assert.equal(mayStart(after, 50_001, 0), true);
});

Deno.test("probeSize: a handful of events, a few KB, but always at least one", () => {
  assert.equal(probeSize(Array(1000).fill(100)), PROBE_MAX_EVENTS);
  assert.equal(probeSize([100, 200]), 2);
  // 1000 + 1 + 1000 + 1 + 1000 + 1 + 1000 = 4003 fits; a fifth does not.
  assert.equal(probeSize(Array(10).fill(1000)), 4);
  assert.equal(probeSize([PROBE_MAX_BYTES + 1, 10]), 1);
  assert.equal(probeSize([500_000]), 1);
  assert.equal(probeSize([]), 0);
});
