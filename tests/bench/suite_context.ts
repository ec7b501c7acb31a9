/**
 * What the rows of the benchmark suite (suite.ts) share: the options, the context a row runs in,
 * what a row yields, and the loop that alternates the sides run by run.
 *
 * @module
 */
import {
  fmt,
  fmtInt,
  median,
  MiB,
  type Options,
  type RunResult,
  type Side,
  type Sink,
} from "./tcp_throughput.ts";

/** The rows the suite can run, in the order it runs and prints them. */
export const ROWS = ["tcp", "rfc5424", "tls", "udp", "http", "spool"] as const;

/** One row of the suite. */
export type RowName = typeof ROWS[number];

/** The suite's options: those shared with tcp_throughput.ts, and the suite's own. */
export interface SuiteOptions {
  base: Options;
  rows: RowName[];
  /** UDP: datagrams/s loggen offers, and for how long. */
  udpRate: number;
  udpSeconds: number;
  /** rmem_default for both servers' UDP sockets while they bind (root only); null: as found. */
  udpRmem: number | null;
  /** HTTP: events per POST, and POSTs in flight. */
  httpBatch: number;
  httpClients: number;
  /** The soak CSV to summarise; null for the newest in tests/bench/results/. */
  soakCsv: string | null;
}

/** What a row runs with. */
export interface SuiteContext {
  opts: SuiteOptions;
  sink: Sink;
  /** performance.now() past which no new run starts. */
  deadline: number;
  /** The rows finished so far (the spool row compares with the TCP row's relay). */
  done: RowResult[];
}

/** The medians of one side of a row. */
export interface SideFigures {
  eventsPerSec: number;
  cpuUsPerEvent: number;
  peakRssMiB: number;
}

/** What a row yields: one line of the table, notes on it and the commands it ran. */
export interface RowResult {
  name: RowName;
  label: string;
  /** null when the side was not run (--only) or cannot be (syslog-ng has no HTTP source). */
  relay: SideFigures | null;
  syslogNg: SideFigures | null;
  notes: string[];
  /** A line to print right under the table, if any. */
  headline?: string;
  /** The last command line of each process, by role. */
  commands: Map<string, string>;
}

/** The sides to run: both, or the one --only names. */
export function sidesOf(opts: SuiteOptions): Side[] {
  return opts.base.only ? [opts.base.only] : ["relay", "syslog-ng"];
}

/** The medians of runs measured as tcp_throughput.ts measures them; null when there are none. */
export function figuresOf(results: RunResult[]): SideFigures | null {
  if (results.length === 0) return null;
  return {
    eventsPerSec: median(results.map((r) => r.events / r.seconds)),
    cpuUsPerEvent: median(results.map((r) => r.cpu / r.events * 1e6)),
    peakRssMiB: median(results.map((r) => r.peakRss / MiB)),
  };
}

/** A progress line of one run. */
export function runLine(row: RowName, run: number, runs: number, side: Side, r: RunResult): string {
  return `  ${row} run ${run}/${runs} ${side}: ${fmtInt(r.events / r.seconds)} events/s, ` +
    `${fmt(r.seconds, 2)} s, peak RSS ${fmt(r.peakRss / MiB)} MiB, CPU ${fmt(r.cpu, 2)} s` +
    (r.extraEvents > 0 ? `, +${r.extraEvents} extra events` : "");
}

/**
 * Calls `measure` for every run and side, the sides alternating within each run so that drift
 * on the machine affects both alike; stops with an error once the suite's deadline passed.
 */
export async function eachRun(
  ctx: SuiteContext,
  sides: Side[],
  measure: (side: Side, run: number) => Promise<void>,
): Promise<void> {
  for (let run = 1; run <= ctx.opts.base.runs; run++) {
    for (const side of sides) {
      if (performance.now() > ctx.deadline) throw new Error("out of time (see --timeout)");
      await measure(side, run);
    }
  }
}
