/**
 * Fault scenario 1 (issue 11): 20,000 events of ~150 bytes over one TCP connection while Loggly
 * is slow and the queue small, so the reader pauses again and again and every read ends inside a
 * message. Then a message half sent when the relay is stopped.
 */
import assert from "node:assert/strict";
import { figures, startRig, waitUntil, writeAll } from "./fault_kit.ts";

const encoder = new TextEncoder();
const EVENTS = 20_000;

Deno.test("fault 1: a paused, streaming TCP reader never forwards part of a message", async () => {
  const rig = await startRig([
    "--queue-max-events",
    "1000",
    "--batch-max-events",
    "500",
    "--concurrency",
    "2",
    "--message-timeout",
    "1s",
  ]);
  rig.stub.delayMs = 300; // Loggly slow: the queue fills, the reader pauses
  const started = Date.now();
  try {
    const payload = "p".repeat(100);
    const lines = Array.from(
      { length: EVENTS },
      (_, i) => `<13>Jan  1 00:00:00 host app: id=frag-${String(i).padStart(7, "0")} ${payload}\n`,
    );
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: rig.ports.tcp });
    await writeAll(conn, encoder.encode(lines.join("")));
    conn.close();
    await rig.stub.waitForCount(EVENTS, 120_000);
    const seconds = (Date.now() - started) / 1000;
    rig.stub.delayMs = 0;

    const whole = /^id=frag-(\d{7}) p{100}$/;
    const ids = new Set<string>();
    for (const message of rig.stub.messages()) {
      const m = whole.exec(message);
      assert.ok(m, `a part of a message was forwarded: ${message.slice(0, 60)}`);
      ids.add(m[1]);
    }
    assert.equal(ids.size, EVENTS, "every event exactly once");
    const paused = await rig.total("loggly_relay_readers_paused_total");
    const closed = await rig.total("loggly_relay_connections_closed_total");
    assert.ok(paused > 0, "the reader never paused: the scenario did not happen");
    assert.equal(closed, 0);

    // A message begun, not finished, when the relay stops: forwarded marked incomplete.
    const half = await Deno.connect({ hostname: "127.0.0.1", port: rig.ports.tcp });
    await writeAll(
      half,
      encoder.encode(
        "<13>Jan  1 00:00:00 host app: whole\n<13>Jan  1 00:00:00 host app: half-a-mess",
      ),
    );
    await waitUntil(async () =>
      (await rig.metric('loggly_relay_events_received_total{input="tcp"}')) === EVENTS + 1
    );
    const code = await rig.stopRelay();
    half.close();
    const last = rig.stub.received.slice(EVENTS);
    assert.deepEqual(last.map((r) => r.event.message), ["whole", "half-a-mess"]);
    assert.equal((last[1].event.relay as Record<string, unknown>).incomplete, true);
    assert.equal((last[0].event.relay as Record<string, unknown>).incomplete, undefined);
    assert.equal(code, 0, rig.relay.stderr.slice(-2000));
    figures("1 split", {
      sent: EVENTS,
      delivered_whole: ids.size,
      cut: rig.stub.received.length - EVENTS - 2,
      reader_pauses: paused,
      connections_closed: closed,
      half_at_shutdown: "relay.incomplete=true",
      seconds: seconds.toFixed(1),
    });
  } finally {
    await rig.close();
  }
});
