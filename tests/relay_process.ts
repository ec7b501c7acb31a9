/**
 * The relay as a user runs it: `deno run main.ts` in a subprocess on ephemeral loopback ports,
 * with its stdout and stderr collected as they come.
 *
 * @module
 */

/** main.ts, for `deno run`. */
export const MAIN = new URL("../main.ts", import.meta.url).pathname;
/** The permissions of `deno task start`. */
export const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];

/** `deno run` with the permissions of `deno task start`: how the tests start the relay. */
export const DENO_RUN: readonly string[] = [Deno.execPath(), "run", ...PERMISSIONS, MAIN];

/** A relay process on ephemeral loopback ports; its stderr is collected as it comes. */
export class RelayProcess {
  readonly child: Deno.ChildProcess;
  stderr = "";
  stdout = "";
  /** Ports the relay said it listens on, by input (udp, tcp, tls, http). */
  readonly ports: Record<string, number> = {};
  #ready: Promise<{ udp: number; tcp: number }>;

  /**
   * `maxFiles` runs the relay under `ulimit -n` (a bash on PATH is needed for that); `launcher`
   * is the command that runs the relay (a compiled binary, say), before its arguments.
   */
  constructor(
    args: string[],
    env: Record<string, string> = {},
    maxFiles?: number,
    launcher: readonly string[] = DENO_RUN,
  ) {
    const [program, ...lead] = launcher;
    const wrapper = maxFiles === undefined
      ? []
      : ["-c", `ulimit -n ${maxFiles} && exec "$0" "$@"`, program];
    const child = new Deno.Command(maxFiles === undefined ? program : "bash", {
      args: [
        ...wrapper,
        ...lead,
        "--udp",
        "127.0.0.1:0",
        "--tcp",
        "127.0.0.1:0",
        "--log-format",
        "json",
        ...args,
      ],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.child = child;
    const { promise, resolve, reject } = Promise.withResolvers<{ udp: number; tcp: number }>();
    this.#ready = promise;
    const ports = this.ports;
    (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr += chunk;
        const said = /Listening for (?:syslog over )?(\w+) on 127\.0\.0\.1:(\d+)/g;
        for (const m of this.stderr.matchAll(said)) ports[m[1].toLowerCase()] = Number(m[2]);
        if (ports.udp && ports.tcp) resolve({ udp: ports.udp, tcp: ports.tcp });
      }
      reject(new Error(`Relay exited before listening:\n${this.stderr}`));
    })();
    (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        this.stdout += chunk;
      }
    })();
  }

  ready(): Promise<{ udp: number; tcp: number }> {
    return this.#ready;
  }

  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    this.child.kill(signal);
    const { code } = await this.child.status;
    await this.child.stdout.cancel().catch(() => {});
    return code;
  }
}

/** Polls `predicate` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for a condition");
    await new Promise((r) => setTimeout(r, 20));
  }
}
