/**
 * Serves the HTTP app: plain HTTP on `Deno.serve`, HTTPS on `node:https` (https_server.ts).
 *
 * @module
 */
import type { Hono } from "hono";
import { type HttpsOptions, serveHttps } from "./https_server.ts";
import type { Listener } from "../syslog/listen.ts";
import type { ListenAddress } from "../units.ts";

/** PEM certificate chain and key. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** The HTTP listener, whose limits change while it runs. */
export interface HttpListener extends Listener {
  /** Applies a new handshake deadline to HTTPS connections from now on (plain HTTP has none). */
  configure(limits: { handshakeTimeoutMs: number }): void;
}

/**
 * Starts serving `app` (over TLS when `tls` is given, with its handshake deadline); the returned
 * listener's address has the real port.
 */
export function serveHttp(
  address: ListenAddress,
  // deno-lint-ignore no-explicit-any
  app: Hono<any>,
  tls: TlsFiles | null,
  httpsOptions: HttpsOptions,
): HttpListener | Promise<HttpListener> {
  if (tls !== null) return serveHttps(address, app, tls, httpsOptions);
  const server = Deno.serve({
    hostname: address.hostname,
    port: address.port,
    onListen: () => {},
  }, app.fetch);
  return {
    address: { hostname: address.hostname, port: (server.addr as Deno.NetAddr).port },
    configure: () => {},
    close: () => server.shutdown(),
  };
}

/** True for addresses only this host can reach. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname.startsWith("127.");
}
