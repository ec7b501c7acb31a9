/**
 * UDP delivery at fixed offered rates: how many of the datagrams `loggen -D -r RATE` sends to
 * 127.0.0.1 loggly-relay delivers (to the Loggly stand-in of tcp_throughput.ts, in this process)
 * and how many syslog-ng 3.38 writes to a file.
 *
 *   deno run -A tests/bench/udp_rates.ts [--rates 10000,50000,100000] [--seconds 4] [--runs 3]
 *
 * One measurement: start the server, run loggen for `--seconds`, wait until the delivered count
 * has not grown for 3 s, then read the socket's kernel drop count (/proc/net/udp) and receive
 * buffer (`ss`), the server's peak RSS and CPU time, and stop it (SIGTERM).
 *
 * Deno cannot set SO_RCVBUF, so the relay's socket gets net.core.rmem_default, while syslog-ng
 * asks for so-rcvbuf(4194304) (which the kernel doubles). The relay is therefore measured twice:
 * with rmem_default as found, and with rmem_default raised to 8 MiB while it binds its socket
 * (root only). The original value is written back as soon as the relay listens, and on every
 * exit path. Every wait is bounded; every process started is stopped, also on error or Ctrl-C.
 *
 * Mind loggen 3.38's start-up burst: it sends about 0.8 s worth of the rate extra, as fast as it
 * can, when it starts (~8,000 datagrams within ~10 ms at -r 10000), while an 8 MiB receive buffer
 * holds only ~6,500 datagrams of 200 bytes (208 KiB: ~166). Much of the loss is that burst.
 *
 * @module
 */
import { MALLOC_ENV, v8FlagsArg } from "../../lib/runtime_flags.ts";
import { parseArgs } from "node:util";
import {
  cpuSeconds,
  delay,
  fmt,
  fmtInt,
  freePort,
  intOption,
  median,
  MiB,
  optionsOrExit,
  type Proc,
  readProc,
  runGuarded,
  shellQuote,
  type Side,
  type Sink,
  spawn,
  statusBytes,
  stop,
  tempDirs,
  timeout,
  TOKEN,
  undoOnStop,
  untilListening,
  waitReady,
  which,
} from "./tcp_throughput.ts";

const RMEM_DEFAULT = "/proc/sys/net/core/rmem_default";
const SYSLOG_NG_RCVBUF = 4 * MiB;
/** syslog-ng's buffer as the kernel sets it (so-rcvbuf doubled): the relay's raised row by default. */
const EQUAL_RMEM = 2 * SYSLOG_NG_RCVBUF;
const MESSAGE_BYTES = 200;
/** A measurement ends once the delivered count has not grown for this long... */
const QUIET_MS = 3000;
/** ...or, at the latest, this long after loggen finished. */
const SETTLE_CAP_MS = 120_000;

const HELP = `Usage: deno run -A tests/bench/udp_rates.ts [options]

  --rates LIST      offered rates in datagrams/s, comma-separated (default 10000,50000,100000)
  --seconds S       how long loggen sends at each rate (loggen -I; default 4)
  --runs K          runs; the median per rate and row is reported (default 3)
  --only SIDE       run only "relay" (both rows) or "syslog-ng"
  --rmem BYTES      rmem_default for the relay's raised row (default ${EQUAL_RMEM}, what
                    syslog-ng's so-rcvbuf(${SYSLOG_NG_RCVBUF}) gets; 16777216 is what the relay advises)
  --relay-arg ARG   extra relay flag, repeatable (write it as --relay-arg=--linger=2s)
  --verbose         print the last lines the relay wrote when it stopped (its drop counts)
`;

interface UdpOptions {
  rates: number[];
  seconds: number;
  runs: number;
  only: Side | null;
  /** rmem_default of the relay's raised row. */
  rmem: number;
  relayArgs: string[];
  verbose: boolean;
}

/** What is measured: the relay with rmem_default as found or raised, or syslog-ng. */
type Row = "relay" | "relay-boosted" | "syslog-ng";

interface Measurement {
  rate: number;
  row: Row;
  sent: number;
  delivered: number;
  drops: number;
  rcvbuf: number;
  peakRss: number;
  cpu: number;
}

function parseOptions(args: string[]): UdpOptions | null {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      rates: { type: "string" },
      seconds: { type: "string" },
      runs: { type: "string" },
      only: { type: "string" },
      rmem: { type: "string" },
      "relay-arg": { type: "string", multiple: true },
      verbose: { type: "boolean", short: "v" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return null;
  const only = values.only ?? null;
  if (only !== null && only !== "relay" && only !== "syslog-ng") {
    throw new Error('--only must be "relay" or "syslog-ng"');
  }
  return {
    rates: (values.rates ?? "10000,50000,100000").split(",").map((r) =>
      intOption("rates", r.trim(), 0, 1)
    ),
    seconds: intOption("seconds", values.seconds, 4, 1),
    runs: intOption("runs", values.runs, 3, 1),
    only,
    rmem: intOption("rmem", values.rmem, EQUAL_RMEM, 4096),
    relayArgs: values["relay-arg"] ?? [],
    verbose: values.verbose ?? false,
  };
}

// ---------------------------------------------------------------------------------------------
// The kernel's view of a UDP socket.

/** The kernel drop count of the UDP socket bound to `port` (/proc/net/udp), or null if none is. */
export async function udpDrops(port: number): Promise<number | null> {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of (await readProc("/proc/net/udp")).split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(suffix)) return Number(fields.at(-1));
  }
  return null;
}

/** The receive buffer in bytes of the UDP socket on 127.0.0.1:`port`, as `ss` shows it, or NaN. */
async function receiveBuffer(port: number): Promise<number> {
  if (!which("ss")) return NaN;
  try {
    const { stdout } = await new Deno.Command("ss", {
      args: ["-uamnH", "src", `127.0.0.1:${port}`],
      stderr: "null",
      signal: AbortSignal.timeout(5000),
    }).output();
    const match = /\brb(\d+)/.exec(new TextDecoder().decode(stdout));
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** A port with neither a TCP listener nor a UDP socket on it right now. */
export async function freeUdpPort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = freePort();
    if (await udpDrops(port) === null) return port;
  }
  throw new Error("found no free UDP port");
}

/** Runs `body` with rmem_default at `bytes`, writing `found` back afterwards (and on interrupt). */
export async function withRmemDefault<T>(
  bytes: number,
  found: string,
  body: () => Promise<T>,
): Promise<T> {
  const restore = () => Deno.writeTextFileSync(RMEM_DEFAULT, found);
  undoOnStop.add(restore);
  try {
    Deno.writeTextFileSync(RMEM_DEFAULT, String(bytes));
    return await body();
  } finally {
    undoOnStop.delete(restore);
    restore();
  }
}

// ---------------------------------------------------------------------------------------------
// The servers and the sender.

async function startRelay(port: number, sink: Sink, extra: string[]): Promise<Proc> {
  const proc = spawn(
    "relay",
    Deno.execPath(),
    [
      ...["run", "-A", "--unstable-net", v8FlagsArg(), "main.ts", "--token", TOKEN],
      ...["--loggly-url", sink.url],
      ...["--udp", `127.0.0.1:${port}`, "--tcp", "off", ...extra],
    ],
    undefined,
    { ...MALLOC_ENV },
  );
  await untilListening(proc, ["syslog over udp"]);
  return proc;
}

async function startSyslogNg(port: number, dir: string): Promise<Proc> {
  await Deno.writeTextFile(
    `${dir}/syslog-ng.conf`,
    `@version: 3.38
options { keep-hostname(yes); };
source s {
  network(ip(127.0.0.1) port(${port}) transport(udp) so-rcvbuf(${SYSLOG_NG_RCVBUF}));
};
destination d { file("${dir}/out.log"); };
log { source(s); destination(d); };
`,
  );
  const proc = spawn("syslog-ng", which("syslog-ng")!, [
    ...["-F", "-f", `${dir}/syslog-ng.conf`, "--persist-file", `${dir}/p`],
    ...["--pidfile", `${dir}/pid`, "--control", `${dir}/ctl`],
  ]);
  const bound = async () => {
    while (!proc.exited && await udpDrops(port) === null) await delay(50);
  };
  try {
    await waitReady(proc, bound(), 30_000);
  } catch (error) {
    await stop(proc);
    throw error;
  }
  return proc;
}

/** Runs loggen at `rate` for `seconds`; returns how many datagrams it says it sent. */
export async function offer(rate: number, seconds: number, port: number): Promise<[number, Proc]> {
  const proc = spawn("loggen", which("loggen")!, [
    ...["-D", "-r", String(rate), "-I", String(seconds), "-s", String(MESSAGE_BYTES)],
    ...["127.0.0.1", String(port)],
  ]);
  const limit = timeout((seconds + 30) * 1000, "loggen to finish");
  try {
    const status = await Promise.race([proc.status, limit.promise]);
    if (!status.success) throw new Error(`loggen exited with code ${status.code}\n${proc.output}`);
  } finally {
    limit.cancel();
    await stop(proc, 2000);
  }
  const summary = proc.output.lines.findLast((line) => line.startsWith("average rate")) ?? "";
  const count = /count=(\d+)/.exec(summary);
  return [count ? Number(count[1]) : NaN, proc];
}

/** Polls `progress` until it stays put for QUIET_MS (or SETTLE_CAP_MS passed); false on the cap. */
export async function settle(progress: () => Promise<number>): Promise<boolean> {
  const cap = performance.now() + SETTLE_CAP_MS;
  let last = await progress();
  let since = performance.now();
  while (performance.now() - since < QUIET_MS) {
    if (performance.now() > cap) return false;
    await delay(250);
    const now = await progress();
    if (now !== last) [last, since] = [now, performance.now()];
  }
  return true;
}

async function countLines(path: string): Promise<number> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
  let lines = 0;
  for await (const chunk of file.readable) {
    for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// One measurement, and the plan.

interface Context {
  opts: UdpOptions;
  sink: Sink;
  /** rmem_default as found (null if unreadable). */
  rmemFound: string | null;
  /** The command lines last used, for the report. */
  commands: Map<string, string>;
}

async function measure(row: Row, rate: number, ctx: Context): Promise<Measurement> {
  const port = await freeUdpPort();
  let proc: Proc;
  let progress: () => Promise<number>;
  let delivered: () => Promise<number>;
  let dir: string | null = null;
  if (row === "syslog-ng") {
    dir = await Deno.makeTempDir({ prefix: "bench-udp-syslog-ng-" });
    tempDirs.add(dir);
    const out = `${dir}/out.log`;
    proc = await startSyslogNg(port, dir);
    progress = () => Deno.stat(out).then((info) => info.size, () => 0);
    delivered = () => countLines(out);
  } else {
    const start = () => startRelay(port, ctx.sink, ctx.opts.relayArgs);
    proc = row === "relay" ? await start() : await withRmemDefault(
      ctx.opts.rmem,
      ctx.rmemFound!,
      start,
    );
    progress = delivered = () => Promise.resolve(ctx.sink.events);
  }
  ctx.commands.set(proc.name, proc.commandLine);
  try {
    ctx.sink.reset(Infinity);
    const cpuBefore = await cpuSeconds(proc.pid);
    const [sent, loggen] = await offer(rate, ctx.opts.seconds, port);
    ctx.commands.set(loggen.name, loggen.commandLine);
    const settled = await settle(progress);
    if (proc.exited) throw new Error(`${proc.name} exited during the run\n${proc.output}`);
    if (!settled) console.error(`  (${row} was still delivering ${SETTLE_CAP_MS} ms after loggen)`);
    return {
      rate,
      row,
      sent,
      delivered: await delivered(),
      drops: await udpDrops(port) ?? NaN,
      rcvbuf: await receiveBuffer(port),
      peakRss: await statusBytes(proc.pid, "VmHWM"),
      cpu: await cpuSeconds(proc.pid) - cpuBefore,
    };
  } finally {
    const status = await stop(proc);
    if (row !== "syslog-ng" && (ctx.opts.verbose || status?.code)) {
      const tail = proc.output.lines.slice(-4).map((line) => `    | ${line}`).join("\n");
      console.log(`  relay stopped (exit code ${status?.code ?? "?"}); its last lines:\n${tail}`);
    }
    if (dir) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      tempDirs.delete(dir);
    }
  }
}

/** rmem_default as found, and why it cannot be raised (null if it can). */
export async function rmemState(): Promise<{ found: string | null; whyNot: string | null }> {
  let found: string;
  try {
    found = (await readProc(RMEM_DEFAULT)).trim();
  } catch (error) {
    return { found: null, whyNot: `cannot read ${RMEM_DEFAULT}: ${(error as Error).message}` };
  }
  try {
    Deno.writeTextFileSync(RMEM_DEFAULT, found); // unchanged: only tries the permission
    return { found, whyNot: null };
  } catch (error) {
    return { found, whyNot: `cannot write ${RMEM_DEFAULT} (${(error as Error).message})` };
  }
}

function label(row: Row, rmemFound: string | null, rmem: number): string {
  switch (row) {
    case "relay":
      return `relay, rmem_default ${rmemFound ?? "n/a"}`;
    case "relay-boosted":
      return `relay, rmem_default ${rmem}`;
    case "syslog-ng":
      return `syslog-ng, so-rcvbuf(${SYSLOG_NG_RCVBUF})`;
  }
}

function printReport(ctx: Context, rows: Row[], results: Measurement[]): void {
  const { opts } = ctx;
  const cpus = navigator.hardwareConcurrency;
  console.log(
    `\nloggen -D (UDP, ${MESSAGE_BYTES}-byte RFC 3164 datagrams) to 127.0.0.1 for ${opts.seconds} s ` +
      `per rate; median of ${opts.runs} run(s); ${cpus} CPUs, Linux ${Deno.osRelease()}, ` +
      `Deno ${Deno.version.deno}\n`,
  );
  console.log(
    "| offered/s | server | sent | delivered | delivered % | kernel drops | rcvbuf KiB | " +
      "peak RSS MiB | CPU s |",
  );
  console.log("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const rate of opts.rates) {
    for (const row of rows) {
      const mine = results.filter((m) => m.rate === rate && m.row === row);
      if (mine.length === 0) continue;
      const med = (f: (m: Measurement) => number) => median(mine.map(f));
      const cells = [
        fmtInt(rate),
        label(row, ctx.rmemFound, ctx.opts.rmem),
        fmtInt(med((m) => m.sent)),
        fmtInt(med((m) => m.delivered)),
        fmt(med((m) => 100 * m.delivered / m.sent)),
        fmtInt(med((m) => m.drops)),
        fmtInt(med((m) => m.rcvbuf / 1024)),
        fmt(med((m) => m.peakRss / MiB)),
        fmt(med((m) => m.cpu), 2),
      ];
      console.log(`| ${cells.join(" | ")} |`);
    }
  }
  const self = ["deno", "run", "-A", "tests/bench/udp_rates.ts", ...Deno.args];
  console.log(`\nReproduce (in ${Deno.cwd()}): ${self.map(shellQuote).join(" ")}`);
  console.log("Commands of the last run (ports differ per run; TOKEN is a dummy UUID):");
  for (const [name, command] of ctx.commands) console.log(`  ${name.padEnd(9)} ${command}`);
}

async function main(): Promise<number> {
  const opts = optionsOrExit("udp_rates", HELP, parseOptions);
  if (typeof opts === "number") return opts;
  const needed = ["loggen", ...(opts.only === "relay" ? [] : ["syslog-ng"])];
  const missing = needed.filter((command) => !which(command));
  if (missing.length > 0) {
    console.error(`udp_rates: ${missing.join(" and ")} not found (apt-get install syslog-ng-core)`);
    return 1;
  }
  const rmem = await rmemState();
  const rows: Row[] = [];
  if (opts.only !== "syslog-ng") {
    rows.push("relay");
    if (rmem.whyNot) {
      console.log(`Skipping the relay with rmem_default ${opts.rmem}: ${rmem.whyNot}`);
    } else rows.push("relay-boosted");
  }
  if (opts.only !== "relay") rows.push("syslog-ng");
  const plan = opts.runs * opts.rates.length * rows.length;
  const timeoutMs = plan * (opts.seconds + 300) * 1000;
  return await runGuarded("udp_rates", timeoutMs, async (sink) => {
    const ctx: Context = { opts, sink, rmemFound: rmem.found, commands: new Map() };
    const results: Measurement[] = [];
    try {
      // Rows alternate within each run and rate, so that drift on the machine affects all alike.
      for (let run = 1; run <= opts.runs; run++) {
        for (const rate of opts.rates) {
          for (const row of rows) {
            const m = await measure(row, rate, ctx);
            results.push(m);
            console.log(
              `run ${run}/${opts.runs} ${fmtInt(rate)}/s ${label(row, rmem.found, opts.rmem)}: ` +
                `${fmtInt(m.delivered)} of ${fmtInt(m.sent)} delivered ` +
                `(${fmt(100 * m.delivered / m.sent)}%), ${fmtInt(m.drops)} kernel drops`,
            );
          }
        }
      }
      printReport(ctx, rows, results);
      return 0;
    } catch (error) {
      console.error(`udp_rates: ${(error as Error).message}`);
      if (results.length > 0) printReport(ctx, rows, results);
      return 1;
    }
  });
}

if (import.meta.main) {
  Deno.exit(await main());
}
