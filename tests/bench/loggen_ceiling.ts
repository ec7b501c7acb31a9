/**
 * loggen's own ceiling: the rate at which loggen sends the TCP row's stream (same events, size and
 * one connection) into a null sink that only reads and counts line ends, in this process (idle
 * otherwise meanwhile). Timed as the rows are, from starting loggen to the sink having counted
 * every event; the median of `--runs`. Not loggen's exit, nor its own "average rate": loggen
 * checks whether its sender finished only every 0.5 s, so both are rounded up to that. A relay
 * rate near the ceiling means the sender, not the relay, sets the pace.
 *
 * @module
 */
import {
  fmt,
  fmtInt,
  median,
  type Options,
  startLoggen,
  timeout,
  which,
} from "./tcp_throughput.ts";

/** The ceiling, and how it was measured. */
export interface Ceiling {
  eventsPerSec: number;
  commands: Map<string, string>;
}

/** A TCP listener that takes one connection and resolves with the time `lines` LFs came in. */
function nullSink(lines: number): { port: number; counted: Promise<number>; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let conn: Deno.Conn | null = null;
  const counted = (async () => {
    conn = await listener.accept();
    const buffer = new Uint8Array(256 * 1024);
    let seen = 0;
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      const chunk = buffer.subarray(0, n);
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) seen++;
      if (seen >= lines) return performance.now();
    }
    throw new Error(`loggen closed its connection after ${seen} of ${lines} lines`);
  })();
  counted.catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    counted,
    close: () => {
      for (const closable of [conn, listener]) {
        try {
          closable?.close();
        } catch {
          // closed already
        }
      }
    },
  };
}

/** Measures loggen into the null sink `runs` times; null (with the reason printed) if it cannot. */
export async function loggenCeiling(base: Options, deadline: number): Promise<Ceiling | null> {
  if (!which("loggen")) {
    console.log("loggen ceiling: not measured (loggen is not installed)");
    return null;
  }
  const opts: Options = { ...base, rfc5424: false, transport: "tcp" };
  const rates: number[] = [];
  const commands = new Map<string, string>();
  for (let run = 1; run <= opts.runs; run++) {
    if (performance.now() > deadline) throw new Error("out of time (see --timeout)");
    const sink = nullSink(opts.events);
    const limit = timeout(Math.min(opts.runTimeoutMs, deadline - performance.now()), "loggen");
    const started = performance.now();
    const sending = startLoggen(opts, sink.port);
    commands.set("sender", sending.commandLine);
    try {
      const counted = await Promise.race([sink.counted, limit.promise]);
      rates.push(opts.events / ((counted - started) / 1000));
      await Promise.race([sending.done, limit.promise]);
      console.log(
        `  ceiling run ${run}/${opts.runs}: loggen into a null sink ${fmtInt(rates.at(-1)!)} ` +
          `events/s (loggen says: ${sending.report() || "n/a"})`,
      );
    } finally {
      limit.cancel();
      await sending.stop();
      sink.close();
    }
  }
  commands.set("null sink", "a Deno TCP listener in the benchmark process, counting LFs");
  return { eventsPerSec: median(rates), commands };
}

/** The line the suite prints about the ceiling. */
export function ceilingLine(ceiling: Ceiling | null, relayTcp: number | null): string {
  if (!ceiling) return "loggen ceiling: not measured";
  const fraction = relayTcp === null
    ? ""
    : `; the relay's TCP rate is ${fmt(100 * relayTcp / ceiling.eventsPerSec, 0)}% of it`;
  return `loggen ceiling (one TCP connection into a null sink): ` +
    `${fmtInt(ceiling.eventsPerSec)} events/s${fraction}`;
}
