/**
 * Names of syslog facilities and severities, as found in the PRI of a message.
 *
 * @module
 */

/** Facility names indexed by facility code (0..23). */
export const FACILITY_NAMES: readonly string[] = Object.freeze([
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
]);

/** Severity names indexed by severity code (0..7). */
export const SEVERITY_NAMES: readonly string[] = Object.freeze([
  "emerg",
  "alert",
  "crit",
  "err",
  "warning",
  "notice",
  "info",
  "debug",
]);

/** The facility name encoded in a PRI value (0..191). */
export function facilityName(priority: number): string {
  return FACILITY_NAMES[priority >> 3] ?? "unknown";
}

/** The severity name encoded in a PRI value (0..191). */
export function severityName(priority: number): string {
  return SEVERITY_NAMES[priority & 7];
}
