/**
 * SIGHUP reloads the whole configuration: what changes is applied (inputs bound again only when
 * their address or TLS settings changed, their limits in place), nothing accepted is lost, and a
 * bad configuration is refused with the running one kept. The plan on its own, a relay
 * in-process, and the process with a file.
 */
import assert from "node:assert/strict";
import tls from "node:tls";
import { M } from "../lib/metrics.ts";
import { startRelay } from "../lib/relay.ts";
import { planReload, reloadRefusal } from "../lib/reload.ts";
import { run, sendTcp, sendUdp, startHarness, testConfig, writeAll } from "./helpers.ts";
import { startHttpsRelay } from "./https_relay.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";
import { DENO_RUN, RelayProcess, waitUntil } from "./relay_process.ts";
import { connectTls, makeCertificate, makeTestCertificates, tlsArgs } from "./tls_fixture.ts";

/** The relay's own fields of an event, as far as these tests look. */
type Relayed = { truncated?: { originalBytes: number; limit: number } };

Deno.test("reload plan: an input is bound again only when its address or TLS settings change", () => {
  const base = ["--tcp", "127.0.0.1:5000", "--udp", "127.0.0.1:5000"];
  const plan = (...args: string[]) => planReload(testConfig(base), testConfig([...base, ...args]));
  assert.deepEqual(plan(), { rebind: [], configure: [], inPlace: [], restart: [] });
  assert.deepEqual(plan("--tag", "new").rebind, []);
  assert.deepEqual(plan("--tag", "new").inPlace, ["tags"]);
  assert.deepEqual(plan("--tcp", "127.0.0.1:5001").rebind, ["tcp"]);
  assert.deepEqual(plan("--udp", "off").rebind, ["udp"]);
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
});

/** What a plan binds again, configures in place and names as in place. */
function inPlace(before: string[], after: string[]): [string[], string[], string[]] {
  const { rebind, configure, inPlace } = planReload(testConfig(before), testConfig(after));
  return [rebind, configure, inPlace];
}

Deno.test("reload plan: limits change in place, on the inputs that stay bound", () => {
  const base = ["--tcp", "127.0.0.1:5000", "--udp", "127.0.0.1:5000"];
  const plan = (...args: string[]) => inPlace(base, [...base, ...args]);
  assert.deepEqual(plan("--idle-timeout", "1m"), [[], ["tcp"], ["limits"]]);
  assert.deepEqual(plan("--message-timeout", "2m"), [[], ["tcp"], ["limits"]]);
  assert.deepEqual(plan("--max-message-bytes", "1KiB"), [[], ["udp", "tcp"], ["limits"]]);
  assert.deepEqual(
    plan("--max-connections", "5", "--max-connections-per-peer", "2"),
    [[], ["tcp"], ["limits"]],
  );
  assert.deepEqual(plan("--udp-recv-buffer", "1MiB"), [[], ["udp"], ["limits"]]);
  assert.deepEqual(plan("--handshake-timeout", "1s"), [[], [], []], "no TLS: nothing to apply");
  // An input bound again gets its limits from binding; one turned off gets none.
  assert.deepEqual(plan("--udp", "off", "--max-message-bytes", "1KiB"), [
    ["udp"],
    ["tcp"],
    ["limits"],
  ]);
  assert.deepEqual(plan("--tcp", "127.0.0.1:5001", "--max-connections", "5"), [["tcp"], [], []]);
});

Deno.test("reload plan: syslog TLS is bound again for its files or version, not its limits", () => {
  const tls = [
    ...["--tcp", "off", "--udp", "off", "--tls", "127.0.0.1:6514"],
    ...["--tls-cert", "/etc/relay/cert.pem", "--tls-key", "/etc/relay/key.pem"],
  ];
  const plan = (...args: string[]) => inPlace(tls, [...tls, ...args]);
  assert.deepEqual(plan("--handshake-timeout", "1s"), [[], ["tls"], ["limits"]]);
  assert.deepEqual(plan("--max-connections", "5"), [[], ["tls"], ["limits"]]);
  assert.deepEqual(plan("--max-message-bytes", "1KiB"), [[], ["tls"], ["limits"]]);
  assert.deepEqual(plan("--tls-cert", "/etc/relay/new.pem"), [["tls"], [], []]);
  assert.deepEqual(plan("--tls-key", "/etc/relay/new.pem"), [["tls"], [], []]);
  assert.deepEqual(plan("--tls-client-ca", "/etc/relay/ca.pem"), [["tls"], [], []]);
  assert.deepEqual(plan("--tls-max-version", "1.3"), [["tls"], [], []]);
  assert.deepEqual(plan("--tls", "127.0.0.1:6515"), [["tls"], [], []]);
});

Deno.test("reload plan: the HTTP input takes tokens and limits in place; its address and HTTPS files bind it again", () => {
  const http = ["--http", "127.0.0.1:8080", "--http-token", "http-token-0123456789abcdef"];
  const plan = (...args: string[]) => inPlace(http, [...http, ...args]);
  assert.deepEqual(plan("--accept-token", "11111111-2222-4333-8444-555555555555"), [
    [],
    ["http"],
    ["tokens"],
  ]);
  assert.deepEqual(
    inPlace(http, [...http.slice(0, 2), "--http-token", "http-token-fedcba9876543210"]),
    [[], ["http"], ["http tokens"]],
  );
  assert.deepEqual(plan("--http-max-body-bytes", "1KiB"), [[], ["http"], ["limits"]]);
  assert.deepEqual(plan("--health-failing-after", "1m"), [[], ["http"], ["limits"]]);
  assert.deepEqual(plan("--handshake-timeout", "1s"), [[], [], []], "plain HTTP: no handshake");
  assert.deepEqual(plan("--http", "127.0.0.1:8081"), [["http"], [], []]);
  const https = [...http, "--http-tls-cert", "/etc/relay/cert.pem", "--http-tls-key", "/k.pem"];
  assert.deepEqual(plan(...https.slice(4)), [["http"], [], []]);
  assert.deepEqual(
    inPlace(https, [...https, "--handshake-timeout", "1s"]),
    [[], ["http"], ["limits"]],
  );
  assert.deepEqual(
    inPlace(https, [...https, "--http-tls-key", "/etc/relay/new.pem"]),
    [["http"], [], []],
  );
});

Deno.test("reload in-process: tags and the TCP address change, no event is lost", async () => {
  const h = await startHarness(["--tag", "before"]);
  try {
    const oldPort = h.relay.tcp!.port;
    await sendTcp(oldPort, "<13>sent before\n");
    await waitUntil(() => h.stub.received.length === 1);
    // Another address: bound again, with the new limits.
    const plan = await h.relay.reload(
      testConfig(
        ["--tag", "after", "--tcp", "127.0.0.2:0", "--max-connections", "50", "--linger", "10ms"],
        h.stub,
      ),
    );
    assert.deepEqual([plan.rebind, plan.configure], [["tcp"], []]);
    assert.deepEqual(plan.inPlace, ["tags", "delivery"]);
    const newPort = h.relay.tcp!.port;
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: oldPort }));
    const conn = await Deno.connect({ hostname: "127.0.0.2", port: newPort });
    await writeAll(conn, new TextEncoder().encode("<13>sent after\n"));
    conn.close();
    await waitUntil(() => h.stub.received.length === 2);
    assert.deepEqual(h.stub.received.map((r) => [r.event.message, r.tags]), [
      ["sent before", ["before"]],
      ["sent after", ["after"]],
    ]);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

Deno.test("reload in place: lower --max-message-bytes and --max-connections on the same ports; an open connection stays", async () => {
  const h = await startHarness();
  const encoder = new TextEncoder();
  const port = h.relay.tcp!.port;
  const first = await Deno.connect({ hostname: "127.0.0.1", port });
  let second: Deno.Conn | undefined;
  try {
    await writeAll(first, encoder.encode("<13>before\n"));
    await h.stub.waitForCount(1);
    const ports = [h.relay.udp!.port, port];
    const plan = await h.relay.reload(
      testConfig(
        ["--max-message-bytes", "32", "--max-connections", "1", "--udp-recv-buffer", "64KiB"],
        h.stub,
      ),
    );
    assert.deepEqual([plan.rebind, plan.configure, plan.inPlace], [[], ["udp", "tcp"], [
      "limits",
    ]]);
    assert.deepEqual([h.relay.udp!.port, h.relay.tcp!.port], ports, "the same sockets");
    // The open connection goes on, with the new size from its next message; UDP has it too.
    const long = `<13>${"x".repeat(96)}`;
    await writeAll(first, encoder.encode(`${long}\n`));
    await h.stub.waitForCount(2);
    await sendUdp(ports[0], long);
    await h.stub.waitForCount(3);
    // At --max-connections 1 a second connection waits, unread, while the first is open.
    second = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(second, encoder.encode("<13>second\n"));
    await writeAll(first, encoder.encode("<13>first again\n"));
    await h.stub.waitForCount(4);
    assert.equal(h.relay.metrics.get(M.connections, { input: "tcp" }), 1);
    first.close();
    await h.stub.waitForCount(5);
    const cut = { originalBytes: 100, limit: 32 };
    assert.deepEqual(
      h.stub.received.map((r) => [r.event.message, (r.event.relay as Relayed).truncated]),
      [
        ["before", undefined],
        ["x".repeat(28), cut],
        ["x".repeat(28), cut],
        ["first again", undefined],
        ["second", undefined],
      ],
    );
    assert.equal(h.relay.metrics.total(M.connectionsClosed), 0, "no connection was cut");
  } finally {
    second?.close();
    try {
      first.close();
    } catch { /* closed above */ }
    assert.equal(await h.stop(), 0);
  }
});

Deno.test("reload in place: a raised --max-connections admits a connection waiting in the backlog", async () => {
  const h = await startHarness(["--max-connections", "1"]);
  const encoder = new TextEncoder();
  const port = h.relay.tcp!.port;
  const conns: Deno.Conn[] = [];
  try {
    conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await writeAll(conns[0], encoder.encode("<13>first\n"));
    await h.stub.waitForCount(1);
    conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await writeAll(conns[1], encoder.encode("<13>second\n"));
    const plan = await h.relay.reload(testConfig(["--max-connections", "2"], h.stub));
    assert.deepEqual([plan.rebind, plan.configure], [[], ["tcp"]]);
    await h.stub.waitForCount(2); // the first is still open
    await writeAll(conns[0], encoder.encode("<13>first again\n"));
    await h.stub.waitForCount(3);
    assert.deepEqual(h.stub.messages(), ["first", "second", "first again"]);
    assert.equal(h.relay.tcp!.port, port);
  } finally {
    for (const conn of conns) conn.close();
    assert.equal(await h.stop(), 0);
  }
});

Deno.test("reload in place: syslog TLS takes new limits; an established TLS connection stays", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(tlsArgs(certs));
  const port = h.relay.tls!.port;
  const socket = await connectTls(port, await Deno.readTextFile(certs.caCert));
  try {
    socket.write("<13>before\n");
    await h.stub.waitForCount(1);
    const plan = await h.relay.reload(
      testConfig(tlsArgs(certs, "--max-message-bytes", "32", "--handshake-timeout", "2s"), h.stub),
    );
    assert.deepEqual([plan.rebind, plan.configure], [[], ["udp", "tcp", "tls"]]);
    assert.equal(h.relay.tls!.port, port, "the same socket");
    socket.write(`<13>${"x".repeat(96)}\n`);
    await h.stub.waitForCount(2);
    assert.deepEqual((h.stub.received[1].event.relay as Relayed).truncated, {
      originalBytes: 100,
      limit: 32,
    });
    const again = await connectTls(port, await Deno.readTextFile(certs.caCert));
    again.end("<13>a new connection\n");
    await h.stub.waitForCount(3);
    assert.equal(h.relay.metrics.total(M.connectionsClosed), 0);
  } finally {
    socket.destroy();
    assert.equal(await h.stop(), 0);
  }
});

Deno.test("reload in place: HTTP tokens and body limit change without binding the HTTP input again", async () => {
  const [oldToken, newToken] = ["http-token-0123456789abcdef", "http-token-fedcba9876543210"];
  const account = "11111111-2222-4333-8444-555555555555";
  const stub = new LogglyStub(TEST_TOKEN, account).start();
  const relay = await startRelay(
    testConfig(["--http", "127.0.0.1:0", "--http-token", oldToken], stub),
  );
  const port = relay.http!.port;
  const post = async (path: string, token: string, body = "hello") => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" },
      body,
    });
    await response.body?.cancel();
    return response.status;
  };
  try {
    assert.equal(await post("/v1/events", oldToken), 200);
    assert.equal(await post(`/inputs/${account}/`, oldToken), 403);
    const plan = await relay.reload(
      testConfig([
        ...["--http", "127.0.0.1:0", "--http-token", newToken, "--accept-token", account],
        ...["--http-max-body-bytes", "1KiB"],
      ], stub),
    );
    assert.deepEqual([plan.rebind, plan.configure, plan.inPlace], [[], ["http"], [
      "tokens",
      "http tokens",
      "limits",
    ]]);
    assert.equal(relay.http!.port, port, "the same socket");
    assert.equal(await post("/v1/events", oldToken), 401);
    assert.equal(await post("/v1/events", newToken), 200);
    assert.equal(await post("/v1/events", newToken, "x".repeat(1025)), 413);
    assert.equal(await post(`/inputs/${account}/`, newToken), 200);
    await stub.waitForCount(3);
    assert.deepEqual(
      stub.received.map((r) => r.token).toSorted(),
      [TEST_TOKEN, TEST_TOKEN, account].toSorted(),
    );
  } finally {
    assert.equal(await relay.stop(2000), 0);
    await stub.stop();
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

    await write("second", '[inputs]\nmax_message_bytes = "32KiB"\n');
    p.child.kill("SIGHUP");
    await waitUntil(() => /SIGHUP: configuration read again; applied: tags, limits/.test(p.stderr));
    assert.ok(!/input bound again/.test(p.stderr), "a limit changes in place");
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

Deno.test("reload plan: what only a restart applies warns at every reload until it is undone", () => {
  const started = testConfig(["--spool", "/var/lib/x", "--queue-max-bytes", "16MiB"]);
  const bigger = testConfig(["--spool", "/var/lib/x", "--queue-max-bytes", "32MiB"]);
  const memory = /the spool's memory bound/;
  // The first reload warns; the relay keeps running with the spool as it started.
  assert.match(planReload(started, bigger, started).restart.join(), memory);
  // A second reload of the same file warns again (the spool still has its first bound) ...
  assert.match(planReload(bigger, bigger, started).restart.join(), memory);
  // ... and none once the file says what is in force again.
  assert.deepEqual(planReload(bigger, started, started).restart, []);
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

    // A broken renewal (a key of another certificate, then an empty file) is refused, and
    // HTTPS goes on with what it served, not with the files now on disk.
    const other = await makeCertificate(r.certs, "other", {
      usage: "serverAuth",
      san: "IP:127.0.0.1, DNS:localhost",
    });
    await Deno.copyFile(other.cert, r.certs.cert);
    await assert.rejects(
      r.h.relay.reload(testConfig(args, r.h.stub)),
      /--http-tls-key .* does not belong to --http-tls-cert/,
    );
    assert.equal(await subject(), "renewed");
    await Deno.writeTextFile(r.certs.cert, "");
    await assert.rejects(
      r.h.relay.reload(testConfig(args, r.h.stub)),
      /--http-tls-cert .* is not a PEM certificate/,
    );
    assert.equal(await subject(), "renewed");
  } finally {
    await r.stop();
  }
});

Deno.test("reload refused by an input that cannot be bound keeps the TLS certificate too", async () => {
  await using certs = await makeTestCertificates();
  const args = tlsArgs(certs);
  const h = await startHarness(args);
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const ca = await Deno.readTextFile(certs.caCert);
  const served = () =>
    new Promise<string>((resolve, reject) => {
      const socket = tls.connect(
        { host: "127.0.0.1", port: h.relay.tls!.port, ca, servername: "localhost" },
        () => {
          resolve(socket.getPeerCertificate().subject.CN);
          socket.destroy();
        },
      );
      socket.once("error", reject);
    });
  try {
    const before = await served();
    const renewed = await makeCertificate(certs, "renewed", {
      usage: "serverAuth",
      san: "IP:127.0.0.1, DNS:localhost",
    });
    await Deno.copyFile(renewed.cert, certs.cert);
    await Deno.copyFile(renewed.key, certs.key);
    const port = (taken.addr as Deno.NetAddr).port;
    await assert.rejects(h.relay.reload(testConfig([...args, "--tcp", `127.0.0.1:${port}`])));
    assert.equal(await served(), before, "the refused reload changed no certificate");
    // The same renewal with a reload that succeeds is taken.
    await h.relay.reload(testConfig(args));
    assert.equal(await served(), "renewed");
  } finally {
    taken.close();
    await h.stop();
  }
});
