/**
 * The relay's inputs, each bound from a configuration: syslog over UDP, TCP and TLS, and the
 * HTTP app. Every input hands what it receives to the one intake (lib/ingest.ts).
 *
 * @module
 */
import { accessReason, granted, unreadable } from "./access.ts";
import type { Config } from "./config.ts";
import { createHttpApp } from "./http/app.ts";
import { isLoopback, serveHttp, type TlsFiles } from "./http/server.ts";
import type { Ingest } from "./ingest.ts";
import { logger } from "./log.ts";
import type { Drain } from "./loggly/sender.ts";
import type { Metrics } from "./metrics.ts";
import type { EventQueue } from "./queue/queue.ts";
import type { InputName } from "./reload.ts";
import { PLACE_WAIT_MS } from "./syslog/guard.ts";
import { type Listener, listenTcp } from "./syslog/listen.ts";
import { CertificateError, listenTls } from "./syslog/tls.ts";
import { listenUdp } from "./syslog/udp.ts";
import { formatAddress, type ListenAddress } from "./units.ts";

/** What every input shares: the intake, the queue and the sender (for /healthz), the metrics. */
export interface InputContext {
  ingest: Ingest;
  queue: EventQueue;
  drain: Drain;
  metrics: Metrics;
  now: () => number;
}

/** Binds the input `name` as `config` says; null when it is off. Throws why it cannot. */
export async function bindInput(
  name: InputName,
  config: Config,
  ctx: InputContext,
): Promise<Listener | null> {
  const { inputs, loggly } = config;
  const listenerDeps = {
    ingest: ctx.ingest,
    metrics: ctx.metrics,
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
  switch (name) {
    case "udp": {
      const udp = inputs.udp;
      if (udp === null) return null;
      return await bind("udp", udp, () =>
        listenUdp(udp, {
          ...listenerDeps,
          recvBufferBytes: inputs.udpRecvBufferBytes,
        }));
    }
    case "tcp": {
      const tcp = inputs.tcp;
      if (tcp === null) return null;
      return await bind("tcp", tcp, () => listenTcp(tcp, listenerDeps, streamOptions));
    }
    case "tls": {
      if (inputs.tls === null) return null;
      const { address, cert, key, clientCa, maxVersion } = inputs.tls;
      return await bind(
        "tls",
        address,
        () =>
          listenTls(address, listenerDeps, { cert, key, clientCa }, {
            ...streamOptions,
            maxVersion,
            handshakeTimeoutMs: inputs.handshakeTimeoutMs,
          }),
      );
    }
    case "http": {
      if (config.http === null) return null;
      const { listen, tokens, healthFailingAfterMs } = config.http;
      const tls = config.http.tls === null
        ? null
        : readTlsFiles(config.http.tls.cert, config.http.tls.key);
      const app = createHttpApp({
        ingest: ctx.ingest,
        queue: ctx.queue,
        metrics: ctx.metrics,
        log: logger("http"),
        pathTokens: [...(loggly.token ? [loggly.token] : []), ...tokens, ...loggly.acceptTokens],
        accountTokens: loggly.acceptTokens,
        bearerTokens: tokens,
        loopback: isLoopback(listen.hostname),
        maxBodyBytes: config.http.maxBodyBytes,
        unhealthy: () => unhealthy(ctx.queue, ctx.drain, ctx.now(), healthFailingAfterMs),
      });
      return await bind("http", listen, () =>
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
    }
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
