/**
 * Wires one relay together: queue, ingest, listeners and the sender (or the dry-run printer).
 * No flags, no signals, no process exit: that is main.ts's job, so tests start relays in-process.
 *
 * @module
 */
import { accessReason, assertReachable, assertWritable, granted, unreadable } from "./access.ts";
import type { Config } from "./config.ts";
import { LOGGLY_MAX_EVENT_BYTES } from "./config.ts";
import { DryRunDrain } from "./dry_run.ts";
import { Ingest } from "./ingest.ts";
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
import { PLACE_WAIT_MS } from "./syslog/guard.ts";
import { type Listener, listenTcp } from "./syslog/listen.ts";
import { listenUdp } from "./syslog/udp.ts";
import { CertificateError, listenTls, type TlsListener } from "./syslog/tls.ts";
import { StatusLine, type StatusSources } from "./status_log.ts";
import { RateLimit, Throttle } from "./throttle.ts";
import { TokenPolicy } from "./tokens.ts";
import { createHttpApp } from "./http/app.ts";
import { isLoopback, serveHttp, type TlsFiles } from "./http/server.ts";
import { formatAddress, type ListenAddress } from "./units.ts";

/** What a relay takes from its surroundings; each has a real default. */
export interface RelayDeps {
  fetch?: typeof fetch;
  metrics?: Metrics;
  /** Where --dry-run prints events; stdout by default. */
  stdout?: WritableStream<Uint8Array>;
  now?: () => number;
  random?: () => number;
}

/** A running relay. */
export interface Relay {
  readonly udp: ListenAddress | null;
  readonly tcp: ListenAddress | null;
  readonly tls: ListenAddress | null;
  readonly http: ListenAddress | null;
  readonly metrics: Metrics;
  /** Re-reads the TLS certificates (SIGHUP); throws why when they cannot be used. */
  reload(): void;
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
  });
  // Deno's fetch only when a proxy is set (it honours HTTPS_PROXY): see http1.ts.
  const transport = deps.fetch !== undefined || loggly.dryRun || proxyConfigured(readEnv)
    ? null
    : http1Client();
  const drain: Drain = loggly.dryRun || loggly.token === null
    ? new DryRunDrain(queue, deps.stdout ?? Deno.stdout.writable)
    : new Sender(queue, {
      url: loggly.url,
      token: loggly.token,
      fetch: deps.fetch ?? transport?.fetch ?? fetch,
      now,
      random: deps.random ?? Math.random,
      batchMaxEvents: delivery.batchMaxEvents,
      batchMaxBytes: delivery.batchMaxBytes,
      lingerMs: delivery.lingerMs,
      concurrency: delivery.concurrency,
      retryInitialDelayMs: delivery.retryInitialDelayMs,
      retryMaxDelayMs: delivery.retryMaxDelayMs,
      deadLetter: makeDeadLetter(
        delivery.deadLetterPath,
        metrics,
        logger("sender"),
        makeRedactor([loggly.token, ...loggly.acceptTokens]),
      ),
      metrics,
    });
  const listenerDeps = {
    ingest,
    metrics,
    log: logger("input"),
    maxMessageBytes: inputs.maxMessageBytes,
  };
  const streamOptions = {
    session: { idleTimeoutMs: inputs.idleTimeoutMs, messageTimeoutMs: inputs.messageTimeoutMs },
    limits: {
      maxConnections: inputs.maxConnections,
      maxPerPeer: inputs.maxConnectionsPerPeer,
      placeWaitMs: PLACE_WAIT_MS,
    },
  };
  const bound: Partial<Record<"udp" | "tcp" | "tls" | "http", Listener>> = {};
  let tlsListener: TlsListener | null = null;
  try {
    if (inputs.udp) {
      const udp = inputs.udp;
      bound.udp = await bind("udp", udp, () =>
        listenUdp(udp, {
          ingest,
          metrics,
          log: logger("input"),
          maxMessageBytes: inputs.maxMessageBytes,
          recvBufferBytes: inputs.udpRecvBufferBytes,
        }));
    }
    if (inputs.tcp) {
      const tcp = inputs.tcp;
      bound.tcp = await bind("tcp", tcp, () => listenTcp(tcp, listenerDeps, streamOptions));
    }
    if (inputs.tls) {
      const { address, cert, key, clientCa, maxVersion } = inputs.tls;
      const files = { cert, key, clientCa };
      tlsListener = await bind(
        "tls",
        address,
        () =>
          listenTls(address, listenerDeps, files, {
            ...streamOptions,
            maxVersion,
            handshakeTimeoutMs: inputs.handshakeTimeoutMs,
          }),
      );
      bound.tls = tlsListener;
    }
    if (config.http) {
      const { listen: http, tokens: httpTokens, healthFailingAfterMs } = config.http;
      const tls = config.http.tls === null
        ? null
        : readTlsFiles(config.http.tls.cert, config.http.tls.key);
      const app = createHttpApp({
        ingest,
        queue,
        metrics,
        log: logger("http"),
        pathTokens: [
          ...(loggly.token ? [loggly.token] : []),
          ...httpTokens,
          ...loggly.acceptTokens,
        ],
        accountTokens: loggly.acceptTokens,
        bearerTokens: httpTokens,
        loopback: isLoopback(http.hostname),
        maxBodyBytes: config.http.maxBodyBytes,
        unhealthy: () => unhealthy(queue, drain, now(), healthFailingAfterMs),
      });
      bound.http = await bind("http", http, () =>
        serveHttp(http, app, tls, {
          handshakeTimeoutMs: inputs.handshakeTimeoutMs,
          log: logger("http"),
          onHandshakeTimeout: (peer) =>
            ingest.connectionClosed(
              "http",
              "handshake timeout",
              `${peer} did not finish its TLS handshake within --handshake-timeout`,
            ),
        }));
    }
  } catch (error) {
    await Promise.all(Object.values(bound).map((l) => l.close()));
    await queue.close();
    transport?.close();
    throw error;
  }
  const listeners = Object.values(bound);
  drain.start();
  // Read when /metrics is rendered, so the gauges are exact at scrape time.
  metrics.observe(M.queueEvents, () => queue.heldEvents);
  metrics.observe(M.queueBytes, () => queue.heldBytes);
  observeProcess(metrics);
  for (const [kind, l] of Object.entries(bound)) {
    const what = kind === "http" ? (config.http?.tls ? "HTTPS" : "HTTP") : `syslog over ${kind}`;
    log.info("Listening for {what} on {address}", { what, address: formatAddress(l.address) });
  }
  const statusTimer = startStatusLog(config.log.statusIntervalMs, {
    metrics,
    heldEvents: () => queue.heldEvents,
    heldBytes: () => queue.heldBytes,
    queueKind: config.spool === null ? "queue" : "spool",
    lastAnswer: () => drain.lastAnswer,
    now,
  });
  const [udp, tcp] = [bound.udp ?? null, bound.tcp ?? null];
  const shutdown = async (timeoutMs = delivery.shutdownTimeoutMs): Promise<Leftover> => {
    clearInterval(statusTimer);
    await Promise.all(listeners.map((l) => l.close()));
    const { unsent, inFlight } = await drain.stop(timeoutMs);
    transport?.close();
    const held = queue.heldEvents;
    await queue.close();
    // After close: a spool that could not write its last events no longer counts them as kept.
    return { unsent, inFlight, notSpooled: held - queue.heldEvents };
  };
  return {
    udp: udp?.address ?? null,
    tcp: tcp?.address ?? null,
    tls: bound.tls?.address ?? null,
    http: bound.http?.address ?? null,
    metrics,
    durable: config.spool !== null,
    reload() {
      tlsListener?.reload();
    },
    async stop(timeoutMs = delivery.shutdownTimeoutMs) {
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

/** An environment variable, or undefined when unset or not readable (a release build). */
function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Why the relay cannot take events now, for /healthz; null when it can. */
function unhealthy(queue: EventQueue, drain: Drain, now: number, failingAfterMs: number) {
  if (queue.full) return "The queue is full: Loggly is not keeping up or is down";
  const since = drain.failingSince;
  if (since !== null && now - since >= failingAfterMs) {
    return `Every delivery to Loggly has failed for ${Math.round((now - since) / 1000)} s`;
  }
  return null;
}

/** Reads the HTTPS certificate and key, with an error that names the file. */
function readTlsFiles(cert: string, key: string): TlsFiles {
  const read = (flag: string, path: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch (error) {
      throw new Error(unreadable(flag, path, error));
    }
  };
  return { cert: read("--http-tls-cert", cert), key: read("--http-tls-key", key) };
}

/** The error for a port that cannot be bound, naming it and what to do. */
export class ListenError extends Error {
  constructor(kind: string, address: ListenAddress, cause: unknown) {
    const reason = accessReason(cause, "net");
    super(
      `Cannot listen for ${kind} on ${
        formatAddress(address)
      } (${reason}): pick another address with ` +
        `--${kind}, free the port, or use "--${kind} off"`,
      { cause },
    );
    this.name = "ListenError";
  }
}

async function bind<L extends Listener>(
  kind: string,
  address: ListenAddress,
  start: () => L | Promise<L>,
): Promise<L> {
  // node:dgram reports a denied bind as an uncaught error: ask first (a fixed-permission build).
  const host = formatAddress(address);
  if (!granted({ name: "net", host })) {
    throw new ListenError(
      kind,
      address,
      new Deno.errors.NotCapable(`Requires net access to ${host}`),
    );
  }
  try {
    return await start();
  } catch (error) {
    if (error instanceof CertificateError) throw error; // it names the file already
    throw new ListenError(kind, address, error);
  }
}
