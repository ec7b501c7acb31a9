/** Connection limits on the TCP and TLS inputs: caps per input and per peer, slow messages. */
import assert from "node:assert/strict";
import tls from "node:tls";
import { M } from "../lib/metrics.ts";
import { ConnectionGuard } from "../lib/syslog/guard.ts";
import { startHarness, writeAll } from "./helpers.ts";
import { makeTestCertificates } from "./tls_fixture.ts";

Deno.test("ConnectionGuard: caps per input and per peer, places freed on release", () => {
  const guard = new ConnectionGuard({ maxConnections: 3, maxPerPeer: 2, messageTimeoutMs: 100 });
  assert.equal(guard.admit("a"), null);
  assert.equal(guard.admit("a"), null);
  assert.match(guard.admit("a")!, /a has 2 connections \(--max-connections-per-peer\)/);
  assert.equal(guard.admit("b"), null);
  assert.match(guard.admit("c")!, /3 connections \(--max-connections\)/);
  guard.release("a");
  assert.equal(guard.admit("c"), null);
  assert.equal(guard.tooSlow(null, 1000), false);
  assert.equal(guard.tooSlow(900, 999), false);
  assert.equal(guard.tooSlow(900, 1000), true);
});

/** Resolves once the relay closed `conn` (a read returns null or fails). */
async function closedByRelay(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(16);
  try {
    while ((await conn.read(buffer)) !== null) { /* nothing is ever sent back */ }
  } catch { /* reset */ }
}

Deno.test("TCP: a peer over --max-connections-per-peer is closed and counted; others stay", async () => {
  const h = await startHarness(["--max-connections-per-peer", "2"]);
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: h.relay.tcp!.port }));
    }
    await closedByRelay(conns[2]);
    await h.stub.waitFor(
      () =>
        h.relay.metrics.get(M.connectionsClosed, { input: "tcp", reason: "connection limit" }) ===
          1,
    );
    await writeAll(conns[0], new TextEncoder().encode("<13>first stays\n"));
    await h.stub.waitForCount(1);
    assert.equal(h.stub.messages()[0], "first stays");
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch { /* closed by the relay */ }
    }
    await h.stop();
  }
});

Deno.test("TCP: a message dribbled slower than --message-timeout closes the connection", async () => {
  const h = await startHarness(["--message-timeout", "300ms", "--idle-timeout", "10m"]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.relay.tcp!.port });
  try {
    const encoder = new TextEncoder();
    // One byte every 50 ms: never idle, never finished.
    const dribble = (async () => {
      for (const byte of encoder.encode("<13>slowloris never ends")) {
        try {
          await writeAll(conn, new Uint8Array([byte]));
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await closedByRelay(conn);
    await dribble;
    assert.equal(
      h.relay.metrics.get(M.connectionsClosed, { input: "tcp", reason: "slow message" }),
      1,
    );
  } finally {
    try {
      conn.close();
    } catch { /* closed by the relay */ }
    await h.stop();
  }
});

Deno.test("TLS: --max-connections refuses before the handshake; counted", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness([
    "--tls",
    "127.0.0.1:0",
    "--tls-cert",
    certs.cert,
    "--tls-key",
    certs.key,
    "--max-connections",
    "1",
  ]);
  const ca = await Deno.readTextFile(certs.caCert);
  const open = () =>
    new Promise<tls.TLSSocket | Error>((resolve) => {
      const socket = tls.connect(
        { host: "127.0.0.1", port: h.relay.tls!.port, ca, servername: "localhost" },
        () => resolve(socket),
      );
      socket.once("error", (error) => resolve(error));
    });
  try {
    const first = await open();
    assert.ok(first instanceof tls.TLSSocket, String(first));
    const second = await open();
    assert.ok(second instanceof Error, "the second connection got through");
    assert.equal(
      h.relay.metrics.get(M.connectionsClosed, { input: "tls", reason: "connection limit" }),
      1,
    );
    first.write("<13>the first still works\n");
    await h.stub.waitForCount(1);
    first.destroy();
  } finally {
    await h.stop();
  }
});
