/**
 * What the relay says when it stops: what was delivered, what stays in the spool, what was lost
 * on the way in, and what may or may not have reached Loggly; and the exit status that follows.
 * Pure: it reads the metrics registry and returns the lines to log.
 *
 * @module
 */
import { M, type Metrics } from "./metrics.ts";
import type { Leftover } from "./relay.ts";

/** One line of the report. */
export interface ReportLine {
  level: "info" | "warn" | "error";
  message: string;
}

/** How the relay stopped: the events it still held (in the spool when `durable`). */
export interface StopState extends Leftover {
  durable: boolean;
  dryRun: boolean;
}

/** The relay's exit statuses. */
export const EXIT = {
  /** Stopped; every event it accepted was delivered, or is kept in the spool. */
  ok: 0,
  /** A runtime failure (a port in use, an unreadable file, ...). */
  failure: 1,
  /** Bad usage: a flag or value it cannot use. */
  usage: 2,
  /** Stopped with accepted events Loggly was not seen to take and no spool keeps: lost. */
  undelivered: 3,
} as const;

/**
 * The exit status after a stop: {@link EXIT.undelivered} when events the relay held are lost
 * (no spool, or the spool could not write them), counting those in requests the shutdown timeout
 * aborted, which Loggly may or may not have; else {@link EXIT.ok}. Events dropped before they
 * were queued (a full queue, a foreign token, the kernel's UDP drops) are counted and reported,
 * and do not change it.
 */
export function exitCode(state: StopState): number {
  const lost = state.durable ? state.notSpooled : state.unsent + state.inFlight;
  return lost > 0 ? EXIT.undelivered : EXIT.ok;
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
  const { unsent, inFlight, notSpooled } = state;
  if (unsent + inFlight > 0 && state.durable) {
    const kept = unsent + inFlight - notSpooled;
    const twice = inFlight > 0
      ? `; ${inFlight} of them were in requests aborted at the shutdown timeout and may reach ` +
        "Loggly twice"
      : "";
    const gone = notSpooled > 0 ? `; ${notSpooled} more could not be written to it: lost` : "";
    lines.push({
      level: notSpooled > 0 ? "error" : "warn",
      message: `Stopped with ${kept} events kept in the spool; they are sent at the next start ` +
        `(${sent} delivered)${twice}${gone}`,
    });
  } else if (unsent + inFlight > 0) {
    const parts = [
      ...(unsent > 0 ? [`${unsent} events not delivered to Loggly`] : []),
      ...(inFlight > 0
        ? [
          `${inFlight}${unsent > 0 ? "" : " events"} in requests aborted at the shutdown ` +
          "timeout, which Loggly may or may not have received",
        ]
        : []),
    ];
    lines.push({
      level: "error",
      message: `Stopped with ${parts.join(" and ")} (${sent} delivered)`,
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
