/**
 * What the durable queue costs: events/s end to end through the relay with the memory queue and
 * with `--spool` under each `--spool-sync` policy, all in one invocation.
 *
 *   deno run -A tests/bench/spool_throughput.ts [--events N] [--runs K]
 *
 * Each run is one tcp_throughput.ts relay run (loggen over ONE TCP connection into the relay,
 * which posts to a local Loggly stand-in in this process; wall time from starting loggen to the
 * sink counting N events). The modes are interleaved (memory, os, interval, always, memory, ...)
 * so that drift on the machine affects them alike. Every spool run gets a fresh temporary
 * directory, removed afterwards. Prints the median per mode and its ratio to the memory queue.
 * Every wait is bounded, and every process and directory is cleaned up, also on error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type Commands,
  fmt,
  fmtInt,
  intOption,
  median,
  MiB,
  type Options,
  optionsOrExit,
  readProc,
  ROOT,
  runGuarded,
  runOnce,
  type RunResult,
  senderOption,
  type Sink,
  tempDirs,
  which,
} from "./tcp_throughput.ts";

/** A queue the relay runs with: memory, or --spool under one --spool-sync policy. */
export type Mode = "memory" | "os" | "interval" | "always";

const MODES: readonly Mode[] = ["memory", "os", "interval", "always"];

const LABELS: Record<Mode, string> = {
  memory: "memory queue",
  os: "--spool-sync=os",
  interval: "--spool-sync=interval (default)",
  always: "--spool-sync=always",
};

/** The relay flags of a mode; `interval` is the default, so it is measured without the flag. */
function modeArgs(mode: Mode, dir: string): string[] {
  switch (mode) {
    case "memory":
      return [];
    case "interval":
      return ["--spool", dir];
    default:
      return ["--spool", dir, "--spool-sync", mode];
  }
}

const HELP = `Usage: deno run -A tests/bench/spool_throughput.ts [options]

  --events N            events per run (default 1000000)
  --runs K              runs per mode; the median is reported (default 3)
  --modes LIST          comma-separated, in run order (default ${MODES.join(",")})
  --size BYTES          loggen message size (default 200)
  --spool-parent DIR    where the per-run spool directories are made (default the system temp dir)
  --relay-arg ARG       extra relay flag for every mode, repeatable (--relay-arg=--linger=2s)
  --deno-flag FLAG      extra deno run flag for the relay, repeatable
  --relay-dir DIR       run main.ts from another checkout (default this repository)
  --sender KIND         "loggen" (default when installed) or "deno" (an in-process TCP writer)
  --run-timeout SEC     give up on one run after this long (default 300)
  --timeout SEC         give up on the whole benchmark after this long (default 2400)
`;

/** The options of this benchmark: the shared ones, the modes and where spools go. */
export interface SpoolOptions {
  base: Options;
  modes: Mode[];
  spoolParent: string | undefined;
}

function parseOptions(args: string[]): SpoolOptions | null {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      events: { type: "string" },
      runs: { type: "string" },
      modes: { type: "string" },
      size: { type: "string" },
      "spool-parent": { type: "string" },
      "relay-arg": { type: "string", multiple: true },
      "deno-flag": { type: "string", multiple: true },
      "relay-dir": { type: "string" },
      sender: { type: "string" },
      "run-timeout": { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return null;
  const int = intOption;
  const modes = (values.modes ?? MODES.join(",")).split(",").map((m) => m.trim());
  for (const mode of modes) {
    if (!(MODES as readonly string[]).includes(mode)) {
      throw new Error(`--modes: "${mode}" is not one of ${MODES.join(", ")}`);
    }
  }
  const sender = senderOption(values.sender);
  return {
    base: {
      events: int("events", values.events, 1_000_000, 1),
      size: int("size", values.size, 200, 80),
      runs: int("runs", values.runs, 3, 1),
      rfc5424: false,
      only: "relay",
      relayArgs: values["relay-arg"] ?? [],
      denoFlags: values["deno-flag"] ?? [],
      relayDir: values["relay-dir"] ?? ROOT,
      sender,
      anchorConf: "",
      runTimeoutMs: int("run-timeout", values["run-timeout"], 300, 1) * 1000,
      timeoutMs: int("timeout", values.timeout, 2400, 1) * 1000,
      profile: null,
    },
    modes: [...new Set(modes as Mode[])],
    spoolParent: values["spool-parent"],
  };
}

// ---------------------------------------------------------------------------------------------

/** One relay run of a mode, with the size of its spool. */
export interface ModeRun {
  mode: Mode;
  result: RunResult;
  /** Bytes of the spool's files once the sink had every event (relay still running), or NaN. */
  spoolAtDelivery: number;
  /** Of which the WAL. */
  walAtDelivery: number;
  /** Bytes of the spool's files after the relay exited (it checkpoints at close), or NaN. */
  spoolAfterExit: number;
}

/** The exact command lines, for the report: the last relay of each mode, and the sender. */
export interface CommandLines {
  relay: Map<Mode, string>;
  sender: string | null;
}

/** Sizes of the files in `dir`: all of them, and those ending in -wal. */
async function dirBytes(dir: string): Promise<{ total: number; wal: number }> {
  let total = 0, wal = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile) continue;
      const { size } = await Deno.stat(`${dir}/${entry.name}`);
      total += size;
      if (entry.name.endsWith("-wal")) wal += size;
    }
  } catch {
    return { total: NaN, wal: NaN };
  }
  return { total, wal };
}

/** One relay run of `mode`, with a fresh spool directory (removed afterwards) unless memory. */
export async function runMode(
  mode: Mode,
  opts: SpoolOptions,
  sink: Sink,
  deadline: number,
  commands: CommandLines,
): Promise<ModeRun> {
  let dir: string | null = null;
  if (mode !== "memory") {
    dir = await Deno.makeTempDir({ dir: opts.spoolParent, prefix: "bench-spool-" });
    tempDirs.add(dir);
  }
  try {
    const runOpts: Options = {
      ...opts.base,
      relayArgs: [...opts.base.relayArgs, ...modeArgs(mode, dir ?? "")],
    };
    const runCommands: Commands = {};
    let atDelivery = { total: NaN, wal: NaN };
    const result = await runOnce("relay", runOpts, sink, deadline, runCommands, async () => {
      if (dir) atDelivery = await dirBytes(dir);
    });
    if (runCommands.relay) commands.relay.set(mode, runCommands.relay);
    commands.sender = runCommands.sender ?? commands.sender;
    const afterExit = dir ? await dirBytes(dir) : { total: NaN, wal: NaN };
    return {
      mode,
      result,
      spoolAtDelivery: atDelivery.total,
      walAtDelivery: atDelivery.wal,
      spoolAfterExit: afterExit.total,
    };
  } finally {
    if (dir) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      tempDirs.delete(dir);
    }
  }
}

/** The file system type and mount point holding `path` (from /proc/mounts), or null. */
async function fileSystemOf(path: string): Promise<{ type: string; mount: string } | null> {
  try {
    const real = await Deno.realPath(path);
    let best: { type: string; mount: string } | null = null;
    for (const line of (await readProc("/proc/mounts")).split("\n")) {
      const [, mount, type] = line.split(" ");
      if (!mount || !type) continue;
      const inside = mount === "/" || real === mount || real.startsWith(mount + "/");
      if (inside && (!best || mount.length >= best.mount.length)) best = { type, mount };
    }
    return best;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

function printReport(
  opts: SpoolOptions,
  runs: ModeRun[],
  commands: CommandLines,
  fs: { type: string; mount: string } | null,
  spoolParent: string,
): void {
  const { base } = opts;
  const sender = base.sender === "loggen" ? "loggen" : "an in-process Deno writer";
  console.log(
    `\n${fmtInt(base.events)} events of ${base.size} bytes (RFC 3164, LF framed) over one TCP ` +
      `connection from ${sender} into the relay; median of ${base.runs} run(s) per mode, ` +
      `interleaved; wall time from starting the sender to the sink counting every event. ` +
      `Spools in ${spoolParent} (${
        fs ? `${fs.type} mounted on ${fs.mount}` : "file system unknown"
      })\n`,
  );
  console.log(
    "| queue | events/s | vs memory | peak RSS MiB | CPU s | CPU µs/event | wall s | " +
      "spool MiB at delivery (WAL) | spool MiB after exit |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  const rate = (r: ModeRun) => r.result.events / r.result.seconds;
  const of = (mode: Mode) => runs.filter((r) => r.mode === mode);
  const memoryRate = median(of("memory").map(rate));
  const medians = new Map<Mode, number>();
  for (const mode of opts.modes) {
    const mine = of(mode);
    if (mine.length === 0) continue;
    const eventsPerSec = median(mine.map(rate));
    medians.set(mode, eventsPerSec);
    const cpu = median(mine.map((r) => r.result.cpu));
    const spool = mode === "memory" ? ["", ""] : [
      `${fmt(median(mine.map((r) => r.spoolAtDelivery / MiB)))} (${
        fmt(median(mine.map((r) => r.walAtDelivery / MiB)))
      })`,
      fmt(median(mine.map((r) => r.spoolAfterExit / MiB))),
    ];
    const cells = [
      LABELS[mode],
      fmtInt(eventsPerSec),
      Number.isFinite(memoryRate) ? `${fmt(eventsPerSec / memoryRate, 2)}x` : "n/a",
      fmt(median(mine.map((r) => r.result.peakRss / MiB))),
      fmt(cpu, 2),
      fmt(cpu / base.events * 1e6, 2),
      fmt(median(mine.map((r) => r.result.seconds)), 2),
      ...spool,
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
  const interval = medians.get("interval");
  if (interval !== undefined && Number.isFinite(memoryRate)) {
    const ratio = interval / memoryRate;
    console.log(
      `\nDefault policy (interval) / memory queue: ${fmt(ratio, 2)}x — ` +
        (ratio >= 0.5 ? "meets" : "MISSES") + " the bar of at least 0.50x",
    );
  }
  console.log("\nEvery run, in order:");
  for (const r of runs) {
    const x = r.result;
    console.log(
      `  ${r.mode.padEnd(8)} ${fmtInt(rate(r)).padStart(9)} ev/s  ${fmt(x.seconds, 2)} s  ` +
        `RSS ${fmt(x.peakRss / MiB)} MiB  CPU ${fmt(x.cpu, 2)} s  ${x.sinkRequests} requests` +
        (r.mode === "memory" ? "" : `  spool ${fmt(r.spoolAtDelivery / MiB)} MiB`) +
        (x.extraEvents > 0 ? `  +${x.extraEvents} extra events` : ""),
    );
  }
  console.log(
    "\nCommands (the last run of each mode; ports and the spool directory differ per run, " +
      "each directory was removed after its run; TOKEN is a dummy UUID):",
  );
  for (const mode of opts.modes) {
    const command = commands.relay.get(mode);
    if (command) console.log(`  ${mode.padEnd(9)} (cd ${base.relayDir} && ${command})`);
  }
  if (commands.sender) console.log(`  sender:   ${commands.sender}`);
  console.log(`  sink:     Deno.serve on 127.0.0.1 in the benchmark process, counting lines`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const opts = optionsOrExit("spool_throughput", HELP, parseOptions);
  if (typeof opts === "number") return opts;
  const { base } = opts;
  if (base.sender === "deno" && !which("loggen")) {
    console.log("loggen not found: falling back to an in-process Deno TCP writer");
  }
  const spoolParent = opts.spoolParent ?? Deno.env.get("TMPDIR") ?? "/tmp";
  const fs = await fileSystemOf(spoolParent);
  if (fs?.type === "tmpfs") {
    console.log(`note: ${spoolParent} is on tmpfs, where fsync costs nothing`);
  }
  const deadline = performance.now() + base.timeoutMs;
  return await runGuarded("spool_throughput", base.timeoutMs, async (sink) => {
    const runs: ModeRun[] = [];
    const commands: CommandLines = { relay: new Map(), sender: null };
    try {
      for (let run = 1; run <= base.runs; run++) {
        for (const mode of opts.modes) {
          if (performance.now() > deadline) throw new Error("out of time (see --timeout)");
          const r = await runMode(mode, opts, sink, deadline, commands);
          runs.push(r);
          console.log(
            `run ${run}/${base.runs} ${mode}: ${fmtInt(r.result.events / r.result.seconds)} ` +
              `events/s, ${fmt(r.result.seconds, 2)} s, peak RSS ${
                fmt(r.result.peakRss / MiB)
              } MiB, CPU ${fmt(r.result.cpu, 2)} s` +
              (mode === "memory" ? "" : `, spool ${fmt(r.spoolAtDelivery / MiB)} MiB`),
          );
        }
      }
      printReport(opts, runs, commands, fs, spoolParent);
      return 0;
    } catch (error) {
      console.error(`spool_throughput: ${(error as Error).message}`);
      if (runs.length > 0) printReport(opts, runs, commands, fs, spoolParent);
      return 1;
    }
  });
}

if (import.meta.main) {
  Deno.exit(await main());
}
