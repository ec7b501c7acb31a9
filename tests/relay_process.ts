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

/** A relay process on ephemeral loopback ports; its stderr is collected as it comes. */
export class RelayProcess {
  readonly child: Deno.ChildProcess;
  stderr = "";
  stdout = "";
  #ready: Promise<{ udp: number; tcp: number }>;

  /** `maxFiles` runs the relay under `ulimit -n` (a bash on PATH is needed for that). */
  constructor(args: string[], env: Record<string, string> = {}, maxFiles?: number) {
    const wrapper = maxFiles === undefined
      ? []
      : ["-c", `ulimit -n ${maxFiles} && exec "$0" "$@"`, Deno.execPath()];
    const child = new Deno.Command(maxFiles === undefined ? Deno.execPath() : "bash", {
      args: [
        ...wrapper,
        "run",
        ...PERMISSIONS,
        MAIN,
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
    const ports: Record<string, number> = {};
    (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr += chunk;
        for (const m of this.stderr.matchAll(/over (udp|tcp) on 127\.0\.0\.1:(\d+)/g)) {
          ports[m[1]] = Number(m[2]);
        }
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
