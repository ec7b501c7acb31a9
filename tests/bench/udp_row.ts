/**
 * The UDP row of the benchmark suite: `loggen -D` offers a fixed rate (`--udp-rate`, default
 * 50,000 datagrams/s) for `--udp-seconds` to the relay or to syslog-ng (the anchor config with
 * transport(udp): no so-rcvbuf(), so that both sockets get net.core.rmem_default, since the relay
 * cannot set SO_RCVBUF; see udp_rates.ts). Once the sink's count stays put for 3 s, the run ends.
 * Delivered events/s is loggen's own send rate times the fraction delivered; CPU per event is per
 * event delivered. Mind loggen's start-up burst of about 0.8 s worth of the rate (udp_rates.ts).
 *
 * @module
 */
import {
  cpuSeconds,
  fmt,
  fmtInt,
  median,
  MiB,
  type Options,
  type Server,
  type Side,
  startRelay,
  startSyslogNg,
  statusBytes,
  stop,
  which,
} from "./tcp_throughput.ts";
import { freeUdpPort, offer, rmemState, settle, udpDrops, withRmemDefault } from "./udp_rates.ts";
import {
  eachRun,
  type RowResult,
  type SideFigures,
  sidesOf,
  type SuiteContext,
} from "./suite_context.ts";

interface UdpRun {
  side: Side;
  sent: number;
  delivered: number;
  /** loggen's own send time. */
  seconds: number;
  kernelDrops: number;
  cpu: number;
  peakRss: number;
}

async function measure(
  ctx: SuiteContext,
  opts: Options,
  side: Side,
  commands: Map<string, string>,
  rmemFound: string | null,
): Promise<UdpRun> {
  const { sink } = ctx;
  const port = await freeUdpPort();
  const start = () =>
    side === "relay" ? startRelay(opts, sink, [], port) : startSyslogNg(opts, sink, port);
  // With --udp-rmem, rmem_default is raised only while the server binds its socket.
  const server: Server = rmemFound === null
    ? await start()
    : await withRmemDefault(ctx.opts.udpRmem!, rmemFound, start);
  commands.set(side, server.proc.commandLine);
  try {
    sink.reset(Infinity);
    const cpuBefore = await cpuSeconds(server.proc.pid);
    const [sent, loggen] = await offer(ctx.opts.udpRate, ctx.opts.udpSeconds, port);
    commands.set("sender", loggen.commandLine);
    const summary = loggen.output.lines.findLast((l) => l.startsWith("average rate")) ?? "";
    const seconds = Number(/\btime=([\d.]+)/.exec(summary)?.[1] ?? NaN);
    const settled = await settle(() => Promise.resolve(sink.events));
    if (server.proc.exited) {
      throw new Error(`${side} exited during the UDP run\n${server.proc.output}`);
    }
    if (!settled) console.error(`  (${side} was still delivering long after loggen finished)`);
    return {
      side,
      sent,
      delivered: sink.events,
      seconds,
      kernelDrops: await udpDrops(port) ?? NaN,
      cpu: await cpuSeconds(server.proc.pid) - cpuBefore,
      peakRss: await statusBytes(server.proc.pid, "VmHWM"),
    };
  } finally {
    await stop(server.proc);
    await server.cleanup();
  }
}

function figures(runs: UdpRun[]): SideFigures | null {
  if (runs.length === 0) return null;
  return {
    eventsPerSec: median(runs.map((r) => r.delivered / r.seconds)),
    cpuUsPerEvent: median(runs.map((r) => r.cpu / r.delivered * 1e6)),
    peakRssMiB: median(runs.map((r) => r.peakRss / MiB)),
  };
}

/** Runs the UDP row: `--runs` runs of each side, alternating. */
export async function udpRow(ctx: SuiteContext): Promise<RowResult> {
  if (!which("loggen")) {
    throw new Error("the UDP row needs loggen (apt-get install syslog-ng-core)");
  }
  const opts: Options = { ...ctx.opts.base, transport: "udp" };
  const rmem = await rmemState();
  if (ctx.opts.udpRmem !== null && rmem.whyNot) {
    throw new Error(`--udp-rmem: ${rmem.whyNot}`);
  }
  const raiseFrom = ctx.opts.udpRmem === null ? null : rmem.found;
  const runs: UdpRun[] = [];
  const commands = new Map<string, string>();
  await eachRun(ctx, sidesOf(ctx.opts), async (side, run) => {
    const m = await measure(ctx, opts, side, commands, raiseFrom);
    runs.push(m);
    console.log(
      `  udp run ${run}/${opts.runs} ${side}: ${fmtInt(m.delivered)} of ${fmtInt(m.sent)} ` +
        `delivered (${fmt(100 * m.delivered / m.sent, 2)}%), ${fmtInt(m.kernelDrops)} kernel ` +
        `drops, CPU ${fmt(m.cpu, 2)} s, peak RSS ${fmt(m.peakRss / MiB)} MiB`,
    );
  });
  const lost = (side: Side) => {
    const mine = runs.filter((r) => r.side === side);
    if (mine.length === 0) return null;
    const pct = median(mine.map((r) => 100 * (r.sent - r.delivered) / r.sent));
    const drops = median(mine.map((r) => r.kernelDrops));
    return `${side} lost ${fmt(pct, 2)}% (kernel drops ${fmtInt(drops)})`;
  };
  const sent = median(runs.map((r) => r.sent));
  const sentPerSec = median(runs.map((r) => r.sent / r.seconds));
  return {
    name: "udp",
    label: `UDP at ${fmtInt(ctx.opts.udpRate)}/s offered (loggen -D)`,
    relay: figures(runs.filter((r) => r.side === "relay")),
    syslogNg: figures(runs.filter((r) => r.side === "syslog-ng")),
    notes: [
      `loggen -r ${ctx.opts.udpRate} -I ${ctx.opts.udpSeconds} sent ${fmtInt(sent)} datagrams ` +
      `(${fmtInt(sentPerSec)}/s: it starts with a burst of about 0.8 s worth of the rate, more ` +
      `than a receive buffer of rmem_default ${ctx.opts.udpRmem ?? rmem.found ?? "?"} bytes ` +
      "holds" + (ctx.opts.udpRmem === null ? "" : `, raised from ${rmem.found} by --udp-rmem`) +
      "; both servers' sockets get that buffer)",
      "lost = sent - delivered: the kernel's drops (/proc/net/udp) and what the server dropped " +
      "itself",
      ...[lost("relay"), lost("syslog-ng")].filter((s) => s !== null),
      "syslog-ng: transport(udp) for transport(tcp), no so-rcvbuf() (the relay cannot set it)",
    ],
    commands,
  };
}
