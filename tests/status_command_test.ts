/**
 * `loggly-relay status` against a running relay's HTTP port: one screen (`--once`), JSON for
 * scripts (`--json`), the bearer token beyond loopback, and plain errors when nothing answers.
 * Also /status.json itself: what /metrics says, guarded as /metrics is.
 */
import assert from "node:assert/strict";
import { run, sendTcp, startHarness } from "./helpers.ts";
import { TEST_TOKEN } from "./loggly_stub.ts";
import { DENO_RUN, RelayProcess, waitUntil } from "./relay_process.ts";
import { makeCertificate, makeTestCertificates, tlsArgs } from "./tls_fixture.ts";
import { parseResponse } from "../lib/status/client.ts";
import { startHttpsRelay } from "./https_relay.ts";

const HTTP_TOKEN = "status-bearer-token-0123456789";

function status(...args: string[]) {
  return run(DENO_RUN[0], [...DENO_RUN.slice(1), "status", ...args]);
}

Deno.test("status --once and --json: the running relay's counts, from its HTTP port", async () => {
  const h = await startHarness(["--http", "127.0.0.1:0"]);
  try {
    await sendTcp(h.relay.tcp!.port, "<13>one\n<13>two\n");
    await h.stub.waitForCount(2);
    const address = `127.0.0.1:${h.relay.http!.port}`;
    const once = await status("--once", "--http", address);
    assert.equal(once.code, 0, once.stderr);
    assert.match(once.stdout, new RegExp(`^loggly-relay \\S+ at ${address}, up `));
    assert.match(once.stdout, /^tcp +2 /m);
    assert.match(once.stdout, /^sent +2 /m);
    assert.match(once.stdout, /^Loggly +ok \(200, /m);
    // A tokens file it may not read is no obstacle on loopback, where no token is asked for.
    const tokensFile = await status("--once", "--http", address, "--http-token-file", "/nope/t");
    assert.equal(tokensFile.code, 0, tokensFile.stderr);
    const noCert = await status(
      "--once",
      "--http",
      address,
      "--http-tls-cert",
      "/nope/cert.pem",
      "--http-tls-key",
      "/nope/key.pem",
    );
    assert.equal(noCert.code, 1);
    assert.match(noCert.stderr, /Cannot read --http-tls-cert \/nope\/cert\.pem .*the certificate/);
    const json = await status("--json", "--http", address);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.deepEqual(report.received, { tcp: 2 });
    assert.equal(report.sent, 2);
    assert.equal(report.loggly.state, "ok");
    assert.ok(!json.stdout.includes(TEST_TOKEN));

    // Without --once: a screen a second, in place, until Ctrl-C.
    const child = new Deno.Command(DENO_RUN[0], {
      args: [...DENO_RUN.slice(1), "status", "--http", address],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let shown = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while ((shown.match(/Ctrl-C to stop/g) ?? []).length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      shown += value;
    }
    child.kill("SIGINT");
    const { code } = await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel();
    assert.equal(code, 0);
    const clear = "\x1b[H\x1b[2J";
    assert.ok(shown.split(clear).length - 1 >= 2, "refreshed in place");
  } finally {
    await h.stop();
  }
});

Deno.test("status: beyond loopback /status.json wants a bearer token, as /metrics does", async () => {
  const h = await startHarness(["--http", "0.0.0.0:0", "--http-token", HTTP_TOKEN]);
  try {
    const address = `127.0.0.1:${h.relay.http!.port}`;
    const page = await fetch(`http://${address}/`);
    assert.equal(page.status, 200, "the page holds no data: open");
    assert.match(await page.text(), /<title>loggly-relay status<\/title>/);
    const post = await fetch(`http://${address}/`, { method: "POST", body: "x" });
    assert.equal(post.status, 405, "the page is read only");
    assert.equal(post.headers.get("allow"), "GET");
    await post.body?.cancel();
    const bare = await fetch(`http://${address}/status.json`);
    assert.equal(bare.status, 403);
    await bare.body?.cancel();
    const refused = await status("--once", "--http", address);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /asks for a token \(HTTP 403\)/);
    const allowed = await status("--once", "--http", address, "--http-token", HTTP_TOKEN);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /^Loggly +not asked yet$/m);
  } finally {
    await h.stop();
  }
});

Deno.test("status: no relay there, or no address to ask, is said plainly", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const none = await status("--once", "--http", `127.0.0.1:${port}`);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No relay answers at 127\.0\.0\.1:\d+ .*is it running, with --http\?/);
  const nowhere = await status("--once");
  assert.equal(nowhere.code, 2);
  assert.match(nowhere.stderr, /no --http is configured: give --http HOST:PORT/);
  const misplaced = await run(DENO_RUN[0], [...DENO_RUN.slice(1), "--once", "--dry-run"]);
  assert.equal(misplaced.code, 2);
  assert.match(misplaced.stderr, /--once goes with status/);
});

Deno.test("/status.json: the served certificate's expiry in days, by path, never a key", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(["--http", "127.0.0.1:0", ...tlsArgs(certs)]);
  try {
    const response = await fetch(`http://127.0.0.1:${h.relay.http!.port}/status.json`);
    const report = await response.json();
    assert.equal(report.certificates.length, 1);
    const [cert] = report.certificates;
    assert.equal(cert.input, "syslog TLS");
    assert.equal(cert.path, certs.cert);
    assert.ok(cert.expires > Date.now(), JSON.stringify(cert));
    assert.equal(cert.days, Math.floor((cert.expires - report.now) / 86_400_000));
    assert.ok(!JSON.stringify(report).includes("PRIVATE KEY"));
  } finally {
    await h.stop();
  }
});

Deno.test("/status.json names the config file the running relay read", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/config.toml`;
  await Deno.writeTextFile(file, '[http]\nlisten = "127.0.0.1:0"\n');
  const p = new RelayProcess(["--config", file, "--dry-run"]);
  try {
    await p.ready();
    await waitUntil(() => p.ports.http !== undefined);
    const report = await (await fetch(`http://127.0.0.1:${p.ports.http}/status.json`)).json();
    assert.equal(report.configSource, file);
    assert.equal(await p.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("status over HTTPS trusts exactly the relay's own certificate, by any issuer", async () => {
  const relay = await startHttpsRelay();
  try {
    const address = `127.0.0.1:${relay.port}`;
    const tls = (cert: string) => ["--http-tls-cert", cert, "--http-tls-key", relay.certs.key];
    // The test CA is in no trust store: only pinning the served certificate gets an answer.
    const good = await status("--json", "--http", address, ...tls(relay.certs.cert));
    assert.equal(good.code, 0, good.stderr);
    assert.equal(JSON.parse(good.stdout).sent, 0);
    const other = await status("--once", "--http", address, ...tls(relay.certs.caCert));
    assert.equal(other.code, 1);
    assert.match(other.stderr, /serves another certificate than --http-tls-cert/);
    // Something else on the port, with a certificate of its own: it never sees the token.
    const impostor = await makeCertificate(relay.certs, "impostor", {
      usage: "serverAuth",
      san: "IP:127.0.0.1",
    });
    const seen: string[] = [];
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      cert: await Deno.readTextFile(impostor.cert),
      key: await Deno.readTextFile(impostor.key),
      onListen() {},
    }, (request) => {
      seen.push(request.headers.get("authorization") ?? "");
      return new Response("{}");
    });
    try {
      const spied = await status(
        "--once",
        "--http",
        `127.0.0.1:${server.addr.port}`,
        "--http-token",
        HTTP_TOKEN,
        ...tls(relay.certs.cert),
      );
      assert.equal(spied.code, 1);
      assert.match(spied.stderr, /serves another certificate/);
      assert.deepEqual(seen, [], "no request, no token, went to it");
    } finally {
      await server.shutdown();
    }
  } finally {
    await relay.stop();
  }
});

Deno.test("status: HTTP answers read by hand, chunked or not, counted in bytes", () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  assert.deepEqual(parseResponse(encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")), {
    status: 200,
    text: "{}",
  });
  const chunked = "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n" +
    '6\r\n{"é":\r\n3\r\n1}\n\r\n0\r\n\r\n';
  assert.deepEqual(parseResponse(encode(chunked)), { status: 403, text: '{"é":1}\n' });
  assert.throws(() => parseResponse(encode("garbage")), /ended inside its headers/);
  assert.throws(
    () => parseResponse(encode('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"a":')),
    /cut short/,
  );
});
