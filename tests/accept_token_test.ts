/**
 * One relay, several Loggly accounts: events naming the relay's token or an --accept-token go to
 * that account (syslog's `[TOKEN@41058 …]` element, or the token in an HTTP path); events naming
 * any other token are refused, counted, and warned about once per token without revealing it.
 */
import assert from "node:assert/strict";
import { M } from "../lib/metrics.ts";
import { type Relay, startRelay } from "../lib/relay.ts";
import { sendTcp, sendUdp, testConfig } from "./helpers.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";
import { RelayProcess } from "./relay_process.ts";

const OTHER = "11111111-2222-4333-8444-555555555555";
const STRANGER = "22222222-3333-4444-8555-666666666666";

/** A stand-in holding both accounts and a relay that accepts the second one. */
async function start(args: string[] = []): Promise<{ stub: LogglyStub; relay: Relay }> {
  const stub = new LogglyStub(TEST_TOKEN, OTHER).start();
  const relay = await startRelay(
    testConfig(["--accept-token", OTHER, "--http", "127.0.0.1:0", ...args], stub),
  );
  return { stub, relay };
}

function sd(token: string, tag: string): string {
  return `[${token}@41058 tag="${tag}"]`;
}

Deno.test("accept-token: own, accepted and foreign tokens over TCP, UDP and HTTP", async () => {
  const { stub, relay } = await start();
  try {
    await sendTcp(
      relay.tcp!.port,
      `<13>1 - h app - - ${sd(TEST_TOKEN, "mine")} own\n`,
      `<13>1 - h app - - ${sd(OTHER, "theirs")} accepted\n`,
      `<13>1 - h app - - ${sd(STRANGER, "x")} foreign 1\n`,
      `<13>1 - h app - - ${sd(STRANGER, "x")} foreign 2\n`,
      "<13>1 - h app - - - no token\n",
    );
    await sendUdp(relay.udp!.port, `<13>0 2026-11-30T10:00:00Z h app - - ${sd(OTHER, "u")}  udp`);
    const base = `http://127.0.0.1:${relay.http!.port}`;
    const post = (token: string) =>
      fetch(`${base}/inputs/${token}/tag/h/`, { method: "POST", body: `{"message":"http"}` });
    const accepted = await post(OTHER);
    assert.equal(accepted.status, 200, await accepted.text());
    const refused = await post(STRANGER);
    assert.equal(refused.status, 403);
    await refused.body?.cancel();
    await stub.waitForCount(5);
    const to = (token: string) =>
      stub.received.filter((r) => r.token === token).map((r) => r.event.message).sort();
    assert.deepEqual(to(TEST_TOKEN), ["no token", "own"]);
    assert.deepEqual(to(OTHER), ["accepted", "http", "udp"]);
    const tagsOf = (message: string) =>
      stub.received.find((r) => r.event.message === message)!.tags;
    assert.deepEqual(tagsOf("accepted"), ["theirs"]);
    assert.deepEqual(tagsOf("udp"), ["u"]);
    assert.equal(relay.metrics.get(M.dropped, { input: "tcp", reason: "foreign token" }), 2);
    for (const r of stub.received) {
      const text = JSON.stringify(r.event);
      assert.ok(![TEST_TOKEN, OTHER, STRANGER].some((t) => text.includes(t)), text);
    }
    assert.deepEqual(stub.violations, []);
  } finally {
    await relay.stop(2000);
    await stub.stop();
  }
});

Deno.test("accept-token: events of an accepted account wait in the spool across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "accept-spool-" });
  const stub = new LogglyStub(TEST_TOKEN, OTHER);
  try {
    // Loggly is down (never started): the events stay in the spool when the relay stops.
    const config = testConfig(["--accept-token", OTHER, "--spool", dir, "--loggly-url", stub.url]);
    let relay = await startRelay(config);
    await sendTcp(relay.tcp!.port, `<13>1 - h app - - ${sd(OTHER, "t")} kept\n`, "<13>mine\n");
    await waitFor(() => relay.metrics.get(M.received, { input: "tcp" }) === 2);
    assert.equal(await relay.stop(500), 2);
    stub.start();
    relay = await startRelay(
      testConfig(["--accept-token", OTHER, "--spool", dir], stub),
    );
    try {
      await stub.waitForCount(2);
      assert.deepEqual(
        stub.received.map((r) => [r.token, r.event.message]).sort(),
        [[TEST_TOKEN, "mine"], [OTHER, "kept"]],
      );
    } finally {
      await relay.stop(2000);
    }
  } finally {
    await stub.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for a condition");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("foreign token: warned about once per token, by its last four characters only", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  const p = new RelayProcess(["--token", TEST_TOKEN, "--loggly-url", stub.url]);
  try {
    const { tcp } = await p.ready();
    const lines = [1, 2, 3].map((i) => `<13>1 - h app - - ${sd(STRANGER, "x")} foreign ${i}\n`);
    await sendTcp(tcp, ...lines, "<13>mine\n");
    await stub.waitForCount(1);
  } finally {
    await p.stop();
    await stub.stop();
  }
  assert.equal(p.stderr.match(/naming the Loggly token …6666/g)?.length, 1, p.stderr);
  assert.match(p.stderr, /3 tcp: foreign token/, "the shutdown summary counts them");
  assert.ok(!p.stderr.includes(STRANGER) && !p.stderr.includes(TEST_TOKEN), p.stderr);
  assert.deepEqual(stub.messages(), ["mine"]);
});
