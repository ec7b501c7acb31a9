/**
 * What the fault-injection scenarios share: the relay as a real process against the Loggly
 * stand-in, its /metrics read over HTTP, its memory read from /proc, and a line of figures per
 * scenario for the record.
 *
 * @module
 */
import { run } from "../helpers.ts";
import { LogglyStub, TEST_TOKEN } from "../loggly_stub.ts";
import { MAIN, RelayProcess, waitUntil } from "../relay_process.ts";

export { TEST_TOKEN, waitUntil };

/** `deno run -A main.ts`: with -A the relay can read the kernel's UDP drop counter. */
export const DENO_RUN_ALL: readonly string[] = [Deno.execPath(), "run", "-A", MAIN];

/** A relay process with its stand-in Loggly and its /metrics. */
export interface Rig {
  stub: LogglyStub;
  relay: RelayProcess;
  /** Ports the relay listens on. */
  ports: Record<string, number>;
  /** One metric's value (a full series name, labels sorted as the relay prints them); 0 if absent. */
  metric(series: string): Promise<number>;
  /** Sum of every series of `name`. */
  total(name: string): Promise<number>;
  /** The relay's peak resident memory so far, MiB. */
  peakRssMiB(): Promise<number>;
  /** Stops the relay (SIGTERM) and returns its exit code; the stand-in stays up. */
  stopRelay(): Promise<number>;
  /** Stops both. */
  close(): Promise<void>;
}

/** Starts a stand-in and a relay (with --http for /metrics) given `args`. */
export async function startRig(
  args: string[],
  options: { stub?: LogglyStub; launcher?: readonly string[] } = {},
): Promise<Rig> {
  const stub = options.stub ?? new LogglyStub(TEST_TOKEN).start();
  const relay = new RelayProcess(
    ["--token", TEST_TOKEN, "--loggly-url", stub.url, "--http", "127.0.0.1:0", ...args],
    {},
    undefined,
    options.launcher ?? DENO_RUN_ALL,
  );
  await relay.ready();
  await waitUntil(() => relay.ports.http !== undefined);
  const scrape = async () =>
    await (await fetch(`http://127.0.0.1:${relay.ports.http}/metrics`)).text();
  let stopped: Promise<number> | null = null;
  const stopRelay = () => stopped ??= relay.stop();
  return {
    stub,
    relay,
    ports: relay.ports,
    metric: async (series) => valueOf(await scrape(), series),
    total: async (name) => totalOf(await scrape(), name),
    peakRssMiB: async () => {
      // Through cat: this runtime lets only --allow-all read /proc, and the suite runs without it.
      const status = (await run("cat", [`/proc/${relay.child.pid}/status`])).stdout;
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    },
    stopRelay,
    async close() {
      await stopRelay().catch(() => {});
      await stub.stop();
    },
  };
}

/** The value of one series in Prometheus text, 0 when absent. */
export function valueOf(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The sum of every series of metric `name` in Prometheus text. */
export function totalOf(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

/** Prints a scenario's figures on one line, for the closing note of a fault run. */
export function figures(scenario: string, values: Record<string, unknown>): void {
  const parts = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  console.log(`FAULT ${scenario}: ${parts.join(" ")}`);
}

/** Writes `data` to `conn` whole. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

/** The relay's JSON log lines whose message matches `pattern`. */
export function logLines(relay: RelayProcess, pattern: RegExp): string[] {
  return relay.stderr.split("\n").filter((line) => pattern.test(line));
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `body` with a fresh tmpfs of `size` (e.g. "2m") mounted at a temporary directory (root). */
export async function withTmpfs(size: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fault-tmpfs-" });
  const mount = await run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  if (mount.code !== 0) throw new Error(`mount failed (the test needs root): ${mount.stderr}`);
  try {
    await body(dir);
  } finally {
    await run("umount", [dir]);
    await Deno.remove(dir, { recursive: true });
  }
}

/** `count` syslog lines `<13>... app: PREFIX-0000001 PAD`, about 150 bytes each. */
export function numberedLines(prefix: string, count: number, from = 0): Uint8Array {
  const pad = "p".repeat(100);
  const lines = Array.from(
    { length: count },
    (_, i) =>
      `<13>Jan  1 00:00:00 host app: ${prefix}-${String(from + i).padStart(7, "0")} ${pad}\n`,
  );
  return new TextEncoder().encode(lines.join(""));
}
