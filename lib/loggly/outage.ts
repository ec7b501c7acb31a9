/**
 * Pure pacing policy for when Loggly fails (network errors, timeouts, 408, 429, 5xx: the "retry"
 * verdicts). The first failed request puts the sender in probing mode: one small request at a
 * time, after a jittered exponential backoff capped at {@link PROBE_INTERVAL_MS}. From the
 * {@link OUTAGE_AFTER_FAILURES}th failure in a row Loggly counts as down (an outage): at most one
 * request starts per {@link PROBE_INTERVAL_MS}, or later when Retry-After asks for longer. The
 * first request Loggly accepts ends it all: full batches at full concurrency again at once.
 *
 * @module
 */
import { type BackoffPolicy, MAX_RETRY_AFTER_MS, retryDelay } from "./retry.ts";

/** Failed requests in a row after which Loggly counts as down. */
export const OUTAGE_AFTER_FAILURES = 3;
/** While Loggly is down, a request starts at most this often (ms), and at least this often. */
export const PROBE_INTERVAL_MS = 5_000;
/** Most events in a probe: the request sent while deliveries fail. */
export const PROBE_MAX_EVENTS = 10;
/** Most body bytes in a probe; a single larger event still goes alone. */
export const PROBE_MAX_BYTES = 4_096;

/** Where deliveries stand, as the pacing policy sees them. */
export interface Pacing {
  /** Requests that failed in a row since Loggly last accepted one; 0 while deliveries succeed. */
  readonly failures: number;
  /** When the first of those failures came (ms); null while deliveries succeed. */
  readonly since: number | null;
  /** When the latest request started (ms). */
  readonly lastStartAt: number;
  /** The earliest start for the next request that backoff and Retry-After allow (ms). */
  readonly notBefore: number;
}

/** Deliveries succeed: no pacing beyond the concurrency limit. */
export const HEALTHY: Pacing = {
  failures: 0,
  since: null,
  lastStartAt: -Infinity,
  notBefore: -Infinity,
};

/** True once {@link OUTAGE_AFTER_FAILURES} requests in a row have failed. */
export function isOutage(pacing: Pacing): boolean {
  return pacing.failures >= OUTAGE_AFTER_FAILURES;
}

/** The pacing after a request started at `now`. */
export function requestStarted(pacing: Pacing, now: number): Pacing {
  return { ...pacing, lastStartAt: Math.max(pacing.lastStartAt, now) };
}

/** The pacing after Loggly accepted a request: the failures are over. */
export function requestDelivered(pacing: Pacing): Pacing {
  return { ...HEALTHY, lastStartAt: pacing.lastStartAt };
}

/**
 * The pacing after a request failed at `now` with a retry verdict. Before the outage the next
 * request waits a full-jitter backoff (`backoff`, its ceiling capped at
 * {@link PROBE_INTERVAL_MS}); Retry-After, up to {@link MAX_RETRY_AFTER_MS}, is a floor always.
 */
export function requestFailed(
  pacing: Pacing,
  now: number,
  retryAfterMs: number | null,
  backoff: BackoffPolicy,
  random: () => number,
): Pacing {
  const failures = pacing.failures + 1;
  const capped = {
    initialMs: backoff.initialMs,
    maxMs: Math.min(backoff.maxMs, PROBE_INTERVAL_MS),
  };
  const wait = failures < OUTAGE_AFTER_FAILURES
    ? retryDelay(failures - 1, capped, random, retryAfterMs)
    : Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS);
  return {
    failures,
    since: pacing.since ?? now,
    lastStartAt: pacing.lastStartAt,
    notBefore: Math.max(pacing.notBefore, now + wait),
  };
}

/**
 * When the next request may start: at once while deliveries succeed; after the backoff while
 * they fail; and during an outage also no sooner than {@link PROBE_INTERVAL_MS} after the last.
 */
export function nextStartAt(pacing: Pacing): number {
  if (pacing.failures === 0) return -Infinity;
  if (!isOutage(pacing)) return pacing.notBefore;
  return Math.max(pacing.notBefore, pacing.lastStartAt + PROBE_INTERVAL_MS);
}

/**
 * Whether a request may start at `now` with `requests` already out: while deliveries succeed the
 * caller's concurrency limit alone decides; after the first failures, one at a time after the
 * backoff; in an outage, when {@link nextStartAt} has come, even with requests still out: a probe
 * into a Loggly that never answers must not hold the next one until its timeout, or delivery
 * would resume only that long after Loggly is back.
 */
export function mayStart(pacing: Pacing, now: number, requests: number): boolean {
  if (pacing.failures === 0) return true;
  if (!isOutage(pacing) && requests > 0) return false;
  return now >= nextStartAt(pacing);
}

/**
 * How many of a batch's first records (their sizes in bytes, in order) make a probe: at most
 * {@link PROBE_MAX_EVENTS} and {@link PROBE_MAX_BYTES} joined by newlines, but at least one.
 */
export function probeSize(sizes: readonly number[]): number {
  let bytes = -1;
  let n = 0;
  while (n < sizes.length && n < PROBE_MAX_EVENTS) {
    bytes += sizes[n] + 1;
    if (n > 0 && bytes > PROBE_MAX_BYTES) break;
    n++;
  }
  return n;
}
