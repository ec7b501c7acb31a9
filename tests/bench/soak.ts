/**
 * Soak benchmark: the relay under a steady load for a long time, to see whether its memory stays
 * flat and its CPU per event stays put.
 *
 *   deno run -A tests/bench/soak.ts [--minutes 30] [--rate EV_PER_S | --fraction 0.5] [--interval 5]
 *
 * Without `--rate`, short calibration bursts first measure the relay's maximum TCP rate (the
 * median of `--calibrate-runs` tcp_throughput.ts runs of `--calibrate-events` events, sent as
 * fast as loggen can) unless `--max-rate` gives it; the soak then offers `--fraction` of it. One
 * relay listens on TCP, UDP and HTTP (`--http`, whose /metrics this script scrapes) on 127.0.0.1
 * and posts to the Loggly stand-in of tcp_throughput.ts, in this process. For `--minutes`, loggen
 * sends TCP at the fixed rate over one connection (`loggen --rate R --interval S`), while this
 * process sends a trickle of UDP datagrams and of HTTP /bulk requests, from `--trickle-delay`
 * seconds on: loggen starts with a burst of about 0.8 s worth of its rate, which can fill the
 * relay's queue for a moment (TCP waits; UDP would be dropped, HTTP refused with 503). Every
 * `--interval` seconds one row goes to the CSV: RSS (from /metrics and from /proc/PID/status), CPU
 * seconds (from /metrics and /proc/PID/stat), V8 heap, queue depth, events offered and delivered.
 * Once the senders stop, it waits (at most `--drain-timeout`) for the sink to count every event
 * offered, stops the relay, writes an SVG plot (RSS, events/s delivered and queue depth over time)
 * and prints a summary; the exit code is 1 unless every event offered was delivered. Every wait is
 * bounded; every process started is stopped, also on error or Ctrl-C.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { M } from "../../lib/metrics.ts";
import { PROCESS_METRICS } from "../../lib/process_metrics.ts";
import { MALLOC_ENV, v8FlagsArg } from "../../lib/runtime_flags.ts";
import {
  type Commands,
  cpuSeconds,
  delay,
  fmt,
  fmtInt,
  freePort,
  intOption,
  median,
  MiB,
  numberOption,
  type Options,
  optionsOrExit,
  type Proc,
  ROOT,
  runGuarded,
  runOnce,
  shellQuote,
  type Sink,
  spawn,
  statusBytes,
  stop,
  timeout,
  TOKEN,
  untilListening,
  which,
} from "./tcp_throughput.ts";

const HELP = `Usage: deno run -A tests/bench/soak.ts [options]

  --minutes N           how long the senders run (default 30; decimals allowed)
  --rate EV_PER_S       TCP events/s to offer (default: --fraction of the maximum)
  --fraction F          fraction of the maximum TCP rate to offer (default 0.5)
  --max-rate EV_PER_S   the maximum TCP rate (default: measured by calibration bursts at start)
  --calibrate-events N  events in each calibration burst (default 1000000)
  --calibrate-runs K    calibration bursts; the median rate is the maximum (default 3)
  --udp-rate N          UDP datagrams/s sent alongside (default 50; 0 for none)
  --http-rate N         HTTP /bulk requests/s sent alongside (default 2; 0 for none)
  --http-batch N        events per HTTP request (default 10)
  --trickle-delay SEC   start UDP and HTTP this long after loggen, once its start-up burst is
                        absorbed (default 5)
  --size BYTES          size of every event sent (default 200)
  --interval SEC        seconds between samples (default 5)
  --csv FILE            where to write the samples (default soak-<date>.csv in $TMPDIR or /tmp)
  --svg FILE            where to write the plot (default: the CSV's name with .svg)
  --drain-timeout SEC   how long to wait for the last events once the senders stop (default 120)
  --relay-arg ARG       extra relay flag, repeatable (write it as --relay-arg=--linger=2s)
  --deno-flag FLAG      extra deno run flag for the relay, repeatable (--deno-flag=--v8-flags=...)
  --relay-dir DIR       run main.ts from another checkout (a clean copy; default this repository)
  --replot FILE         only draw the plot of a CSV this script wrote (to --svg, default FILE.svg)
`;

interface SoakOptions {
  minutes: number;
  /** The TCP rate to offer, or null to take --fraction of the maximum. */
  rate: number | null;
  fraction: number;
  /** The maximum TCP rate, or null to measure it. */
  maxRate: number | null;
  calibrateEvents: number;
  calibrateRuns: number;
  udpRate: number;
  httpRate: number;
  httpBatch: number;
  trickleDelayS: number;
  size: number;
  intervalS: number;
  csv: string;
  svg: string;
  drainTimeoutS: number;
  relayArgs: string[];
  denoFlags: string[];
  relayDir: string;
  /** A CSV to draw, instead of a run. */
  replot: string | null;
}

function parseOptions(args: string[]): SoakOptions | null {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      minutes: { type: "string" },
      rate: { type: "string" },
      fraction: { type: "string" },
      "max-rate": { type: "string" },
      "calibrate-events": { type: "string" },
      "calibrate-runs": { type: "string" },
      "udp-rate": { type: "string" },
      "http-rate": { type: "string" },
      "http-batch": { type: "string" },
      "trickle-delay": { type: "string" },
      size: { type: "string" },
      interval: { type: "string" },
      csv: { type: "string" },
      svg: { type: "string" },
      "drain-timeout": { type: "string" },
      "relay-arg": { type: "string", multiple: true },
      "deno-flag": { type: "string", multiple: true },
      "relay-dir": { type: "string" },
      replot: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return null;
  if (values.rate !== undefined && (values.fraction ?? values["max-rate"]) !== undefined) {
    throw new Error("give either --rate, or --fraction and/or --max-rate");
  }
  const fraction = numberOption("fraction", values.fraction, 0.5, 0.001);
  if (fraction > 1) throw new Error("--fraction must be at most 1");
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "").replace("T", "-");
  // The temporary directory by default, so that a run from the checkout leaves nothing in it.
  const csv = values.replot ?? values.csv ??
    `${Deno.env.get("TMPDIR") ?? "/tmp"}/soak-${stamp}.csv`;
  return {
    minutes: numberOption("minutes", values.minutes, 30, 0.1),
    rate: values.rate === undefined ? null : intOption("rate", values.rate, 0, 1),
    fraction,
    maxRate: values["max-rate"] === undefined
      ? null
      : intOption("max-rate", values["max-rate"], 0, 1),
    calibrateEvents: intOption("calibrate-events", values["calibrate-events"], 1_000_000, 1000),
    calibrateRuns: intOption("calibrate-runs", values["calibrate-runs"], 3, 1),
    udpRate: intOption("udp-rate", values["udp-rate"], 50, 0),
    httpRate: numberOption("http-rate", values["http-rate"], 2, 0),
    httpBatch: intOption("http-batch", values["http-batch"], 10, 1),
    trickleDelayS: numberOption("trickle-delay", values["trickle-delay"], 5, 0),
    size: intOption("size", values.size, 200, 80),
    intervalS: numberOption("interval", values.interval, 5, 0.5),
    csv,
    svg: values.svg ?? csv.replace(/(\.csv)?$/, ".svg"),
    drainTimeoutS: intOption("drain-timeout", values["drain-timeout"], 120, 1),
    relayArgs: values["relay-arg"] ?? [],
    denoFlags: values["deno-flag"] ?? [],
    relayDir: values["relay-dir"] ?? ROOT,
    replot: values.replot ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// The relay, with TCP, UDP and HTTP listeners.

interface Relay {
  proc: Proc;
  tcp: number;
  udp: number;
  http: number;
}

async function startRelay(opts: SoakOptions, sink: Sink): Promise<Relay> {
  const [tcp, udp, http] = [freePort(), freePort(), freePort()];
  const proc = spawn(
    "relay",
    Deno.execPath(),
    [
      ...["run", "--allow-net", "--allow-read", "--allow-write", "--allow-env"],
      v8FlagsArg(), // as deno task start and the release binary run it
      ...opts.denoFlags,
      ...["main.ts", "--token", TOKEN, "--loggly-url", sink.url],
      ...["--tcp", `127.0.0.1:${tcp}`, "--udp", `127.0.0.1:${udp}`, "--http", `127.0.0.1:${http}`],
      ...opts.relayArgs,
    ],
    opts.relayDir,
    { ...MALLOC_ENV },
  );
  await untilListening(proc, ["syslog over tcp", "syslog over udp", "HTTP"]);
  return { proc, tcp, udp, http };
}

/** One scrape of /metrics: every series' value summed over its labels, and the raw lines. */
interface Scrape {
  sums: Map<string, number>;
  lines: string[];
}

async function scrape(port: number): Promise<Scrape | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    if (!response.ok) return null;
    const sums = new Map<string, number>();
    const lines = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
    for (const line of lines) {
      const space = line.lastIndexOf(" ");
      const brace = line.indexOf("{");
      const name = line.slice(0, brace >= 0 && brace < space ? brace : space);
      sums.set(name, (sums.get(name) ?? 0) + Number(line.slice(space + 1)));
    }
    return { sums, lines };
  } catch {
    return null;
  }
}

/** Every label set of metric `name` in a scrape, with its value. */
function seriesOf(scraped: Scrape | null, name: string): { labels: string; value: number }[] {
  return (scraped?.lines ?? []).filter((line) => line.startsWith(`${name}{`)).map((line) => {
    const space = line.lastIndexOf(" ");
    return { labels: line.slice(name.length + 1, space - 1), value: Number(line.slice(space + 1)) };
  });
}

/**
 * Events the relay counted as dropped after taking them in, from TCP and UDP (a UDP datagram
 * that finds the queue full, say). HTTP events it refuses get an error answer and are never
 * counted as offered here, so they are left out.
 */
function droppedOffered(scraped: Scrape | null): number {
  return seriesOf(scraped, M.dropped).filter((s) => !s.labels.includes('input="http"'))
    .reduce((sum, s) => sum + s.value, 0);
}

// ---------------------------------------------------------------------------------------------
// The senders: loggen for TCP, this process for the UDP and HTTP trickles.

interface Paced {
  /** Events offered so far (for HTTP: in requests answered 200). */
  offered(): number;
  /** Why the last failure happened, and how many there were. */
  failures: { count: number; last: string };
  /** Stops sending; resolves once the last send finished. */
  stop(): Promise<void>;
  description: string;
}

/** A line of `size` bytes (without the LF) starting with `head`, padded. */
function padded(head: string, size: number): string {
  return (head + " " + "PADD".repeat(size)).slice(0, size);
}

/**
 * Calls `send(n)` so that `rate` things per second go out in total from `startMs` on, checking
 * every `tickMs`; returns the function that stops it.
 */
function pace(
  rate: number,
  startMs: number,
  tickMs: number,
  send: (n: number) => Promise<void>,
): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    const started = performance.now() + startMs;
    while (running && performance.now() < started) await delay(tickMs);
    let sent = 0;
    while (running) {
      const due = Math.floor((performance.now() - started) / 1000 * rate) - sent;
      if (due > 0) {
        await send(due);
        sent += due;
      }
      await delay(tickMs);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

function startUdp(rate: number, startMs: number, port: number, size: number): Paced {
  const failures = { count: 0, last: "" };
  let seq = 0;
  if (rate === 0) {
    return { offered: () => 0, failures, stop: async () => {}, description: "no UDP" };
  }
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  let open = true;
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  const encoder = new TextEncoder();
  const stopPacing = pace(rate, startMs, 20, async (n) => {
    const now = new Date();
    const month = now.toUTCString().slice(8, 11);
    const day = String(now.getUTCDate()).padStart(2, " ");
    const stamp = `${month} ${day} ${now.toISOString().slice(11, 19)}`;
    for (let k = 0; k < n; k++) {
      const line = padded(`<14>${stamp} soakhost soak-udp[${Deno.pid}]: udp ${seq}`, size);
      try {
        await socket.send(encoder.encode(line), to);
        seq++;
      } catch (error) {
        failures.count++;
        failures.last = (error as Error).message;
      }
    }
  });
  return {
    offered: () => seq,
    failures,
    stop: async () => {
      await stopPacing();
      if (open) socket.close();
      open = false;
    },
    description: `${rate} RFC 3164 datagrams/s of ${size} bytes from this process, from ` +
      `${startMs / 1000} s on`,
  };
}

function startHttp(
  rate: number,
  batch: number,
  startMs: number,
  port: number,
  size: number,
): Paced {
  const failures = { count: 0, last: "" };
  let accepted = 0;
  let seq = 0;
  if (rate === 0) {
    return { offered: () => 0, failures, stop: async () => {}, description: "no HTTP" };
  }
  const url = `http://127.0.0.1:${port}/bulk/${TOKEN}/tag/soak/`;
  const stopPacing = pace(rate, startMs, 50, async (n) => {
    for (let k = 0; k < n; k++) {
      const lines = [];
      for (let i = 0; i < batch; i++) {
        lines.push(padded(`{"source":"soak-http","seq":${seq++},"pad":"`, size - 2) + '"}');
      }
      try {
        const response = await fetch(url, {
          method: "POST",
          body: lines.join("\n") + "\n",
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        if (response.status === 200) accepted += batch;
        else {
          failures.count++;
          failures.last = `${response.status} ${text.slice(0, 200)}`;
        }
      } catch (error) {
        failures.count++;
        failures.last = (error as Error).message;
      }
    }
  });
  return {
    offered: () => accepted,
    failures,
    stop: stopPacing,
    description: `${rate} POST /bulk/TOKEN/tag/soak/ per second of ${batch} JSON lines of ` +
      `${size} bytes, from this process, from ${startMs / 1000} s on`,
  };
}

interface Loggen {
  proc: Proc;
  /** Messages loggen says it sent so far (it reports about twice a second, and at the end). */
  count(): number;
  average(): string;
}

function startLoggen(rate: number, seconds: number, size: number, port: number): Loggen {
  const proc = spawn("loggen", which("loggen")!, [
    ...["--inet", "--stream", "--size", String(size), "--rate", String(rate)],
    ...["--interval", String(seconds), "--active-connections", "1", "127.0.0.1", String(port)],
  ]);
  let count = 0;
  let average = "";
  proc.output.onLine = (line) => {
    const match = /\bcount=(\d+)/.exec(line);
    if (match) count = Number(match[1]);
    if (line.startsWith("average rate")) average = line;
  };
  return { proc, count: () => count, average: () => average };
}

// ---------------------------------------------------------------------------------------------
// Samples.

/** One row of the soak CSV. */
export interface Sample {
  /** Seconds since the senders started (for the idle sample before: since the relay was up). */
  t: number;
  phase: "idle" | "run" | "drain" | "end";
  rss: number;
  vmRss: number;
  cpu: number;
  procCpu: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  queueEvents: number;
  queueBytes: number;
  received: number;
  dropped: number;
  offered: number;
  delivered: number;
  /** Over the interval since the previous sample. */
  deliveredPerS: number;
  cpuUsPerEvent: number;
}

const CSV_COLUMNS = [
  "t_s",
  "phase",
  "rss_mib",
  "vmrss_mib",
  "cpu_s",
  "proc_cpu_s",
  "heap_used_mib",
  "heap_total_mib",
  "external_mib",
  "queue_events",
  "queue_bytes",
  "received",
  "dropped",
  "offered",
  "delivered",
  "delivered_per_s",
  "cpu_us_per_event",
];

function csvRow(s: Sample): string {
  const mib = (n: number) => fmt(n / MiB, 2);
  const cells: (string | number)[] = [
    fmt(s.t, 2),
    s.phase,
    mib(s.rss),
    mib(s.vmRss),
    fmt(s.cpu, 3),
    fmt(s.procCpu, 2),
    mib(s.heapUsed),
    mib(s.heapTotal),
    mib(s.external),
    s.queueEvents,
    s.queueBytes,
    s.received,
    s.dropped,
    s.offered,
    s.delivered,
    fmt(s.deliveredPerS, 0),
    fmt(s.cpuUsPerEvent, 3),
  ];
  return cells.map((cell) => cell === "n/a" || Number.isNaN(cell) ? "" : cell).join(",");
}

/** The samples of a CSV that csvRow() wrote (MiB back to bytes; an empty cell is NaN). */
export function readCsv(text: string): Sample[] {
  const [header, ...rows] = text.trim().split("\n").map((line) => line.split(","));
  const at = new Map(header.map((name, index) => [name, index]));
  return rows.map((cells) => {
    const num = (column: string) => {
      const cell = cells[at.get(column) ?? -1] ?? "";
      return cell === "" ? NaN : Number(cell) * (column.endsWith("_mib") ? MiB : 1);
    };
    return {
      t: num("t_s"),
      phase: cells[at.get("phase")!] as Sample["phase"],
      rss: num("rss_mib"),
      vmRss: num("vmrss_mib"),
      cpu: num("cpu_s"),
      procCpu: num("proc_cpu_s"),
      heapUsed: num("heap_used_mib"),
      heapTotal: num("heap_total_mib"),
      external: num("external_mib"),
      queueEvents: num("queue_events"),
      queueBytes: num("queue_bytes"),
      received: num("received"),
      dropped: num("dropped"),
      offered: num("offered"),
      delivered: num("delivered"),
      deliveredPerS: num("delivered_per_s"),
      cpuUsPerEvent: num("cpu_us_per_event"),
    };
  });
}

class Sampler {
  readonly samples: Sample[] = [];
  last: Scrape | null = null;
  #origin = performance.now();

  constructor(
    readonly relay: Relay,
    readonly sink: Sink,
    readonly offered: () => number,
    readonly csv: string,
  ) {}

  /** Sets time 0: when the senders start. */
  start(): void {
    this.#origin = performance.now();
  }

  async take(phase: Sample["phase"]): Promise<Sample> {
    const t = (performance.now() - this.#origin) / 1000;
    const [scraped, vmRss, procCpu] = await Promise.all([
      scrape(this.relay.http),
      statusBytes(this.relay.proc.pid, "VmRSS"),
      cpuSeconds(this.relay.proc.pid),
    ]);
    if (scraped) this.last = scraped;
    const P = PROCESS_METRICS;
    // A counter never touched is not rendered: 0 when the scrape worked.
    const get = (name: string) => scraped ? scraped.sums.get(name) ?? 0 : NaN;
    const delivered = this.sink.events;
    const cpu = get(P.cpuSeconds);
    const previous = this.samples.at(-1);
    const events = previous ? delivered - previous.delivered : NaN;
    const sample: Sample = {
      t,
      phase,
      rss: get(P.residentMemory),
      vmRss,
      cpu,
      procCpu,
      heapUsed: get(P.heapUsed),
      heapTotal: get(P.heapTotal),
      external: get(P.externalMemory),
      queueEvents: get(M.queueEvents),
      queueBytes: get(M.queueBytes),
      received: get(M.received),
      dropped: get(M.dropped),
      offered: this.offered(),
      delivered,
      deliveredPerS: previous ? events / (t - previous.t) : NaN,
      cpuUsPerEvent: previous && events > 0 ? (cpu - previous.cpu) / events * 1e6 : NaN,
    };
    this.samples.push(sample);
    await Deno.writeTextFile(this.csv, csvRow(sample) + "\n", { append: true });
    return sample;
  }
}

// ---------------------------------------------------------------------------------------------
// The plot: three stacked panels sharing the time axis, as plain SVG.

interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  points: [number, number][];
}

/** About `count` round tick values from 0 to at least `max`. */
function ticks(max: number, count = 5): number[] {
  const top = max > 0 && Number.isFinite(max) ? max : 1;
  const raw = top / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const values = [];
  for (let v = 0; v < top + step * 0.999; v += step) values.push(Number(v.toPrecision(12)));
  return values;
}

/** `v` shortened with k or M when the axis (up to `max`) reaches 10,000. */
function tickLabel(v: number, max: number): string {
  if (max >= 1e7 && v >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (max >= 1e4 && v >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(4)));
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function svgPlot(
  title: string,
  panels: { title: string; series: Series[] }[],
  sendersStop: number,
): string {
  const width = 900, left = 80, right = 20, panelHeight = 170, gap = 70, top = 50;
  const plotWidth = width - left - right;
  const height = top + panels.length * (panelHeight + gap);
  const allT = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([t]) => t)));
  const tMaxS = Math.max(1, ...allT);
  const inMinutes = tMaxS >= 120;
  const xTicks = ticks(inMinutes ? tMaxS / 60 : tMaxS, 8);
  const xMax = xTicks.at(-1)! * (inMinutes ? 60 : 1);
  const round = (n: number) => Math.round(n * 10) / 10;
  const x = (t: number) => round(left + Math.max(0, t) / xMax * plotWidth);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  panels.forEach((panel, index) => {
    const y0 = top + index * (panelHeight + gap) + 20;
    const values = panel.series.flatMap((s) => s.points.map(([, v]) => v));
    // 5% headroom, so that no line runs along the frame.
    const yTicks = ticks(1.05 * Math.max(0, ...values.filter(Number.isFinite)));
    const yMax = yTicks.at(-1)!;
    const y = (v: number) => round(y0 + panelHeight - v / yMax * panelHeight);
    out.push(`<text x="${left}" y="${y0 - 8}" font-size="13">${escapeXml(panel.title)}</text>`);
    for (const v of yTicks) {
      out.push(
        `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
        `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${tickLabel(v, yMax)}</text>`,
      );
    }
    for (const v of xTicks) {
      const at = x(v * (inMinutes ? 60 : 1));
      out.push(
        `<line x1="${at}" x2="${at}" y1="${y0 + panelHeight}" y2="${y0 + panelHeight + 4}" ` +
          `stroke="black"/>`,
        `<text x="${at}" y="${y0 + panelHeight + 17}" text-anchor="middle">${
          tickLabel(v, xTicks.at(-1)!)
        }</text>`,
      );
    }
    out.push(
      `<text x="${width - right}" y="${y0 + panelHeight + 32}" text-anchor="end">time since ` +
        `the senders started (${inMinutes ? "minutes" : "seconds"})</text>`,
      `<rect x="${left}" y="${y0}" width="${plotWidth}" height="${panelHeight}" fill="none" ` +
        `stroke="black"/>`,
      `<line x1="${x(sendersStop)}" x2="${x(sendersStop)}" y1="${y0}" y2="${y0 + panelHeight}" ` +
        `stroke="#999" stroke-dasharray="2 3"/>`,
      `<text x="${x(sendersStop) - 4}" y="${y0 + panelHeight - 6}" text-anchor="end" ` +
        `fill="#777">` +
        `senders stop</text>`,
    );
    panel.series.forEach((s, k) => {
      const points = s.points.filter(([, v]) => Number.isFinite(v))
        .map(([t, v]) => `${x(t)},${y(v)}`).join(" ");
      const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
      out.push(
        `<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="1.5"${dash}/>`,
      );
      const lx = width - right - 220 * (panel.series.length - k);
      out.push(
        `<line x1="${lx}" x2="${lx + 24}" y1="${y0 - 12}" y2="${y0 - 12}" stroke="${s.color}" ` +
          `stroke-width="2"${dash}/>`,
        `<text x="${lx + 30}" y="${y0 - 8}">${escapeXml(s.label)}</text>`,
      );
    });
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** The plot of a soak's samples; a dotted line marks the last sample taken while sending. */
function plot(samples: Sample[], title: string): string {
  const points = (f: (s: Sample) => number): [number, number][] =>
    samples.filter((s) => s.phase !== "idle").map((s) => [s.t, f(s)]);
  const sendersStop = samples.findLast((s) => s.phase === "run")?.t ?? samples.at(-1)!.t;
  return svgPlot(title, [
    {
      title: "Memory (MiB)",
      series: [
        { label: "RSS", color: "#1f77b4", points: points((s) => s.rss / MiB) },
        {
          label: "V8 heap used",
          color: "#ff7f0e",
          dashed: true,
          points: points((s) => s.heapUsed / MiB),
        },
      ],
    },
    {
      title: "Events delivered per second (per interval)",
      series: [{
        label: "delivered/s",
        color: "#2ca02c",
        // The last sample follows the one before by less than an interval: left out.
        points: points((s) => s.phase === "end" ? NaN : s.deliveredPerS),
      }],
    },
    {
      title: "Queue depth (events held)",
      series: [{ label: "queue events", color: "#d62728", points: points((s) => s.queueEvents) }],
    },
  ], sendersStop);
}

// ---------------------------------------------------------------------------------------------
// The run.

/** The maximum TCP rate of the relay: the median of tcp_throughput.ts runs (`--calibrate-*`). */
async function calibrate(opts: SoakOptions, sink: Sink, commands: Commands): Promise<number> {
  const base: Options = {
    events: opts.calibrateEvents,
    size: opts.size,
    runs: 1,
    rfc5424: false,
    only: "relay",
    relayArgs: opts.relayArgs,
    denoFlags: opts.denoFlags,
    relayDir: opts.relayDir,
    sender: "loggen",
    anchorConf: "",
    runTimeoutMs: 180_000,
    timeoutMs: 180_000,
    profile: null,
  };
  const rates = [];
  for (let run = 1; run <= opts.calibrateRuns; run++) {
    const result = await runOnce("relay", base, sink, performance.now() + 180_000, commands);
    rates.push(result.events / result.seconds);
    console.log(
      `Calibration ${run}/${opts.calibrateRuns}: ${fmtInt(opts.calibrateEvents)} events over TCP ` +
        `at ${fmtInt(rates.at(-1)!)} events/s`,
    );
  }
  return median(rates);
}

/** The slope of the least-squares line through `points`, per unit of x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxy / sxx;
}

/** Mean, min and max of the finite values (NaN when there are none). */
export function stats(values: number[]): { mean: number; min: number; max: number } {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { mean: NaN, min: NaN, max: NaN };
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  return { mean, min: Math.min(...finite), max: Math.max(...finite) };
}

interface Outcome {
  rate: number;
  maxRate: number | null;
  relay: Relay;
  loggen: Loggen;
  udp: Paced;
  http: Paced;
  sampler: Sampler;
  runSeconds: number;
  drainSeconds: number;
  offered: number;
  /** Events offered that the relay counted as dropped. */
  lost: number;
  exitCode: number | null;
  calibration: Commands;
  cpuSelf: number;
  started: string;
}

function printSummary(opts: SoakOptions, o: Outcome): boolean {
  const { samples } = o.sampler;
  const run = samples.filter((s) => s.phase === "run");
  const settled = run.filter((s) => s.t >= 60);
  const window = settled.length >= 2 ? settled : run.slice(1);
  const windowLabel = settled.length >= 2 ? "after the first minute" : "(run under 2 min: all)";
  const delivered = o.sampler.sink.events;
  const missing = o.offered - delivered;
  const rss = stats(window.map((s) => s.rss));
  const vmRss = stats(window.map((s) => s.vmRss));
  const heap = stats(window.map((s) => s.heapUsed));
  const growth = 100 * (rss.max - rss.min) / rss.min;
  const trend = slope(window.map((s) => [s.t / 60, s.rss / MiB]));
  const cpuPerEvent = stats(run.map((s) => s.cpuUsPerEvent));
  const perSecond = stats(run.slice(1).map((s) => s.deliveredPerS));
  const last = samples.at(-1)!;
  const idle = samples.find((s) => s.phase === "idle");
  const totalCpu = last.cpu - (idle?.cpu ?? 0);
  const rssGap = Math.max(...samples.map((s) => Math.abs(s.rss - s.vmRss)));
  const cpuGap = Math.max(...samples.map((s) => Math.abs(s.cpu - s.procCpu)));
  const labelled = (name: string) =>
    seriesOf(o.sampler.last, name).map((s) => `${s.labels} ${fmtInt(s.value)}`).join(", ");
  const loggenSeconds = Number(/\btime=([\d.]+)/.exec(o.loggen.average())?.[1] ?? NaN);
  const lines = [
    `Soak summary (${o.started}; ${navigator.hardwareConcurrency} CPUs, Deno ` +
    `${Deno.version.deno}, Linux ${Deno.osRelease()})`,
    `  duration:  ${fmt(o.runSeconds / 60, 2)} min of sending, then ${fmt(o.drainSeconds, 1)} s ` +
    `until the sink had every event${o.lost > 0 ? " the relay did not drop" : ""}`,
    `  TCP:       loggen --rate ${fmtInt(o.rate)}` +
    (o.maxRate
      ? ` (${fmt(100 * o.rate / o.maxRate, 0)}% of a maximum of ${fmtInt(o.maxRate)} events/s, ` +
        `${opts.maxRate ? "given" : "measured"})`
      : " (given)") +
    `; it sent ${fmtInt(o.loggen.count())} in ${fmt(loggenSeconds, 1)} s ` +
    `(${fmtInt(o.loggen.count() / loggenSeconds)}/s)`,
    `  offered:   ${fmtInt(o.offered)} events (TCP ${fmtInt(o.loggen.count())}, UDP ` +
    `${fmtInt(o.udp.offered())}, HTTP ${fmtInt(o.http.offered())})`,
    `  delivered: ${fmtInt(delivered)}: ` +
    (missing === 0
      ? "all"
      : missing < 0
      ? `${fmtInt(-missing)} more than offered (duplicates?)`
      : `${fmtInt(missing)} MISSING, of which the relay counted ${fmtInt(o.lost)} as dropped`) +
    `; relay exit code ${o.exitCode ?? "n/a"}`,
    `  relay:     received ${labelled(M.received) || "n/a"}; dropped ${
      labelled(M.dropped) || "none"
    }`,
  ];
  if (o.udp.failures.count + o.http.failures.count > 0) {
    lines.push(
      `  not sent:  UDP ${o.udp.failures.count} (${o.udp.failures.last}), HTTP ` +
        `${o.http.failures.count} requests (${o.http.failures.last})`,
    );
  }
  lines.push(
    `  RSS ${windowLabel}: min ${fmt(rss.min / MiB)} MiB, max ${fmt(rss.max / MiB)} MiB, ` +
      `(max-min)/min ${fmt(growth)}%: ${
        growth <= 10 ? "flat (within 10%)" : "NOT flat (over 10%)"
      }` +
      `; least-squares trend ${trend >= 0 ? "+" : ""}${fmt(trend, 2)} MiB/min`,
    `             (/proc VmRSS ${fmt(vmRss.min / MiB)}-${fmt(vmRss.max / MiB)} MiB, at most ` +
      `${fmt(rssGap / MiB, 2)} MiB from /metrics); V8 heap used ${fmt(heap.min / MiB)}-` +
      `${fmt(heap.max / MiB)} MiB; RSS at the end (idle) ${fmt(last.rss / MiB)} MiB`,
    `  CPU:       µs per event delivered, per ${opts.intervalS} s interval: mean ` +
      `${fmt(cpuPerEvent.mean, 2)}, min ${fmt(cpuPerEvent.min, 2)}, max ${
        fmt(cpuPerEvent.max, 2)
      } ` +
      `(${run.length} intervals); overall ${fmt(totalCpu / delivered * 1e6, 2)} µs/event, ` +
      `${fmt(totalCpu, 1)} CPU s (/proc/PID/stat within ${fmt(cpuGap, 2)} s)`,
    `  delivered/s per interval: mean ${fmtInt(perSecond.mean)}, min ${fmtInt(perSecond.min)}, ` +
      `max ${fmtInt(perSecond.max)}; queue depth at most ` +
      `${fmtInt(Math.max(...samples.map((s) => s.queueEvents)))} events`,
    `  this process (sink, UDP and HTTP senders, calibration included): ` +
      `${fmt(o.cpuSelf, 1)} CPU s`,
    `  samples:   ${opts.csv}`,
    `  plot:      ${opts.svg}`,
    "",
    `Reproduce (in ${Deno.cwd()}): ` +
      ["deno", "run", "-A", "tests/bench/soak.ts", ...Deno.args].map(shellQuote).join(" "),
    "Commands (ports differ per run; TOKEN is a dummy UUID):",
  );
  if (o.calibration.relay) {
    lines.push(
      `  calibration relay:  (cd ${opts.relayDir} && ${o.calibration.relay})`,
      `  calibration sender: ${o.calibration.sender}`,
    );
  }
  lines.push(
    `  relay:  (cd ${opts.relayDir} && ${o.relay.proc.commandLine})`,
    `  TCP:    ${o.loggen.proc.commandLine}`,
    `  UDP:    ${o.udp.description}`,
    `  HTTP:   ${o.http.description}`,
    "  sink:   Deno.serve on 127.0.0.1 in the benchmark process, counting lines",
  );
  console.log("\n" + lines.join("\n"));
  return missing === 0 && o.exitCode === 0;
}

async function soak(opts: SoakOptions, sink: Sink): Promise<number> {
  const started = new Date().toISOString().slice(0, 19).replace("T", " ") + " UTC";
  const calibration: Commands = {};
  let maxRate = opts.maxRate;
  if (opts.rate === null && maxRate === null) {
    maxRate = await calibrate(opts, sink, calibration);
    console.log(`Maximum TCP rate measured: ${fmtInt(maxRate)} events/s`);
  }
  const rate = opts.rate ?? Math.round(opts.fraction * maxRate!);
  const seconds = Math.max(1, Math.round(opts.minutes * 60));
  sink.reset(Infinity);
  const relay = await startRelay(opts, sink);
  await Deno.writeTextFile(opts.csv, CSV_COLUMNS.join(",") + "\n");
  const senders: { loggen?: Loggen; udp?: Paced; http?: Paced } = {};
  const offered = () =>
    (senders.loggen?.count() ?? 0) + (senders.udp?.offered() ?? 0) + (senders.http?.offered() ?? 0);
  const sampler = new Sampler(relay, sink, offered, opts.csv);
  const died = relay.proc.status.then((s) => {
    throw new Error(`the relay exited with code ${s.code} during the soak\n${relay.proc.output}`);
  });
  died.catch(() => {});
  console.log(
    `Soak: ${fmt(opts.minutes, 1)} min, TCP ${
      fmtInt(rate)
    } events/s (loggen), UDP ${opts.udpRate}/s, ` +
      `HTTP ${opts.httpRate} requests/s of ${opts.httpBatch}; sampling every ${opts.intervalS} s ` +
      `to ${opts.csv}`,
  );
  await sampler.take("idle");
  sampler.start();
  const loggen = senders.loggen = startLoggen(rate, seconds, opts.size, relay.tcp);
  // loggen first sends about 0.8 s worth of its rate at once, which can fill the relay's queue
  // for a moment (TCP then waits; UDP would be dropped and HTTP refused): the trickles wait.
  const trickleMs = opts.trickleDelayS * 1000;
  const udp = senders.udp = startUdp(opts.udpRate, trickleMs, relay.udp, opts.size);
  const http = senders.http = startHttp(
    opts.httpRate,
    opts.httpBatch,
    trickleMs,
    relay.http,
    opts.size,
  );
  const t0 = performance.now();
  let phase: "run" | "drain" = "run";
  let sampling = true;
  const every = Math.max(1, Math.round(60 / opts.intervalS));
  const loop = (async () => {
    for (let k = 1; sampling; k++) {
      await delay(t0 + k * opts.intervalS * 1000 - performance.now());
      if (!sampling) break;
      const s = await sampler.take(phase);
      if (k % every === 0) {
        console.log(
          `  ${fmt(s.t / 60, 1)} min: RSS ${fmt(s.rss / MiB)} MiB, heap ${
            fmt(s.heapUsed / MiB)
          } MiB, ${fmtInt(s.deliveredPerS)} delivered/s, queue ${fmtInt(s.queueEvents)}, ` +
            `${fmt(s.cpuUsPerEvent, 2)} µs CPU/event`,
        );
      }
    }
  })();
  let outcome: Outcome | null = null;
  try {
    const limit = timeout((seconds + 60) * 1000, "loggen to finish");
    try {
      const status = await Promise.race([loggen.proc.status, limit.promise, died]);
      if (!status.success) {
        throw new Error(`loggen exited with code ${status.code}\n${loggen.proc.output}`);
      }
    } finally {
      limit.cancel();
    }
    await Promise.all([udp.stop(), http.stop()]);
    const runSeconds = (performance.now() - t0) / 1000;
    phase = "drain";
    const total = offered();
    // Wait for every event offered, less those the relay says it dropped (read again each second).
    const drainUntil = performance.now() + opts.drainTimeoutS * 1000;
    let lost = droppedOffered(await scrape(relay.http));
    for (let k = 1; sink.events < total - lost && performance.now() < drainUntil; k++) {
      await Promise.race([delay(100), died]);
      if (k % 10 === 0) lost = droppedOffered(await scrape(relay.http) ?? sampler.last);
    }
    const drainSeconds = (performance.now() - t0) / 1000 - runSeconds;
    sampling = false;
    await loop;
    await sampler.take("end");
    lost = droppedOffered(sampler.last);
    const status = await stop(relay.proc);
    const cpuSelf = await cpuSeconds(Deno.pid);
    outcome = {
      rate,
      maxRate,
      relay,
      loggen,
      udp,
      http,
      sampler,
      runSeconds,
      drainSeconds,
      offered: total,
      lost,
      exitCode: status?.code ?? null,
      calibration,
      cpuSelf,
      started,
    };
  } finally {
    sampling = false;
    await loop;
    await Promise.all([udp.stop(), http.stop()]);
    await stop(loggen.proc, 2000);
    await stop(relay.proc);
    if (sampler.samples.length > 1) {
      const title = `loggly-relay soak, ${started}: TCP ${fmtInt(rate)} events/s offered`;
      await Deno.writeTextFile(opts.svg, plot(sampler.samples, title));
    }
  }
  return printSummary(opts, outcome!) ? 0 : 1;
}

async function main(): Promise<number> {
  const opts = optionsOrExit("soak", HELP, parseOptions);
  if (typeof opts === "number") return opts;
  if (opts.replot) {
    const samples = readCsv(await Deno.readTextFile(opts.replot));
    const name = opts.replot.slice(opts.replot.lastIndexOf("/") + 1);
    await Deno.writeTextFile(opts.svg, plot(samples, `loggly-relay soak: ${name}`));
    console.log(`Plot of ${samples.length} samples written to ${opts.svg}`);
    return 0;
  }
  if (!which("loggen")) {
    console.error("soak: loggen not found (apt-get install syslog-ng-core)");
    return 1;
  }
  const timeoutMs = (opts.minutes * 60 + opts.drainTimeoutS + 600) * 1000;
  return await runGuarded("soak", timeoutMs, async (sink) => {
    try {
      return await soak(opts, sink);
    } catch (error) {
      console.error(`soak: ${(error as Error).message}`);
      console.error(`Samples so far: ${opts.csv}`);
      return 1;
    }
  });
}

if (import.meta.main) {
  Deno.exit(await main());
}
