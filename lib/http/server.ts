/**
 * Serves the HTTP app on `Deno.serve`, over TLS when a certificate is given.
 *
 * @module
 */
import type { Hono } from "hono";
import type { Listener } from "../syslog/listen.ts";
import type { ListenAddress } from "../units.ts";

/** PEM certificate chain and key. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** Starts serving `app`; the returned listener's address has the real port. */
export function serveHttp(
  address: ListenAddress,
  // deno-lint-ignore no-explicit-any
  app: Hono<any>,
  tls: TlsFiles | null,
): Listener {
  const server = Deno.serve({
    hostname: address.hostname,
    port: address.port,
    onListen: () => {},
    ...(tls ?? {}),
  }, app.fetch);
  return {
    address: { hostname: address.hostname, port: (server.addr as Deno.NetAddr).port },
    close: () => server.shutdown(),
  };
}

/** True for addresses only this host can reach. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname.startsWith("127.");
}
