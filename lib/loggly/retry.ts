/**
 * Pure retry policy: what an answer from Loggly means, and how long to wait before trying again.
 *
 * @module
 */

/** What to do with a batch after Loggly's answer. */
export type Verdict =
  | "delivered" // 2xx
  | "retry" // network error, 408, 429, 5xx: try again after a backoff
  | "bad-token" // 401/403: keep the events, report loudly, retry slowly
  | "bad-endpoint" // 404/405: --loggly-url is wrong, not the events: keep, report, retry slowly
  | "split" // 413 with more than one event: send the halves separately
  | "reject"; // any other 4xx: the events can never be accepted; dead-letter them

/** Classifies an HTTP status (null for a network error or timeout). */
export function verdictFor(status: number | null, events: number): Verdict {
  if (status === null) return "retry";
  if (status >= 200 && status < 300) return "delivered";
  if (status === 401 || status === 403) return "bad-token";
  if (status === 404 || status === 405) return "bad-endpoint";
  if (status === 413 && events > 1) return "split";
  if (status === 408 || status === 429 || status >= 500) return "retry";
  if (status >= 400) return "reject";
  return "retry"; // 1xx/3xx from a proxy in the way: not an acceptance, so keep the events
}

/** Backoff settings. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** Longest wait honoured from a Retry-After header. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * The wait before retry number `attempt` (0-based): exponential backoff with full jitter,
 * but never less than what Retry-After asked for.
 */
export function retryDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number,
  retryAfterMs: number | null = null,
): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 50));
  const jittered = Math.floor(random() * ceiling);
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

/** Reads a Retry-After header (seconds or an HTTP date) as milliseconds from `now`; null if absent or bad. */
export function parseRetryAfter(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  if (Number.isNaN(at) || !/[a-z]/i.test(value)) return null;
  return Math.max(0, at - now);
}
