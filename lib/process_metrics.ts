/**
 * The relay's own cost on /metrics: the standard Prometheus process metrics, and V8's heap. Every
 * value is read when /metrics is rendered, from APIs that need no permission: the release build
 * may read neither /proc nor run `ps`.
 *
 * @module
 */

import process from "node:process";
import type { Metrics } from "./metrics.ts";

/** Names: Prometheus's standard `process_*` (known to stock dashboards), V8's with our prefix. */
export const PROCESS_METRICS = {
  residentMemory: "process_resident_memory_bytes",
  cpuSeconds: "process_cpu_seconds_total",
  startTime: "process_start_time_seconds",
  heapUsed: "loggly_relay_heap_used_bytes",
  heapTotal: "loggly_relay_heap_total_bytes",
  externalMemory: "loggly_relay_external_memory_bytes",
} as const;

/** What the process metrics read: the real process unless a test says otherwise. */
export interface ProcessReaders {
  /** Memory in bytes, as `Deno.memoryUsage()` gives it. */
  memory(): Deno.MemoryUsage;
  /** CPU time spent by the process in microseconds, as `node:process` `cpuUsage()` gives it. */
  cpu(): { user: number; system: number };
  /** When the process started, in Unix milliseconds. */
  startMs: number;
}

/** The running process. */
const LIVE: Readonly<ProcessReaders> = {
  memory: () => Deno.memoryUsage(),
  cpu: () => process.cpuUsage(),
  // The moment the runtime started: within milliseconds of the kernel's start of the process.
  startMs: performance.timeOrigin,
};

/** Registers the process and V8 heap metrics on `metrics`, read whenever it is rendered. */
export function observeProcess(metrics: Metrics, deps: Partial<ProcessReaders> = {}): void {
  const { memory, cpu, startMs } = { ...LIVE, ...deps };
  const P = PROCESS_METRICS;
  const cpuSeconds = () => {
    const { user, system } = cpu();
    return (user + system) / 1e6;
  };
  const series: [name: string, type: "counter" | "gauge", help: string, read: () => number][] = [
    [P.residentMemory, "gauge", "Resident set size of the process in bytes.", () => memory().rss],
    [P.cpuSeconds, "counter", "User and system CPU time of the process in seconds.", cpuSeconds],
    [P.startTime, "gauge", "Start time of the process in Unix seconds.", () => startMs / 1000],
    [P.heapUsed, "gauge", "V8 heap in use, in bytes.", () => memory().heapUsed],
    [P.heapTotal, "gauge", "V8 heap allocated, in bytes.", () => memory().heapTotal],
    [
      P.externalMemory,
      "gauge",
      "Memory outside the V8 heap held by JS objects, in bytes.",
      () => memory().external,
    ],
  ];
  for (const [name, type, help, read] of series) {
    metrics.describe(name, type, help);
    metrics.observe(name, read, {}, type);
  }
}
