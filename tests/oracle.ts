/**
 * Test-side facts written out independently of lib/ (so that a wrong table in lib/ is caught),
 * and the one seeded generator the randomised tests share.
 *
 * @module
 */

/** The keys a parse result may have: anything else is a bug. */
export const RESULT_KEYS: ReadonlySet<string> = new Set([
  "timestamp",
  "message",
  "syslog",
  "json",
  "parseError",
]);

/** The keys of a result's `syslog` fields. */
export const SYSLOG_KEYS: ReadonlySet<string> = new Set([
  "host",
  "appName",
  "procId",
  "msgId",
  "facility",
  "severity",
  "priority",
  "structuredData",
]);

/** Syslog facility names by code, per RFC 5424 and common usage. */
export const FACILITIES: readonly string[] = [
  "kern",
  "user",
  "mail",
  "daemon",
  "auth",
  "syslog",
  "lpr",
  "news",
  "uucp",
  "cron",
  "authpriv",
  "ftp",
  "ntp",
  "security",
  "console",
  "solaris-cron",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
];

/** Syslog severity names by code. */
export const SEVERITIES: readonly string[] = [
  "emerg",
  "alert",
  "crit",
  "err",
  "warning",
  "notice",
  "info",
  "debug",
];

/** mulberry32: a small, fast generator of numbers in [0, 1), so a failing seed can be replayed. */
export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
