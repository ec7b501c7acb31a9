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
import type { Logger } from "../log.ts";
import type { ListenAddress } from "../units.ts";
import type { HttpListener, TlsFiles } from "./server.ts";

/** HTTPS settings beyond the certificate. */
export interface HttpsOptions {
  /** A connection must finish its TLS handshake this long after accept (0: no limit). */
  handshakeTimeoutMs: number;
  /** Called for each connection closed for missing the handshake deadline. */
  onHandshakeTimeout(peer: string): void;
  log: Logger;
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
): Promise<HttpListener> {
  const server = https.createServer({
    cert: files.cert,
    key: files.key,
    minVersion: "TLSv1.2",
  });
  // Connections still in their handshake, by remote address and port, with their deadline.
  const handshaking = new Map<
    string,
    { raw: RawSocket; deadline: ReturnType<typeof setTimeout> }
  >();
  const sockets = new Set<RawSocket>();
  let handshakeTimeoutMs = options.handshakeTimeoutMs;
  const endHandshake = (key: string, raw?: RawSocket) => {
    const entry = handshaking.get(key);
    if (entry === undefined || (raw !== undefined && entry.raw !== raw)) return;
    clearTimeout(entry.deadline);
    handshaking.delete(key);
  };
  server.on("connection", (raw: RawSocket) => {
    sockets.add(raw);
    const key = keyOf(raw);
    if (handshakeTimeoutMs > 0) {
      const deadline = setTimeout(() => {
        handshaking.delete(key);
        options.onHandshakeTimeout(peerOf(raw.remoteAddress));
        raw.destroy();
      }, handshakeTimeoutMs);
      handshaking.set(key, { raw, deadline });
    }
    raw.once("close", () => {
      sockets.delete(raw);
      endHandshake(key, raw);
    });
  });
  server.on("secureConnection", (socket: RawSocket) => endHandshake(keyOf(socket)));
  server.on("tlsClientError", () => {}); // a failed handshake ends that connection only
  let active = 0;
  let idle: () => void = () => {};
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    active++;
    answer(app, req, res, options.log).finally(() => {
      if (--active === 0) idle();
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
    configure(limits) {
      handshakeTimeoutMs = limits.handshakeTimeoutMs;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const { raw, deadline } of handshaking.values()) {
        clearTimeout(deadline);
        raw.destroy();
      }
      // Requests being answered finish first (their events may be queued already: a reset
      // would make the client send them again), for a while.
      if (active > 0) {
        const timer = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS));
        await Promise.race([new Promise<void>((resolve) => idle = resolve), timer]);
      }
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/**
 * Runs one request through the app and writes its answer back; never throws (a failure is
 * answered 500 and logged).
 */
async function answer(
  // deno-lint-ignore no-explicit-any
  app: Hono<any>,
  req: IncomingMessage,
  res: ServerResponse,
  log: Logger,
): Promise<void> {
  const method = req.method ?? "GET";
  if (!ALLOWED_METHODS.has(method)) { // e.g. TRACE, which a fetch Request cannot even hold
    res.writeHead(405, { "content-type": "text/plain", connection: "close" });
    res.end("Method not allowed: POST to /inputs/TOKEN/, /bulk/TOKEN/ or /v1/events\n");
    return;
  }
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const body = method === "GET" || method === "HEAD" ? null : new RequestBody(req);
  let unfinished = false;
  try {
    const request = new Request(urlOf(req.url), {
      method,
      headers,
      body: body?.stream ?? null,
      // @ts-ignore: a streamed request body needs half duplex (not in every lib's RequestInit)
      duplex: "half",
    });
    const response = await app.fetch(request, {
      remoteAddr: { hostname: peerOf(req.socket.remoteAddress) },
    });
    unfinished = body !== null && !body.complete;
    const outHeaders: [string, string][] = [];
    response.headers.forEach((value, name) => outHeaders.push([name, value]));
    // The app answered without reading the whole body (a 413, a 503, say). The rest is read and
    // thrown away first, so that the connection stays usable for the client's next request (a
    // keep-alive client sends it at once). A body that does not end in time gets the answer with
    // "Connection: close", and the connection is cut after it.
    if (unfinished && body !== null) {
      body.discard();
      unfinished = !(await body.ended(DISCARD_GRACE_MS));
      if (unfinished) outHeaders.push(["connection", "close"]);
    }
    res.writeHead(response.status, outHeaders);
    if (response.body !== null && method !== "HEAD") {
      for await (const chunk of response.body) {
        if (!res.write(chunk)) await drainedOrClosed(res);
        if (res.destroyed) break;
      }
    }
  } catch (error) {
    log.error("HTTPS request failed: {error}", { error });
    if (!res.headersSent) res.writeHead(500, { connection: "close" });
  } finally {
    res.end();
    if (unfinished) res.once("finish", () => req.socket.destroy());
  }
}

/** How long the rest of a refused body is read and dropped before the connection is cut. */
const DISCARD_GRACE_MS = 5_000;
/** Methods the app may be asked for; others are answered 405 here. */
const ALLOWED_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** How long close() lets requests being answered finish. */
const CLOSE_GRACE_MS = 2_000;

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}

/**
 * A request's body as a web stream that reads only as fast as the app consumes it. What the app
 * does not read (it refused the body) is read and thrown away by {@link RequestBody.discard}, so
 * that nothing is ever pushed into a stream the app has let go of.
 */
class RequestBody {
  readonly stream: ReadableStream<Uint8Array>;
  #open = true;
  #ended = false;
  readonly #req: IncomingMessage;

  constructor(req: IncomingMessage) {
    this.#req = req;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    req.on("data", (chunk: Uint8Array) => {
      if (!this.#open) return;
      controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      if ((controller.desiredSize ?? 0) <= 0) req.pause();
    });
    req.once("end", () => {
      this.#ended = true;
      if (this.#open) controller.close();
      this.#open = false;
    });
    req.once("error", (error) => {
      if (this.#open) controller.error(error);
      this.#open = false;
    });
    this.stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      pull: () => {
        req.resume();
      },
      cancel: () => this.discard(),
    }, { highWaterMark: 4 });
  }

  /** True once the whole body arrived. */
  get complete(): boolean {
    return this.#ended;
  }

  /** Resolves true once the whole body arrived, false if it did not within `ms` or broke. */
  ended(ms: number): Promise<boolean> {
    if (this.#ended) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), ms);
      const done = (ended: boolean) => {
        clearTimeout(timer);
        this.#req.off("end", onEnd);
        this.#req.off("close", onClose);
        resolve(ended);
      };
      const onEnd = () => done(true);
      const onClose = () => done(this.#ended);
      this.#req.once("end", onEnd);
      this.#req.once("close", onClose);
    });
  }

  /** Stops handing the body to the stream; reads and drops the rest. */
  discard(): void {
    this.#open = false;
    this.#req.resume();
  }
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
