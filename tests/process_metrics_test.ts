/**
 * /metrics reports the relay's own cost: the standard Prometheus process metrics and V8's heap,
 * read at scrape time, and real under the release permissions (no /proc, no `ps`).
 */
import assert from "node:assert/strict";
import { Metrics } from "../lib/metrics.ts";
import { observeProcess, PROCESS_METRICS as P } from "../lib/process_metrics.ts";
import { run, sendTcp } from "./helpers.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";
import { RelayProcess, waitUntil } from "./relay_process.ts";

/** A series' value in /metrics text (NaN when absent). */
function metric(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

Deno.test("process metrics: names, HELP, TYPE and values from the injected readers", () => {
  const m = new Metrics();
  const memory = { rss: 50_000_000, heapTotal: 8_000_000, heapUsed: 6_000_000, external: 700_000 };
  const cpu = { user: 1_250_000, system: 250_000 };
  observeProcess(m, {
    memory: () => ({ ...memory }),
    cpu: () => ({ ...cpu }),
    startMs: 1_700_000_000_500,
  });
  assert.equal(
    m.render(),
    [
      "# HELP process_resident_memory_bytes Resident set size of the process in bytes.",
      "# TYPE process_resident_memory_bytes gauge",
      "process_resident_memory_bytes 50000000",
      "# HELP process_cpu_seconds_total User and system CPU time of the process in seconds.",
      "# TYPE process_cpu_seconds_total counter",
      "process_cpu_seconds_total 1.5",
      "# HELP process_start_time_seconds Start time of the process in Unix seconds.",
      "# TYPE process_start_time_seconds gauge",
      "process_start_time_seconds 1700000000.5",
      "# HELP loggly_relay_heap_used_bytes V8 heap in use, in bytes.",
      "# TYPE loggly_relay_heap_used_bytes gauge",
      "loggly_relay_heap_used_bytes 6000000",
      "# HELP loggly_relay_heap_total_bytes V8 heap allocated, in bytes.",
      "# TYPE loggly_relay_heap_total_bytes gauge",
      "loggly_relay_heap_total_bytes 8000000",
      "# HELP loggly_relay_external_memory_bytes " +
      "Memory outside the V8 heap held by JS objects, in bytes.",
      "# TYPE loggly_relay_external_memory_bytes gauge",
      "loggly_relay_external_memory_bytes 700000",
      "",
    ].join("\n"),
  );
  // Read again at every render: never a value from an earlier scrape.
  memory.rss = 60_000_000;
  memory.heapUsed = 7_000_000;
  cpu.user = 2_000_000;
  const text = m.render();
  assert.equal(metric(text, P.residentMemory), 60_000_000);
  assert.equal(metric(text, P.heapUsed), 7_000_000);
  assert.equal(metric(text, P.cpuSeconds), 2.25);
  assert.equal(m.get(P.cpuSeconds), 2.25);
});

Deno.test("process metrics: the live readers give this process's figures", () => {
  const m = new Metrics();
  observeProcess(m);
  const text = m.render();
  assert.ok(metric(text, P.residentMemory) > 10e6, text);
  assert.ok(metric(text, P.cpuSeconds) > 0, text);
  const start = metric(text, P.startTime);
  assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 600, text);
  assert.ok(metric(text, P.heapUsed) > 0, text);
  assert.ok(metric(text, P.heapTotal) >= metric(text, P.heapUsed), text);
  assert.ok(metric(text, P.externalMemory) >= 0, text);
});

/** The kernel's view of a process (Linux): resident bytes and user+system CPU seconds. */
async function kernelView(pid: number): Promise<{ rss: number; cpu: number }> {
  // Through cat: this runtime lets only --allow-all read /proc, and the suite runs without it.
  const status = (await run("cat", [`/proc/${pid}/status`])).stdout;
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]);
  // Fields after the command name; utime and stime are the 14th and 15th of the whole line.
  const stat = (await run("cat", [`/proc/${pid}/stat`])).stdout.split(") ")[1].split(" ");
  const ticks = Number(stat[11]) + Number(stat[12]);
  return { rss: rssKiB * 1024, cpu: ticks / 100 }; // USER_HZ is 100 on Linux
}

Deno.test("relay process: /metrics shows its memory, CPU and start under the release permissions", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  // DENO_RUN: --allow-net --allow-read --allow-write --allow-env, as `deno task start` runs it.
  const p = new RelayProcess([
    "--token",
    TEST_TOKEN,
    "--loggly-url",
    stub.url,
    "--linger",
    "10ms",
    "--http",
    "127.0.0.1:0",
  ]);
  const scrape = async () => {
    const response = await fetch(`http://127.0.0.1:${p.ports.http}/metrics`);
    assert.equal(response.status, 200);
    return await response.text();
  };
  try {
    const { tcp } = await p.ready();
    await waitUntil(() => p.ports.http !== undefined);
    const before = await scrape();
    for (const name of Object.values(P)) {
      const kind = name === P.cpuSeconds ? "counter" : "gauge";
      assert.ok(before.includes(`\n# TYPE ${name} ${kind}\n`), `${name} ${kind}:\n${before}`);
    }
    const rss = metric(before, P.residentMemory);
    const cpu = metric(before, P.cpuSeconds);
    const start = metric(before, P.startTime);
    assert.ok(rss > 10 * 2 ** 20, `RSS ${rss}`);
    assert.ok(cpu > 0, `CPU seconds ${cpu}`);
    assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 60, `start ${start}`);
    assert.ok(metric(before, P.heapUsed) > 0, before);
    assert.ok(metric(before, P.heapTotal) >= metric(before, P.heapUsed), before);
    assert.ok(metric(before, P.externalMemory) >= 0, before);
    assert.doesNotMatch(p.stderr, /NotCapable|PermissionDenied|Requires .* access/);

    const lines = Array.from({ length: 20_000 }, (_, i) => `<13>busy ${i}\n`).join("");
    await sendTcp(tcp, lines);
    await stub.waitForCount(20_000, 30_000);
    const after = await scrape();
    assert.ok(metric(after, P.cpuSeconds) > cpu, `CPU seconds ${cpu} then ${after}`);
    assert.equal(metric(after, P.startTime), start);

    if (Deno.build.os === "linux") {
      // The same figures as the kernel's, read around a scrape (this test may read /proc).
      const k1 = await kernelView(p.child.pid);
      const text = await scrape();
      const k2 = await kernelView(p.child.pid);
      const relayRss = metric(text, P.residentMemory);
      assert.ok(Math.abs(relayRss - k2.rss) < 0.25 * k2.rss, `RSS ${relayRss}, kernel ${k2.rss}`);
      const relayCpu = metric(text, P.cpuSeconds);
      assert.ok(k1.cpu - 0.05 <= relayCpu && relayCpu <= k2.cpu + 0.05, `CPU ${relayCpu}`);
    }
  } finally {
    await p.stop();
    await stub.stop();
  }
});
