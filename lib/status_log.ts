/**
 * The periodic status line (`--status-interval`, 60 s by default): what came in per input, what
 * went out, retries and drops by reason since the last line, what waits in the queue, and Loggly's
 * last answer. Pure: it reads the metrics registry and is handed the rest.
 *
 * @module
 */
import type { LastAnswer } from "./loggly/sender.ts";
import { M, type Metrics } from "./metrics.ts";
import { formatSize } from "./units.ts";

/** What the status line reads besides the metrics. */
export interface StatusSources {
  metrics: Metrics;
  heldEvents: () => number;
  heldBytes: () => number;
  /** "queue" or "spool". */
  queueKind: string;
  lastAnswer: () => LastAnswer | null;
  now: () => number;
}

/** Makes each status line from the counters' change since the previous one. */
export class StatusLine {
  readonly #s: StatusSources;
  #previous: Map<string, number>;
  #previousAt: number;

  constructor(sources: StatusSources) {
    this.#s = sources;
    this.#previous = snapshot(sources.metrics);
    this.#previousAt = sources.now();
  }

  /** The line for the interval since the last call (or since construction). */
  next(): string {
    const now = this.#s.now();
    const current = snapshot(this.#s.metrics);
    const delta = (key: string) => (current.get(key) ?? 0) - (this.#previous.get(key) ?? 0);
    const elapsed = (now - this.#previousAt) / 1000;
    const seconds = elapsed < 10 ? Number(elapsed.toFixed(1)) : Math.round(elapsed);
    const changed = (prefix: string) =>
      [...current.keys()].filter((key) => key.startsWith(prefix))
        .map((key) => [key.slice(prefix.length), delta(key)] as const).filter(([, n]) => n > 0);
    const received = changed("received|");
    const dropped = changed("dropped|");
    const parts = [
      `last ${seconds} s: received ${
        received.length === 0 ? "0" : received.map(([input, n]) => `${n} ${input}`).join(", ")
      }`,
      `sent ${delta(M.sent)}`,
      `retried ${delta(M.retries)}`,
      `dropped ${
        dropped.length === 0 ? "0" : dropped.map(([reason, n]) => `${n} (${reason})`).join(", ")
      }`,
      `${this.#s.queueKind} ${this.#s.heldEvents()} events (${formatSize(this.#s.heldBytes())})`,
      `Loggly ${answerText(this.#s.lastAnswer(), now)}`,
    ];
    this.#previous = current;
    this.#previousAt = now;
    return parts.join("; ");
  }
}

/** How Loggly's last answer reads: `200, 3 s ago`, `unreachable (reason), 1 s ago`. */
export function answerText(answer: LastAnswer | null, now: number): string {
  if (answer === null) return "not asked yet";
  const ago = `${Math.max(0, Math.round((now - answer.at) / 1000))} s ago`;
  if (answer.status === null) return `unreachable (${answer.text}), ${ago}`;
  return `${answer.status}, ${ago}`;
}

/** The counters the line reports: received by input, dropped by reason, sent, retried. */
function snapshot(metrics: Metrics): Map<string, number> {
  const out = new Map<string, number>();
  const add = (key: string, value: number) => out.set(key, (out.get(key) ?? 0) + value);
  for (const { labels, value } of metrics.series(M.received)) {
    add(`received|${labels.input}`, value);
  }
  for (const { labels, value } of metrics.series(M.dropped)) add(`dropped|${labels.reason}`, value);
  out.set(M.sent, metrics.total(M.sent));
  out.set(M.retries, metrics.total(M.retries));
  return out;
}
