/**
 * Serves the HTTP app over TLS on `node:https`. `Deno.serve` does its TLS handshakes out of
 * reach: a client that connects and never finishes its handshake holds the connection for ever.
 * Here every connection must finish its handshake within a deadline from accept, or is closed.
 *
 * @module
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Hono } from "hono";
import type { Listener } from "../syslog/listen.ts";
import type { ListenAddress } from "../units.ts";
import type { TlsFiles } from "./server.ts";

/** HTTPS settings beyond the certificate. */
export interface HttpsOptions {
  /** A connection must finish its TLS handshake this long after accept (0: no limit). */
  handshakeTimeoutMs: number;
  /** Called for each connection closed for missing the handshake deadline. */
  onHandshakeTimeout(peer: string): void;
}

/** The TCP side of a connection, as the handshake deadline sees it. */
interface RawSocket {
  remoteAddress?: string;
  remotePort?: number;
  destroy(): void;
  once(event: "close", listener: () => void): void;
}

/** Starts serving `app` over HTTPS; resolves once listening, with the real port. */
export async function serveHttps(
  address: ListenAddress,
  // deno-lint-ignore no-explicit-any
  app: Hono<any>,
  files: TlsFiles,
  options: HttpsOptions,
): Promise<Listener> {
  const server = https.createServer({
    cert: files.cert,
    key: files.key,
    minVersion: "TLSv1.2",
  });
  // Connections still in their handshake, by remote address and port, with their deadline.
  const handshaking = new Map<string, ReturnType<typeof setTimeout>>();
  const sockets = new Set<RawSocket>();
  server.on("connection", (raw: RawSocket) => {
    sockets.add(raw);
    const key = keyOf(raw);
    if (options.handshakeTimeoutMs > 0) {
      handshaking.set(
        key,
        setTimeout(() => {
          handshaking.delete(key);
          options.onHandshakeTimeout(peerOf(raw.remoteAddress));
          raw.destroy();
        }, options.handshakeTimeoutMs),
      );
    }
    raw.once("close", () => {
      sockets.delete(raw);
      clearTimeout(handshaking.get(key));
      handshaking.delete(key);
    });
  });
  server.on("secureConnection", (socket: RawSocket) => {
    const key = keyOf(socket);
    clearTimeout(handshaking.get(key));
    handshaking.delete(key);
  });
  server.on("tlsClientError", () => {}); // a failed handshake ends that connection only
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    answer(app, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as { port: number };
  return {
    address: { hostname: address.hostname, port: bound.port },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const timer of handshaking.values()) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Runs one request through the app and writes its answer back. */
async function answer(
  // deno-lint-ignore no-explicit-any
  app: Hono<any>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const method = req.method ?? "GET";
  const withBody = method !== "GET" && method !== "HEAD";
  const request = new Request(urlOf(req.url), {
    method,
    headers,
    body: withBody ? bodyOf(req) : null,
    // @ts-ignore: a streamed request body needs half duplex (not in every lib's RequestInit)
    duplex: "half",
  });
  const response = await app.fetch(request, {
    remoteAddr: { hostname: peerOf(req.socket.remoteAddress) },
  });
  const outHeaders: [string, string][] = [];
  response.headers.forEach((value, name) => outHeaders.push([name, value]));
  res.writeHead(response.status, outHeaders);
  if (response.body === null || method === "HEAD") {
    res.end();
    return;
  }
  for await (const chunk of response.body) {
    if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
  }
  res.end();
}

/** The request body as a web stream that reads only as fast as the app consumes it. */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk: Uint8Array) => {
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once("end", () => controller.close());
      req.once("error", (error) => controller.error(error));
    },
    pull() {
      req.resume();
    },
    cancel() {
      req.destroy();
    },
  }, { highWaterMark: 4 });
}

/**
 * The request's URL on the relay. A client sent through a proxy (the relay named as its HTTPS
 * proxy) asks for the absolute form, `https://logs-01.loggly.com/inputs/...`: its path counts.
 */
function urlOf(target: string | undefined): URL {
  const base = "https://relay";
  if (target === undefined || target.startsWith("/")) return new URL(target ?? "/", base);
  try {
    const absolute = new URL(target);
    return new URL(absolute.pathname + absolute.search, base);
  } catch {
    return new URL("/", base);
  }
}

function keyOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** The peer's address, IPv4 ones without their IPv6-mapped prefix. */
function peerOf(address: string | undefined): string {
  if (address === undefined) return "unknown";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}
