/** What the relay says when it stops: never "every event was delivered" when some were not. */
import assert from "node:assert/strict";
import { M, Metrics } from "../lib/metrics.ts";
import { shutdownReport } from "../lib/shutdown.ts";

const RUNNING = { unsent: 0, durable: false, dryRun: false };

function last(metrics: Metrics, state = RUNNING) {
  return shutdownReport(metrics, state).at(-1)!;
}

Deno.test("shutdown: all delivered, and the kernel's UDP drops were readable", () => {
  const m = new Metrics();
  m.inc(M.sent, {}, 5);
  m.set(M.udpKernelDropsCounted, 1);
  assert.deepEqual(shutdownReport(m, RUNNING), [
    { level: "info", message: "Stopped; every accepted event was delivered (5 delivered)" },
  ]);
});

Deno.test("shutdown: drops by input and reason are listed, and the last line does not hide them", () => {
  const m = new Metrics();
  m.inc(M.sent, {}, 90);
  m.set(M.udpKernelDropsCounted, 1);
  m.inc(M.dropped, { input: "udp", reason: "socket receive buffer full (kernel)" }, 7);
  m.inc(M.dropped, { input: "tcp", reason: "foreign token" }, 3);
  const lines = shutdownReport(m, RUNNING);
  assert.equal(lines.length, 2);
  assert.match(lines[0].message, /^10 events were dropped before they could be queued/);
  assert.match(
    lines[0].message,
    /7 udp: socket receive buffer full \(kernel\); 3 tcp: foreign token/,
  );
  assert.equal(lines[1].level, "warn");
  assert.match(
    lines[1].message,
    /90 delivered: every event the relay queued was delivered, but 10/,
  );
  assert.doesNotMatch(lines[1].message, /every accepted event/);
});

Deno.test("shutdown: where the kernel's UDP drops cannot be read, the line says so", () => {
  const m = new Metrics();
  m.inc(M.sent, {}, 3);
  m.set(M.udpKernelDropsCounted, 0);
  const line = last(m);
  assert.match(line.message, /every received event was delivered \(3 delivered\)/);
  assert.match(line.message, /UDP datagrams the kernel dropped .* cannot be seen by this build/);
});

Deno.test("shutdown: unsent events are kept in the spool or reported as not delivered", () => {
  const m = new Metrics();
  m.inc(M.sent, {}, 1);
  assert.match(
    last(m, { ...RUNNING, unsent: 4, durable: true }).message,
    /4 events kept in the spool/,
  );
  const lost = last(m, { ...RUNNING, unsent: 4 });
  assert.equal(lost.level, "error");
  assert.match(lost.message, /4 events not delivered to Loggly \(1 delivered\)/);
  m.inc(M.deadLettered, {}, 2);
  assert.ok(
    shutdownReport(m, RUNNING).some((l) => /2 events were refused by Loggly/.test(l.message)),
  );
});
