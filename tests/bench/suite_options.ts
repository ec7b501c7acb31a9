/**
 * The command line of the benchmark suite (suite.ts, `deno task bench`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  DEFAULT_ANCHOR_CONF,
  intOption,
  ROOT,
  RUN_OPTIONS,
  senderOption,
} from "./tcp_throughput.ts";
import { type RowName, ROWS, type SuiteOptions } from "./suite_context.ts";

/** The suite's --help. */
export const HELP = `Usage: deno task bench [options]
       (deno run -A tests/bench/suite.ts [options])

Runs loggly-relay and syslog-ng (the anchor config, changed per row as the report says) side by
side and prints one markdown table, then loggen's own ceiling and the newest soak summary.

  --rows LIST           rows to run, comma-separated (default ${ROWS.join(",")});
                        --rows tcp is the former single-row benchmark
  --events N            events per run (default 1000000; not UDP, see --udp-rate)
  --runs K              runs per side and row; the median is reported (default 3)
  --size BYTES          message size (default 200)
  --rfc5424             the same as --rows rfc5424 (the former flag)
  --only SIDE           run only "relay" or "syslog-ng"
  --udp-rate N          UDP datagrams/s loggen offers (default 50000)
  --udp-seconds S       for how long (default 4)
  --udp-rmem BYTES      raise net.core.rmem_default to BYTES while each server binds its UDP
                        socket (root only; put back at once): both get that receive buffer
                        (default: leave it as found)
  --http-batch N        events per HTTP POST (default 1000)
  --http-clients N      HTTP POSTs in flight (default 4)
  --soak-csv FILE       the soak CSV to summarise (default the newest tests/bench/results/soak-*.csv)
  --relay-arg ARG       extra relay flag, repeatable (write it as --relay-arg=--linger=2s)
  --deno-flag FLAG      extra deno run flag for the relay, repeatable (--deno-flag=--v8-flags=...)
  --relay-dir DIR       run main.ts from another checkout (an A/B copy; default this repository)
  --sender KIND         "loggen" (default when installed) or "deno" (an in-process TCP/TLS
                        writer; UDP and the ceiling still need loggen)
  --syslog-ng-conf FILE the anchor config (default ${DEFAULT_ANCHOR_CONF})
  --run-timeout SEC     give up on one run after this long (default 180)
  --timeout SEC         give up on the whole suite after this long (default 3600)
  --profile FILE        also take a V8 CPU profile of the relay in one extra TCP run, write it to
                        FILE (.cpuprofile) and print the functions with the most self time
`;

/** The suite's options from its command line; null after --help. */
export function parseSuiteOptions(args: string[]): SuiteOptions | null {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      ...RUN_OPTIONS,
      rows: { type: "string" },
      "udp-rate": { type: "string" },
      "udp-seconds": { type: "string" },
      "udp-rmem": { type: "string" },
      "http-batch": { type: "string" },
      "http-clients": { type: "string" },
      "soak-csv": { type: "string" },
    },
  });
  if (values.help) return null;
  if (values.rfc5424 && values.rows !== undefined) {
    throw new Error("give either --rfc5424 or --rows");
  }
  const wanted = values.rfc5424 ? ["rfc5424"] : (values.rows ?? ROWS.join(",")).split(",");
  const rows = new Set<RowName>();
  for (const name of wanted.map((r) => r.trim())) {
    if (!(ROWS as readonly string[]).includes(name)) {
      throw new Error(`--rows: "${name}" is not one of ${ROWS.join(", ")}`);
    }
    rows.add(name as RowName);
  }
  const only = values.only ?? null;
  if (only !== null && only !== "relay" && only !== "syslog-ng") {
    throw new Error('--only must be "relay" or "syslog-ng"');
  }
  const int = intOption;
  return {
    base: {
      events: int("events", values.events, 1_000_000, 1),
      size: int("size", values.size, 200, 80),
      runs: int("runs", values.runs, 3, 1),
      rfc5424: false,
      only,
      relayArgs: values["relay-arg"] ?? [],
      denoFlags: values["deno-flag"] ?? [],
      relayDir: values["relay-dir"] ?? ROOT,
      sender: senderOption(values.sender),
      anchorConf: values["syslog-ng-conf"] ?? DEFAULT_ANCHOR_CONF,
      runTimeoutMs: int("run-timeout", values["run-timeout"], 180, 1) * 1000,
      timeoutMs: int("timeout", values.timeout, 3600, 1) * 1000,
      profile: values.profile ?? null,
    },
    rows: ROWS.filter((r) => rows.has(r)),
    udpRate: int("udp-rate", values["udp-rate"], 50_000, 1),
    udpSeconds: int("udp-seconds", values["udp-seconds"], 4, 1),
    udpRmem: values["udp-rmem"] === undefined ? null : int("udp-rmem", values["udp-rmem"], 0, 4096),
    httpBatch: int("http-batch", values["http-batch"], 1000, 1),
    httpClients: int("http-clients", values["http-clients"], 4, 1),
    soakCsv: values["soak-csv"] ?? null,
  };
}
