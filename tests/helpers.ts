/**
 * Shared test fixtures: a relay started in-process on ephemeral ports against a Loggly stand-in,
 * and plain clients for UDP and TCP.
 *
 * @module
 */
import dgram from "node:dgram";
import { type Config, type ConfigSources, parseCommand } from "../lib/config.ts";
import { type Relay, type RelayDeps, startRelay } from "../lib/relay.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";

/** Config sources with the given environment and files (path -> text); a missing file throws. */
export function configSources(
  env: Record<string, string> = {},
  files: Record<string, string> = {},
): ConfigSources {
  return {
    env: (name: string) => env[name],
    cwd: () => "/",
    readTextFile: (path: string) => {
      if (!(path in files)) throw new Deno.errors.NotFound(`No such file: ${path}`);
      return files[path];
    },
  };
}

/** Parses relay flags as the CLI would, with the test token and quick timings by default. */
export function testConfig(args: string[], stub?: LogglyStub): Config {
  const command = parseCommand([
    "--token",
    TEST_TOKEN,
    "--udp",
    "127.0.0.1:0",
    "--tcp",
    "127.0.0.1:0",
    "--linger",
    "50ms",
    "--retry-initial-delay",
    "10ms",
    "--retry-max-delay",
    "200ms",
    ...(stub ? ["--loggly-url", stub.url] : []),
    ...args,
  ], {
    env: () => undefined,
    readTextFile: (path) => Deno.readTextFileSync(path),
    cwd: () => "/",
  });
  if (command.kind !== "run") throw new Error(`Not a run command: ${command.kind}`);
  return command.config;
}

/** A running relay and its stand-in; `stop` shuts both. */
export interface Harness {
  relay: Relay;
  stub: LogglyStub;
  stop(): Promise<number>;
}

/** Starts a stand-in Loggly and a relay pointed at it. */
export async function startHarness(args: string[] = [], deps: RelayDeps = {}): Promise<Harness> {
  const stub = new LogglyStub(TEST_TOKEN).start();
  const relay = await startRelay(testConfig(args, stub), deps);
  return {
    relay,
    stub,
    async stop() {
      const unsent = await relay.stop(2000);
      await stub.stop();
      return unsent;
    },
  };
}

const encoder = new TextEncoder();

/** Opens a TCP connection, writes each chunk in turn, then closes. */
export async function sendTcp(port: number, ...chunks: (string | Uint8Array)[]): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    for (const chunk of chunks) {
      await writeAll(conn, typeof chunk === "string" ? encoder.encode(chunk) : chunk);
    }
  } finally {
    conn.close();
  }
}

/** Writes all of `data` to `conn`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

/** Sends each message as one UDP datagram. */
export async function sendUdp(port: number, ...messages: (string | Uint8Array)[]): Promise<void> {
  const socket = dgram.createSocket("udp4");
  try {
    for (const message of messages) {
      const data = typeof message === "string" ? encoder.encode(message) : message;
      await new Promise<void>((resolve, reject) =>
        socket.send(data, port, "127.0.0.1", (error) => error ? reject(error) : resolve())
      );
    }
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/** Runs a command to completion; returns its exit code and output. */
export async function run(
  command: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(command, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
    cwd: options.cwd,
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
