/**
 * Side-by-side TCP throughput benchmark: loggly-relay against syslog-ng (tuned as in
 * /work/shared/bench/syslog-ng-anchor.conf), both fed the same `loggen` stream over ONE TCP
 * connection and both posting to the same local Loggly stand-in ("sink") in this process.
 *
 *   deno run -A tests/bench/tcp_throughput.ts [--events N] [--size BYTES] [--runs K]
 *   (deno task bench:tcp; `deno task bench` is the suite, suite.ts, whose --rows tcp is this run)
 *
 * For each run: start the server (relay or syslog-ng), start loggen, and measure the wall time
 * from starting loggen to the sink having counted N events, the server's peak RSS (VmHWM) and its
 * CPU time. Prints the median of K runs per side and the ratio relay/syslog-ng. Everything stays
 * on 127.0.0.1; every wait is bounded, and every process started is stopped, also on error.
 * `--help` lists the other flags (RFC 5424 input, extra relay flags, a CPU profile of the relay).
 *
 * The exported parts (sink, process handling, the servers, one run, formatting) are shared with
 * the other benchmarks here; a run can also be over TLS, UDP or HTTP, with a sender and a
 * syslog-ng config change of the caller's (Options.transport, startSender, editSyslogNgConf: the
 * suite's rows). Importing this module does not run the benchmark.
 *
 * @module
 */
import { MALLOC_ENV, v8FlagsArg } from "../../lib/runtime_flags.ts";
import { parseArgs } from "node:util";

export const ROOT = new URL("../../", import.meta.url).pathname;
/** The dummy Loggly token every benchmark gives the relay. */
export const TOKEN = "0b6d4f7e-1a2b-4c3d-9e8f-123456789abc";
/** The syslog-ng config every comparison starts from; shared/ sits beside the repository. */
export const DEFAULT_ANCHOR_CONF: string = new URL(
  "../../../shared/bench/syslog-ng-anchor.conf",
  import.meta.url,
).pathname;
export const MiB = 1024 * 1024;

const HELP = `Usage: deno run -A tests/bench/tcp_throughput.ts [options]

  --events N            events per run (default 1000000)
  --size BYTES          loggen message size (default 200)
  --runs K              runs per side; the median is reported (default 3)
  --rfc5424             send RFC 5424 (loggen -P -F, LF framed; syslog-ng gets flags(syslog-protocol))
  --only SIDE           run only "relay" or "syslog-ng"
  --relay-arg ARG       extra relay flag, repeatable (write it as --relay-arg=--linger=2s)
  --deno-flag FLAG      extra deno run flag for the relay, repeatable (--deno-flag=--v8-flags=...)
  --relay-dir DIR       run main.ts from another checkout (an A/B copy; default this repository)
  --sender KIND         "loggen" (default when installed) or "deno" (an in-process TCP writer)
  --syslog-ng-conf FILE the anchor config (default ${DEFAULT_ANCHOR_CONF})
  --run-timeout SEC     give up on one run after this long (default 180)
  --timeout SEC         give up on the whole benchmark after this long (default 1200)
  --profile FILE        also take a V8 CPU profile of the relay in one extra run (via --inspect),
                        write it to FILE (.cpuprofile, opens in Chrome DevTools) and print the
                        functions with the most self time
`;

export interface Options {
  events: number;
  size: number;
  runs: number;
  rfc5424: boolean;
  only: "relay" | "syslog-ng" | null;
  relayArgs: string[];
  denoFlags: string[];
  relayDir: string;
  sender: "loggen" | "deno";
  anchorConf: string;
  runTimeoutMs: number;
  timeoutMs: number;
  profile: string | null;
  /** The listener both servers use (default "tcp"); "udp" and "http" need a sender of their own. */
  transport?: Transport;
  /** PEM certificate and key of the "tls" transport (self-signed for 127.0.0.1 will do). */
  tls?: TlsFiles;
  /** Rewrites syslog-ng's config once its placeholders are filled in, given its temp directory. */
  editSyslogNgConf?: (conf: string, dir: string) => string;
  /** Starts the sender instead of loggen or the in-process writer. */
  startSender?: (opts: Options, port: number) => Sending;
}

/** How events reach the server under test. */
export type Transport = "tcp" | "tls" | "udp" | "http";

/** The files of a TLS listener. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** The value of number option `--name` (underscores allowed), or `fallback` when not given. */
export function numberOption(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  integer = false,
): number {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll("_", ""));
  if (!(integer ? Number.isInteger(n) : Number.isFinite(n)) || n < min) {
    throw new Error(`--${name} must be ${integer ? "an integer" : "a number"} >= ${min}`);
  }
  return n;
}

/** The value of integer option `--name` (underscores allowed), or `fallback` when not given. */
export function intOption(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
): number {
  return numberOption(name, value, fallback, min, true);
}

/** The sender option: loggen when it is installed, else the in-process writer. */
export function senderOption(value: string | undefined): "loggen" | "deno" {
  const sender = value ?? (which("loggen") ? "loggen" : "deno");
  if (sender !== "loggen" && sender !== "deno") throw new Error('--sender is "loggen" or "deno"');
  return sender;
}

/**
 * Runs a benchmark's `body` with a sink to post to, a watchdog past `timeoutMs`, and SIGINT /
 * SIGTERM handling; whatever happens, every process it started is stopped.
 */
export async function runGuarded(
  name: string,
  timeoutMs: number,
  body: (sink: Sink) => Promise<number>,
): Promise<number> {
  const watchdog = setTimeout(async () => {
    console.error(`${name}: the whole benchmark took over ${timeoutMs} ms; stopping`);
    await stopAll();
    Deno.exit(3);
  }, timeoutMs + 30_000);
  const onSignal = async () => {
    await stopAll();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const sink = new Sink();
  try {
    return await body(sink);
  } finally {
    await stopAll();
    await sink.close();
    clearTimeout(watchdog);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

/** The command-line flags of one relay-vs-syslog-ng run, shared by the benchmarks built on it. */
export const RUN_OPTIONS = {
  events: { type: "string" },
  size: { type: "string" },
  runs: { type: "string" },
  rfc5424: { type: "boolean" },
  only: { type: "string" },
  "relay-arg": { type: "string", multiple: true },
  "deno-flag": { type: "string", multiple: true },
  "relay-dir": { type: "string" },
  sender: { type: "string" },
  "syslog-ng-conf": { type: "string" },
  "run-timeout": { type: "string" },
  timeout: { type: "string" },
  profile: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function parseOptions(args: string[]): Options | null {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: RUN_OPTIONS,
  });
  if (values.help) return null;
  const int = intOption;
  const only = values.only ?? null;
  if (only !== null && only !== "relay" && only !== "syslog-ng") {
    throw new Error('--only must be "relay" or "syslog-ng"');
  }
  const sender = senderOption(values.sender);
  return {
    events: int("events", values.events, 1_000_000, 1),
    size: int("size", values.size, 200, 80),
    runs: int("runs", values.runs, 3, 1),
    rfc5424: values.rfc5424 ?? false,
    only,
    relayArgs: values["relay-arg"] ?? [],
    denoFlags: values["deno-flag"] ?? [],
    relayDir: values["relay-dir"] ?? ROOT,
    sender,
    anchorConf: values["syslog-ng-conf"] ?? DEFAULT_ANCHOR_CONF,
    runTimeoutMs: int("run-timeout", values["run-timeout"], 180, 1) * 1000,
    timeoutMs: int("timeout", values.timeout, 1200, 1) * 1000,
    profile: values.profile ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// The Loggly stand-in: counts the newline-separated events of every POST under /bulk/.

export class Sink {
  /** Events counted since the last reset. */
  events = 0;
  bytes = 0;
  requests = 0;
  /** The first event of the first request since the last reset (to show what was sent). */
  sample: string | null = null;
  badRequests = 0;
  #target = Infinity;
  #reached: ((at: number) => void) | null = null;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  get port(): number {
    return this.#server.addr.port;
  }

  /** Zeroes the counters; the returned promise resolves (with the time) once `target` events arrived. */
  reset(target: number): Promise<number> {
    this.events =
      this.bytes =
      this.requests =
      this.badRequests =
        0;
    this.sample = null;
    this.#target = target;
    return new Promise((resolve) => this.#reached = resolve);
  }

  async #handle(request: Request): Promise<Response> {
    const url = request.url;
    const path = url.slice(url.indexOf("/", url.indexOf("//") + 2));
    if (request.method !== "POST" || !path.startsWith("/bulk/")) {
      this.badRequests++;
      await request.body?.cancel();
      return new Response("not found", { status: 404 });
    }
    const body = new Uint8Array(await request.arrayBuffer());
    let lines = 0;
    for (let start = 0; start < body.length;) {
      let lf = body.indexOf(10, start);
      if (lf < 0) lf = body.length;
      if (lf > start) {
        if (this.sample === null) {
          this.sample = new TextDecoder().decode(body.subarray(start, Math.min(lf, start + 400)));
        }
        lines++;
      }
      start = lf + 1;
    }
    this.events += lines;
    this.bytes += body.length;
    this.requests++;
    if (this.events >= this.#target && this.#reached) {
      this.#reached(performance.now());
      this.#reached = null;
    }
    return new Response('{"response":"ok"}', {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}

// ---------------------------------------------------------------------------------------------
// Processes: every child is tracked so that cleanup can stop it, whatever happens.

/** The last lines a process wrote (for error messages), and a hook for each new line. */
class Tail {
  readonly lines: string[] = [];
  onLine: ((line: string) => void) | null = null;
  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 60) this.lines.shift();
    this.onLine?.(line);
  }
  toString(): string {
    return this.lines.join("\n");
  }
}

export interface Proc {
  name: string;
  pid: number;
  child: Deno.ChildProcess;
  output: Tail;
  status: Promise<Deno.CommandStatus>;
  exited: boolean;
  /** The whole command, for the report. */
  commandLine: string;
}

const live = new Set<Proc>();
/** Temporary directories to remove when the benchmark is interrupted. */
export const tempDirs = new Set<string>();
/** Synchronous undo steps (a changed sysctl, say) that stopAll() runs first, also on interrupt. */
export const undoOnStop = new Set<() => void>();

/** Starts a tracked child process (stopAll() stops it); its output lines go to `output`. */
/** Starts `command`; `env` is added to this process's environment. */
export function spawn(
  name: string,
  command: string,
  args: string[],
  cwd = ROOT,
  env: Record<string, string> = {},
): Proc {
  const child = new Deno.Command(command, {
    args,
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = new Tail();
  const drains = [drainLines(child.stdout, output), drainLines(child.stderr, output)];
  const proc: Proc = {
    name,
    pid: child.pid,
    child,
    output,
    exited: false,
    commandLine: [...Object.entries(env).map(([k, v]) => `${k}=${v}`), command, ...args]
      .map(shellQuote).join(" "),
    status: child.status.then(async (status) => {
      proc.exited = true;
      live.delete(proc);
      await Promise.race([Promise.all(drains), delay(1000)]);
      return status;
    }),
  };
  live.add(proc);
  return proc;
}

async function drainLines(stream: ReadableStream<Uint8Array>, tail: Tail): Promise<void> {
  let pending = "";
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (pending + text).split("\n");
      pending = parts.pop()!;
      for (const line of parts) tail.add(line);
    }
  } catch {
    // the process went away
  }
  if (pending !== "") tail.add(pending);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stop(proc: Proc, graceMs = 10_000): Promise<Deno.CommandStatus | null> {
  if (!proc.exited) signal(proc, "SIGTERM");
  const first = await Promise.race([proc.status, delay(graceMs).then(() => null)]);
  if (first) return first;
  signal(proc, "SIGKILL");
  return await Promise.race([proc.status, delay(5000).then(() => null)]);
}

function signal(proc: Proc, sig: Deno.Signal): void {
  try {
    proc.child.kill(sig);
  } catch {
    // already gone
  }
}

/** Undoes what undoOnStop holds, stops every process still running and removes tempDirs. */
export async function stopAll(): Promise<void> {
  for (const undo of undoOnStop) {
    try {
      undo();
    } catch (error) {
      console.error(`cleanup: ${(error as Error).message}`);
    }
  }
  undoOnStop.clear();
  await Promise.all([...live].map((proc) => stop(proc, 3000)));
  for (const dir of tempDirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
  tempDirs.clear();
}

/** Resolves after `ms`; the timer does not keep the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const id = setTimeout(resolve, Math.max(0, ms));
    Deno.unrefTimer(id);
  });
}

/** Rejects with `what` once `ms` have passed; `cancel` stops the timer. */
export function timeout(ms: number, what: string): { promise: Promise<never>; cancel: () => void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => {
    id = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  promise.catch(() => {});
  return { promise, cancel: () => clearTimeout(id) };
}

export function which(command: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const path = `${dir}/${command}`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  return null;
}

/** `arg` quoted for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A port free right now on 127.0.0.1 (the listener is closed again at once). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Reads a /proc file. Deno asks for --allow-all to read /proc directly, so under narrower
 * permissions (the `bench` task's) this falls back to `cat`, which --allow-run permits.
 */
export async function readProc(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (
      !(error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied)
    ) {
      throw error;
    }
    const { code, stdout } = await new Deno.Command("cat", { args: [path], stderr: "null" })
      .output();
    if (code !== 0) throw new Error(`cannot read ${path}`);
    return new TextDecoder().decode(stdout);
  }
}

/** A "Name: N kB" field of /proc/PID/status in bytes (VmHWM: peak RSS), or NaN. */
export async function statusBytes(pid: number, field: "VmHWM" | "VmRSS"): Promise<number> {
  try {
    const status = await readProc(`/proc/${pid}/status`);
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** User + system CPU seconds of a process (all its threads), or NaN. */
export async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readProc(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime, stime are fields 14 and 15, in clock ticks (100 Hz).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// The two servers under test.

export interface Server {
  proc: Proc;
  port: number;
  /** Anything to remove after the run. */
  cleanup(): Promise<void>;
}

/** What the relay logs once each listener is up: "Listening for <this> on <address>". */
const LISTENING: Record<Transport, string> = {
  tcp: "syslog over tcp",
  tls: "syslog over tls",
  udp: "syslog over udp",
  http: "HTTP",
};

function relayArgs(opts: Options, sink: Sink, port: number): string[] {
  const transport = opts.transport ?? "tcp";
  const address = `127.0.0.1:${port}`;
  // UDP and TCP are on by default: whichever is not under test is turned off.
  const listener = transport === "tcp"
    ? ["--udp", "off", "--tcp", address]
    : transport === "udp"
    ? ["--tcp", "off", "--udp", address]
    : ["--tcp", "off", "--udp", "off", `--${transport}`, address];
  if (transport === "tls") {
    if (!opts.tls) throw new Error("the tls transport needs a certificate and key");
    listener.push("--tls-cert", opts.tls.cert, "--tls-key", opts.tls.key);
  }
  return ["--token", TOKEN, "--loggly-url", sink.url, ...listener, ...opts.relayArgs];
}

/** Starts the relay listening on `port` for `opts.transport`; resolves once it listens. */
export async function startRelay(
  opts: Options,
  sink: Sink,
  denoFlags: string[] = [],
  port: number = freePort(),
): Promise<Server> {
  const proc = spawn(
    "relay",
    Deno.execPath(),
    [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      v8FlagsArg(), // as deno task start and the release binary run it
      ...opts.denoFlags,
      ...denoFlags,
      "main.ts",
      ...relayArgs(opts, sink, port),
    ],
    opts.relayDir,
    { ...MALLOC_ENV },
  );
  await untilListening(proc, [LISTENING[opts.transport ?? "tcp"]]);
  return { proc, port, cleanup: async () => {} };
}

/**
 * The anchor config for `opts`, with the least change per transport: RFC 5424 adds
 * flags(syslog-protocol); TLS makes it transport(tls) with the certificate and
 * peer-verify(optional-untrusted); UDP makes it transport(udp) (no so-rcvbuf(), so that its socket
 * gets rmem_default like the relay's). Then `opts.editSyslogNgConf`, if any.
 */
async function syslogNgConf(
  opts: Options,
  sink: Sink,
  port: number,
  dir: string,
): Promise<string> {
  let conf = (await Deno.readTextFile(opts.anchorConf))
    .replaceAll("IN_PORT", String(port))
    .replaceAll("MOCK_PORT", String(sink.port))
    .replaceAll("TOKEN", TOKEN);
  const transport = opts.transport ?? "tcp";
  let network = "transport(tcp)";
  if (transport === "tls") {
    if (!opts.tls) throw new Error("the tls transport needs a certificate and key");
    network = `transport(tls) tls(key-file("${opts.tls.key}") cert-file("${opts.tls.cert}") ` +
      "peer-verify(optional-untrusted))";
  } else if (transport === "udp") network = "transport(udp)";
  else if (transport === "http") throw new Error("syslog-ng has no HTTP source");
  if (opts.rfc5424) network += " flags(syslog-protocol)";
  if (!conf.includes("transport(tcp)")) throw new Error(`no transport(tcp) in ${opts.anchorConf}`);
  conf = conf.replace("transport(tcp)", network);
  return opts.editSyslogNgConf ? opts.editSyslogNgConf(conf, dir) : conf;
}

/** Starts syslog-ng on the anchor config for `opts.transport`; resolves once it listens. */
export async function startSyslogNg(
  opts: Options,
  sink: Sink,
  port: number = freePort(),
): Promise<Server> {
  const dir = await Deno.makeTempDir({ prefix: "bench-syslog-ng-" });
  tempDirs.add(dir);
  try {
    await Deno.writeTextFile(`${dir}/syslog-ng.conf`, await syslogNgConf(opts, sink, port, dir));
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    tempDirs.delete(dir);
    throw error;
  }
  const proc = spawn("syslog-ng", which("syslog-ng") ?? "/usr/sbin/syslog-ng", [
    "-F",
    "-e",
    "-f",
    `${dir}/syslog-ng.conf`,
    "--persist-file",
    `${dir}/p`,
    "--pidfile",
    `${dir}/pid`,
    "--control",
    `${dir}/ctl`,
  ]);
  const cleanup = async () => {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    tempDirs.delete(dir);
  };
  // A UDP socket cannot be probed by connecting: syslog-ng says when its sources are up.
  const ready = opts.transport === "udp"
    ? new Promise<void>((resolve) => {
      proc.output.onLine = (line) => {
        if (line.includes("syslog-ng starting up")) resolve();
      };
    })
    : waitForPort(port, 30_000);
  try {
    await waitReady(proc, ready, 30_000);
    proc.output.onLine = null;
  } catch (error) {
    await stop(proc);
    await cleanup();
    throw error;
  }
  return { proc, port, cleanup };
}

/** Resolves once something accepts connections on the port (the probe connection is closed). */
export async function waitForPort(port: number, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await delay(50);
    }
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
}

/**
 * Waits until a relay process has logged "Listening for X on" for every X of `inputs` (its
 * first start may fetch the npm dependencies); stops it and throws with its output otherwise.
 */
export async function untilListening(proc: Proc, inputs: readonly string[]): Promise<void> {
  const waiting = new Set(inputs);
  const ready = new Promise<void>((resolve) => {
    proc.output.onLine = (line) => {
      const match = /Listening for (.+?) on \S+/.exec(line);
      if (match) waiting.delete(match[1]);
      if (waiting.size === 0) resolve();
    };
  });
  try {
    await waitReady(proc, ready, 120_000);
  } catch (error) {
    await stop(proc);
    throw error;
  } finally {
    proc.output.onLine = null;
  }
}

/** Waits (at most `ms`) for `ready`; fails early, with the output, if the process exits. */
export async function waitReady(proc: Proc, ready: Promise<void>, ms: number): Promise<void> {
  const limit = timeout(ms, `${proc.name} to start`);
  try {
    await Promise.race([
      ready,
      limit.promise,
      proc.status.then((s) => {
        throw new Error(`${proc.name} exited with code ${s.code} while starting`);
      }),
    ]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- ${proc.name} output ---\n${proc.output}`);
  } finally {
    limit.cancel();
  }
}

// ---------------------------------------------------------------------------------------------
// The senders.

/** A sender under way. */
export interface Sending {
  /** Resolves when everything was written (loggen exited); rejects on failure. */
  done: Promise<void>;
  /**
   * When (performance.now()) the first event went out, for a sender that takes a while to start
   * (a Deno process); without it the run is timed from starting the sender.
   */
  started?: Promise<number>;
  /** What the sender itself reported (loggen's summary line). */
  report(): string;
  stop(): Promise<void>;
  commandLine: string;
}

function loggenArgs(opts: Options, port: number): string[] {
  return [
    // loggen's TLS plugin makes its own TCP connections: with --inet --stream too, it refuses to
    // start (yet exits 0).
    ...(opts.transport === "tls" ? ["--use-ssl"] : ["--inet", "--stream"]),
    // -F: LF framing, which syslog-ng's network(transport(tcp)) expects (it does not take
    // RFC 6587 octet counting there; the relay takes both).
    ...(opts.rfc5424 ? ["--syslog-proto", "--no-framing"] : []),
    "--size",
    String(opts.size),
    "--number",
    String(opts.events),
    "--rate",
    "1000000000", // loggen's default is 1000 msg/s per connection
    "--interval",
    String(Math.ceil(opts.runTimeoutMs / 1000) + 60), // and it stops after 10 s by default
    "--active-connections",
    "1",
    "127.0.0.1",
    String(port),
  ];
}

/** loggen sending `opts.events` events over one TCP (or TLS) connection as fast as it can. */
export function startLoggen(opts: Options, port: number): Sending {
  const proc = spawn("loggen", which("loggen") ?? "loggen", loggenArgs(opts, port));
  const report = () => proc.output.lines.findLast((l) => l.startsWith("average rate")) ?? "";
  const done = proc.status.then((status) => {
    // loggen exits 0 also when it could not start (a bad option): then it gives no average.
    if (status.code !== 0 || report() === "") {
      throw new Error(`loggen exited with code ${status.code}\n${proc.output}`);
    }
  });
  done.catch(() => {});
  return {
    done,
    report,
    stop: async () => void await stop(proc, 2000),
    commandLine: proc.commandLine,
  };
}

/**
 * The fallback when loggen is absent: this process writes loggen-like lines (RFC 3164 with an
 * LF or RFC 5424, each ended by an LF) to one TCP connection. It shares the process with the sink.
 */
function startDenoWriter(opts: Options, port: number): Sending {
  let stopped = false;
  let summary = "";
  const done = (async () => {
    const conn = opts.transport === "tls"
      ? await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [await Deno.readTextFile(opts.tls!.cert)],
      })
      : await Deno.connect({ hostname: "127.0.0.1", port });
    const started = performance.now();
    try {
      const encoder = new TextEncoder();
      const stamp = new Date().toISOString().slice(0, 19);
      const month = new Date().toUTCString().slice(8, 11);
      const day = String(new Date().getUTCDate()).padStart(2, " ");
      const head = opts.rfc5424
        ? `<38>1 ${stamp}+00:00 localhost prg00000 1234 - - seq: `
        : `<38>${month} ${day} ${stamp.slice(11)} localhost prg00000[1234]: seq: `;
      const body = head + "0000000000, " + "PADD".repeat(opts.size);
      const line = encoder.encode(body.slice(0, opts.size - 1) + "\n");
      const seqAt = head.length;
      const perChunk = Math.max(1, Math.floor(65536 / line.length));
      const chunk = new Uint8Array(perChunk * line.length);
      for (let sent = 0; sent < opts.events && !stopped;) {
        const n = Math.min(perChunk, opts.events - sent);
        for (let k = 0; k < n; k++) {
          chunk.set(line, k * line.length);
          const seq = String(sent + k).padStart(10, "0");
          for (let d = 0; d < 10; d++) chunk[k * line.length + seqAt + d] = seq.charCodeAt(d);
        }
        const data = chunk.subarray(0, n * line.length);
        for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
        sent += n;
      }
      const s = (performance.now() - started) / 1000;
      summary = `in-process writer: ${opts.events} messages of ${line.length} bytes in ${
        s.toFixed(3)
      } s`;
    } finally {
      conn.close();
    }
  })();
  done.catch(() => {});
  return {
    done,
    report: () => summary,
    stop: async () => {
      stopped = true;
      await done.catch(() => {});
    },
    commandLine: `(in-process Deno ${opts.transport === "tls" ? "TLS" : "TCP"} writer, RFC ` +
      (opts.rfc5424 ? "5424" : "3164") + " lines)",
  };
}

// ---------------------------------------------------------------------------------------------
// One run.

export type Side = "relay" | "syslog-ng";

export interface RunResult {
  side: Side;
  events: number;
  seconds: number;
  bytesIn: number;
  peakRss: number;
  cpu: number;
  /** CPU time of this process (the sink, mostly) during the run. */
  sinkCpu: number;
  sinkRequests: number;
  /** Request body bytes the sink received (the events as sent to Loggly). */
  bytesOut: number;
  extraEvents: number;
  senderReport: string;
  sample: string | null;
}

export interface Commands {
  relay?: string;
  syslogNg?: string;
  sender?: string;
}

/**
 * One measured run of `side`. `afterDelivered`, if given, runs once the sink has counted every
 * event and the figures are taken, while the server is still up (to inspect what it left behind).
 */
export async function runOnce(
  side: Side,
  opts: Options,
  sink: Sink,
  deadline: number,
  commands: Commands,
  afterDelivered?: (server: Server) => Promise<void>,
): Promise<RunResult> {
  const server = side === "relay" ? await startRelay(opts, sink) : await startSyslogNg(opts, sink);
  if (side === "relay") commands.relay = server.proc.commandLine;
  else commands.syslogNg = server.proc.commandLine;
  let sending: Sending | null = null;
  const limitMs = Math.min(opts.runTimeoutMs, deadline - performance.now());
  const limit = timeout(limitMs, `${side} to deliver ${opts.events} events`);
  try {
    const reached = sink.reset(opts.events);
    const cpuBefore = await cpuSeconds(server.proc.pid);
    const sinkCpuBefore = await cpuSeconds(Deno.pid);
    let started = performance.now();
    sending = opts.startSender
      ? opts.startSender(opts, server.port)
      : opts.sender === "loggen"
      ? startLoggen(opts, server.port)
      : startDenoWriter(opts, server.port);
    commands.sender = sending.commandLine;
    const died = server.proc.status.then((s) => {
      throw new Error(`${side} exited with code ${s.code} during the run`);
    });
    died.catch(() => {});
    let finished: number;
    try {
      finished = await Promise.race([
        reached,
        limit.promise,
        died,
        sending.done.then(() => reached),
      ]);
      await Promise.race([sending.done, limit.promise, died]);
      if (sending.started) started = await Promise.race([sending.started, limit.promise]);
    } catch (error) {
      const got = `the sink counted ${sink.events} of ${opts.events} events`;
      throw new Error(
        `${(error as Error).message}; ${got}\n--- ${side} output ---\n${server.proc.output}`,
      );
    }
    const cpu = await cpuSeconds(server.proc.pid) - cpuBefore;
    const sinkCpu = await cpuSeconds(Deno.pid) - sinkCpuBefore;
    const rss = await statusBytes(server.proc.pid, "VmHWM");
    const report = sending.report();
    const size = /msg size=(\d+)/.exec(report);
    const lineBytes = size ? Number(size[1]) : opts.size;
    const result: RunResult = {
      side,
      events: opts.events,
      seconds: (finished - started) / 1000,
      bytesIn: lineBytes * opts.events,
      peakRss: rss,
      cpu,
      sinkCpu,
      sinkRequests: sink.requests,
      bytesOut: sink.bytes,
      extraEvents: 0,
      senderReport: report,
      sample: sink.sample,
    };
    await afterDelivered?.(server);
    const status = await stop(server.proc);
    // Anything counted after the target was reached is a duplicate (or a late flush).
    result.extraEvents = sink.events - opts.events;
    if (status && status.code !== 0 && side === "relay") {
      console.error(`  (relay exited with code ${status.code} after the run)`);
    }
    return result;
  } finally {
    limit.cancel();
    await sending?.stop();
    await stop(server.proc);
    await server.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// A CPU profile of the relay over one run, taken through the V8 inspector.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

class Inspector {
  #ws: WebSocket;
  #id = 0;
  #pending = new Map<number, (message: { result?: unknown; error?: unknown }) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      const resolve = this.#pending.get(message.id);
      if (resolve) {
        this.#pending.delete(message.id);
        resolve(message);
      }
    };
  }

  static async connect(url: string): Promise<Inspector> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`cannot connect to the inspector at ${url}`));
    });
    return new Inspector(ws);
  }

  async call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#id;
    const answer = new Promise<{ result?: unknown; error?: unknown }>((resolve) =>
      this.#pending.set(id, resolve)
    );
    this.#ws.send(JSON.stringify({ id, method, params }));
    const limit = timeout(60_000, `inspector ${method}`);
    try {
      const message = await Promise.race([answer, limit.promise]);
      if (message.error) throw new Error(`${method}: ${JSON.stringify(message.error)}`);
      return message.result as T;
    } finally {
      limit.cancel();
    }
  }

  close(): void {
    this.#ws.close();
  }
}

/** One extra relay run under the V8 profiler; writes `opts.profile` and prints the hot spots. */
export async function profileRelay(opts: Options, sink: Sink, deadline: number): Promise<void> {
  const inspectPort = freePort();
  const server = await startRelay(opts, sink, [`--inspect=127.0.0.1:${inspectPort}`]);
  const limit = timeout(
    Math.min(opts.runTimeoutMs, deadline - performance.now()),
    "profiled relay run",
  );
  let inspector: Inspector | null = null;
  let sending: Sending | null = null;
  try {
    const targets = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json();
    inspector = await Inspector.connect(targets[0].webSocketDebuggerUrl);
    await inspector.call("Profiler.enable");
    await inspector.call("Profiler.setSamplingInterval", { interval: 200 });
    await inspector.call("Profiler.start");
    const reached = sink.reset(opts.events);
    const started = performance.now();
    sending = opts.sender === "loggen"
      ? startLoggen(opts, server.port)
      : startDenoWriter(opts, server.port);
    // Sample the JS heap against the RSS, to tell V8 heap growth from memory outside it.
    let sampling = true;
    const memory = { heapUsed: 0, heapTotal: 0, rss: 0 };
    const sampler = (async () => {
      while (sampling) {
        const heap = await inspector!.call<{ usedSize: number; totalSize: number }>(
          "Runtime.getHeapUsage",
        ).catch(() => null);
        if (heap) {
          memory.heapUsed = Math.max(memory.heapUsed, heap.usedSize);
          memory.heapTotal = Math.max(memory.heapTotal, heap.totalSize);
        }
        memory.rss = Math.max(memory.rss, await statusBytes(server.proc.pid, "VmRSS"));
        await delay(200);
      }
    })();
    const finished = await Promise.race([reached, limit.promise]).finally(() => sampling = false);
    await sampler;
    const { profile } = await inspector.call<{ profile: CpuProfile }>("Profiler.stop");
    await Deno.writeTextFile(opts.profile!, JSON.stringify(profile));
    const seconds = (finished - started) / 1000;
    const hwm = await statusBytes(server.proc.pid, "VmHWM");
    console.log(
      `\nCPU profile of one relay run (${fmtInt(opts.events / seconds)} events/s under the ` +
        `profiler) written to ${opts.profile}`,
    );
    console.log(
      `Memory sampled every 200 ms: JS heap used up to ${fmt(memory.heapUsed / MiB)} MiB ` +
        `(heap size up to ${fmt(memory.heapTotal / MiB)} MiB), RSS up to ${
          fmt(memory.rss / MiB)
        } MiB, peak RSS (VmHWM) ${fmt(hwm / MiB)} MiB`,
    );
    printHotSpots(profile);
  } finally {
    limit.cancel();
    inspector?.close();
    await sending?.stop();
    await stop(server.proc);
  }
}

function printHotSpots(profile: CpuProfile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = profile.endTime - profile.startTime;
  const fileOf = (url: string) => {
    if (!url.startsWith("file://")) return url;
    const at = url.indexOf("/lib/");
    return at >= 0 ? url.slice(at + 1) : url.slice(url.lastIndexOf("/") + 1);
  };
  const label = (n: ProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const file = fileOf(url);
    return `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
  };
  const add = (map: Map<string, number>, key: string, us: number) =>
    map.set(key, (map.get(key) ?? 0) + us);
  const perFunction = new Map<string, number>();
  const perFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    add(perFunction, label(node), us);
    add(perFile, fileOf(node.callFrame.url) || label(node), us);
  }
  // Inclusive time of the project's own functions (each counted once per stack).
  const inclusive = new Map<string, number>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)!;
      if (!node.callFrame.url.includes("/lib/")) continue;
      const key = label(node);
      if (!seen.has(key)) add(inclusive, key, us);
      seen.add(key);
    }
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, n)
      .map(([k, us]) =>
        `  ${(100 * us / total).toFixed(1).padStart(5)}%  ${
          (us / 1000).toFixed(0).padStart(6)
        } ms  ${k}`
      )
      .join("\n");
  console.log(`Self time by function (of ${(total / 1000).toFixed(0)} ms profiled):`);
  console.log(top(perFunction, 20));
  console.log("Self time by file:");
  console.log(top(perFile, 10));
  console.log("Inclusive time of lib/ functions:");
  console.log(top(inclusive, 15));
}

// ---------------------------------------------------------------------------------------------
// Report.

export function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a";
}

export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

interface Summary {
  eventsPerSec: number;
  mibPerSec: number;
  peakRssMiB: number;
  cpu: number;
  sinkCpu: number;
  seconds: number;
}

function summarise(results: RunResult[]): Summary {
  return {
    eventsPerSec: median(results.map((r) => r.events / r.seconds)),
    mibPerSec: median(results.map((r) => r.bytesIn / MiB / r.seconds)),
    peakRssMiB: median(results.map((r) => r.peakRss / MiB)),
    cpu: median(results.map((r) => r.cpu)),
    sinkCpu: median(results.map((r) => r.sinkCpu)),
    seconds: median(results.map((r) => r.seconds)),
  };
}

function printReport(opts: Options, results: RunResult[], commands: Commands): void {
  const sides: { side: Side; label: string }[] = [
    { side: "relay", label: "loggly-relay" },
    { side: "syslog-ng", label: "syslog-ng 3.38" },
  ];
  const summaries = new Map<Side, Summary>();
  for (const { side } of sides) {
    const mine = results.filter((r) => r.side === side);
    if (mine.length > 0) summaries.set(side, summarise(mine));
  }
  const proto = opts.rfc5424 ? "RFC 5424, LF framed" : "RFC 3164, LF framed";
  const sender = opts.sender === "loggen"
    ? "loggen"
    : `an in-process Deno writer${which("loggen") ? "" : " (loggen is not installed)"}, ` +
      "which shares this process with the sink";
  console.log(
    `\n${fmtInt(opts.events)} events of ${opts.size} bytes (${proto}) over one TCP connection ` +
      `from ${sender}; median of ${opts.runs} run(s); wall time from starting the sender to ` +
      `the sink counting every event\n`,
  );
  console.log(
    "| | events/s | MiB/s in | peak RSS MiB | CPU s | CPU µs/event | wall s | sink CPU s |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const { side, label } of sides) {
    const s = summaries.get(side);
    if (!s) continue;
    const cells = [
      label,
      fmtInt(s.eventsPerSec),
      fmt(s.mibPerSec),
      fmt(s.peakRssMiB),
      fmt(s.cpu, 2),
      fmt(s.cpu / opts.events * 1e6, 2),
      fmt(s.seconds, 2),
      fmt(s.sinkCpu, 2),
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
  const r = summaries.get("relay"), n = summaries.get("syslog-ng");
  if (r && n) {
    const ratio = (a: number, b: number) => `${fmt(a / b, 2)}x`;
    const cells = [
      "relay / syslog-ng",
      ratio(r.eventsPerSec, n.eventsPerSec),
      ratio(r.mibPerSec, n.mibPerSec),
      ratio(r.peakRssMiB, n.peakRssMiB),
      ratio(r.cpu, n.cpu),
      ratio(r.cpu, n.cpu),
      ratio(r.seconds, n.seconds),
      "",
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
  console.log("\nEvery run:");
  for (const result of results) {
    console.log(
      `  ${result.side.padEnd(9)} ${fmtInt(result.events / result.seconds).padStart(9)} ev/s  ` +
        `${fmt(result.seconds, 2)} s  RSS ${fmt(result.peakRss / MiB)} MiB  CPU ${
          fmt(result.cpu, 2)
        } s  ${result.sinkRequests} requests, ${
          fmt(result.bytesOut / result.events, 0)
        } B/event out` +
        (result.extraEvents > 0 ? `  +${result.extraEvents} extra events` : "") +
        (result.senderReport ? `  [sender: ${result.senderReport}]` : ""),
    );
  }
  console.log("\nFirst event the sink saw, per side:");
  for (const { side } of sides) {
    const sample = results.find((x) => x.side === side)?.sample;
    if (sample) console.log(`  ${side}: ${sample}`);
  }
  console.log("\nCommands (ports differ per run; TOKEN is a dummy UUID):");
  if (commands.relay) console.log(`  relay:     (cd ${opts.relayDir} && ${commands.relay})`);
  if (commands.syslogNg) {
    console.log(`  syslog-ng: ${commands.syslogNg}`);
    console.log(
      `             with ${opts.anchorConf}, IN_PORT/MOCK_PORT/TOKEN substituted` +
        (opts.rfc5424 ? " and flags(syslog-protocol) added to network()" : ""),
    );
  }
  if (commands.sender) console.log(`  sender:    ${commands.sender}`);
  console.log(`  sink:      Deno.serve on 127.0.0.1 in the benchmark process, counting lines`);
}

// ---------------------------------------------------------------------------------------------

/**
 * A benchmark's options from its command line; or, after printing its help (exit 0) or what is
 * wrong with the arguments (exit 2), the exit code.
 */
export function optionsOrExit<T>(
  name: string,
  help: string,
  parse: (args: string[]) => T | null,
  args: string[] = Deno.args,
): T | number {
  let opts: T | null;
  try {
    opts = parse(args);
  } catch (error) {
    console.error(`${name}: ${(error as Error).message}\n\n${help}`);
    return 2;
  }
  if (opts === null) {
    console.log(help);
    return 0;
  }
  return opts;
}

async function main(): Promise<number> {
  const opts = optionsOrExit("tcp_throughput", HELP, parseOptions);
  if (typeof opts === "number") return opts;
  if (opts.sender === "deno" && !which("loggen")) {
    console.log("loggen not found: falling back to an in-process Deno TCP writer");
  }
  const sides: Side[] = opts.only ? [opts.only] : ["relay", "syslog-ng"];
  if (sides.includes("syslog-ng") && !which("syslog-ng")) {
    console.error("syslog-ng not found (apt-get install syslog-ng-core syslog-ng-mod-http)");
    return 2;
  }
  const deadline = performance.now() + opts.timeoutMs;
  return await runGuarded("tcp_throughput", opts.timeoutMs, async (sink) => {
    const results: RunResult[] = [];
    const commands: Commands = {};
    try {
      // Alternate the sides so that drift on the machine affects both alike.
      for (let run = 1; run <= opts.runs; run++) {
        for (const side of sides) {
          if (performance.now() > deadline) throw new Error("out of time (see --timeout)");
          const result = await runOnce(side, opts, sink, deadline, commands);
          results.push(result);
          console.log(
            `run ${run}/${opts.runs} ${side}: ${
              fmtInt(result.events / result.seconds)
            } events/s, ` +
              `${fmt(result.seconds, 2)} s, peak RSS ${fmt(result.peakRss / MiB)} MiB, ` +
              `CPU ${fmt(result.cpu, 2)} s`,
          );
        }
      }
      printReport(opts, results, commands);
      if (opts.profile) await profileRelay(opts, sink, deadline);
      return 0;
    } catch (error) {
      console.error(`tcp_throughput: ${(error as Error).message}`);
      if (results.length > 0) printReport(opts, results, commands);
      return 1;
    }
  });
}

if (import.meta.main) {
  Deno.exit(await main());
}
