/**
 * The UDP input over real sockets: what arrives and how it is marked, the relay's own receive
 * buffer (--udp-recv-buffer) when the main thread is busy, the kernel's drops where they can be
 * read, and what a release build says where they cannot. Every datagram sent is delivered or
 * counted as dropped, by reason.
 */
import assert from "node:assert/strict";
import { M, type Metrics } from "../lib/metrics.ts";
import { ListenError, startRelay } from "../lib/relay.ts";
import { chunking } from "../lib/syslog/udp.ts";
import {
  type ChunkMessage,
  forEachDatagram,
  type FromReader,
  readerUrl,
} from "../lib/syslog/udp_reader.ts";
import { sendUdp, startHarness, testConfig } from "./helpers.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";
import { MAIN, RelayProcess, waitUntil } from "./relay_process.ts";
import { launcherFor } from "./smoke.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BUFFER_FULL = "relay receive buffer full";
const QUEUE_FULL = "queue full";
const KERNEL = "socket receive buffer full (kernel)";

/** Sends each message as one datagram from `hostname` (any 127.x address on Linux). */
async function sendFrom(
  hostname: string,
  port: number,
  ...messages: (string | Uint8Array)[]
): Promise<void> {
  const socket = Deno.listenDatagram({ hostname, port: 0, transport: "udp" });
  try {
    for (const message of messages) {
      const data = typeof message === "string" ? encoder.encode(message) : message;
      await socket.send(data, { transport: "udp", hostname: "127.0.0.1", port });
    }
  } finally {
    socket.close();
  }
}

/** A syslog line of exactly `bytes` bytes, numbered. */
function numbered(n: number, bytes: number): Uint8Array {
  return encoder.encode(`<13>${n} `.padEnd(bytes, "x"));
}

function udpDropped(metrics: Metrics, reason: string): number {
  return metrics.get(M.dropped, { input: "udp", reason });
}

Deno.test("UDP: datagrams from two senders arrive as input udp, each with its sender's address", async () => {
  const h = await startHarness();
  try {
    const port = h.relay.udp!.port;
    await sendFrom("127.0.0.1", port, "<13>from one");
    await sendFrom("127.0.0.2", port, "<13>from two");
    await h.stub.waitForCount(2);
    const relayFields = Object.fromEntries(
      h.stub.received.map(({ event }) => [event.message, event.relay]),
    );
    assert.deepEqual(relayFields, {
      "from one": { input: "udp", peer: "127.0.0.1" },
      "from two": { input: "udp", peer: "127.0.0.2" },
    });
  } finally {
    await h.stop();
  }
});

Deno.test("UDP: a datagram over --max-message-bytes is cut to it and marked", async () => {
  const h = await startHarness(["--max-message-bytes", "100"]);
  try {
    const big = numbered(1, 60_000); // near the largest UDP payload
    await sendFrom("127.0.0.1", h.relay.udp!.port, big, "<13>short");
    await h.stub.waitForCount(2);
    const [cut, short] = h.stub.received.map((r) => r.event);
    assert.equal(cut.message, decoder.decode(big.subarray(4, 100)));
    assert.deepEqual(cut.relay, {
      input: "udp",
      peer: "127.0.0.1",
      truncated: { originalBytes: 60_000, limit: 100 },
    });
    assert.deepEqual(short.relay, { input: "udp", peer: "127.0.0.1" });
    assert.equal(h.relay.metrics.get(M.truncated, { input: "udp" }), 1);
  } finally {
    await h.stop();
  }
});

Deno.test("UDP: an empty datagram and garbage bytes are forwarded as parse errors; the relay stays up", async () => {
  const h = await startHarness();
  try {
    // Fixed "random" bytes: not "<", so there is no PRI; NULs and invalid UTF-8 included.
    const garbage = Uint8Array.from({ length: 700 }, (_, i) => (i * 151 + 255) % 256);
    await sendFrom("127.0.0.1", h.relay.udp!.port, new Uint8Array(0), garbage, "<13>still up");
    await h.stub.waitForCount(3);
    const [empty, junk, last] = h.stub.received.map((r) => r.event);
    assert.deepEqual(empty, {
      timestamp: empty.timestamp,
      message: "",
      relay: { input: "udp", peer: "127.0.0.1", parseError: "Message is empty" },
    });
    assert.equal(junk.message, decoder.decode(garbage));
    assert.equal((junk.relay as Record<string, unknown>).parseError, "Message has no PRI");
    assert.equal(last.message, "still up");
    assert.equal(h.relay.metrics.get(M.received, { input: "udp" }), 3);
    assert.equal(h.relay.metrics.get(M.parseErrors, { input: "udp" }), 2);
  } finally {
    await h.stop();
  }
});

Deno.test("UDP: an address in use is refused at start, with the reason and what to do", async () => {
  const blocker = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (blocker.addr as Deno.NetAddr).port;
  try {
    await assert.rejects(
      startRelay(testConfig(["--dry-run", "--tcp", "off", "--udp", `127.0.0.1:${port}`])),
      (error: Error) =>
        error instanceof ListenError &&
        error.message.startsWith(`Cannot listen for udp on 127.0.0.1:${port} (`) &&
        /address already in use/i.test(error.message) &&
        error.message.endsWith(
          'pick another address with --udp, free the port, or use "--udp off"',
        ),
    );
  } finally {
    blocker.close();
  }
});

Deno.test("UDP reader: chunks not yet given back never exceed --udp-recv-buffer; the rest is counted", async () => {
  const budget = 4096; // the smallest --udp-recv-buffer: two chunks of 2 KiB
  const { chunkBytes, maxChunks } = chunking(budget);
  assert.ok(maxChunks >= 2 && chunkBytes * maxChunks <= budget);
  const worker = new Worker(
    readerUrl({
      hostname: "127.0.0.1",
      port: 0,
      maxMessageBytes: 1024,
      chunkBytes,
      maxChunks,
      flushMs: 2,
    }),
    { type: "module" },
  );
  const bound = Promise.withResolvers<number>();
  const closed = Promise.withResolvers<void>();
  const kept: { text: string; peer: string }[] = [];
  const held: ChunkMessage[] = [];
  let dropped = 0;
  let mostHeldBytes = 0;
  worker.onmessage = ({ data }: MessageEvent<FromReader>) => {
    if (data.type === "bound") bound.resolve(data.port);
    else if (data.type === "chunk") {
      held.push(data);
      mostHeldBytes = Math.max(mostHeldBytes, held.length * data.buffer.byteLength);
      dropped += data.dropped;
      forEachDatagram(data, ({ bytes, peer }) => kept.push({ text: decoder.decode(bytes), peer }));
    } else if (data.type === "dropped") dropped += data.count;
    else if (data.type === "closed") closed.resolve();
    else bound.reject(new Error(`unexpected: ${JSON.stringify(data)}`));
  };
  try {
    const port = await bound.promise;
    const sent = 300;
    const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port };
    try {
      // Paced well below what the reader reads, so that the kernel has no reason to drop any.
      for (let i = 0; i < sent; i++) {
        await socket.send(numbered(i, 100), to);
        if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      // Now the main thread "catches up": gives the chunks back, then sends a last datagram.
      await waitUntil(() => held.length === maxChunks);
      for (const chunk of held.splice(0)) {
        worker.postMessage({ type: "return", buffer: chunk.buffer }, [chunk.buffer]);
      }
      await socket.send(encoder.encode("<13>last"), to);
      // Datagrams from one sender over loopback come in order: once "last" is here, all were read.
      await waitUntil(() => kept.at(-1)?.text === "<13>last");
    } finally {
      socket.close();
    }
    assert.ok(mostHeldBytes <= budget, `${mostHeldBytes} bytes held at once`);
    assert.ok(dropped > 0, "the reader dropped what did not fit");
    assert.equal(kept.length + dropped, sent + 1, "every datagram was kept or counted");
    assert.ok(kept.every(({ peer }) => peer === "127.0.0.1"));
    const numbers = kept.slice(0, -1).map(({ text }) => Number(text.slice(4).split(" ")[0]));
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), "in the order sent");
  } finally {
    worker.postMessage({ type: "close" });
    await closed.promise;
    worker.terminate();
  }
});

/** Sends `count` datagrams of `bytes` to the port, 20 a millisecond, then writes `done`. */
const SENDER = `
const [port, count, bytes, done] = Deno.args.map((a, i) => i < 3 ? Number(a) : a);
const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
const data = new TextEncoder().encode("<13>busy ".padEnd(bytes, "x"));
for (let i = 0; i < count; i++) {
  await socket.send(data, { transport: "udp", hostname: "127.0.0.1", port });
  if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 1));
}
Deno.writeTextFileSync(done, String(count));
`;

/** Blocks this thread, and so the event loop of an in-process relay, until `path` exists. */
function blockUntilExists(path: string, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      Deno.statSync(path);
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`${path} did not appear in ${timeoutMs} ms`);
  }
}

Deno.test("UDP: with the main thread busy, what the relay cannot hold or queue is dropped and counted", async () => {
  const h = await startHarness(["--udp-recv-buffer", "4096", "--queue-max-events", "10"]);
  const dir = await Deno.makeTempDir();
  const sent = 2000;
  try {
    await h.stub.stop(); // Loggly is down: the queue fills at 10 events and stays full
    const done = `${dir}/done`;
    const sender = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "--unstable-net",
        SENDER,
        String(h.relay.udp!.port),
        String(sent),
        "100",
        done,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    blockUntilExists(done, 60_000); // the relay's main thread parses nothing meanwhile
    const { success, stderr } = await sender.output();
    assert.ok(success, decoder.decode(stderr));

    const m = h.relay.metrics;
    const received = () => m.get(M.received, { input: "udp" });
    // The sender is paced so that the kernel has none to drop; where /proc can be read (the
    // suite run with -A), any it did drop are counted too, else a shortfall here would be those.
    const accounted = () => received() + udpDropped(m, BUFFER_FULL) + udpDropped(m, KERNEL);
    await waitUntil(() => accounted() >= sent);
    assert.equal(accounted(), sent);
    assert.ok(udpDropped(m, BUFFER_FULL) > sent / 2, "most did not fit in 4 KiB");
    assert.ok(udpDropped(m, QUEUE_FULL) > 0, "the queue held 10");

    h.stub.start();
    await h.stub.waitForCount(received() - udpDropped(m, QUEUE_FULL));
    assert.equal(
      h.stub.received.length + udpDropped(m, QUEUE_FULL) + udpDropped(m, BUFFER_FULL) +
        udpDropped(m, KERNEL),
      sent,
    );
  } finally {
    await h.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The value of a metric line in Prometheus text, 0 when absent. */
function metricValue(text: string, line: string): number {
  const at = text.split("\n").find((l) => l.startsWith(`${line} `));
  return at === undefined ? 0 : Number(at.slice(line.length + 1));
}

Deno.test("UDP: the kernel's drops are counted where /proc can be read (deno run -A)", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  const relay = new RelayProcess(
    ["--token", TEST_TOKEN, "--loggly-url", stub.url, "--http", "127.0.0.1:0"],
    {},
    undefined,
    [Deno.execPath(), "run", "-A", MAIN],
  );
  const sent = 20_000;
  try {
    const { udp } = await relay.ready();
    await waitUntil(() => relay.ports.http !== undefined);
    const metrics = async () =>
      await (await fetch(`http://127.0.0.1:${relay.ports.http}/metrics`)).text();
    await waitUntil(async () =>
      metricValue(await metrics(), "loggly_relay_udp_kernel_drops_counted") === 1
    );

    relay.child.kill("SIGSTOP"); // nothing reads the socket: the kernel keeps what fits
    try {
      const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      const data = numbered(0, 1000);
      for (let i = 0; i < sent; i++) {
        await socket.send(data, { transport: "udp", hostname: "127.0.0.1", port: udp });
      }
      socket.close();
    } finally {
      relay.child.kill("SIGCONT");
    }

    const received = 'loggly_relay_events_received_total{input="udp"}';
    const kernel = `loggly_relay_events_dropped_total{input="udp",reason="${KERNEL}"}`;
    let text = "";
    await waitUntil(async () => {
      text = await metrics();
      return metricValue(text, received) + metricValue(text, kernel) === sent;
    });
    const drops = metricValue(text, kernel);
    assert.ok(drops > sent / 2, `${drops} kernel drops: no receive buffer holds 20 MB`);

    await stub.waitForCount(sent - drops);
    assert.equal(await relay.stop(), 0, relay.stderr);
    assert.match(
      relay.stderr,
      new RegExp(
        `${drops} events were dropped before they could be queued \\(${drops} udp: ` +
          `socket receive buffer full \\(kernel\\)\\)`,
      ),
    );
    assert.equal(stub.received.length + drops, sent);
    assert.doesNotMatch(relay.stderr, /Cannot read the kernel's UDP drop counter|cannot be seen/);
  } finally {
    await relay.stop().catch(() => {});
    await stub.stop();
  }
});

Deno.test("UDP: a release build says it cannot see the kernel's drops, and never 'run again with'", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  const relay = new RelayProcess(
    ["--token", TEST_TOKEN, "--loggly-url", stub.url],
    {},
    undefined,
    launcherFor(undefined),
  );
  try {
    const { udp } = await relay.ready();
    await sendFrom("127.0.0.1", udp, "<13>under release permissions");
    await stub.waitForCount(1); // the reader thread runs under these permissions too
    assert.equal(await relay.stop(), 0, relay.stderr);
    assert.match(
      relay.stderr,
      /Cannot read the kernel's UDP drop counter \(Deno reads \/proc only/,
    );
    assert.match(
      relay.stderr,
      /every received event was delivered \(1 delivered\); UDP datagrams the kernel dropped before the relay read them cannot be seen/,
    );
    assert.doesNotMatch(relay.stderr, /run again with/);
  } finally {
    await relay.stop().catch(() => {});
    await stub.stop();
  }
});

Deno.test("UDP: a datagram larger than a chunk of a small --udp-recv-buffer is cut and marked, not dropped", async () => {
  const h = await startHarness(["--udp-recv-buffer", "4096"]);
  try {
    const { chunkBytes } = chunking(4096);
    await sendUdp(h.relay.udp!.port, "<13>" + "y".repeat(2996));
    await h.stub.waitForCount(1);
    const event = h.stub.received[0].event as { message: string; relay: Record<string, unknown> };
    const limit = chunkBytes - 12;
    assert.deepEqual(event.relay.truncated, { originalBytes: 3000, limit });
    assert.equal(event.message, "y".repeat(limit - 4));
    assert.equal(udpDropped(h.relay.metrics, BUFFER_FULL), 0);
  } finally {
    await h.stop();
  }
});
