/**
 * The stream rows of the benchmark suite: TCP with RFC 3164, TCP with RFC 5424 and TLS. Each run is
 * one tcp_throughput.ts run (loggen over ONE connection into the relay or syslog-ng, which post to
 * the Loggly stand-in; wall time from starting loggen to the sink counting every event).
 *
 * @module
 */
import { makeSelfSignedCert, type TempCert } from "./tls_cert.ts";
import { type Commands, type Options, runOnce, type RunResult } from "./tcp_throughput.ts";
import {
  eachRun,
  figuresOf,
  type RowResult,
  runLine,
  sidesOf,
  type SuiteContext,
} from "./suite_context.ts";

/** The rows measured here. */
export type StreamRow = "tcp" | "rfc5424" | "tls";

const LABELS: Record<StreamRow, string> = {
  tcp: "TCP, RFC 3164",
  rfc5424: "TCP, RFC 5424 (loggen -P -F)",
  tls: "TLS, RFC 3164 (loggen -U)",
};

const SYSLOG_NG_CHANGE: Record<StreamRow, string> = {
  tcp: "the anchor config as it is",
  rfc5424: "flags(syslog-protocol) added to network()",
  tls:
    "transport(tls) tls(key-file() cert-file() peer-verify(optional-untrusted)) for transport(tcp)",
};

/** Runs one stream row: `--runs` runs of each side, alternating. */
export async function streamRow(ctx: SuiteContext, row: StreamRow): Promise<RowResult> {
  let cert: TempCert | null = null;
  try {
    if (row === "tls") cert = await makeSelfSignedCert();
    const opts: Options = {
      ...ctx.opts.base,
      rfc5424: row === "rfc5424",
      transport: row === "tls" ? "tls" : "tcp",
      tls: cert ?? undefined,
    };
    const results: RunResult[] = [];
    const commands: Commands = {};
    await eachRun(ctx, sidesOf(ctx.opts), async (side, run) => {
      const result = await runOnce(side, opts, ctx.sink, ctx.deadline, commands);
      results.push(result);
      console.log(runLine(row, run, opts.runs, side, result));
    });
    const extra = results.filter((r) => r.extraEvents > 0);
    return {
      name: row,
      label: LABELS[row],
      relay: figuresOf(results.filter((r) => r.side === "relay")),
      syslogNg: figuresOf(results.filter((r) => r.side === "syslog-ng")),
      notes: [
        `syslog-ng: ${SYSLOG_NG_CHANGE[row]}`,
        ...(extra.length > 0
          ? [`${extra.map((r) => `${r.side} +${r.extraEvents}`).join(", ")} events past the target`]
          : []),
      ],
      commands: new Map(
        Object.entries({
          relay: commands.relay,
          "syslog-ng": commands.syslogNg,
          sender: commands.sender,
        }).filter((e): e is [string, string] => e[1] !== undefined),
      ),
    };
  } finally {
    await cert?.remove();
  }
}
