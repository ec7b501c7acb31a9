/**
 * Wires one relay together: queue, ingest, listeners and the sender (or the dry-run printer).
 * No flags, no signals, no process exit: that is main.ts's job, so tests start relays in-process.
 *
 * @module
 */
import { assertReachable, assertWritable, readEnv } from "./access.ts";
import type { Config } from "./config.ts";
import { LOGGLY_MAX_EVENT_BYTES } from "./config.ts";
import { DryRunDrain } from "./dry_run.ts";
import { Ingest } from "./ingest.ts";
import { bindInput, type Input, type InputContext } from "./inputs.ts";
import type { TlsFiles } from "./http/server.ts";
import { logger } from "./log.ts";
import { makeDeadLetter } from "./loggly/dead_letter.ts";
import { http1Client, proxyConfigured } from "./loggly/http1.ts";
import { type Drain, Sender, type Undelivered } from "./loggly/sender.ts";
import { M, Metrics } from "./metrics.ts";
import { observeProcess } from "./process_metrics.ts";
import { MemoryQueue } from "./queue/memory_queue.ts";
import type { EventQueue } from "./queue/queue.ts";
import { openSpool } from "./queue/spool.ts";
import { makeRedactor } from "./redact.ts";
import { INPUT_NAMES, type InputName, planReload, type ReloadPlan } from "./reload.ts";
import { servedCertificates } from "./status/certificates.ts";
import { RateHistory } from "./status/history.ts";
import { RecentErrors } from "./status/recent_errors.ts";
import { buildReport, rateCounters } from "./status/report.ts";
import { StatusLine, type StatusSources } from "./status_log.ts";
import { RateLimit, Throttle } from "./throttle.ts";
import { TokenPolicy } from "./tokens.ts";
import { formatAddress, type ListenAddress } from "./units.ts";
import { VERSION } from "./version.ts";

export { ListenError } from "./inputs.ts";

/** What a relay takes from its surroundings; each has a real default. */
export interface RelayDeps {
  fetch?: typeof fetch;
  metrics?: Metrics;
  /** Where --dry-run prints events; stdout by default. */
  stdout?: WritableStream<Uint8Array>;
  now?: () => number;
  random?: () => number;
  /** Where the configuration came from, for the status page (a config file's path). */
  configSource?: () => string;
}

/** A running relay. */
export interface Relay {
  readonly udp: ListenAddress | null;
  readonly tcp: ListenAddress | null;
  readonly tls: ListenAddress | null;
  readonly http: ListenAddress | null;
  readonly metrics: Metrics;
  /** Re-reads the syslog TLS certificates; throws why when they cannot be used. */
  reloadCertificates(): void;
  /**
   * Applies a new configuration (SIGHUP): inputs whose address or TLS settings changed are bound
   * again, the rest (the other inputs' limits too) changes in place; what only a restart can
   * change is named in the plan. Throws why when an input cannot be bound, with every input as
   * it was.
   */
  reload(next: Config): Promise<ReloadPlan>;
  /** True when unsent events stay on disk for the next start. */
  readonly durable: boolean;
  /** Stops like {@link Relay.shutdown}; returns the events left (with a spool, those kept in it). */
  stop(timeoutMs?: number): Promise<number>;
  /**
   * Stops the listeners, then flushes for up to `timeoutMs`; says which events were left unsent,
   * which were in requests the timeout aborted, and which a spool could not keep.
   */
  shutdown(timeoutMs?: number): Promise<Leftover>;
}

/** The events a relay still held when it stopped. */
export interface Leftover extends Undelivered {
  /** Of those, events the spool could not write at exit: lost even with --spool (else 0). */
  notSpooled: number;
}

/**
 * Bytes of events a spool keeps in memory as well (unless a batch is larger, and at most
 * --queue-max-bytes): the disk holds them all. 16 MiB held ~50 MiB more at full load than 4 MiB,
 * at no gain in events/s (deno task bench --rows spool); a cache smaller than what is held made
 * the sender read events back from the disk.
 */
const SPOOL_CACHE_BYTES = 4 * 1024 * 1024;

/** How often the status page's rates are sampled. */
const HISTORY_INTERVAL_MS = 1000;

/** How often a recurring problem (drops, truncation) is logged at most. */
const PROBLEM_LOG_INTERVAL_MS = 10_000;

/** Starts a relay for `config`. Throws (with the address) if a port cannot be bound. */
export async function startRelay(config: Config, deps: RelayDeps = {}): Promise<Relay> {
  const metrics = deps.metrics ?? new Metrics();
  const now = deps.now ?? Date.now;
  const log = logger("relay");
  const { loggly, inputs, delivery } = config;
  if (delivery.deadLetterPath !== null) assertWritable("--dead-letter", delivery.deadLetterPath);
  if (!loggly.dryRun) assertReachable(loggly.url);
  // What a spool holds in memory (and where inputs feel back-pressure while Loggly keeps up):
  // at least one full batch, at most --queue-max-bytes.
  const spoolMemory = Math.min(
    delivery.queueMaxBytes,
    Math.max(SPOOL_CACHE_BYTES, delivery.batchMaxBytes),
  );
  // For the status page: the last parse errors (redacted with the tokens in force) and rates.
  const recentErrors = new RecentErrors(() => makeRedactor(secretsOf(current)));
  const history = new RateHistory();
  const queue: EventQueue = config.spool === null
    ? new MemoryQueue(delivery.queueMaxEvents, delivery.queueMaxBytes)
    : openSpool({
      dir: config.spool.dir,
      sync: config.spool.sync,
      maxBytes: config.spool.maxBytes,
      cacheBytes: spoolMemory,
      memoryBytes: spoolMemory,
      outage: () => drain.failingSince !== null,
      metrics,
      log: logger("spool"),
    });
  const ingest = new Ingest({
    tags: loggly.tags,
    timeZone: inputs.syslogTimeZone,
    maxEventBytes: LOGGLY_MAX_EVENT_BYTES,
    now: () => new Date(now()),
    metrics,
    throttle: new Throttle(PROBLEM_LOG_INTERVAL_MS, now),
    log: logger("input"),
    queue,
    tokens: new TokenPolicy(loggly.token, loggly.acceptTokens),
    ...(config.log.verbosity >= 2 ? { onEvent: eventLogger(now) } : {}),
    onParseError: (input, error, bytes) => recentErrors.add(now(), input, error, bytes),
  });
  // Deno's fetch only when a proxy is set (it honours HTTPS_PROXY): see http1.ts.
  const transport = deps.fetch !== undefined || loggly.dryRun || proxyConfigured(readEnv)
    ? null
    : http1Client();
  const drain: Drain = loggly.dryRun || loggly.token === null
    ? new DryRunDrain(queue, deps.stdout ?? Deno.stdout.writable)
    : new Sender(queue, {
      ...senderSettings(config),
      token: loggly.token,
      fetch: deps.fetch ?? transport?.fetch ?? fetch,
      now,
      random: deps.random ?? Math.random,
      deadLetter: deadLetterFor(config, metrics),
      metrics,
    });
  let certificates = servedCertificates(config, Deno.readTextFileSync);
  const startedAt = now();
  const report = () =>
    buildReport({
      ...statusSources,
      version: VERSION,
      startedAt,
      configSource: deps.configSource ?? (() => "flags and environment"),
      certificates: () => certificates,
      recentErrors: () => recentErrors.list(),
      history: () => history.data(),
    });
  const shared: InputContext = { ingest, queue, drain, metrics, now, status: report };
  const bound: Partial<Record<InputName, Input>> = {};
  /** The HTTPS certificate and key the HTTP input was bound with, to tell a renewal on SIGHUP. */
  let httpsFiles: string | null = null;
  let current = config;
  const startInput = async (name: InputName, from: Config, files?: TlsFiles): Promise<void> => {
    const listener = await bindInput(name, from, shared, files);
    if (listener === null) return;
    if (name === "http") {
      httpsFiles = listener.tlsFiles ? `${listener.tlsFiles.cert}\n${listener.tlsFiles.key}` : null;
    }
    bound[name] = listener;
    const what = name === "http" ? (from.http?.tls ? "HTTPS" : "HTTP") : `syslog over ${name}`;
    log.info("Listening for {what} on {address}", {
      what,
      address: formatAddress(listener.address),
    });
  };
  const stopInput = async (name: InputName): Promise<void> => {
    await bound[name]?.close();
    delete bound[name];
  };
  try {
    for (const name of INPUT_NAMES) await startInput(name, config);
  } catch (error) {
    await Promise.all(Object.values(bound).map((l) => l.close()));
    await queue.close();
    transport?.close();
    throw error;
  }
  drain.start();
  // Read when /metrics is rendered, so the gauges are exact at scrape time.
  metrics.observe(M.queueEvents, () => queue.heldEvents);
  metrics.observe(M.queueBytes, () => queue.heldBytes);
  observeProcess(metrics);
  const statusSources: StatusSources = {
    metrics,
    heldEvents: () => queue.heldEvents,
    heldBytes: () => queue.heldBytes,
    queueKind: config.spool === null ? "queue" : "spool",
    lastAnswer: () => drain.lastAnswer,
    now,
  };
  let statusTimer = startStatusLog(config.log.statusIntervalMs, statusSources);
  history.sample(now(), rateCounters(statusSources));
  const historyTimer = setInterval(
    () => history.sample(now(), rateCounters(statusSources)),
    HISTORY_INTERVAL_MS,
  );
  Deno.unrefTimer(historyTimer);
  const shutdown = async (
    timeoutMs = current.delivery.shutdownTimeoutMs,
  ): Promise<Leftover> => {
    clearInterval(statusTimer);
    clearInterval(historyTimer);
    await Promise.all(Object.values(bound).map((l) => l.close()));
    const { unsent, inFlight } = await drain.stop(timeoutMs);
    transport?.close();
    const held = queue.heldEvents;
    await queue.close();
    // After close: a spool that could not write its last events no longer counts them as kept.
    return { unsent, inFlight, notSpooled: held - queue.heldEvents };
  };
  const reload = async (next: Config): Promise<ReloadPlan> => {
    let plan = planReload(current, next, config);
    // Renewed HTTPS files (certbot renews in place): the HTTP input is bound again to use them.
    if (
      next.http?.tls && !plan.rebind.includes("http") && readFiles(next.http.tls) !== httpsFiles
    ) {
      plan = {
        ...plan,
        rebind: [...plan.rebind, "http"],
        configure: plan.configure.filter((name) => name !== "http"),
      };
    }
    if (next.delivery.deadLetterPath !== null) {
      assertWritable("--dead-letter", next.delivery.deadLetterPath);
    }
    if (!next.loggly.dryRun) assertReachable(next.loggly.url);
    // Inputs next: if one cannot be bound, or the renewed certificates of a syslog TLS input that
    // stays cannot be used, those changed so far go back and nothing else changes.
    const done: InputName[] = [];
    // What HTTPS serves now, to go back to it: its files on disk may be the new, refused ones.
    const servedHttps = bound.http?.tlsFiles;
    try {
      for (const name of plan.rebind) {
        await stopInput(name);
        done.push(name);
        await startInput(name, next);
      }
      if (!plan.rebind.includes("tls")) bound.tls?.reloadCertificates?.();
    } catch (error) {
      for (const back of done) {
        await stopInput(back);
        await startInput(back, current, back === "http" ? servedHttps : undefined).catch((again) =>
          log.error("Cannot listen for {input} as before the reload either: {error}", {
            input: back,
            error: again,
          })
        );
      }
      throw error;
    }
    // The inputs that stay take their new limits in place: none is closed, no connection cut.
    for (const name of plan.configure) await bound[name]?.configure(next);
    ingest.configure({
      tags: next.loggly.tags,
      timeZone: next.inputs.syslogTimeZone,
      tokens: new TokenPolicy(next.loggly.token, next.loggly.acceptTokens),
      onEvent: next.log.verbosity >= 2 ? eventLogger(now) : undefined,
    });
    if (drain instanceof Sender && next.loggly.token !== null) {
      drain.configure({
        ...senderSettings(next),
        deadLetter: deadLetterFor(next, metrics),
      });
    }
    if (queue instanceof MemoryQueue) {
      queue.resize(next.delivery.queueMaxEvents, next.delivery.queueMaxBytes);
    }
    if (current.log.statusIntervalMs !== next.log.statusIntervalMs) {
      clearInterval(statusTimer);
      statusTimer = startStatusLog(next.log.statusIntervalMs, statusSources);
    }
    certificates = servedCertificates(next, Deno.readTextFileSync);
    // What waits for a restart keeps its old value, so that the config in force stays true.
    current = {
      ...next,
      spool: current.spool,
      loggly: { ...next.loggly, dryRun: current.loggly.dryRun },
    };
    return plan;
  };
  return {
    get udp() {
      return bound.udp?.address ?? null;
    },
    get tcp() {
      return bound.tcp?.address ?? null;
    },
    get tls() {
      return bound.tls?.address ?? null;
    },
    get http() {
      return bound.http?.address ?? null;
    },
    metrics,
    durable: config.spool !== null,
    reloadCertificates() {
      bound.tls?.reloadCertificates?.();
    },
    reload,
    async stop(timeoutMs = current.delivery.shutdownTimeoutMs) {
      const left = await shutdown(timeoutMs);
      return left.unsent + left.inFlight - left.notSpooled;
    },
    shutdown,
  };
}

/** Logs the status line every `intervalMs` (none for 0); the timer does not keep the process up. */
function startStatusLog(
  intervalMs: number,
  sources: StatusSources,
): ReturnType<typeof setInterval> | undefined {
  if (intervalMs <= 0) return undefined;
  const line = new StatusLine(sources);
  const log = logger("status");
  const timer = setInterval(() => log.info("{status}", { status: line.next() }), intervalMs);
  Deno.unrefTimer(timer);
  return timer;
}

/** At -vv, a line per event: at most this many a second, then a count of those not shown. */
const EVENT_LINES_PER_SECOND = 10;

function eventLogger(now: () => number): (bytes: Uint8Array) => void {
  const log = logger("event");
  const limit = new RateLimit(EVENT_LINES_PER_SECOND, 1000, now);
  const decoder = new TextDecoder();
  return (bytes) => {
    const { allowed, refusedBefore } = limit.take();
    if (refusedBefore > 0) {
      log.trace("{events} more events in that second not shown", { events: refusedBefore });
    }
    if (allowed) log.trace("Event {event}", { event: decoder.decode(bytes) });
  };
}

/** The text of some files, to tell whether they changed; "" for one that cannot be read. */
function readFiles(files: { cert: string; key: string }): string {
  return [files.cert, files.key].map((path) => {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return ""; // binding will say why
    }
  }).join("\n");
}

/** Every secret of a configuration, for a redactor: tokens of Loggly and of the HTTP input. */
export function secretsOf(config: Config): (string | null)[] {
  return [config.loggly.token, ...config.loggly.acceptTokens, ...config.http?.tokens ?? []];
}

/** The sender's settings that a reload may change, from a configuration. */
function senderSettings(config: Config) {
  const { delivery } = config;
  return {
    url: config.loggly.url,
    batchMaxEvents: delivery.batchMaxEvents,
    batchMaxBytes: delivery.batchMaxBytes,
    lingerMs: delivery.lingerMs,
    concurrency: delivery.concurrency,
    retryInitialDelayMs: delivery.retryInitialDelayMs,
    retryMaxDelayMs: delivery.retryMaxDelayMs,
    ...(config.loggly.token === null ? {} : { token: config.loggly.token }),
  };
}

function deadLetterFor(config: Config, metrics: Metrics) {
  return makeDeadLetter(
    config.delivery.deadLetterPath,
    metrics,
    logger("sender"),
    makeRedactor(secretsOf(config)),
  );
}
