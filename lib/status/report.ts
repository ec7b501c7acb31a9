/**
 * What the status page, `/status.json` and `loggly-relay status` show: the counters as /metrics
 * has them, the queue, Loggly's last answer, recent parse errors, certificate expiry and the
 * rates of the last 15 minutes. Pure: built from what the relay hands in. Nothing in it is a
 * token: parse errors and Loggly's answer are redacted, certificates are named by path.
 *
 * @module
 */
import { M } from "../metrics.ts";
import { redactTokenLike } from "../redact.ts";
import type { StatusSources } from "../status_log.ts";
import type { HistoryData } from "./history.ts";
import type { ParseErrorEntry } from "./recent_errors.ts";

/** A certificate the relay serves, and when it expires. */
export interface CertificateInfo {
  /** "syslog TLS" or "HTTPS". */
  readonly input: string;
  readonly path: string;
  readonly subject: string;
  /** Expiry, ms since the epoch. */
  readonly expires: number;
}

/** Everything the report is made from. */
export interface ReportSources extends StatusSources {
  readonly version: string;
  readonly startedAt: number;
  /** The config file read, or a note that there was none. */
  configSource: () => string;
  certificates: () => readonly CertificateInfo[];
  recentErrors: () => ParseErrorEntry[];
  history: () => HistoryData;
}

/** Loggly's state as the last answer tells it. */
export type LogglyState = "ok" | "failing" | "not asked yet";

/** The status report; `/status.json` is this, as JSON. */
export interface StatusReport {
  readonly version: string;
  /** When the report was made, ms since the epoch. */
  readonly now: number;
  readonly uptimeSeconds: number;
  readonly configSource: string;
  /** Events received, by input (as loggly_relay_events_received_total). */
  readonly received: Record<string, number>;
  readonly sent: number;
  readonly retried: number;
  /** Events dropped, by reason (as loggly_relay_events_dropped_total). */
  readonly dropped: Record<string, number>;
  readonly parseErrors: number;
  readonly queue: { readonly kind: string; readonly events: number; readonly bytes: number };
  readonly loggly: {
    readonly state: LogglyState;
    readonly status: number | null;
    readonly text: string;
    readonly at: number | null;
  };
  readonly recentParseErrors: ParseErrorEntry[];
  readonly certificates: (CertificateInfo & { readonly days: number })[];
  readonly history: HistoryData;
}

const DAY_MS = 86_400_000;

/** The report as of now. */
export function buildReport(s: ReportSources): StatusReport {
  const now = s.now();
  const answer = s.lastAnswer();
  const ok = answer !== null && answer.status !== null && answer.status >= 200 &&
    answer.status < 300;
  return {
    version: s.version,
    now,
    uptimeSeconds: Math.max(0, Math.floor((now - s.startedAt) / 1000)),
    configSource: s.configSource(),
    received: byLabel(s, M.received, "input"),
    sent: s.metrics.total(M.sent),
    retried: s.metrics.total(M.retries),
    dropped: byLabel(s, M.dropped, "reason"),
    parseErrors: s.metrics.total(M.parseErrors),
    queue: { kind: s.queueKind, events: s.heldEvents(), bytes: s.heldBytes() },
    loggly: {
      state: answer === null ? "not asked yet" : ok ? "ok" : "failing",
      status: answer?.status ?? null,
      text: redactTokenLike(answer?.text ?? ""),
      at: answer?.at ?? null,
    },
    recentParseErrors: s.recentErrors(),
    certificates: s.certificates().map((c) => ({
      ...c,
      days: Math.floor((c.expires - now) / DAY_MS),
    })),
    history: s.history(),
  };
}

/** The counters the chart follows: events in per input (`in:tcp`) and out (`out`). */
export function rateCounters(s: Pick<StatusSources, "metrics">): Record<string, number> {
  const counters: Record<string, number> = {};
  for (const { labels, value } of s.metrics.series(M.received)) {
    counters[`in:${labels.input}`] = (counters[`in:${labels.input}`] ?? 0) + value;
  }
  counters.out = s.metrics.total(M.sent);
  return counters;
}

function byLabel(s: ReportSources, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { labels, value } of s.metrics.series(name)) {
    out[labels[label]] = (out[labels[label]] ?? 0) + value;
  }
  return out;
}
