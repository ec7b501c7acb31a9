/**
 * The HTTP bulk row of the benchmark suite, relay only (syslog-ng has no HTTP source): the relay
 * listens with `--http` (TCP and UDP off), and http_writer.ts, a Deno process of its own, POSTs
 * the events to `/bulk/TOKEN/tag/bench/`, `--http-batch` per request with `--http-clients` in
 * flight. Each run is a tcp_throughput.ts run with that sender, timed from the writer's first
 * request (not its start-up) to the sink counting every event.
 *
 * @module
 */
import {
  type Commands,
  type Options,
  runOnce,
  type RunResult,
  type Sending,
  type Side,
  spawn,
  stop,
  TOKEN,
} from "./tcp_throughput.ts";
import { SENDING } from "./http_writer.ts";
import { eachRun, figuresOf, type RowResult, runLine, type SuiteContext } from "./suite_context.ts";

const WRITER = new URL("./http_writer.ts", import.meta.url).pathname;

function startWriter(opts: Options, port: number, batch: number, clients: number): Sending {
  const proc = spawn("http_writer", Deno.execPath(), [
    ...["run", "--allow-net=127.0.0.1", WRITER],
    ...["--url", `http://127.0.0.1:${port}/bulk/${TOKEN}/tag/bench/`],
    ...["--events", String(opts.events), "--size", String(opts.size)],
    ...["--batch", String(batch), "--clients", String(clients)],
  ]);
  const started = new Promise<number>((resolve) => {
    proc.output.onLine = (line) => {
      if (line === SENDING) resolve(performance.now());
    };
  });
  const done = proc.status.then((status) => {
    if (status.code !== 0) {
      throw new Error(`http_writer exited with code ${status.code}\n${proc.output}`);
    }
  });
  done.catch(() => {});
  return {
    done,
    started,
    report: () => proc.output.lines.findLast((l) => l.startsWith("sent ")) ?? "",
    stop: async () => void await stop(proc, 2000),
    commandLine: proc.commandLine,
  };
}

/** Runs the HTTP row: `--runs` relay runs (none with --only syslog-ng). */
export async function httpRow(ctx: SuiteContext): Promise<RowResult> {
  const { httpBatch, httpClients } = ctx.opts;
  const opts: Options = {
    ...ctx.opts.base,
    transport: "http",
    startSender: (o, port) => startWriter(o, port, httpBatch, httpClients),
  };
  const results: RunResult[] = [];
  const commands: Commands = {};
  const sides: Side[] = ctx.opts.base.only === "syslog-ng" ? [] : ["relay"];
  await eachRun(ctx, sides, async (side, run) => {
    const result = await runOnce(side, opts, ctx.sink, ctx.deadline, commands);
    results.push(result);
    console.log(runLine("http", run, opts.runs, side, result));
  });
  const retried = results.map((r) => Number(/\((\d+) retried/.exec(r.senderReport)?.[1] ?? NaN));
  return {
    name: "http",
    label: `HTTP bulk, ${httpBatch} JSON events/POST, ${httpClients} in flight`,
    relay: figuresOf(results),
    syslogNg: null,
    notes: [
      "syslog-ng has no HTTP source",
      ...(results.length > 0
        ? [`POSTs answered 503 and retried after 20 ms, per run: ${retried.join(", ")}`]
        : []),
    ],
    commands: new Map(
      Object.entries({ relay: commands.relay, sender: commands.sender })
        .filter((e): e is [string, string] => e[1] !== undefined),
    ),
  };
}
