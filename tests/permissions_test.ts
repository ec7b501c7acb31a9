/**
 * A release build's permissions (lib/permissions.ts), exercised with `deno run` and exactly those
 * flags: whatever lies outside them is refused at start with a message saying what to do, never
 * with Deno's "run again with --allow-..." (a compiled binary takes no such flags) or a crash.
 */
import assert from "node:assert/strict";
import { permissionFlags, releaseScope } from "../lib/permissions.ts";
import { run } from "./helpers.ts";
import { TEST_TOKEN } from "./loggly_stub.ts";
import { MAIN } from "./relay_process.ts";

const FLAGS = permissionFlags(releaseScope(Deno.build.target));

async function refused(args: string[]): Promise<{ code: number; stderr: string }> {
  const { code, stderr } = await run(Deno.execPath(), [
    "run",
    ...FLAGS,
    MAIN,
    "--token",
    TEST_TOKEN,
    "--udp",
    "127.0.0.1:0",
    ...args,
  ]);
  assert.doesNotMatch(stderr, /run again with|Uncaught/, stderr);
  return { code, stderr };
}

Deno.test("permissions: files outside the allowed folders are refused at start, clearly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string[], RegExp][] = [
      [
        ["--spool", `${dir}/spool`],
        /Cannot create --spool .*may not write there: release builds may write only \/var\/lib\/loggly-relay/,
      ],
      [
        ["--dead-letter", `${dir}/dead.ndjson`],
        /--dead-letter ".*" cannot be written \(.*may write only \/var\/lib\/loggly-relay/,
      ],
      [
        ["--tls", "127.0.0.1:0", "--tls-cert", `${dir}/c.pem`, "--tls-key", `${dir}/k.pem`],
        /--tls-cert ".*c\.pem" cannot be read \(this build of loggly-relay may not read there/,
      ],
      [
        ["-f", `${dir}/syslog2loggly.conf`],
        /-f ".*" cannot be read \(.*may read only \/etc\/loggly-relay, \/etc\/syslog2loggly\.conf, \/etc\/ssl, \/etc\/pki, \/etc\/letsencrypt, \/run\/credentials, \/var\/lib\/loggly-relay/,
      ],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await refused(args);
      assert.ok(code === 1 || code === 2, `${args.join(" ")}: exit ${code}`);
      assert.match(stderr, message, args.join(" "));
    }
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing was written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("permissions: addresses and hosts outside the allowed ones are refused at start", async () => {
  const listen = await refused(["--tcp", "192.0.2.1:5140"]);
  assert.equal(listen.code, 1);
  assert.match(
    listen.stderr,
    /Cannot listen for tcp on 192\.0\.2\.1:5140 \(this build of loggly-relay may not use that address/,
  );
  const udp = await refused(["--udp", "192.0.2.1:5140"]); // node:dgram would throw uncaught
  assert.match(udp.stderr, /Cannot listen for udp on 192\.0\.2\.1:5140/);
  const url = await refused(["--tcp", "off", "--loggly-url", "https://logs.example.com"]);
  assert.equal(url.code, 1);
  assert.match(
    url.stderr,
    /--loggly-url https:\/\/logs\.example\.com cannot be reached .*deno task compile --loggly-url/,
  );
});

Deno.test("permissions: a release build reads every LOGGLY_RELAY_ variable and checks its paths", async () => {
  const { code, stdout, stderr } = await run(Deno.execPath(), [
    "run",
    ...FLAGS,
    MAIN,
    "check-config",
    "--spool",
    "/tmp/not-the-state-folder",
  ], { env: { LOGGLY_TOKEN: TEST_TOKEN, LOGGLY_RELAY_LINGER: "2s", LOGGLY_RELAY_UDP: "off" } });
  assert.doesNotMatch(stderr, /run again with|Uncaught/, stderr);
  assert.equal(code, 1, stdout + stderr);
  assert.match(stdout, /delivery\.linger = "2s" {2}# LOGGLY_RELAY_LINGER/);
  assert.match(stdout, /error: --spool \/tmp\/not-the-state-folder: this build may not write it/);
  assert.ok(!stdout.includes(TEST_TOKEN));
});
