/**
 * --handshake-timeout (issue 11, finding 3): a TLS connection that does not finish its handshake
 * in time, on syslog over TLS or on HTTPS, is closed and counted, and does not lock others out.
 */
import assert from "node:assert/strict";
import { M } from "../lib/metrics.ts";
import { startHarness } from "./helpers.ts";
import { curl, startHttpsRelay } from "./https_relay.ts";
import { connectTls, makeTestCertificates, tlsArgs } from "./tls_fixture.ts";

/** Resolves with the milliseconds until the server closed `conn` (it sends us nothing). */
async function closedAfter(conn: Deno.TcpConn, started: number): Promise<number> {
  const buffer = new Uint8Array(1024);
  try {
    while ((await conn.read(buffer)) !== null) {
      // a handshake answer, if any: keep reading until the close
    }
  } catch {
    // reset by the server
  }
  return Date.now() - started;
}

/** Opens `n` TCP connections to `port` that never start their TLS handshake. */
function silent(port: number, n: number): Promise<Deno.TcpConn[]> {
  return Promise.all(
    Array.from({ length: n }, () => Deno.connect({ hostname: "127.0.0.1", port })),
  );
}

/** A ClientHello's first bytes, dribbled one every 100 ms until the connection closes. */
async function dribble(conn: Deno.TcpConn): Promise<void> {
  const hello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03];
  for (let i = 0;; i++) {
    try {
      await conn.write(new Uint8Array([hello[i % hello.length]]));
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test("TLS syslog: silent and dribbling handshakes are closed at --handshake-timeout, counted; others still get in", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(
    tlsArgs(certs, "--handshake-timeout", "1s", "--max-connections", "12"),
  );
  const port = h.relay.tls!.port;
  const ca = await Deno.readTextFile(certs.caCert);
  const started = Date.now();
  const conns = await silent(port, 12); // every place of --max-connections taken
  const dribbling = dribble(conns[0]);
  try {
    const times = await Promise.all(conns.map((c) => closedAfter(c, started)));
    await dribbling;
    // Closed by the deadline, not by the 10-minute idle timeout or never.
    assert.ok(Math.max(...times) < 8_000, `closed after ${times.join(", ")} ms`);
    assert.ok(Math.min(...times) >= 900, `closed after ${times.join(", ")} ms`);
    assert.equal(
      h.relay.metrics.get(M.connectionsClosed, { input: "tls", reason: "handshake timeout" }),
      12,
    );
    // Their places are free again: a real sender gets through.
    const socket = await connectTls(port, ca);
    socket.end("<13>after the silent ones\n");
    await h.stub.waitForCount(1);
    assert.deepEqual(h.stub.messages(), ["after the silent ones"]);
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // closed by the relay
      }
    }
    await h.stop();
  }
});

Deno.test("TLS syslog: a handshake finished in time is not closed by the deadline", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(tlsArgs(certs, "--handshake-timeout", "1s"));
  const ca = await Deno.readTextFile(certs.caCert);
  const socket = await connectTls(h.relay.tls!.port, ca);
  try {
    await new Promise((resolve) => setTimeout(resolve, 2500)); // two and a half deadlines
    socket.end("<13>still connected\n");
    await h.stub.waitForCount(1);
    assert.equal(h.relay.metrics.total(M.connectionsClosed), 0);
  } finally {
    socket.destroy();
    await h.stop();
  }
});

Deno.test("HTTPS: a silent connection is closed at --handshake-timeout and counted; requests still work", async () => {
  const r = await startHttpsRelay(["--handshake-timeout", "1s"]);
  const started = Date.now();
  const conns = await silent(r.port, 5);
  try {
    const ok = await curl(r.certs.caCert, [
      "-d",
      '{"run":"during"}',
      `${r.base}/inputs/${r.h.stub.token}`,
    ]);
    assert.equal(ok.status, 200, ok.stderr);
    const times = await Promise.all(conns.map((c) => closedAfter(c, started)));
    assert.ok(Math.max(...times) < 8_000, `closed after ${times.join(", ")} ms`);
    assert.ok(Math.min(...times) >= 900, `closed after ${times.join(", ")} ms`);
    assert.equal(
      r.h.relay.metrics.get(M.connectionsClosed, { input: "http", reason: "handshake timeout" }),
      5,
    );
    await r.h.stub.waitForCount(1);
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // closed by the relay
      }
    }
    await r.stop();
  }
});
