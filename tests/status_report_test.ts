/**
 * The status report's parts without sockets: the 15-minute rate history, the ring of recent parse
 * errors (cut, redacted), the report as /status.json has it, and the terminal screen.
 */
import assert from "node:assert/strict";
import { Metrics } from "../lib/metrics.ts";
import { makeRedactor } from "../lib/redact.ts";
import { RateHistory } from "../lib/status/history.ts";
import { LINE_BYTES, RECENT_ERRORS, RecentErrors } from "../lib/status/recent_errors.ts";
import { buildReport, rateCounters, type ReportSources } from "../lib/status/report.ts";
import { logglyText, renderReport } from "../lib/status/terminal.ts";
import { TEST_TOKEN } from "./loggly_stub.ts";

Deno.test("rate history: events per second between samples, a bounded ring, late series at 0", () => {
  const h = new RateHistory(3);
  h.sample(0, { "in:tcp": 0, out: 0 });
  assert.deepEqual(h.data(), { t: [], series: {} }, "the first sample is the baseline");
  h.sample(1000, { "in:tcp": 10, out: 4 });
  h.sample(3000, { "in:tcp": 30, out: 4, "in:udp": 6 });
  assert.deepEqual(h.data(), {
    t: [1000, 3000],
    series: { "in:tcp": [10, 10], out: [4, 0], "in:udp": [0, 3] },
  });
  h.sample(4000, { "in:tcp": 31, out: 5, "in:udp": 6 });
  h.sample(5000, { "in:tcp": 2, out: 5, "in:udp": 6 }); // a reset counts from zero
  assert.deepEqual(h.data(), {
    t: [3000, 4000, 5000],
    series: { "in:tcp": [10, 1, 2], out: [0, 1, 0], "in:udp": [3, 0, 0] },
  });
});

Deno.test("recent parse errors: newest first, at most ten, cut, tokens redacted", () => {
  const recent = new RecentErrors(() => makeRedactor([TEST_TOKEN]));
  const encode = (text: string) => new TextEncoder().encode(text);
  for (let i = 0; i < RECENT_ERRORS + 2; i++) recent.add(i, "udp", "no PRI", encode(`line ${i}`));
  recent.add(99, "tcp", "no PRI", encode(`${TEST_TOKEN} ${"x".repeat(LINE_BYTES)}`));
  const list = recent.list();
  assert.equal(list.length, RECENT_ERRORS);
  assert.equal(list[0].at, 99);
  assert.equal(list[0].input, "tcp");
  assert.ok(!list[0].line.includes(TEST_TOKEN), list[0].line);
  assert.ok(list[0].line.startsWith("[REDACTED] xxx"));
  assert.ok(list[0].line.endsWith("…"));
  assert.equal(list[RECENT_ERRORS - 1].line, "line 3");
  // Another account's token, unknown to the redactor, is hidden as token-shaped text.
  recent.add(100, "udp", "bad", encode("key 11111111-2222-4333-8444-555555555555 here"));
  assert.equal(recent.list()[0].line, "key [REDACTED] here");
  // The longest HTTP token across the cut is redacted whole too.
  const long = "T".repeat(128);
  const withLong = new RecentErrors(() => makeRedactor([long]));
  withLong.add(1, "tcp", "no PRI", encode(`${"y".repeat(LINE_BYTES - 1)}${long}`));
  assert.ok(!withLong.list()[0].line.includes("TT"), withLong.list()[0].line);
  // A token across the cut is redacted whole, not shown in part.
  for (let at = LINE_BYTES - 30; at <= LINE_BYTES; at += 5) {
    recent.add(200, "tcp", "no PRI", encode(`${"y".repeat(at)}${TEST_TOKEN}${"z".repeat(50)}`));
    const line = recent.list()[0].line;
    assert.ok(!line.includes(TEST_TOKEN.slice(0, 8)), line);
    assert.ok(line.endsWith("…"));
  }
});

function sources(metrics: Metrics, extra: Partial<ReportSources> = {}): ReportSources {
  return {
    metrics,
    heldEvents: () => 7,
    heldBytes: () => 2048,
    queueKind: "spool",
    lastAnswer: () => ({ status: 503, text: "busy", at: 95_000 }),
    now: () => 100_000,
    version: "1.2.3",
    startedAt: 40_000,
    configSource: () => "/etc/loggly-relay/config.toml",
    certificates: () => [{
      input: "syslog TLS",
      path: "/etc/ssl/relay.pem",
      subject: "CN=relay",
      expires: 100_000 + 10.5 * 86_400_000,
    }],
    recentErrors: () => [],
    history: () => ({ t: [99_000], series: { "in:tcp": [12], out: [3] } }),
    ...extra,
  };
}

Deno.test("status report: the counters as /metrics has them, Loggly's state, expiry in days", () => {
  const metrics = new Metrics();
  metrics.inc("loggly_relay_events_received_total", { input: "tcp" }, 5);
  metrics.inc("loggly_relay_events_received_total", { input: "udp" }, 2);
  metrics.inc("loggly_relay_events_sent_total", {}, 4);
  metrics.inc("loggly_relay_events_dropped_total", { input: "udp", reason: "queue full" }, 1);
  metrics.inc("loggly_relay_events_dropped_total", { input: "tcp", reason: "queue full" }, 2);
  metrics.inc("loggly_relay_parse_errors_total", { input: "udp" }, 1);
  const r = buildReport(sources(metrics));
  assert.deepEqual(r.received, { tcp: 5, udp: 2 });
  assert.equal(r.sent, 4);
  assert.deepEqual(r.dropped, { "queue full": 3 });
  assert.equal(r.parseErrors, 1);
  assert.equal(r.uptimeSeconds, 60);
  assert.deepEqual(r.queue, { kind: "spool", events: 7, bytes: 2048 });
  assert.equal(r.loggly.state, "failing");
  assert.equal(r.certificates[0].days, 10);
  assert.deepEqual(rateCounters({ metrics }), { "in:tcp": 5, "in:udp": 2, out: 4 });
  assert.equal(
    buildReport(sources(metrics, { lastAnswer: () => null })).loggly.state,
    "not asked yet",
  );
  const ok = buildReport(
    sources(metrics, { lastAnswer: () => ({ status: 200, text: "", at: 99_000 }) }),
  );
  assert.equal(ok.loggly.state, "ok");
  assert.equal(logglyText(ok), "ok (200, 1 s ago)");
  assert.equal(logglyText(r), "FAILING: answered 503 (busy), 5 s ago");
});

Deno.test("status screen: one line per input with rates, the queue, drops and certificates", () => {
  const metrics = new Metrics();
  metrics.inc("loggly_relay_events_received_total", { input: "tcp" }, 5);
  metrics.inc("loggly_relay_events_dropped_total", { input: "udp", reason: "queue full" }, 1);
  const screen = renderReport(buildReport(sources(metrics)), "127.0.0.1:8080");
  assert.match(screen, /^loggly-relay 1\.2\.3 at 127\.0\.0\.1:8080, up 1 min/);
  assert.match(screen, /^tcp {16}5 {4}12\.0 {7}12\.0$/m);
  assert.match(screen, /^sent {15}0 {5}3\.0 {8}3\.0$/m);
  assert.match(screen, /^spool {7}7 events \(2 KiB\)$/m);
  assert.match(screen, /^dropped {5}1 \(queue full\)$/m);
  assert.match(screen, /^certificate syslog TLS \/etc\/ssl\/relay\.pem: expires in 10 days$/m);
});
