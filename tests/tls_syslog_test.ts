/**
 * Syslog over TLS: certificate checks as pure functions, and end to end with real TLS clients
 * (openssl s_client, Python's ssl module, node:tls, syslog-ng's loggen) against the stand-in.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import { M } from "../lib/metrics.ts";
import {
  CertificateError,
  checkClient,
  readMaterial,
  type TlsInputFiles,
} from "../lib/syslog/tls_certs.ts";
import { run, startHarness } from "./helpers.ts";
import { makeCertificate, makeStrangerCa, makeTestCertificates, tlsArgs } from "./tls_fixture.ts";

const DAY = 86_400_000;

/** What node:tls hands the relay for a client certificate. */
function peerOf(pem: string) {
  return { raw: new Uint8Array(new X509Certificate(pem).raw) };
}

Deno.test("TLS files: missing, not PEM, a key of another certificate, expired — clear errors", async () => {
  await using certs = await makeTestCertificates();
  const other = await makeCertificate(certs, "other");
  const files: TlsInputFiles = { cert: certs.cert, key: certs.key, clientCa: null };
  assert.doesNotThrow(() => readMaterial(files, Date.now()));
  const fails = (f: typeof files, pattern: RegExp, now = Date.now()) =>
    assert.throws(
      () => readMaterial(f, now),
      (e: unknown) => e instanceof CertificateError && pattern.test(e.message),
    );
  fails({ ...files, cert: `${certs.dir}/nope.pem` }, /--tls-cert ".*nope\.pem" cannot be read/);
  fails({ ...files, cert: certs.key }, /is not a PEM certificate/);
  fails({ ...files, key: other.key }, /does not belong to --tls-cert/);
  fails(files, /expired on .*: renew it/, Date.now() + 3 * DAY);
  fails({ ...files, clientCa: certs.key }, /--tls-client-ca .* holds no certificate/);
});

Deno.test("client certificates: the CA's client cert passes; others are refused with the reason", async () => {
  await using certs = await makeTestCertificates();
  const good = await makeCertificate(certs, "client-good");
  const serverOnly = await makeCertificate(certs, "client-server-usage", { usage: "serverAuth" });
  const stranger = await makeStrangerCa(certs);
  const foreign = await makeCertificate(certs, "client-foreign", {
    caPem: stranger.pem,
    caKey: stranger.key,
  });
  const cas = [new X509Certificate(await Deno.readTextFile(certs.caCert))];
  const pem = (path: string) => Deno.readTextFileSync(path);
  const now = Date.now();
  assert.equal(checkClient(peerOf(pem(good.cert)), cas, now), null);
  assert.match(checkClient({}, cas, now)!, /presented no certificate/);
  assert.match(
    checkClient(peerOf(pem(serverOnly.cert)), cas, now)!,
    /not for client authentication/,
  );
  assert.match(checkClient(peerOf(pem(foreign.cert)), cas, now)!, /not issued by a CA/);
  assert.match(checkClient(peerOf(pem(good.cert)), cas, now + 3 * DAY)!, /expired/);
});

async function openssl(port: number, input: string, extra: string[]) {
  return await run("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    "-quiet",
    "-verify_return_error",
    "-no_ign_eof",
    ...extra,
  ], { stdin: input });
}

Deno.test("TLS end to end: openssl with a client certificate delivers; without one it is refused", async () => {
  await using certs = await makeTestCertificates();
  const client = await makeCertificate(certs, "client");
  const h = await startHarness(tlsArgs(certs, "--tls-client-ca", certs.caCert));
  try {
    const port = h.relay.tls!.port;
    const message = "<13>1 - host app - - - over tls";
    const ok = await openssl(port, `${message.length} ${message}`, [
      "-CAfile",
      certs.caCert,
      "-cert",
      client.cert,
      "-key",
      client.key,
    ]);
    await h.stub.waitForCount(1);
    assert.equal(h.stub.messages()[0], "over tls", ok.stderr);
    assert.equal((h.stub.received[0].event.relay as Record<string, string>).input, "tls");

    await openssl(port, "<13>without a certificate\n", ["-CAfile", certs.caCert]);
    await h.stub.waitFor(
      () =>
        h.relay.metrics.get(M.connectionsClosed, { input: "tls", reason: "client certificate" }) ===
          1,
      5000,
      "the refusal",
    );
    assert.ok(!h.stub.messages().includes("without a certificate"));

    const old = await openssl(port, "<13>old protocol\n", ["-tls1_1", "-CAfile", certs.caCert]);
    assert.notEqual(old.code, 0, "TLS 1.1 must be refused");
  } finally {
    await h.stop();
  }
});

const PYTHON_CLIENT = `
import socket, ssl, sys
port, ca, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
context = ssl.create_default_context(cafile=ca)
context.load_cert_chain(cert, key)
with socket.create_connection(("127.0.0.1", port)) as raw:
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        for i in range(3):
            msg = f"<14>1 2026-11-26T21:30:46.000Z py app - - - python {i}".encode()
            s.sendall(str(len(msg)).encode() + b" " + msg)
`;

Deno.test("TLS end to end: Python's ssl module with a client certificate", async () => {
  await using certs = await makeTestCertificates();
  const client = await makeCertificate(certs, "python-client");
  const h = await startHarness(tlsArgs(certs, "--tls-client-ca", certs.caCert));
  try {
    const port = String(h.relay.tls!.port);
    // It writes and closes at once: see the short-connection tests below for why that is safe.
    const result = await run("python3", [
      "-c",
      PYTHON_CLIENT,
      port,
      certs.caCert,
      client.cert,
      client.key,
    ]);
    assert.equal(result.code, 0, result.stderr);
    await h.stub.waitForCount(3);
    assert.deepEqual(h.stub.messages(), ["python 0", "python 1", "python 2"]);
  } finally {
    await h.stop();
  }
});

/**
 * Short-lived senders: each connection writes three octet-counted messages and closes at once,
 * reading nothing, as write-only syslog clients do. Every other connection first waits until the
 * server has sent something after the handshake (TLS 1.3 session tickets), so that closing finds
 * unread bytes: the client's kernel then resets the connection (RFC 2525, 2.17) and discards what
 * it still held unsent. The rest write straight away, the race first seen in the field. Prints
 * the protocol versions negotiated.
 */
const SHORT_PYTHON_CLIENTS = `
import select, socket, ssl, sys
port, ca, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
context = ssl.create_default_context(cafile=ca)
if len(sys.argv) > 4:
    context.load_cert_chain(sys.argv[4], sys.argv[5])
versions = set()
for c in range(count):
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            versions.add(s.version())
            if c % 2 == 0 and s.version() == "TLSv1.3":
                select.select([s], [], [], 2)  # the tickets arrive; they are left unread
            for i in range(3):
                msg = f"<14>1 2026-11-26T21:30:46.000Z py app - - - short {c} {i}".encode()
                s.sendall(str(len(msg)).encode() + b" " + msg)
print(" ".join(sorted(versions)))
`;

const SHORT_CONNECTIONS = 30;

/** Runs the short senders against a TLS relay and checks that every message arrived. */
async function shortConnectionsDeliverAll(clientCertificates: boolean): Promise<void> {
  await using certs = await makeTestCertificates();
  const client = await makeCertificate(certs, "short-client");
  const h = await startHarness(
    tlsArgs(certs, ...(clientCertificates ? ["--tls-client-ca", certs.caCert] : [])),
  );
  try {
    const result = await run("python3", [
      "-c",
      SHORT_PYTHON_CLIENTS,
      String(h.relay.tls!.port),
      certs.caCert,
      String(SHORT_CONNECTIONS),
      ...(clientCertificates ? [client.cert, client.key] : []),
    ]);
    assert.equal(result.code, 0, result.stderr);
    const expected: string[] = [];
    for (let c = 0; c < SHORT_CONNECTIONS; c++) {
      for (let i = 0; i < 3; i++) expected.push(`short ${c} ${i}`);
    }
    await h.stub.waitForCount(expected.length);
    assert.deepEqual(h.stub.messages().toSorted(), expected.toSorted());
    assert.equal(h.relay.metrics.get(M.received, { input: "tls" }), expected.length);
    assert.equal(result.stdout.trim(), "TLSv1.2", "the protocol the relay negotiated");
  } finally {
    await h.stop();
  }
}

Deno.test("TLS short connections: every message of senders that write and close at once arrives", async () => {
  await shortConnectionsDeliverAll(false);
});

Deno.test("TLS short connections with client certificates: every message arrives", async () => {
  await shortConnectionsDeliverAll(true);
});

Deno.test("TLS end to end: loggen --use-ssl (syslog-ng) delivers every message", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(tlsArgs(certs));
  try {
    const port = String(h.relay.tls!.port);
    const result = await run("loggen", [
      "--use-ssl", // its own TCP+TLS transport: not with --stream/--inet
      "--size",
      "200",
      "--number",
      "500",
      "--rate",
      "100000",
      "--interval",
      "10",
      "--active-connections",
      "1",
      "127.0.0.1",
      port,
    ]);
    assert.equal(result.code, 0, `loggen: ${result.stderr}`);
    await h.stub.waitForCount(500);
    assert.ok(h.stub.messages().every((m) => m.includes("seq: ")));
  } finally {
    await h.stop();
  }
});

Deno.test("SIGHUP reload: new connections get the new certificate; established ones stay up", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(tlsArgs(certs));
  const ca = await Deno.readTextFile(certs.caCert);
  const opened: tls.TLSSocket[] = [];
  const connect = () =>
    new Promise<tls.TLSSocket>((resolve, reject) => {
      const socket = tls.connect({
        host: "127.0.0.1",
        port: h.relay.tls!.port,
        ca,
        servername: "localhost",
      }, () => resolve(socket));
      opened.push(socket);
      socket.once("error", reject);
    });
  try {
    const before = await connect();
    assert.equal(before.getProtocol(), "TLSv1.2");
    const firstSerial = before.getPeerCertificate().serialNumber;
    // Replace the files with a new server certificate, then reload as SIGHUP does.
    const renewed = await makeCertificate(certs, "renewed", {
      usage: "serverAuth",
      san: "IP:127.0.0.1, DNS:localhost",
    });
    await Deno.copyFile(renewed.cert, certs.cert);
    await Deno.copyFile(renewed.key, certs.key);
    h.relay.reloadCertificates();
    const after = await connect();
    assert.notEqual(after.getPeerCertificate().serialNumber, firstSerial);
    assert.equal(after.getPeerCertificate().subject.CN, "renewed");
    assert.equal(after.getProtocol(), "TLSv1.2", "the reloaded context keeps the version limit");
    after.destroy();
    before.write("<13>still up after reload\n");
    await h.stub.waitForCount(1);
    assert.equal(h.stub.messages()[0], "still up after reload");
  } finally {
    for (const socket of opened) socket.destroy();
    await h.stop();
  }
});

Deno.test("--tls-max-version 1.3 offers TLS 1.3, also after SIGHUP", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(tlsArgs(certs, "--tls-max-version", "1.3"));
  const ca = await Deno.readTextFile(certs.caCert);
  const protocol = () =>
    new Promise<string | null>((resolve, reject) => {
      const socket = tls.connect({ host: "127.0.0.1", port: h.relay.tls!.port, ca }, () => {
        resolve(socket.getProtocol());
        socket.destroy();
      });
      socket.once("error", reject);
    });
  try {
    assert.equal(await protocol(), "TLSv1.3");
    h.relay.reloadCertificates();
    assert.equal(await protocol(), "TLSv1.3");
  } finally {
    await h.stop();
  }
});

Deno.test("TLS stop ends connections still in their handshake instead of waiting for them", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(tlsArgs(certs, "--max-connections-per-peer", "1"));
  const port = h.relay.tls!.port;
  // Connects and never says hello; the refused second connection shows the first was accepted.
  const silent = await Deno.connect({ hostname: "127.0.0.1", port });
  const refused = await Deno.connect({ hostname: "127.0.0.1", port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopping: Promise<number> | undefined;
  try {
    await h.stub.waitFor(
      () =>
        h.relay.metrics.get(M.connectionsClosed, { input: "tls", reason: "connection limit" }) ===
          1,
      5000,
      "the refusal",
    );
    stopping = h.stop();
    const outcome = await Promise.race([
      stopping.then(() => "stopped"),
      new Promise<string>((resolve) => timer = setTimeout(() => resolve("still waiting"), 5000)),
    ]);
    assert.equal(outcome, "stopped");
  } finally {
    clearTimeout(timer);
    silent.close();
    refused.close();
    await (stopping ?? h.stop());
  }
});

Deno.test("TLS back-pressure: with the queue full the relay stops reading; the sender waits, nothing is lost", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(tlsArgs(certs, "--queue-max-events", "100"));
  const ca = await Deno.readTextFile(certs.caCert);
  h.stub.hold = true; // Loggly takes the requests but does not answer: the queue fills
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port: h.relay.tls!.port, ca }, () => resolve(s));
    s.once("error", reject);
  });
  const line = (i: number) => `<13>${String(i).padStart(8, "0")} ${"x".repeat(2000)}\n`;
  const total = 12_000; // 24 MB: far more than the kernel's socket buffers hold
  try {
    for (let i = 0; i < total; i++) socket.write(line(i));
    await h.stub.waitFor(
      () => h.relay.metrics.get(M.paused, { input: "tls" }) > 0,
      5000,
      "a paused reader",
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const received = h.relay.metrics.get(M.received, { input: "tls" });
    // Before, the TLS layer went on reading the paused socket into memory (hundreds of MiB).
    assert.ok(
      socket.writableLength > 12_000_000,
      `sender flushed all but ${socket.writableLength} B`,
    );
    assert.ok(received < 1000, `${received} events read into a queue of 100`);
    h.stub.hold = false;
    h.stub.release();
    socket.end();
    await h.stub.waitForCount(total, 60_000);
    const seen = new Set(h.stub.messages().map((m) => m.slice(0, 8)));
    assert.equal(seen.size, total, "every event delivered once");
  } finally {
    socket.destroy();
    await h.stop();
  }
});
