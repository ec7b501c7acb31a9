/**
 * The relay's inputs, each bound from a configuration: syslog over UDP, TCP and TLS, and the
 * HTTP app. Every input hands what it receives to the one intake (lib/ingest.ts).
 *
 * @module
 */
import { accessReason, granted } from "./access.ts";
import type { Config, HttpConfig, LogglyConfig } from "./config.ts";
import { createHttpApp, type HttpAppLimits } from "./http/app.ts";
import { isLoopback, serveHttp, type TlsFiles } from "./http/server.ts";
import type { Ingest } from "./ingest.ts";
import { logger } from "./log.ts";
import type { Drain } from "./loggly/sender.ts";
import type { Metrics } from "./metrics.ts";
import type { EventQueue } from "./queue/queue.ts";
import type { InputName } from "./reload.ts";
import type { StatusReport } from "./status/report.ts";
import { PLACE_WAIT_MS } from "./syslog/guard.ts";
import { type Listener, listenTcp, type StreamLimits } from "./syslog/listen.ts";
import { CertificateError, listenTls, type TlsLimits } from "./syslog/tls.ts";
import { readMaterial } from "./syslog/tls_certs.ts";
import { listenUdp, type UdpLimits } from "./syslog/udp.ts";
import { formatAddress, type ListenAddress } from "./units.ts";

/** What every input shares: the intake, the queue and the sender (for /healthz), the metrics. */
export interface InputContext {
  ingest: Ingest;
  queue: EventQueue;
  drain: Drain;
  metrics: Metrics;
  now: () => number;
  /** The status report, for the HTTP input's page and /status.json. */
  status?: () => StatusReport;
}

/** A bound input, whose limits a reload changes in place. */
export interface Input extends Listener {
  /**
   * Applies the limits of `config` (HTTP: its tokens too) to the running input; its address and
   * TLS settings must be those it was bound with.
   */
  configure(config: Config): void | Promise<void>;
  /** Re-reads the certificate files (syslog over TLS only); throws why they cannot be used. */
  reloadCertificates?(): void;
  /** HTTPS: the certificate and key it serves, as read (to bind it again with the same). */
  tlsFiles?: TlsFiles;
}

/** Binds the input `name` as `config` says; null when it is off. Throws why it cannot. */
export async function bindInput(
  name: InputName,
  config: Config,
  ctx: InputContext,
  httpsFiles?: TlsFiles,
): Promise<Input | null> {
  const { inputs } = config;
  const listenerDeps = {
    ingest: ctx.ingest,
    metrics: ctx.metrics,
    log: logger("input"),
    maxMessageBytes: inputs.maxMessageBytes,
  };
  switch (name) {
    case "udp": {
      const udp = inputs.udp;
      if (udp === null) return null;
      const listener = await bind(
        "udp",
        udp,
        () => listenUdp(udp, { ...listenerDeps, ...udpLimits(config) }),
      );
      return { ...listener, configure: (next) => listener.configure(udpLimits(next)) };
    }
    case "tcp": {
      const tcp = inputs.tcp;
      if (tcp === null) return null;
      const listener = await bind(
        "tcp",
        tcp,
        () => listenTcp(tcp, listenerDeps, streamLimits(config)),
      );
      return { ...listener, configure: (next) => listener.configure(streamLimits(next)) };
    }
    case "tls": {
      if (inputs.tls === null) return null;
      const { address, cert, key, clientCa, maxVersion } = inputs.tls;
      const listener = await bind(
        "tls",
        address,
        () =>
          listenTls(address, listenerDeps, { cert, key, clientCa }, {
            ...tlsLimits(config),
            maxVersion,
          }),
      );
      return {
        ...listener,
        configure: (next) => listener.configure(tlsLimits(next)),
        reloadCertificates: () => listener.reload(),
      };
    }
    case "http": {
      if (config.http === null) return null;
      const { listen } = config.http;
      let failingAfterMs = config.http.healthFailingAfterMs;
      const tls = config.http.tls === null
        ? null
        : httpsFiles ?? readTlsFiles(config.http.tls.cert, config.http.tls.key, ctx.now());
      const { app, configure } = createHttpApp({
        ingest: ctx.ingest,
        queue: ctx.queue,
        metrics: ctx.metrics,
        log: logger("http"),
        ...httpAppLimits(config.http, config.loggly),
        loopback: isLoopback(listen.hostname),
        unhealthy: () => unhealthy(ctx.queue, ctx.drain, ctx.now(), failingAfterMs),
        ...(ctx.status ? { status: ctx.status } : {}),
      });
      const listener = await bind("http", listen, () =>
        serveHttp(listen, app, tls, {
          handshakeTimeoutMs: inputs.handshakeTimeoutMs,
          log: logger("http"),
          onHandshakeTimeout: (peer) =>
            ctx.ingest.connectionClosed(
              "http",
              "handshake timeout",
              `${peer} did not finish its TLS handshake within --handshake-timeout`,
            ),
        }));
      return {
        ...listener,
        ...(tls === null ? {} : { tlsFiles: tls }),
        configure: (next) => {
          if (next.http === null) return;
          configure(httpAppLimits(next.http, next.loggly));
          failingAfterMs = next.http.healthFailingAfterMs;
          listener.configure({ handshakeTimeoutMs: next.inputs.handshakeTimeoutMs });
        },
      };
    }
  }
}

/** The UDP input's limits in `config`. */
function udpLimits(config: Config): UdpLimits {
  const { inputs } = config;
  return { maxMessageBytes: inputs.maxMessageBytes, recvBufferBytes: inputs.udpRecvBufferBytes };
}

/** The TCP input's limits in `config`, and the TLS input's but for the handshake. */
function streamLimits(config: Config): StreamLimits {
  const { inputs } = config;
  return {
    maxMessageBytes: inputs.maxMessageBytes,
    session: { idleTimeoutMs: inputs.idleTimeoutMs, messageTimeoutMs: inputs.messageTimeoutMs },
    limits: {
      maxConnections: inputs.maxConnections,
      maxPerPeer: inputs.maxConnectionsPerPeer,
      placeWaitMs: PLACE_WAIT_MS,
    },
  };
}

/** The TLS input's limits in `config`. */
function tlsLimits(config: Config): TlsLimits {
  return { ...streamLimits(config), handshakeTimeoutMs: config.inputs.handshakeTimeoutMs };
}

/** What the HTTP app checks, from `config`. */
function httpAppLimits(http: HttpConfig, loggly: LogglyConfig): HttpAppLimits {
  const { tokens } = http;
  return {
    pathTokens: [...(loggly.token ? [loggly.token] : []), ...tokens, ...loggly.acceptTokens],
    accountTokens: loggly.acceptTokens,
    bearerTokens: tokens,
    maxBodyBytes: http.maxBodyBytes,
  };
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
/** The HTTPS certificate and key, read and checked as a pair (expiry too). */
function readTlsFiles(cert: string, key: string, now: number): TlsFiles {
  const material = readMaterial({ cert, key, clientCa: null }, now, {
    cert: "--http-tls-cert",
    key: "--http-tls-key",
  });
  return { cert: material.cert, key: material.key };
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
