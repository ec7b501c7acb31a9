/**
 * Fault scenario 6 (issue 11): 10,000 datagrams at 2,000 a second while Loggly is down and the
 * queue holds 1,000. Every datagram is either received or counted as dropped, whatever the cause
 * (queue full, the relay's buffer, the kernel's), and memory stays bounded, also under a burst
 * of 100,000 as fast as the test can send.
 */
import assert from "node:assert/strict";
import { figures, sleep, startRig, waitUntil } from "./fault_kit.ts";

const SENT = 10_000;
const RATE = 2_000;
const BURST = 100_000;

Deno.test("fault 6: every UDP datagram is received or counted as dropped; memory bounded", async () => {
  const rig = await startRig(["--queue-max-events", "1000"]);
  await rig.stub.stop(); // Loggly down: the queue fills and stays full
  try {
    const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const pad = "u".repeat(120);
    const started = Date.now();
    for (let i = 0; i < SENT; i++) {
      const data = new TextEncoder().encode(`<13>Jan  1 00:00:00 host app: udp ${i} ${pad}`);
      await socket.send(data, { transport: "udp", hostname: "127.0.0.1", port: rig.ports.udp });
      const due = started + ((i + 1) * 1000) / RATE;
      if (due > Date.now()) await sleep(due - Date.now());
    }
    const received = 'loggly_relay_events_received_total{input="udp"}';
    const dropped = async () => {
      const text = await (await fetch(`http://127.0.0.1:${rig.ports.http}/metrics`)).text();
      return text.split("\n")
        .filter((l) => l.startsWith('loggly_relay_events_dropped_total{input="udp"'))
        .map((l) =>
          [
            l.slice(l.indexOf("reason=") + 8, l.lastIndexOf('"')),
            Number(l.split(" ").pop()),
          ] as const
        );
    };
    // A datagram dropped because the queue was full was received first; one dropped before
    // the relay parsed it (its own buffer, the kernel's) was not.
    const sum = async () =>
      (await rig.metric(received)) +
      (await dropped()).filter(([reason]) => reason !== "queue full")
        .reduce((s, [, n]) => s + n, 0);
    await waitUntil(async () => (await sum()) >= SENT, 20_000);
    assert.equal(await sum(), SENT, "every datagram received or counted");
    const byReason = Object.fromEntries(await dropped());
    const receivedPaced = await rig.metric(received);
    assert.ok((byReason["queue full"] ?? 0) > 0, "the queue was full");
    const rss = await rig.peakRssMiB();
    assert.ok(rss < 400, `peak RSS ${rss} MiB`);

    // Then as fast as this sender can: memory stays bounded by --udp-recv-buffer and the queue.
    const burstStart = Date.now();
    for (let i = 0; i < BURST; i++) {
      const data = new TextEncoder().encode(`<13>Jan  1 00:00:00 host app: burst ${i} ${pad}`);
      await socket.send(data, { transport: "udp", hostname: "127.0.0.1", port: rig.ports.udp });
    }
    const burstRate = Math.round(BURST / ((Date.now() - burstStart) / 1000));
    socket.close();
    await waitUntil(async () => (await sum()) >= SENT + BURST, 20_000);
    assert.equal(await sum(), SENT + BURST, "every datagram of the burst received or counted");
    const burstRss = await rig.peakRssMiB();
    assert.ok(burstRss < 400, `peak RSS ${burstRss} MiB`);

    const byReasonAll = Object.fromEntries(await dropped());
    rig.stub.start();
    const queued = (await rig.metric(received)) - (byReasonAll["queue full"] ?? 0);
    await rig.stub.waitForCount(queued, 30_000);
    assert.equal(rig.stub.received.length, queued);
    figures("6 udp flood", {
      sent: SENT,
      rate_per_s: RATE,
      received: receivedPaced,
      ...Object.fromEntries(Object.entries(byReason).map(([k, v]) => [`dropped(${k})`, v])),
      uncounted: SENT + BURST - (await sum()),
      delivered: rig.stub.received.length,
      peak_rss_mib: rss.toFixed(0),
      burst: BURST,
      received_total: await rig.metric(received),
      burst_rate_per_s: burstRate,
      ...Object.fromEntries(
        Object.entries(byReasonAll).map(([k, v]) => [`after_burst_dropped(${k})`, v]),
      ),
      peak_rss_after_burst_mib: burstRss.toFixed(0),
    });
  } finally {
    await rig.close();
  }
});
