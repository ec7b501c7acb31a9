/** Connection limits on the TCP and TLS inputs: caps per input and per peer, slow messages. */
import assert from "node:assert/strict";
import tls from "node:tls";
import { M } from "../lib/metrics.ts";
import { ConnectionGuard, type ConnectionLimits, PLACE_WAIT_MS } from "../lib/syslog/guard.ts";
import { run, sendTcp, startHarness, writeAll } from "./helpers.ts";
import { makeTestCertificates, tlsArgs } from "./tls_fixture.ts";

/** A guard over named connections ("a1" is the first from peer "a"), recording what it did. */
function recordingGuard(limits: Partial<ConnectionLimits> = {}) {
  const admitted: string[] = [];
  const refused: string[] = [];
  const guard = new ConnectionGuard<string>({
    maxConnections: 5,
    maxPerPeer: 2,
    placeWaitMs: 1000,
    ...limits,
  }, {
    admit: (conn) => admitted.push(conn),
    refuse: (conn, detail) => refused.push(`${conn}: ${detail}`),
  });
  const offer = (conn: string, now = 0) => guard.offer(conn[0], conn, now);
  return { guard, admitted, refused, offer };
}

Deno.test("ConnectionGuard: over the peer's cap a connection waits, and takes the first place freed", () => {
  const { guard, admitted, refused, offer } = recordingGuard();
  for (const conn of ["a1", "a2", "a3", "a4", "b1"]) offer(conn);
  assert.deepEqual(admitted, ["a1", "a2", "b1"]);
  assert.equal(guard.waiting, 2);
  guard.release("a", 10);
  guard.release("a", 20);
  assert.deepEqual(admitted, ["a1", "a2", "b1", "a3", "a4"], "oldest first");
  guard.release("b", 30);
  assert.equal(guard.open, 2);
  assert.deepEqual(refused, []);
});

Deno.test("ConnectionGuard: waiting ones count towards --max-connections; a newcomer evicts", () => {
  const { guard, admitted, refused, offer } = recordingGuard();
  for (const conn of ["a1", "a2", "a3", "a4", "a5", "b1"]) offer(conn);
  // a1, a2 read; a3, a4, a5 wait; b1 is read in place of a's newest waiting.
  assert.deepEqual(admitted, ["a1", "a2", "b1"]);
  assert.deepEqual(refused, [
    "a5: a has 2 connections and 3 waiting (--max-connections-per-peer, --max-connections)",
  ]);
  offer("a6"); // a still has the most waiting: its newest, a6 itself, goes
  assert.match(refused[1], /^a6: a has 2 connections and 3 waiting/);
  offer("b2");
  offer("c1"); // five read: the input is full
  assert.deepEqual(admitted, ["a1", "a2", "b1", "b2", "c1"]);
  assert.deepEqual(refused.slice(2).map((r) => r.slice(0, 2)), ["a4", "a3"]);
  assert.equal(guard.full, true);
  offer("d1");
  assert.equal(refused[4], "d1: the input has 5 connections (--max-connections)");
});

Deno.test("ConnectionGuard: a wait ends after placeWaitMs without a place freed, not while paused", () => {
  const { guard, admitted, refused, offer } = recordingGuard({ maxConnections: 10 });
  offer("a1", 0);
  offer("a2", 0);
  offer("a3", 0);
  offer("a4", 100);
  offer("a5", 100);
  guard.expire(999, false);
  assert.deepEqual(refused, []);
  guard.expire(1000, false);
  assert.equal(refused.length, 1);
  assert.match(refused[0], /^a3: a kept 2 connections open while another waited 1000ms/);
  guard.release("a", 1050); // a4 gets the place; a5's wait starts over
  assert.deepEqual(admitted, ["a1", "a2", "a4"]);
  guard.expire(2049, false);
  assert.equal(refused.length, 1);
  guard.expire(3000, true); // the queue is full: the readers, not the peer, hold places
  guard.expire(3999, false);
  assert.equal(refused.length, 1);
  guard.resumed("a", 3500); // a reader of a's was paused by back-pressure until now
  guard.expire(4000, false);
  assert.equal(refused.length, 1);
  guard.expire(4500, false);
  assert.match(refused[1], /^a5: /);
  assert.equal(guard.waiting, 0);
});

Deno.test("ConnectionGuard: a waiting connection that ended is forgotten; placeWaitMs 0 refuses", () => {
  const { admitted, refused, offer } = recordingGuard({ placeWaitMs: 0 });
  offer("a1");
  offer("a2");
  offer("a3");
  assert.deepEqual(refused, ["a3: a has 2 connections (--max-connections-per-peer)"]);
  const waiting = recordingGuard();
  for (const conn of ["a1", "a2", "a3", "a4"]) waiting.offer(conn);
  assert.equal(waiting.guard.withdraw("a", "a3"), true);
  assert.equal(waiting.guard.withdraw("a", "a3"), false);
  waiting.guard.release("a", 1);
  assert.deepEqual(waiting.admitted, ["a1", "a2", "a4"]);
  assert.deepEqual(waiting.guard.takeWaiting(), []);
  assert.deepEqual(admitted, ["a1", "a2"]);
});

Deno.test("ConnectionGuard: whenNotFull resolves once a place frees", async () => {
  const { guard, offer } = recordingGuard({ maxConnections: 1 });
  offer("a1");
  let woken = false;
  const waiting = guard.whenNotFull().then(() => woken = true);
  await Promise.resolve();
  assert.equal(woken, false);
  guard.release("a", 0);
  await waiting;
  assert.equal(guard.full, false);
});

Deno.test("ConnectionGuard: configure (a reload) closes nothing; raised caps admit the waiting", async () => {
  const { guard, admitted, refused, offer } = recordingGuard({ maxConnections: 4 });
  for (const conn of ["a1", "a2", "a3", "b1"]) offer(conn);
  assert.deepEqual(admitted, ["a1", "a2", "b1"]);
  // Lowered under what is open: nothing is closed, no place is given.
  guard.configure({ maxConnections: 2, maxPerPeer: 1, placeWaitMs: 1000 });
  assert.deepEqual([guard.full, guard.open, guard.waiting, refused], [true, 3, 1, []]);
  let woken = false;
  const room = guard.whenNotFull().then(() => woken = true);
  guard.release("a", 10); // a is over its lowered cap: a3 does not take a1's place
  assert.deepEqual([guard.full, guard.open, guard.waiting], [true, 2, 1]);
  // Raised: a3 takes a place the new caps give, and the input has room again.
  guard.configure({ maxConnections: 5, maxPerPeer: 2, placeWaitMs: 1000 });
  assert.deepEqual(admitted, ["a1", "a2", "b1", "a3"]);
  await room;
  assert.equal(woken, true);
  assert.deepEqual(refused, []);
});

/** Closes connections that the relay may have closed already. */
function closeAll(conns: Deno.Conn[]): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch { /* closed by the relay */ }
  }
}

/** Resolves once the relay closed `conn` (a read returns null or fails). */
async function closedByRelay(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(16);
  try {
    while ((await conn.read(buffer)) !== null) { /* nothing is ever sent back */ }
  } catch { /* reset */ }
}

Deno.test("TCP: 300 short connections at once from one peer over --max-connections-per-peer 10 all arrive", async () => {
  const h = await startHarness(["--max-connections-per-peer", "10"]);
  try {
    const port = h.relay.tcp!.port;
    const connections = 300;
    // All at once: the relay has read none of them when most arrive.
    await Promise.all(
      Array.from({ length: connections }, (_, c) => sendTcp(port, `<13>c${c} 0\n<13>c${c} 1\n`)),
    );
    await h.stub.waitForCount(2 * connections);
    const expected = Array.from({ length: connections }, (_, c) => [`c${c} 0`, `c${c} 1`]).flat();
    assert.deepEqual(h.stub.messages().toSorted(), expected.toSorted());
    assert.equal(h.relay.metrics.get(M.connections, { input: "tcp" }), connections);
    assert.equal(
      h.relay.metrics.get(M.connectionsClosed, { input: "tcp", reason: "connection limit" }),
      0,
    );
  } finally {
    await h.stop();
  }
});

/** Opens argv[2] connections to port argv[1] one after another; each sends two lines, closes. */
const BACK_TO_BACK_PYTHON = `
import socket, sys
for c in range(int(sys.argv[2])):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(f"<13>c{c} 0\\n<13>c{c} 1\\n".encode())
    s.close()
`;

Deno.test("TCP: 2000 short connections back to back from one peer over its cap all arrive", async () => {
  // Another process, faster than the relay's readers: they must keep up, or hold the rest.
  const h = await startHarness(["--max-connections-per-peer", "10"]);
  try {
    const connections = 2000;
    const result = await run("python3", [
      "-c",
      BACK_TO_BACK_PYTHON,
      String(h.relay.tcp!.port),
      String(connections),
    ]);
    assert.equal(result.code, 0, result.stderr);
    await h.stub.waitForCount(2 * connections);
    assert.equal(new Set(h.stub.messages()).size, 2 * connections);
    assert.equal(
      h.relay.metrics.get(M.connectionsClosed, { input: "tcp", reason: "connection limit" }),
      0,
    );
  } finally {
    await h.stop();
  }
});

/** Connects from the source address in argv[1] (another peer), sends argv[3], closes. */
const SEND_FROM_PYTHON = `
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])), source_address=(sys.argv[1], 0))
s.sendall(sys.argv[3].encode())
s.close()
`;

/** Sends `text` from source address `from` (another loopback address: another peer). */
async function sendFrom(from: string, port: number, text: string): Promise<void> {
  const result = await run("python3", ["-c", SEND_FROM_PYTHON, from, String(port), text]);
  assert.equal(result.code, 0, result.stderr);
}

Deno.test("TCP: a peer holding connections open waits beyond its cap, then makes room for others", async () => {
  const h = await startHarness(["--max-connections", "4", "--max-connections-per-peer", "2"]);
  const conns: Deno.Conn[] = [];
  const encoder = new TextEncoder();
  try {
    const port = h.relay.tcp!.port;
    for (let i = 0; i < 5; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    // Two read, two wait; the fifth does not fit in --max-connections 4 and is closed at once.
    await closedByRelay(conns[4]);
    const limited = () =>
      h.relay.metrics.get(M.connectionsClosed, { input: "tcp", reason: "connection limit" });
    assert.equal(limited(), 1);
    await writeAll(conns[2], encoder.encode("<13>waited 2\n"));
    await writeAll(conns[3], encoder.encode("<13>waited 3\n"));
    // Another peer is not kept out: it takes the place of the newest waiting connection.
    await sendFrom("127.0.0.2", port, "<13>another peer\n");
    await closedByRelay(conns[3]);
    assert.equal(limited(), 2);
    await h.stub.waitForCount(1);
    assert.equal((h.stub.received[0].event.relay as Record<string, string>).peer, "127.0.0.2");
    // A place frees: the one still waiting is read, what it was sent included.
    await writeAll(conns[0], encoder.encode("<13>first\n"));
    conns[0].close();
    await h.stub.waitForCount(3);
    assert.deepEqual(h.stub.messages().toSorted(), ["another peer", "first", "waited 2"]);
    assert.equal(limited(), 2);
  } finally {
    closeAll(conns.slice(1));
    await h.stop();
  }
});

Deno.test("TCP: a connection whose peer frees no place is closed after the wait and counted", async () => {
  const h = await startHarness(["--max-connections-per-peer", "2"]);
  const conns: Deno.Conn[] = [];
  try {
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: h.relay.tcp!.port }));
    }
    await closedByRelay(conns[2]);
    assert.ok(Date.now() - started >= PLACE_WAIT_MS, "closed before its wait was over");
    assert.equal(
      h.relay.metrics.get(M.connectionsClosed, { input: "tcp", reason: "connection limit" }),
      1,
    );
    await writeAll(conns[0], new TextEncoder().encode("<13>first stays\n"));
    await h.stub.waitForCount(1);
    assert.equal(h.stub.messages()[0], "first stays");
  } finally {
    closeAll(conns);
    await h.stop();
  }
});

Deno.test("TCP: at --max-connections further connections wait in the backlog instead of closing", async () => {
  const h = await startHarness(["--max-connections", "2"]);
  const conns: Deno.Conn[] = [];
  try {
    const port = h.relay.tcp!.port;
    for (let i = 0; i < 3; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    const encoder = new TextEncoder();
    await writeAll(conns[2], encoder.encode("<13>from the backlog\n"));
    await writeAll(conns[0], encoder.encode("<13>first\n"));
    await h.stub.waitForCount(1);
    conns[0].close();
    await h.stub.waitForCount(2);
    assert.deepEqual(h.stub.messages(), ["first", "from the backlog"]);
    assert.equal(
      h.relay.metrics.get(M.connectionsClosed, { input: "tcp", reason: "connection limit" }),
      0,
    );
  } finally {
    for (const conn of conns.slice(1)) conn.close();
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
    closeAll([conn]);
    await h.stop();
  }
});

Deno.test("TLS: at --max-connections a further connection waits in the backlog (no handshake), then gets in", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(tlsArgs(certs, "--max-connections", "1"));
  const ca = await Deno.readTextFile(certs.caCert);
  const open = () =>
    new Promise<tls.TLSSocket>((resolve, reject) => {
      const socket = tls.connect(
        { host: "127.0.0.1", port: h.relay.tls!.port, ca, servername: "localhost" },
        () => resolve(socket),
      );
      socket.once("error", reject);
    });
  let second: tls.TLSSocket | undefined;
  try {
    const first = await open();
    let secondReady = false;
    const waiting = open().then((socket) => {
      secondReady = true;
      second = socket;
      return socket;
    });
    first.write("<13>the first still works\n");
    await h.stub.waitForCount(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(
      secondReady,
      false,
      "the second connection got its handshake while the first held the place",
    );
    first.end();
    const socket = await waiting;
    socket.end("<13>the second after the first\n");
    await h.stub.waitForCount(2);
    assert.deepEqual(h.stub.messages(), ["the first still works", "the second after the first"]);
    assert.equal(h.relay.metrics.total(M.connectionsClosed), 0);
  } finally {
    second?.destroy();
    await h.stop();
  }
});

Deno.test("TLS: 40 short connections at once from one peer over --max-connections-per-peer 2 all arrive", async () => {
  await using certs = await makeTestCertificates();
  const h = await startHarness(tlsArgs(certs, "--max-connections-per-peer", "2"));
  const ca = await Deno.readTextFile(certs.caCert);
  const send = (c: number) =>
    new Promise<void>((resolve, reject) => {
      const socket = tls.connect(
        { host: "127.0.0.1", port: h.relay.tls!.port, ca, servername: "localhost" },
        () => socket.end(`<13>c${c} 0\n<13>c${c} 1\n`),
      );
      socket.once("error", reject);
      socket.once("close", () => resolve());
    });
  try {
    const connections = 40;
    await Promise.all(Array.from({ length: connections }, (_, c) => send(c)));
    await h.stub.waitForCount(2 * connections);
    const expected = Array.from({ length: connections }, (_, c) => [`c${c} 0`, `c${c} 1`]).flat();
    assert.deepEqual(h.stub.messages().toSorted(), expected.toSorted());
    assert.equal(
      h.relay.metrics.get(M.connectionsClosed, { input: "tls", reason: "connection limit" }),
      0,
    );
  } finally {
    await h.stop();
  }
});
