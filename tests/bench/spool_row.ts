/**
 * The spool row of the benchmark suite: TCP RFC 3164 as in the TCP row, but durable on both sides.
 * The relay runs with `--spool DIR` under its default sync policy (a spool_throughput.ts run of
 * mode "interval", in a fresh temporary directory); syslog-ng runs the anchor config with one
 * change, a reliable disk buffer on its http() destination, every other disk-buffer() option at
 * its default. The relay's spool/memory ratio is against the TCP row's relay when that row ran,
 * else against memory-queue relay runs made here.
 *
 * @module
 */
import {
  type Commands,
  fmt,
  median,
  type Options,
  runOnce,
  type RunResult,
} from "./tcp_throughput.ts";
import { type CommandLines, type Mode, runMode, type SpoolOptions } from "./spool_throughput.ts";
import {
  eachRun,
  figuresOf,
  type RowResult,
  runLine,
  sidesOf,
  type SuiteContext,
} from "./suite_context.ts";

/** The spool/memory throughput the relay should reach at least. */
const TARGET_RATIO = 0.5;
/** Large enough for a 1M-event run; it is an upper bound, not preallocated. */
const DISK_BUF_SIZE = 2 * 1024 ** 3;

/** The anchor config with a reliable disk buffer, in `dir`, on its http() destination. */
export function withDiskBuffer(conf: string, dir: string): string {
  const at = /destination\s+\w+\s*\{\s*http\(/.exec(conf);
  if (!at) throw new Error("found no http() destination in the syslog-ng config");
  const end = at.index + at[0].length;
  const buffer = `disk-buffer(reliable(yes) dir("${dir}") disk-buf-size(${DISK_BUF_SIZE})) `;
  return conf.slice(0, end) + buffer + conf.slice(end);
}

/** Runs the spool row: `--runs` runs of each side (and of the memory queue if need be). */
export async function spoolRow(ctx: SuiteContext): Promise<RowResult> {
  const base: Options = { ...ctx.opts.base, rfc5424: false, transport: "tcp" };
  const spool: SpoolOptions = { base, modes: ["interval"], spoolParent: undefined };
  const tcpRelay = ctx.done.find((r) => r.name === "tcp")?.relay ?? null;
  const relayModes: Mode[] = tcpRelay ? ["interval"] : ["interval", "memory"];
  const results: RunResult[] = [];
  const memory: RunResult[] = [];
  const spoolMiB: number[] = [];
  const lines: CommandLines = { relay: new Map(), sender: null };
  const commands: Commands = {};
  await eachRun(ctx, sidesOf(ctx.opts), async (side, run) => {
    if (side === "syslog-ng") {
      const opts = { ...base, editSyslogNgConf: withDiskBuffer };
      const result = await runOnce(side, opts, ctx.sink, ctx.deadline, commands);
      results.push(result);
      console.log(runLine("spool", run, base.runs, side, result));
      return;
    }
    for (const mode of relayModes) {
      const r = await runMode(mode, spool, ctx.sink, ctx.deadline, lines);
      (mode === "memory" ? memory : results).push(r.result);
      if (mode !== "memory") spoolMiB.push(r.spoolAtDelivery / 1024 ** 2);
      console.log(runLine("spool", run, base.runs, side, r.result) + ` (${mode} queue)`);
    }
  });
  const relay = figuresOf(results.filter((r) => r.side === "relay"));
  const memoryRelay = tcpRelay ?? figuresOf(memory);
  const notes = [
    "relay: --spool DIR (--spool-sync interval); syslog-ng: disk-buffer(reliable(yes) " +
    `disk-buf-size(${DISK_BUF_SIZE})) added to http()`,
  ];
  if (spoolMiB.length > 0) {
    notes.push(`relay spool ${fmt(median(spoolMiB))} MiB on disk when the sink had every event`);
  }
  let headline: string | undefined;
  if (relay && memoryRelay) {
    const ratio = relay.eventsPerSec / memoryRelay.eventsPerSec;
    headline = `Relay spool/memory throughput: ${fmt(ratio, 2)}x (target ≥ ${TARGET_RATIO}: ` +
      `${ratio >= TARGET_RATIO ? "met" : "MISSED"}; the memory queue's rate from ` +
      `${tcpRelay ? "the TCP row" : "memory-queue runs in the spool row"})`;
  }
  const commandMap = new Map<string, string>();
  const relayCommand = lines.relay.get("interval");
  if (relayCommand) commandMap.set("relay", relayCommand);
  if (commands.syslogNg) commandMap.set("syslog-ng", commands.syslogNg);
  const sender = lines.sender ?? commands.sender;
  if (sender) commandMap.set("sender", sender);
  return {
    name: "spool",
    label: "Spool: TCP, RFC 3164, --spool vs reliable disk-buffer()",
    relay,
    syslogNg: figuresOf(results.filter((r) => r.side === "syslog-ng")),
    notes,
    headline,
    commands: commandMap,
  };
}
