/** What the relay says when it stops: never "every event was delivered" when some were not. */
import assert from "node:assert/strict";
import { M, Metrics } from "../lib/metrics.ts";
import { EXIT, exitCode, shutdownReport, type StopState } from "../lib/shutdown.ts";

const RUNNING: StopState = { unsent: 0, inFlight: 0, notSpooled: 0, durable: false, dryRun: false };

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

Deno.test("shutdown: events never sent and events in aborted requests are told apart", () => {
  const m = new Metrics();
  m.inc(M.sent, {}, 7);
  const both = last(m, { ...RUNNING, unsent: 16_000, inFlight: 4_000 });
  assert.equal(both.level, "error");
  assert.equal(
    both.message,
    "Stopped with 16000 events not delivered to Loggly and 4000 in requests aborted at the " +
      "shutdown timeout, which Loggly may or may not have received (7 delivered)",
  );
  const onlyInFlight = last(m, { ...RUNNING, inFlight: 3 });
  assert.equal(onlyInFlight.level, "error");
  assert.equal(
    onlyInFlight.message,
    "Stopped with 3 events in requests aborted at the shutdown timeout, which Loggly may or may " +
      "not have received (7 delivered)",
  );
  const onlyUnsent = last(m, { ...RUNNING, unsent: 2 });
  assert.equal(onlyUnsent.message, "Stopped with 2 events not delivered to Loggly (7 delivered)");
});

Deno.test("shutdown: with a spool, in-flight events are kept too, and may reach Loggly twice", () => {
  const m = new Metrics();
  const line = last(m, { ...RUNNING, durable: true, unsent: 10, inFlight: 4 });
  assert.equal(line.level, "warn");
  assert.equal(
    line.message,
    "Stopped with 14 events kept in the spool; they are sent at the next start (0 delivered); " +
      "4 of them were in requests aborted at the shutdown timeout and may reach Loggly twice",
  );
  const failed = last(m, { ...RUNNING, durable: true, unsent: 10, notSpooled: 3 });
  assert.equal(failed.level, "error");
  assert.match(failed.message, /^Stopped with 7 events kept in the spool;.*; 3 more could not be/);
});

Deno.test("exit code: 3 when events are lost or may be, 0 when delivered or kept in the spool", () => {
  assert.equal(exitCode(RUNNING), EXIT.ok);
  assert.equal(exitCode({ ...RUNNING, unsent: 1 }), EXIT.undelivered);
  assert.equal(exitCode({ ...RUNNING, inFlight: 1 }), EXIT.undelivered);
  assert.equal(exitCode({ ...RUNNING, dryRun: true, unsent: 1 }), EXIT.undelivered);
  assert.equal(exitCode({ ...RUNNING, durable: true, unsent: 5, inFlight: 2 }), EXIT.ok);
  assert.equal(exitCode({ ...RUNNING, durable: true, unsent: 5, notSpooled: 1 }), EXIT.undelivered);
  assert.deepEqual(EXIT, { ok: 0, failure: 1, usage: 2, undelivered: 3 });
});

Deno.test("exit code: events dropped before they were queued are reported, not an exit status", () => {
  const m = new Metrics();
  m.inc(M.sent, {}, 5);
  m.inc(M.dropped, { input: "udp", reason: "queue full" }, 9);
  assert.equal(exitCode(RUNNING), EXIT.ok);
  assert.match(last(m).message, /but 9 never reached Loggly/);
});
