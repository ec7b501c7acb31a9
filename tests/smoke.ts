/**
 * Smoke test of a relay executable: a compiled binary, or (without --binary) `deno run main.ts`
 * with exactly the permissions a release binary has baked in (lib/permissions.ts).
 *
 *   deno run -A tests/smoke.ts [--binary dist/loggly-relay-x86_64-unknown-linux-gnu]
 *
 * Checks --version and --help; starts the relay against a stand-in Loggly; sends one UDP and one
 * TCP syslog line and one HTTP event; waits for all three at the stand-in; stops it with SIGTERM
 * (exit 0, all delivered); starts it with the token in LOGGLY_TOKEN and the default Loggly URL
 * (so that the binary's env and Loggly-host grants are used); and checks that it refuses a
 * --token-file, a --spool and a listen address outside what it may touch.
 * Prints one line a check and exits 1 when any fails.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { permissionFlags, releaseScope } from "../lib/permissions.ts";
import { v8FlagsArg } from "../lib/runtime_flags.ts";
import { VERSION } from "../lib/version.ts";
import { run, sendTcp, sendUdp } from "./helpers.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";
import { MAIN, RelayProcess, waitUntil } from "./relay_process.ts";

/** The command that runs the relay: the binary, or `deno run` with release permissions. */
export function launcherFor(binary: string | undefined): string[] {
  if (binary !== undefined) return [binary];
  const target = Deno.build.os === "windows" ? "x86_64-pc-windows-msvc" : Deno.build.target;
  return [Deno.execPath(), "run", ...permissionFlags(releaseScope(target)), v8FlagsArg(), MAIN];
}

function runOnce(launcher: string[], args: string[]) {
  const [program, ...lead] = launcher;
  return run(program, [...lead, ...args]);
}

type Check = [name: string, run: () => Promise<void>];

function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

/** The smoke checks against `launcher`, in order. */
export function smokeChecks(launcher: string[]): Check[] {
  return [
    ["--version prints the version", async () => {
      const r = await runOnce(launcher, ["--version"]);
      expect(r.code === 0 && r.stdout.trim() === `loggly-relay ${VERSION}`, JSON.stringify(r));
    }],
    ["--help prints the usage", async () => {
      const r = await runOnce(launcher, ["--help"]);
      expect(r.code === 0 && r.stdout.includes("Usage: loggly-relay"), JSON.stringify(r));
    }],
    ["UDP, TCP and HTTP events reach Loggly; SIGTERM stops it cleanly", async () => {
      const stub = new LogglyStub(TEST_TOKEN).start();
      const relay = new RelayProcess(
        ["--token", TEST_TOKEN, "--loggly-url", stub.url, "--http", "127.0.0.1:0"],
        {},
        undefined,
        launcher,
      );
      try {
        const { udp, tcp } = await relay.ready();
        await waitUntil(() => relay.ports.http !== undefined);
        await sendUdp(udp, "<14>smoke: over udp");
        await sendTcp(tcp, "<14>smoke: over tcp\n");
        const answer = await fetch(`http://127.0.0.1:${relay.ports.http}/inputs/${TEST_TOKEN}`, {
          method: "POST",
          body: JSON.stringify({ message: "over http" }),
        });
        expect(answer.status === 200, `HTTP answered ${answer.status}: ${await answer.text()}`);
        await stub.waitForCount(3);
        const messages = stub.messages().sort();
        expect(
          JSON.stringify(messages) === JSON.stringify(["over http", "over tcp", "over udp"]),
          `received ${JSON.stringify(messages)}`,
        );
        const code = await relay.stop();
        expect(code === 0, `exit code ${code}\n${relay.stderr}`);
        expect(/every (accepted|received) event was delivered/.test(relay.stderr), relay.stderr);
      } finally {
        await relay.stop().catch(() => {});
        await stub.stop();
      }
    }],
    ["takes LOGGLY_TOKEN and may reach logs-01.loggly.com by default", async () => {
      const relay = new RelayProcess([], { LOGGLY_TOKEN: TEST_TOKEN }, undefined, launcher);
      try {
        await relay.ready();
        await waitUntil(() => relay.stderr.includes("Forwarding to https://logs-01.loggly.com"));
        const code = await relay.stop();
        expect(code === 0, `exit code ${code}\n${relay.stderr}`);
      } finally {
        await relay.stop().catch(() => {});
      }
    }],
    ["refuses a spool and a listen address outside what it may touch", async () => {
      const dir = await Deno.makeTempDir({ prefix: "smoke-spool-" });
      try {
        const spool = await runOnce(launcher, ["--dry-run", "--spool", `${dir}/spool`]);
        expect(spool.code === 1 && spool.stderr.includes("may not write there"), spool.stderr);
        const tcp = await runOnce(launcher, ["--dry-run", "--tcp", "192.0.2.1:5140"]);
        expect(tcp.code === 1 && tcp.stderr.includes("may not use that address"), tcp.stderr);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }],
    ["refuses to read a file outside its allowed paths", async () => {
      const file = await Deno.makeTempFile({ prefix: "smoke-token-" });
      try {
        await Deno.writeTextFile(file, TEST_TOKEN);
        const r = await runOnce(launcher, ["--token-file", file, "--dry-run"]);
        expect(r.code === 2, `exit code ${r.code}: ${r.stderr}`);
        expect(r.stderr.includes("may not read there"), r.stderr);
      } finally {
        await Deno.remove(file);
      }
    }],
  ];
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { binary: { type: "string" } } });
  const launcher = launcherFor(values.binary);
  console.log(`smoke: ${launcher.join(" ")}`);
  let failed = 0;
  const checks = smokeChecks(launcher);
  for (const [name, run] of checks) {
    try {
      await run();
      console.log(`ok   ${name}`);
    } catch (error) {
      failed++;
      console.log(`FAIL ${name}: ${error instanceof Error ? error.message : error}`);
    }
  }
  console.log(`smoke: ${checks.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
