/**
 * The benchmark suite behind `deno task bench`: loggly-relay against syslog-ng (the anchor config
 * of tcp_throughput.ts, changed per row with the least change, which the report names), for TCP
 * with RFC 3164 and RFC 5424, TLS, UDP at a fixed offered rate, HTTP bulk (relay only) and a
 * durable queue, printed as ONE markdown table of events/s, CPU per event and peak RSS (medians of
 * `--runs`); then loggen's own ceiling against the relay's TCP rate, and the summary of the newest
 * soak CSV in tests/bench/results/.
 *
 *   deno run -A tests/bench/suite.ts [--rows tcp,rfc5424,tls,udp,http,spool] [--events N] [--runs K]
 *
 * Everything stays on 127.0.0.1; every wait is bounded, and every process and temporary directory
 * is cleaned up, also on error or Ctrl-C (runGuarded). A row that fails is reported as failed and
 * the others still run; the exit code is then 1.
 *
 * @module
 */
import {
  type Options,
  optionsOrExit,
  profileRelay,
  runGuarded,
  type Sink,
  which,
} from "./tcp_throughput.ts";
import { ceilingLine, loggenCeiling } from "./loggen_ceiling.ts";
import { httpRow } from "./http_row.ts";
import { printSoakSummary } from "./soak_summary.ts";
import { spoolRow } from "./spool_row.ts";
import { streamRow } from "./stream_rows.ts";
import { type RowName, type RowResult, sidesOf, type SuiteContext } from "./suite_context.ts";
import { HELP, parseSuiteOptions } from "./suite_options.ts";
import { type FailedRow, printTable } from "./suite_table.ts";
import { udpRow } from "./udp_row.ts";

const RUNNERS: Record<RowName, (ctx: SuiteContext) => Promise<RowResult>> = {
  tcp: (ctx) => streamRow(ctx, "tcp"),
  rfc5424: (ctx) => streamRow(ctx, "rfc5424"),
  tls: (ctx) => streamRow(ctx, "tls"),
  udp: udpRow,
  http: httpRow,
  spool: spoolRow,
};

/** "syslog-ng 3.38.1", from `syslog-ng --version`. */
async function syslogNgVersion(): Promise<string> {
  try {
    const { stdout } = await new Deno.Command("syslog-ng", {
      args: ["--version"],
      stderr: "null",
      signal: AbortSignal.timeout(10_000),
    }).output();
    const version = /\((\d+\.\d+\.\d+)\)/.exec(new TextDecoder().decode(stdout))?.[1];
    return version ? `syslog-ng ${version}` : "syslog-ng";
  } catch {
    return "syslog-ng";
  }
}

/** The ceiling lines, measured when the TCP row ran (its relay rate is compared with it). */
async function measureCeiling(ctx: SuiteContext, base: Options): Promise<string[] | null> {
  const tcp = ctx.done.find((r) => r.name === "tcp");
  if (!tcp) return [];
  try {
    console.log("loggen ceiling:");
    const ceiling = await loggenCeiling(base, ctx.deadline);
    return [
      ceilingLine(ceiling, tcp.relay?.eventsPerSec ?? null),
      ...[...ceiling?.commands ?? []].map(([role, command]) => `  ${role}: ${command}`),
    ];
  } catch (error) {
    console.error(`loggen ceiling: ${(error as Error).message}`);
    return null;
  }
}

async function suite(ctx: SuiteContext, version: string): Promise<number> {
  const { opts } = ctx;
  const rows: (RowResult | FailedRow)[] = [];
  let ok = true;
  for (const name of opts.rows) {
    console.log(`${name}:`);
    try {
      const row = await RUNNERS[name](ctx);
      ctx.done.push(row);
      rows.push(row);
    } catch (error) {
      ok = false;
      console.error(`${name}: ${(error as Error).message}`);
      rows.push({ label: name, error: (error as Error).message.split("\n")[0] });
    }
  }
  const ceiling = await measureCeiling(ctx, opts.base);
  printTable(opts, rows, version, ceiling ?? ["loggen ceiling: FAILED (see above)"]);
  console.log("");
  await printSoakSummary(opts.soakCsv);
  if (opts.base.profile) await profileRelay(opts.base, ctx.sink, ctx.deadline);
  return ok && ceiling !== null ? 0 : 1;
}

async function main(): Promise<number> {
  const opts = optionsOrExit("bench", HELP, parseSuiteOptions);
  if (typeof opts === "number") return opts;
  if (opts.base.sender === "deno" && !which("loggen")) {
    console.log("loggen not found: TCP and TLS rows use an in-process Deno writer");
  }
  if (sidesOf(opts).includes("syslog-ng") && !which("syslog-ng")) {
    console.error("syslog-ng not found (apt-get install syslog-ng-core syslog-ng-mod-http)");
    return 2;
  }
  const version = await syslogNgVersion();
  const deadline = performance.now() + opts.base.timeoutMs;
  return await runGuarded(
    "bench",
    opts.base.timeoutMs,
    (sink: Sink) => suite({ opts, sink, deadline, done: [] }, version),
  );
}

if (import.meta.main) {
  Deno.exit(await main());
}
