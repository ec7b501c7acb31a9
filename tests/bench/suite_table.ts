/**
 * The benchmark suite's report: one markdown table, a row per scenario, relay against syslog-ng,
 * then the notes and commands of each row.
 *
 * @module
 */
import { fmt, fmtInt } from "./tcp_throughput.ts";
import type { RowResult, SideFigures, SuiteOptions } from "./suite_context.ts";

const HEADER = [
  "row",
  "relay ev/s",
  "syslog-ng ev/s",
  "ratio",
  "relay CPU µs/ev",
  "syslog-ng CPU µs/ev",
  "CPU ratio",
  "relay peak RSS MiB",
  "syslog-ng peak RSS MiB",
];

/** A row that failed: its name, label and why. */
export interface FailedRow {
  label: string;
  error: string;
}

function cells(row: RowResult): string[] {
  const r = row.relay, n = row.syslogNg;
  const get = (s: SideFigures | null, f: (s: SideFigures) => string) => s ? f(s) : "n/a";
  const ratio = (f: (s: SideFigures) => number) => r && n ? `${fmt(f(r) / f(n), 2)}x` : "n/a";
  return [
    row.label,
    get(r, (s) => fmtInt(s.eventsPerSec)),
    get(n, (s) => fmtInt(s.eventsPerSec)),
    ratio((s) => s.eventsPerSec),
    get(r, (s) => fmt(s.cpuUsPerEvent, 2)),
    get(n, (s) => fmt(s.cpuUsPerEvent, 2)),
    ratio((s) => s.cpuUsPerEvent),
    get(r, (s) => fmt(s.peakRssMiB)),
    get(n, (s) => fmt(s.peakRssMiB)),
  ];
}

/**
 * Prints the table of `rows` (a failed row says so), then `lines` and the rows' headlines, then
 * the notes and commands of each row.
 */
export function printTable(
  opts: SuiteOptions,
  rows: (RowResult | FailedRow)[],
  syslogNgVersion: string,
  lines: string[],
): void {
  const { base } = opts;
  console.log(
    `\nloggly-relay vs ${syslogNgVersion}: ${fmtInt(base.events)} events of ${base.size} bytes ` +
      `per run (UDP: ${fmtInt(opts.udpRate)}/s for ${opts.udpSeconds} s), median of ` +
      `${base.runs} run(s); ${navigator.hardwareConcurrency} CPUs, Linux ${Deno.osRelease()}, ` +
      `Deno ${Deno.version.deno}; ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC\n`,
  );
  console.log(`| ${HEADER.join(" | ")} |`);
  console.log(`|---|${"---:|".repeat(HEADER.length - 1)}`);
  for (const row of rows) {
    const line = "name" in row
      ? cells(row)
      : [row.label, "failed", ...Array(HEADER.length - 2).fill("")];
    console.log(`| ${line.join(" | ")} |`);
  }
  console.log(
    "\nev/s: events/s from starting the sender (HTTP: from its first request) to the sink " +
      "counting every event; UDP: events delivered per second of sending at the offered rate. " +
      "CPU µs/ev: the server's user+system CPU per event (UDP: per event delivered). ratio: " +
      "relay / syslog-ng. Both servers post to the same Loggly stand-in in this process.\n",
  );
  for (const line of lines) console.log(line);
  for (const row of rows) if ("headline" in row && row.headline) console.log(row.headline);
  for (const row of rows) {
    if (!("name" in row)) {
      console.log(`\n${row.label}: FAILED: ${row.error}`);
      continue;
    }
    console.log(`\n${row.label}:`);
    for (const note of row.notes) console.log(`  - ${note}`);
    for (const [role, command] of row.commands) {
      console.log(
        `  ${role}: ${role === "relay" ? `(cd ${base.relayDir} && ${command})` : command}`,
      );
    }
  }
}
