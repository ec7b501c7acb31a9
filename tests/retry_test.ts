import assert from "node:assert/strict";
import {
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  retryDelay,
  type Verdict,
  verdictFor,
} from "../lib/loggly/retry.ts";

// ---------------------------------------------------------------- verdictFor

const VERDICTS: [status: number | null, events: number, verdict: Verdict][] = [
  [200, 10, "delivered"],
  [204, 10, "delivered"],
  [400, 10, "reject"],
  [401, 10, "bad-token"],
  [403, 10, "bad-token"],
  [404, 10, "bad-endpoint"],
  [405, 10, "bad-endpoint"],
  [408, 10, "retry"],
  [413, 1, "reject"],
  [413, 2, "split"],
  [413, 500, "split"],
  [429, 10, "retry"],
  [500, 10, "retry"],
  [503, 10, "retry"],
  [null, 10, "retry"],
  [301, 10, "retry"],
];

for (const [status, events, verdict] of VERDICTS) {
  Deno.test(`verdictFor(${status}, ${events} events) is ${verdict}`, () => {
    assert.equal(verdictFor(status, events), verdict);
  });
}

// ---------------------------------------------------------------- retryDelay

const POLICY = { initialMs: 100, maxMs: 10_000 };
const always = (x: number) => () => x;

Deno.test("retryDelay: random 0 gives no wait", () => {
  for (const attempt of [0, 1, 5, 40]) assert.equal(retryDelay(attempt, POLICY, always(0)), 0);
});

Deno.test("retryDelay: random just under 1 gives just under the ceiling", () => {
  assert.equal(retryDelay(0, POLICY, always(0.999)), 99);
  assert.ok(retryDelay(0, POLICY, always(0.999999)) < 100);
});

Deno.test("retryDelay: the ceiling doubles with each attempt", () => {
  const ceilings = [0, 1, 2, 3, 4].map((n) => retryDelay(n, POLICY, always(0.5)) * 2);
  assert.deepEqual(ceilings, [100, 200, 400, 800, 1600]);
});

Deno.test("retryDelay: the ceiling stops at maxMs", () => {
  assert.equal(retryDelay(7, POLICY, always(0.5)), 5000); // 100 * 128 > 10_000
  assert.equal(retryDelay(20, POLICY, always(0.999)), 9990);
});

Deno.test("retryDelay: a huge attempt number neither overflows nor loses the cap", () => {
  for (const attempt of [1000, 1e9, Number.MAX_SAFE_INTEGER]) {
    const delay = retryDelay(attempt, POLICY, always(0.999));
    assert.ok(Number.isFinite(delay));
    assert.equal(delay, 9990);
  }
});

Deno.test("retryDelay: stays within [0, ceiling) for random in [0, 1)", () => {
  for (let i = 0; i < 100; i++) {
    const r = i / 100;
    const delay = retryDelay(3, POLICY, always(r));
    assert.ok(delay >= 0 && delay < 800, `${delay} for random ${r}`);
  }
});

Deno.test("retryDelay: Retry-After is a floor", () => {
  assert.equal(retryDelay(0, POLICY, always(0), 30_000), 30_000);
  assert.equal(retryDelay(0, POLICY, always(0.5), 10), 50); // the jitter is longer
});

Deno.test("retryDelay: a Retry-After beyond MAX_RETRY_AFTER_MS is capped", () => {
  assert.equal(retryDelay(0, POLICY, always(0), 10 * MAX_RETRY_AFTER_MS), MAX_RETRY_AFTER_MS);
});

Deno.test("retryDelay: a null Retry-After is ignored", () => {
  assert.equal(retryDelay(1, POLICY, always(0.5), null), 100);
});

// ---------------------------------------------------------------- parseRetryAfter

const NOW = Date.parse("2026-11-27T12:00:00Z");

Deno.test("parseRetryAfter: seconds become milliseconds", () => {
  assert.equal(parseRetryAfter("120", NOW), 120_000);
  assert.equal(parseRetryAfter(" 0 ", NOW), 0);
});

Deno.test("parseRetryAfter: an HTTP date is the time left until it", () => {
  assert.equal(parseRetryAfter("Fri, 27 Nov 2026 12:00:30 GMT", NOW), 30_000);
});

Deno.test("parseRetryAfter: a date in the past means no wait", () => {
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", NOW), 0);
});

Deno.test("parseRetryAfter: garbage gives null", () => {
  for (const value of ["soon", "", "1.5", "-1", "12abc"]) {
    assert.equal(parseRetryAfter(value, NOW), null, JSON.stringify(value));
  }
});

Deno.test("parseRetryAfter: no header gives null", () => {
  assert.equal(parseRetryAfter(null, NOW), null);
});
