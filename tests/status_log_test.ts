/**
 * "Says what it is doing": the periodic status line, a line per batch at -v and per event at -vv
 * (rate-limited), on their own and from a running relay.
 */
import assert from "node:assert/strict";
import { M, Metrics } from "../lib/metrics.ts";
import { answerText, StatusLine } from "../lib/status_log.ts";
import { RateLimit } from "../lib/throttle.ts";
import { sendTcp, sendUdp } from "./helpers.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";
import { RelayProcess, waitUntil } from "./relay_process.ts";

Deno.test("status line: what changed since the last line, the queue, and Loggly's last answer", () => {
  const metrics = new Metrics();
  let now = 1_000_000;
  let answer: { status: number | null; text: string; at: number } | null = null;
  const line = new StatusLine({
    metrics,
    heldEvents: () => 12,
    heldBytes: () => 2048,
    queueKind: "spool",
    lastAnswer: () => answer,
    now: () => now,
  });
  metrics.inc(M.received, { input: "udp" }, 5);
  metrics.inc(M.received, { input: "tcp" }, 7);
  metrics.inc(M.sent, {}, 10);
  metrics.inc(M.dropped, { input: "udp", reason: "queue full" }, 2);
  metrics.inc(M.dropped, { input: "http", reason: "queue full" }, 1);
  answer = { status: 200, text: '{"response":"ok"}', at: now };
  now += 60_000;
  assert.equal(
    line.next(),
    "last 60 s: received 5 udp, 7 tcp; sent 10; retried 0; dropped 3 (queue full); " +
      "spool 12 events (2 KiB); Loggly 200, 60 s ago",
  );
  metrics.inc(M.received, { input: "tcp" }, 1);
  metrics.inc(M.retries);
  answer = { status: null, text: "Connection refused", at: now };
  now += 30_000;
  assert.equal(
    line.next(),
    "last 30 s: received 1 tcp; sent 0; retried 1; dropped 0; spool 12 events (2 KiB); " +
      "Loggly unreachable (Connection refused), 30 s ago",
  );
  assert.equal(answerText(null, now), "not asked yet");
});

Deno.test("rate limit: at most N an interval, and how many the last interval refused", () => {
  let now = 0;
  const limit = new RateLimit(2, 1000, () => now);
  const takes = () => limit.take();
  assert.deepEqual([takes(), takes(), takes(), takes()].map((t) => t.allowed), [
    true,
    true,
    false,
    false,
  ]);
  now = 999;
  assert.equal(takes().allowed, false);
  now = 1000;
  assert.deepEqual(takes(), { allowed: true, refusedBefore: 3 });
  assert.deepEqual(takes(), { allowed: true, refusedBefore: 0 });
});

Deno.test("a running relay: a status line each interval, a line per batch (-v), per event (-vv, limited)", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  const p = new RelayProcess(
    ["--loggly-url", stub.url, "--linger", "100ms", "--status-interval", "500ms", "-vv"],
    { LOGGLY_TOKEN: TEST_TOKEN },
  );
  try {
    const { udp, tcp } = await p.ready();
    await sendTcp(tcp, Array.from({ length: 30 }, (_, i) => `<13>tcp event ${i}\n`).join(""));
    await sendUdp(udp, "<13>one udp event");
    await waitUntil(() => stub.messages().length === 31);
    // Status lines (each for its interval) add up to every event received and sent.
    const statusLines = () =>
      [...p.stderr.matchAll(/"status":"(last [\d.]+ s: [^"]*)"/g)].map((m) => m[1]);
    const sum = (pattern: RegExp) =>
      statusLines().reduce((total, line) => total + Number(pattern.exec(line)?.[1] ?? 0), 0);
    await waitUntil(() => sum(/; sent (\d+);/) === 31);
    assert.equal(sum(/ (\d+) tcp\b/), 30);
    assert.equal(sum(/ (\d+) udp\b/), 1);
    assert.match(
      statusLines().at(-1)!,
      /retried 0; dropped 0; queue 0 events \(0 bytes\); Loggly 200, \d+ s ago$/,
    );
    assert.match(p.stderr, /"message":"Posted \d+ events \(\d+ bytes\) to Loggly: 200"/);
    // -vv: the first 10 events of that second, then nothing until the next second.
    const eventLines = p.stderr.split("\n").filter((l) => l.includes('"message":"Event {'));
    assert.equal(eventLines.length, 10, eventLines.join("\n"));
    // The count of lines not shown comes with the first event of a later second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await sendUdp(udp, "<13>a later event");
    await waitUntil(() => /"message":"21 more events in that second not shown"/.test(p.stderr));
    await waitUntil(() => /a later event/.test(p.stderr));
    assert.equal(await p.stop(), 0);
    assert.ok(!p.stderr.includes(TEST_TOKEN));
  } finally {
    await stub.stop();
  }
});
