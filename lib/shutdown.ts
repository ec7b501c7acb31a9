/**
 * What the relay says when it stops: what was delivered, what stays in the spool, and what was
 * lost on the way in. Pure: it reads the metrics registry and returns the lines to log.
 *
 * @module
 */
import { M, type Metrics } from "./metrics.ts";

/** One line of the report. */
export interface ReportLine {
  level: "info" | "warn" | "error";
  message: string;
}

/** How the relay stopped. */
export interface StopState {
  /** Events still held when the relay stopped (in the spool when `durable`). */
  unsent: number;
  durable: boolean;
  dryRun: boolean;
}

/** The lines to log at shutdown; the last one sums up. */
export function shutdownReport(metrics: Metrics, state: StopState): ReportLine[] {
  const sent = metrics.get(M.sent);
  const lines: ReportLine[] = [];
  const dropped = metrics.series(M.dropped).filter((s) => s.value > 0);
  const droppedTotal = dropped.reduce((sum, s) => sum + s.value, 0);
  if (droppedTotal > 0) {
    const parts = dropped.map((s) => `${s.value} ${s.labels.input ?? "?"}: ${s.labels.reason}`);
    lines.push({
      level: "warn",
      message: `${droppedTotal} events were dropped before they could be queued (` +
        `${parts.join("; ")}); see loggly_relay_events_dropped_total`,
    });
  }
  const refused = metrics.total(M.deadLettered);
  if (refused > 0) {
    lines.push({
      level: "warn",
      message: `${refused} events were refused by Loggly (4xx) and written to --dead-letter`,
    });
  }
  const lost = droppedTotal + refused;
  if (state.unsent > 0 && state.durable) {
    lines.push({
      level: "warn",
      message: `Stopped with ${state.unsent} events kept in the spool; they are sent at the ` +
        `next start (${sent} delivered)`,
    });
  } else if (state.unsent > 0) {
    lines.push({
      level: "error",
      message: `Stopped with ${state.unsent} events not delivered to Loggly (${sent} delivered)`,
    });
  } else if (state.dryRun) {
    lines.push({ level: "info", message: "Stopped (dry run: nothing was sent)" });
  } else {
    // Where the kernel's UDP drops cannot be read, "every event was delivered" would be a guess.
    const blind = metrics.series(M.udpKernelDropsCounted).some((s) => s.value === 0);
    const caveat = blind
      ? "; UDP datagrams the kernel dropped before the relay read them cannot be seen by " +
        "this build (see the warning at start)"
      : "";
    lines.push(
      lost > 0
        ? {
          level: "warn",
          message: `Stopped; ${sent} delivered: every event the relay queued was delivered, ` +
            `but ${lost} never reached Loggly (see above)${caveat}`,
        }
        : {
          level: "info",
          message: `Stopped; every ${blind ? "received" : "accepted"} event was delivered ` +
            `(${sent} delivered)${caveat}`,
        },
    );
  }
  return lines;
}
