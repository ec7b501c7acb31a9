/**
 * Fault scenario 2 (issue 11): the spool on a 2 MiB tmpfs, Loggly down, 20,000 events (3 MB)
 * over TCP. The full disk is back-pressure that ends once Loggly is back; everything arrives once;
 * the stop reports no false loss and a restart re-sends nothing.
 */
import assert from "node:assert/strict";
import {
  figures,
  numberedLines,
  sleep,
  startRig,
  waitUntil,
  withTmpfs,
  writeAll,
} from "./fault_kit.ts";

const EVENTS = 20_000;

Deno.test("fault 2: a spool on a full disk recovers once Loggly is back; no false loss, no re-send", async () => {
  await withTmpfs("2m", async (dir) => {
    const spool = `${dir}/spool`;
    let rig = await startRig(["--spool", spool]);
    const stub = rig.stub;
    try {
      await stub.stop(); // Loggly down
      const started = Date.now();
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: rig.ports.tcp });
      const sending = writeAll(conn, numberedLines("disk", EVENTS)).finally(() => conn.close());
      await waitUntil(
        async () => (await rig.total("loggly_relay_spool_write_errors_total")) > 0,
        60_000,
      );
      // The disk is full and Loggly still down: inputs wait. A while longer, as in the probe.
      await sleep(5_000);
      const writeErrors = await rig.total("loggly_relay_spool_write_errors_total");
      stub.start(); // Loggly back
      const back = Date.now();
      await sending;
      await stub.waitForCount(EVENTS, 120_000);
      const drained = Date.now();
      const ids = new Set(stub.messages().map((m) => m.slice(0, 12)));
      assert.equal(ids.size, EVENTS, "every event arrived");
      const duplicates = stub.received.length - EVENTS;

      // Inputs flow again: one more event goes straight through; the queue reads 0.
      const after = await Deno.connect({ hostname: "127.0.0.1", port: rig.ports.tcp });
      await writeAll(after, numberedLines("after", 1));
      after.close();
      await stub.waitForCount(stub.received.length + 1);
      await waitUntil(async () => (await rig.metric("loggly_relay_queue_events")) === 0);
      const health = await fetch(`http://127.0.0.1:${rig.ports.http}/healthz`);
      assert.equal(health.status, 200, await health.text());

      const code = await rig.stopRelay();
      assert.equal(code, 0, rig.relay.stderr.slice(-3000));
      assert.doesNotMatch(rig.relay.stderr, /could not be written to the spool before exit/);
      const total = stub.received.length;

      // A restart on the same spool sends nothing already delivered.
      rig = await startRig(["--spool", spool], { stub });
      const marker = await Deno.connect({ hostname: "127.0.0.1", port: rig.ports.tcp });
      await writeAll(marker, numberedLines("marker", 1));
      marker.close();
      await stub.waitForCount(total + 1);
      await rig.stopRelay();
      const resent = stub.received.length - total - 1;
      assert.equal(resent, 0, "delivered events sent again after the restart");
      assert.doesNotMatch(rig.relay.stderr, /Spool holds \d+ events/);
      figures("2 full disk", {
        sent: EVENTS,
        delivered_distinct: ids.size,
        duplicates,
        spool_write_errors_at_recovery: writeErrors,
        outage_s: ((back - started) / 1000).toFixed(1),
        drained_after_recovery_s: ((drained - back) / 1000).toFixed(1),
        exit_code: code,
        resent_after_restart: resent,
      });
    } finally {
      await rig.close();
    }
  });
});
