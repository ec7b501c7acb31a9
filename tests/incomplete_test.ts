/**
 * A message is forwarded only when whole (issue 11, finding 1): a reader paused by a full queue
 * never cuts the message it was reading, and a message begun but not finished when the relay
 * closes the connection is forwarded marked `relay.incomplete: true`, and counted.
 */
import assert from "node:assert/strict";
import { M } from "../lib/metrics.ts";
import { sendTcp, startHarness, writeAll } from "./helpers.ts";
import { connectTls, makeTestCertificates, tlsArgs } from "./tls_fixture.ts";

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("TCP: a reader paused past --message-timeout keeps the message it was reading whole", async () => {
  // Sweeps every 500 ms. The pause lasts 4 s, far past the 2 s deadline: time paused by the
  // relay itself must not count against the sender's message.
  const h = await startHarness([
    "--queue-max-events",
    "20",
    "--batch-max-events",
    "10",
    "--message-timeout",
    "2s",
  ]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.relay.tcp!.port });
  try {
    await h.stub.stop();
    const lines = Array.from({ length: 30 }, (_, i) => `<13>line ${i}\n`).join("");
    // One write: the relay reads the 30 lines and the first half of the 31st together, then
    // pauses with that half held.
    await writeAll(conn, encoder.encode(lines + "<13>split-me first half "));
    await h.stub.waitFor(() => h.relay.metrics.get(M.received, { input: "tcp" }) === 30, 5000);
    await sleep(4000);
    h.stub.start();
    await h.stub.waitForCount(30);
    await sleep(1100); // two sweeps after the reader resumed, well within a fresh 2 s
    await writeAll(conn, encoder.encode("and second half\n<13>after\n"));
    await h.stub.waitForCount(32);
    const messages = h.stub.messages();
    assert.ok(messages.includes("split-me first half and second half"), messages.join("|"));
    assert.ok(messages.includes("after"));
    assert.equal(h.relay.metrics.total(M.incomplete), 0);
    assert.equal(
      h.relay.metrics.get(M.connectionsClosed, { input: "tcp", reason: "slow message" }),
      0,
    );
  } finally {
    conn.close();
    await h.stop();
  }
});

Deno.test("TCP: a stream longer than --message-timeout whose every read ends inside a message stays open", async () => {
  // The probe's split: a sender streaming for longer than --message-timeout, each read of the
  // relay ending inside some message, was closed as one "slow message" and its message cut.
  const h = await startHarness(["--message-timeout", "1s"]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.relay.tcp!.port });
  try {
    const lines = Array.from(
      { length: 120 },
      (_, i) =>
        `<13>Jan  1 00:00:00 host app: id=frag-${String(i).padStart(7, "0")} ${"p".repeat(60)}\n`,
    ).join("");
    const bytes = encoder.encode(lines);
    const piece = 250; // not a multiple of a line: every write ends inside a message
    for (let at = 0; at < bytes.length; at += piece) { // about 3 s, three deadlines
      await writeAll(conn, bytes.subarray(at, at + piece));
      await sleep(70);
    }
    conn.close();
    await h.stub.waitForCount(120);
    const messages = h.stub.messages();
    assert.equal(messages.length, 120);
    assert.ok(messages.every((m) => /^id=frag-\d{7} p{60}$/.test(m)), "a message was cut");
    assert.equal(h.relay.metrics.total(M.connectionsClosed), 0);
  } finally {
    try {
      conn.close();
    } catch {
      // closed above
    }
    await h.stop();
  }
});

Deno.test("TCP: a message half sent at shutdown is forwarded marked incomplete and counted", async () => {
  const h = await startHarness();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.relay.tcp!.port });
  try {
    await writeAll(
      conn,
      encoder.encode(
        "<13>Jan  1 00:00:00 host app: whole\n<13>Jan  1 00:00:00 host app: half-a-mess",
      ),
    );
    await h.stub.waitForCount(1);
  } finally {
    await h.stop();
    conn.close();
  }
  assert.deepEqual(h.stub.messages(), ["whole", "half-a-mess"]);
  const relay = (i: number) => h.stub.received[i].event.relay as Record<string, unknown>;
  assert.equal(relay(0).incomplete, undefined);
  assert.equal(relay(1).incomplete, true);
  assert.equal(h.relay.metrics.get(M.incomplete, { input: "tcp" }), 1);
});

Deno.test("TCP: when the peer closes, a last line without LF is whole; a short octet count is not", async () => {
  const h = await startHarness();
  try {
    await sendTcp(h.relay.tcp!.port, "<13>last line, no LF");
    await h.stub.waitForCount(1);
    await sendTcp(h.relay.tcp!.port, "40 <13>only part of forty");
    await h.stub.waitForCount(2);
    const [line, octet] = h.stub.received.map((r) => r.event as Record<string, unknown>);
    assert.equal(line.message, "last line, no LF");
    assert.equal((line.relay as Record<string, unknown>).incomplete, undefined);
    assert.equal(octet.message, "only part of forty");
    assert.equal((octet.relay as Record<string, unknown>).incomplete, true);
    assert.equal(h.relay.metrics.get(M.incomplete, { input: "tcp" }), 1);
  } finally {
    await h.stop();
  }
});

Deno.test("TLS: a message half sent at shutdown is forwarded marked incomplete", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(tlsArgs(certs));
  const ca = await Deno.readTextFile(certs.caCert);
  const socket = await connectTls(h.relay.tls!.port, ca);
  socket.on("error", () => {}); // reset by the relay's shutdown
  try {
    socket.write("<13>whole over tls\n<13>half over tl");
    await h.stub.waitForCount(1);
  } finally {
    await h.stop();
    socket.destroy();
  }
  const relay = (i: number) => h.stub.received[i].event.relay as Record<string, unknown>;
  assert.deepEqual(h.stub.messages(), ["whole over tls", "half over tl"]);
  assert.equal(relay(0).incomplete, undefined);
  assert.equal(relay(1).incomplete, true);
  assert.equal(h.relay.metrics.get(M.incomplete, { input: "tls" }), 1);
});
