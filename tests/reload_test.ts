/**
 * SIGHUP reloads the whole configuration: what changes is applied (inputs bound again only when
 * their own settings changed), nothing accepted is lost, and a bad configuration is refused with
 * the running one kept. The plan on its own, a relay in-process, and the process with a file.
 */
import assert from "node:assert/strict";
import tls from "node:tls";
import { planReload, reloadRefusal } from "../lib/reload.ts";
import { run, sendTcp, startHarness, testConfig } from "./helpers.ts";
import { startHttpsRelay } from "./https_relay.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";
import { DENO_RUN, RelayProcess, waitUntil } from "./relay_process.ts";
import { makeCertificate } from "./tls_fixture.ts";

Deno.test("reload plan: each input is bound again only when its own settings change", () => {
  const base = ["--tcp", "127.0.0.1:5000", "--udp", "127.0.0.1:5000"];
  const plan = (...args: string[]) => planReload(testConfig(base), testConfig([...base, ...args]));
  assert.deepEqual(plan(), { rebind: [], inPlace: [], restart: [] });
  assert.deepEqual(plan("--tag", "new").rebind, []);
  assert.deepEqual(plan("--tag", "new").inPlace, ["tags"]);
  assert.deepEqual(plan("--tcp", "127.0.0.1:5001").rebind, ["tcp"]);
  assert.deepEqual(plan("--idle-timeout", "1m").rebind, ["tcp"], "a TCP setting: TCP only");
  assert.deepEqual(plan("--max-message-bytes", "1KiB").rebind, ["udp", "tcp"]);
  assert.deepEqual(plan("--http", "127.0.0.1:8080").rebind, ["http"]);
  assert.deepEqual(plan("--linger", "5s", "--concurrency", "2").inPlace, ["delivery"]);
  assert.deepEqual(plan("--queue-max-events", "100").inPlace, ["delivery"]);
  assert.deepEqual(plan("-v").inPlace, ["log"]);
  assert.deepEqual(plan("--syslog-timezone", "Europe/Berlin").inPlace, ["time zone"]);
  assert.deepEqual(plan("--accept-token", "11111111-2222-4333-8444-555555555555").inPlace, [
    "tokens",
  ]);
  assert.deepEqual(plan("--spool", "/tmp/x").restart, ["--spool settings"]);
  assert.deepEqual(plan("--dry-run").restart, ["--dry-run"]);
  // The HTTP app checks tokens in its paths: a new token binds it again.
  const http = [...base, "--http", "127.0.0.1:8080"];
  assert.deepEqual(
    planReload(
      testConfig(http),
      testConfig([...http, "--accept-token", "11111111-2222-4333-8444-555555555555"]),
    ).rebind,
    ["http"],
  );
});

Deno.test("reload in-process: tags and the TCP address change, no event is lost", async () => {
  const h = await startHarness(["--tag", "before"]);
  try {
    const oldPort = h.relay.tcp!.port;
    await sendTcp(oldPort, "<13>sent before\n");
    await waitUntil(() => h.stub.received.length === 1);
    // The same configured address (an ephemeral port) but another TCP setting: bound again.
    const plan = await h.relay.reload(
      testConfig(["--tag", "after", "--max-connections", "50", "--linger", "10ms"], h.stub),
    );
    assert.deepEqual(plan.rebind, ["tcp"]);
    assert.deepEqual(plan.inPlace, ["tags", "delivery"]);
    const newPort = h.relay.tcp!.port;
    assert.notEqual(newPort, oldPort);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: oldPort }));
    await sendTcp(newPort, "<13>sent after\n");
    await waitUntil(() => h.stub.received.length === 2);
    assert.deepEqual(h.stub.received.map((r) => [r.event.message, r.tags]), [
      ["sent before", ["before"]],
      ["sent after", ["after"]],
    ]);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

Deno.test("reload in-process: an address that cannot be bound is refused, inputs as they were", async () => {
  const h = await startHarness();
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = (busy.addr as Deno.NetAddr).port;
  try {
    const udpBefore = h.relay.udp!.port;
    const tcpBefore = h.relay.tcp!.port;
    await assert.rejects(
      h.relay.reload(
        testConfig(["--udp", "127.0.0.1:0", "--tcp", `127.0.0.1:${taken}`, "--tag", "x"], h.stub),
      ),
      new RegExp(`Cannot listen for tcp on 127\\.0\\.0\\.1:${taken}`),
    );
    // UDP was bound again before TCP failed: it went back as it was (a new ephemeral port).
    assert.ok(h.relay.udp !== null && h.relay.tcp !== null);
    assert.notEqual(h.relay.tcp.port, taken);
    await sendTcp(h.relay.tcp.port, "<13>still here\n");
    await waitUntil(() => h.stub.received.length === 1);
    assert.deepEqual(h.stub.received[0].tags, [], "the new tag was not applied");
    assert.ok(udpBefore > 0 && tcpBefore > 0);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

Deno.test("the README's way: a config file and a credential, check-config, edit, SIGHUP, the change in the log", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  const dir = await Deno.makeTempDir();
  const file = `${dir}/config.toml`;
  // systemd's LoadCredential= puts the token here and names the folder in CREDENTIALS_DIRECTORY.
  await Deno.mkdir(`${dir}/credentials`);
  await Deno.writeTextFile(`${dir}/credentials/loggly-token`, `${TEST_TOKEN}\n`);
  const env = { CREDENTIALS_DIRECTORY: `${dir}/credentials` };
  const write = (tag: string, extra = "") =>
    Deno.writeTextFile(
      file,
      `[loggly]\ntags = ["${tag}"]\nurl = "${stub.url}"\n[delivery]\nlinger = "50ms"\n${extra}`,
    );
  await write("first");
  const check = await run(DENO_RUN[0], [...DENO_RUN.slice(1), "check-config", "--config", file], {
    env,
  });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(
    check.stdout,
    /loggly\.token = \[REDACTED\] {2}# the systemd credential .*loggly-token/,
  );
  const p = new RelayProcess(["--config", file], env);
  try {
    const { tcp } = await p.ready();
    await sendTcp(tcp, "<13>one\n");
    await waitUntil(() => stub.received.length === 1);

    await write("second");
    p.child.kill("SIGHUP");
    await waitUntil(() => /SIGHUP: configuration read again; applied: tags/.test(p.stderr));
    await sendTcp(tcp, "<13>two\n");
    await waitUntil(() => stub.received.length === 2);

    await write("third", "[delivery]\nconcurency = 2\n"); // a second [delivery] and a typo
    p.child.kill("SIGHUP");
    await waitUntil(() => /SIGHUP: the new configuration is refused/.test(p.stderr));
    await sendTcp(tcp, "<13>three\n");
    await waitUntil(() => stub.received.length === 3);

    assert.deepEqual(stub.received.map((r) => [r.event.message, r.tags[0]]), [
      ["one", "first"],
      ["two", "second"],
      ["three", "second"],
    ]);
    assert.equal(await p.stop(), 0);
    assert.ok(!p.stderr.includes(TEST_TOKEN));
  } catch (error) {
    console.log(p.stderr);
    throw error;
  } finally {
    await stub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reload: a config file read at start that is gone is refused, not run on defaults", () => {
  assert.match(
    reloadRefusal("/etc/loggly-relay/config.toml", null)!,
    /the config file \/etc\/loggly-relay\/config\.toml is gone/,
  );
  assert.equal(
    reloadRefusal("/etc/loggly-relay/config.toml", "/etc/loggly-relay/config.toml"),
    null,
  );
  assert.equal(reloadRefusal(null, null), null);
  assert.equal(reloadRefusal(null, "/etc/loggly-relay/config.toml"), null);
});

Deno.test("reload: a SIGHUP while the relay stops binds nothing again; the stop goes on", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  stub.fail({ status: 503, times: 1_000 });
  const p = new RelayProcess([
    "--loggly-url",
    stub.url,
    "--token",
    TEST_TOKEN,
    "--linger",
    "10ms",
    "--retry-initial-delay",
    "50ms",
    "--shutdown-timeout",
    "2s",
  ]);
  try {
    const { tcp } = await p.ready();
    await sendTcp(tcp, "<13>held by an outage\n");
    await waitUntil(() => stub.statuses.length > 0);
    p.child.kill("SIGTERM");
    await waitUntil(() => p.stderr.includes("stopping inputs and flushing"));
    p.child.kill("SIGHUP");
    await waitUntil(() => p.stderr.includes("SIGHUP while the relay is stopping: not reloading"));
    const { code } = await p.child.status;
    assert.equal(code, 3, "the event held by the outage is reported lost");
    assert.equal((p.stderr.match(/Listening for/g) ?? []).length, 2, "nothing bound again");
  } catch (error) {
    console.log(p.stderr);
    throw error;
  } finally {
    await p.child.stdout.cancel().catch(() => {});
    await stub.stop();
  }
});

Deno.test("reload: renewed HTTPS files (same paths) bind the HTTP input again, with the new certificate", async () => {
  const r = await startHttpsRelay();
  const ca = await Deno.readTextFile(r.certs.caCert);
  const subject = () =>
    new Promise<string>((resolve, reject) => {
      const socket = tls.connect(
        { host: "127.0.0.1", port: r.h.relay.http!.port, ca, servername: "localhost" },
        () => {
          resolve(socket.getPeerCertificate().subject.CN);
          socket.destroy();
        },
      );
      socket.once("error", reject);
    });
  try {
    const args = [
      "--http",
      "127.0.0.1:0",
      "--http-tls-cert",
      r.certs.cert,
      "--http-tls-key",
      r.certs.key,
    ];
    assert.deepEqual((await r.h.relay.reload(testConfig(args, r.h.stub))).rebind, []);
    const before = await subject();
    const renewed = await makeCertificate(r.certs, "renewed", {
      usage: "serverAuth",
      san: "IP:127.0.0.1, DNS:localhost",
    });
    await Deno.copyFile(renewed.cert, r.certs.cert);
    await Deno.copyFile(renewed.key, r.certs.key);
    assert.deepEqual((await r.h.relay.reload(testConfig(args, r.h.stub))).rebind, ["http"]);
    assert.equal(await subject(), "renewed");
    assert.notEqual(before, "renewed");
  } finally {
    await r.stop();
  }
});
