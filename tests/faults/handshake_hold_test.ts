/**
 * Fault scenario 3 (issue 11): TLS sockets that never finish their handshake, from 10 addresses,
 * as many as --max-connections allows. They must be closed at --handshake-timeout and a real
 * sender must get in soon after. (tests/handshake_test.ts also dribbles a ClientHello.)
 */
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { makeTestCertificates, tlsArgs } from "../tls_fixture.ts";
import { figures, sleep, startRig } from "./fault_kit.ts";

const ADDRESSES = 10;
const PER_ADDRESS = 30;

/** A TCP connection from `localAddress` that sends nothing; resolves when the server closes it. */
function holdOpen(port: number, localAddress: string, opened: () => void): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect({ host: "127.0.0.1", port, localAddress }, opened);
    socket.on("error", () => {});
    socket.on("close", () => resolve(Date.now() - started));
  });
}

/** Tries a real TLS sender every 200 ms; resolves with the time it took to deliver one line. */
async function realSender(port: number, ca: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
        socket.end("<13>a real sender\n", () => resolve(true));
      });
      socket.on("error", () => resolve(false));
      socket.on("close", () => resolve(false));
    });
    if (ok) return Date.now() - started;
    await sleep(200);
  }
}

Deno.test("fault 3: handshakes that never finish are closed at --handshake-timeout; others get in", async () => {
  await using certs = await makeTestCertificates();
  const total = ADDRESSES * PER_ADDRESS;
  const rig = await startRig(
    tlsArgs(certs, "--max-connections", String(total), "--handshake-timeout", "2s"),
  );
  const port = rig.ports.tls;
  try {
    let opened = 0;
    const holds: Promise<number>[] = [];
    for (let a = 0; a < ADDRESSES; a++) {
      for (let i = 0; i < PER_ADDRESS; i++) {
        holds.push(holdOpen(port, `127.0.0.${a + 2}`, () => opened++));
      }
    }
    while (opened < total) await sleep(20);
    const started = Date.now();
    const delivered = await realSender(port, await Deno.readTextFile(certs.caCert));
    await rig.stub.waitForCount(1);
    const held = await Promise.all(holds);
    const closed = await rig.metric(
      'loggly_relay_connections_closed_total{input="tls",reason="handshake timeout"}',
    );
    assert.equal(closed, total);
    assert.ok(Math.max(...held) < 10_000, `held up to ${Math.max(...held)} ms`);
    assert.ok(Date.now() - started < 10_000, "the real sender waited too long");
    figures("3 handshake hold", {
      silent_sockets: total,
      addresses: ADDRESSES,
      closed_handshake_timeout: closed,
      longest_hold_ms: Math.max(...held),
      real_sender_in_after_ms: delivered,
    });
  } finally {
    await rig.close();
  }
});
