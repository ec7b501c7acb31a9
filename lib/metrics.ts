/**
 * One registry that every stage counts into; /metrics (and the shutdown summary) read it.
 *
 * @module
 */

type Labels = Record<string, string>;

interface Entry {
  labels: Labels;
  value: number;
  /** For an observed series: reads its value whenever the registry is read. */
  read?: () => number;
}

interface Family {
  help: string;
  type: "counter" | "gauge";
  values: Map<string, Entry>;
}

/** One counter of one label set; see {@link Metrics.counter}. */
export interface Counter {
  inc(by?: number): void;
}

/** Counters and gauges, with labels, rendered as Prometheus text. */
export class Metrics {
  #families = new Map<string, Family>();

  /** Adds `by` (default 1) to a counter. */
  inc(name: string, labels: Labels = {}, by = 1): void {
    this.#entry(name, "counter", labels).value += by;
  }

  /** A counter's cell for one label set, to add to on a hot path without a look-up each time. */
  counter(name: string, labels: Labels = {}): Counter {
    const entry = this.#entry(name, "counter", labels);
    return { inc: (by = 1) => void (entry.value += by) };
  }

  /** Every label set of a metric with its value (none when never touched). */
  series(name: string): { labels: Labels; value: number }[] {
    return [...this.#families.get(name)?.values.values() ?? []].map((e) => ({
      labels: e.labels,
      value: valueOf(e),
    }));
  }

  /** Sets a gauge. */
  set(name: string, value: number, labels: Labels = {}): void {
    this.#entry(name, "gauge", labels).value = value;
  }

  /** Makes a gauge (or, given `type`, a counter) call `read` whenever it is read or rendered. */
  observe(
    name: string,
    read: () => number,
    labels: Labels = {},
    type: "counter" | "gauge" = "gauge",
  ): void {
    this.#entry(name, type, labels).read = read;
  }

  /** Reads a counter or gauge (0 when never touched). */
  get(name: string, labels: Labels = {}): number {
    const entry = this.#families.get(name)?.values.get(labelKey(labels));
    return entry ? valueOf(entry) : 0;
  }

  /** Sums a counter over all its label sets. */
  total(name: string): number {
    let sum = 0;
    for (const entry of this.#families.get(name)?.values.values() ?? []) sum += valueOf(entry);
    return sum;
  }

  /** Declares the help text shown in Prometheus output. */
  describe(name: string, type: "counter" | "gauge", help: string): void {
    this.#family(name, type).help = help;
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.#families) {
      if (family.help) lines.push(`# HELP ${name} ${family.help}`);
      lines.push(`# TYPE ${name} ${family.type}`);
      for (const entry of family.values.values()) {
        lines.push(`${name}${formatLabels(entry.labels)} ${valueOf(entry)}`);
      }
    }
    return lines.join("\n") + "\n";
  }

  #family(name: string, type: "counter" | "gauge"): Family {
    let family = this.#families.get(name);
    if (!family) {
      family = { help: "", type, values: new Map() };
      this.#families.set(name, family);
    }
    return family;
  }

  #entry(name: string, type: "counter" | "gauge", labels: Labels): Entry {
    const family = this.#family(name, type);
    const key = labelKey(labels);
    let entry = family.values.get(key);
    if (!entry) {
      entry = { labels, value: 0 };
      family.values.set(key, entry);
    }
    return entry;
  }
}

function valueOf(entry: Entry): number {
  return entry.read ? entry.read() : entry.value;
}

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  // JSON, so that a value holding "," or "=" cannot collide with another label set.
  return JSON.stringify(keys.sort().map((k) => [k, labels[k]]));
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
  return `{${keys.map((k) => `${k}="${escape(labels[k])}"`).join(",")}}`;
}

/** Names of the relay's metrics, so that producers and readers agree. */
export const M = {
  received: "loggly_relay_events_received_total",
  parseErrors: "loggly_relay_parse_errors_total",
  truncated: "loggly_relay_events_truncated_total",
  incomplete: "loggly_relay_events_incomplete_total",
  dropped: "loggly_relay_events_dropped_total",
  paused: "loggly_relay_readers_paused_total",
  tagsDropped: "loggly_relay_tags_dropped_total",
  sent: "loggly_relay_events_sent_total",
  deadLettered: "loggly_relay_events_dead_lettered_total",
  requests: "loggly_relay_requests_total",
  retries: "loggly_relay_retries_total",
  spoolRecovered: "loggly_relay_spool_recovered_total",
  spoolReplayed: "loggly_relay_spool_replayed_total",
  spoolDamaged: "loggly_relay_spool_damaged_total",
  spoolWriteErrors: "loggly_relay_spool_write_errors_total",
  httpRequests: "loggly_relay_http_requests_total",
  httpSeconds: "loggly_relay_http_request_seconds_total",
  queueEvents: "loggly_relay_queue_events",
  queueBytes: "loggly_relay_queue_bytes",
  connections: "loggly_relay_connections_total",
  acceptErrors: "loggly_relay_accept_errors_total",
  connectionsClosed: "loggly_relay_connections_closed_total",
  connectionsOpen: "loggly_relay_connections_open",
  udpKernelDropsCounted: "loggly_relay_udp_kernel_drops_counted",
} as const;
