/**
 * The sender's HTTP client: HTTP/1.1 POSTs over `Deno.connect`/`Deno.connectTls`, connections
 * kept alive, answering like `fetch` (a Response). Deno's own fetch copies every request body
 * into a fresh buffer that lives until a garbage collection: at Loggly's request sizes those
 * copies alone held up to 65 MiB of the process (V8 lets external memory grow that far before
 * it collects), where writing the body to the socket as given holds none. TLS is Deno's, with
 * the same trust as fetch (Mozilla's roots, DENO_CERT). Only what the sender needs: POST with a
 * body, answers with Content-Length, chunked or up to close; no redirects, no proxy (the relay
 * keeps Deno's fetch when a proxy is set, see {@link proxyConfigured}).
 *
 * @module
 */
import { closeQuietly, indexOfBytes, writeAll } from "../net_io.ts";

/** The proxy variables Deno's fetch honours. */
export const PROXY_VARIABLES: readonly string[] = [
  "HTTPS_PROXY",
  "https_proxy",
  "HTTP_PROXY",
  "http_proxy",
  "ALL_PROXY",
  "all_proxy",
];

/** True when `env` names a proxy (the relay then sends with Deno's fetch, which uses it). */
export function proxyConfigured(env: (name: string) => string | undefined): boolean {
  return PROXY_VARIABLES.some((name) => (env(name) ?? "") !== "");
}

/** A fetch and what ends its kept-alive connections. */
export interface Http1Client {
  fetch: typeof fetch;
  /** Closes the idle connections (at shutdown, once no request is out). */
  close(): void;
}

/** How the client opens connections; tests give their own trust. */
export interface Http1Options {
  /** PEM certificates to trust besides the defaults (for tests). */
  caCerts?: string[];
}

/** A malformed or cut-off answer. */
export class Http1Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Http1Error";
  }
}

/** Longest head of an answer (status line and headers). */
const MAX_HEAD_BYTES = 64 * 1024;
/** Most bytes of an answer's body kept (Loggly answers `{"response":"ok"}`). */
const MAX_BODY_BYTES = 64 * 1024;
const CRLF_CRLF = [13, 10, 13, 10];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A connection, what was read from it but not yet used, and its buffer for requests. */
interface Connection {
  conn: Deno.Conn;
  buffer: Uint8Array;
  start: number;
  end: number;
  /** Head and body are written in one piece: in two, Nagle's algorithm and the server's delayed ACK held every request back 40 ms. */
  out: Uint8Array;
  /** While idle in the pool: a read kept pending, to see what the server sends or closes meanwhile. */
  pending: Promise<number | null> | null;
  /** The pending read ended (data, end of stream or an error): the connection is not reusable. */
  stirred: boolean;
}

/** Request buffers up to this size are kept with their connection; larger ones are not. */
const KEEP_OUT_BYTES = 1024 * 1024;

/** The client; one request per connection at a time, idle connections reused. */
export function http1Client(options: Http1Options = {}): Http1Client {
  const idle = new Map<string, Connection[]>();
  const open = async (url: URL): Promise<Connection> => {
    const hostname = url.hostname.replace(/^\[|\]$/g, "");
    const tls = url.protocol === "https:";
    const port = Number(url.port || (tls ? 443 : 80));
    const conn = tls
      ? await Deno.connectTls({ hostname, port, caCerts: options.caCerts })
      : await Deno.connect({ hostname, port });
    if (!tls) (conn as Deno.TcpConn).setNoDelay(true);
    return {
      conn,
      buffer: new Uint8Array(16 * 1024),
      start: 0,
      end: 0,
      out: new Uint8Array(64 * 1024),
      pending: null,
      stirred: false,
    };
  };
  /** Puts a connection whose answer was read whole, and nothing after it, back in the pool. */
  const keep = (pool: Connection[], c: Connection) => {
    c.start = c.end = 0;
    c.stirred = false;
    c.pending = c.conn.read(c.buffer);
    c.pending.then(() => c.stirred = true, () => c.stirred = true);
    pool.push(c);
  };
  /** An idle connection nothing happened on since its last answer, or undefined. */
  const take = (pool: Connection[]): Connection | undefined => {
    for (let c = pool.pop(); c !== undefined; c = pool.pop()) {
      if (!c.stirred) return c;
      closeQuietly(c.conn); // closed by the server, or it sent what nobody asked for
    }
    return undefined;
  };
  const post: typeof fetch = async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Cannot send to ${url.protocol} URLs`);
    }
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    if (init.body !== undefined && init.body !== null && !(init.body instanceof Uint8Array)) {
      throw new TypeError("The body must be a Uint8Array");
    }
    const body = init.body ?? new Uint8Array(0);
    const head = encoder.encode(requestHead(url, init.method ?? "GET", init.headers, body.length));
    const pool = idle.get(url.origin) ?? [];
    idle.set(url.origin, pool);
    // A kept-alive connection the server has closed meanwhile fails before any answer: then
    // once more on a new one.
    for (let attempt = 0;; attempt++) {
      const reused = attempt === 0 ? take(pool) : undefined;
      const connection = reused ??
        await untilAborted(open(url), signal, (c) => closeQuietly(c.conn));
      const abort = () => closeQuietly(connection.conn);
      signal?.addEventListener("abort", abort, { once: true });
      let answered = false;
      try {
        signal?.throwIfAborted();
        try {
          await writeRequest(connection, head, body);
        } catch (error) {
          // The server may have answered early (a 413, say) and closed without reading the rest.
          const early = await readAnswer(connection, () => answered = true).catch(() => null);
          if (early === null) throw error;
          closeQuietly(connection.conn);
          if (early.response.ok) throw new Http1Error("A 2xx answer came before the whole body");
          return early.response;
        }
        const answer = await readAnswer(connection, () => answered = true);
        // Bytes past the answer would be taken for the next request's answer: never reuse then.
        if (answer.reusable && connection.start === connection.end) keep(pool, connection);
        else closeQuietly(connection.conn);
        return answer.response;
      } catch (error) {
        closeQuietly(connection.conn);
        signal?.throwIfAborted();
        if (reused !== undefined && !answered && attempt === 0) continue;
        throw error;
      } finally {
        signal?.removeEventListener("abort", abort);
      }
    }
  };
  return {
    fetch: post,
    close() {
      for (const pool of idle.values()) for (const c of pool.splice(0)) closeQuietly(c.conn);
    },
  };
}

/**
 * `connecting`, or the signal's reason as soon as it aborts (a connection that opens after that
 * is handed to `late`, to close).
 */
function untilAborted<T>(
  connecting: Promise<T>,
  signal: AbortSignal | undefined,
  late: (value: T) => void,
): Promise<T> {
  if (signal === undefined) return connecting;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
      connecting.then(late, () => {});
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    connecting.then((value) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) late(value);
      else resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

function requestHead(
  url: URL,
  method: string,
  headers: HeadersInit | undefined,
  length: number,
): string {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  new Headers(headers).forEach((value, name) => {
    if (name !== "host" && name !== "content-length" && name !== "connection") {
      lines.push(`${name}: ${value}`);
    }
  });
  lines.push(`content-length: ${length}`, "", "");
  return lines.join("\r\n");
}

/** Reads one answer (skipping 1xx); `first` is called once its first bytes arrived. */
async function readAnswer(
  c: Connection,
  first: () => void,
): Promise<{ response: Response; reusable: boolean }> {
  for (;;) {
    const head = await readHead(c, first);
    const { status, statusText, headers, keepAlive } = parseHead(head);
    if (status >= 100 && status < 200) continue;
    const chunked = /\bchunked\b/i.test(headers.get("transfer-encoding") ?? "");
    const length = headers.get("content-length");
    let body: Uint8Array;
    let delimited = true;
    if (status === 204 || status === 304) body = new Uint8Array(0);
    else if (chunked) body = await readChunked(c);
    else if (length !== null) {
      if (!/^\d{1,15}$/.test(length.trim())) throw new Http1Error("Bad Content-Length");
      body = await readExactly(c, Number(length));
    } else {
      body = await readToEnd(c);
      delimited = false;
    }
    const noBody = status === 204 || status === 304;
    let response: Response;
    try {
      response = new Response(noBody ? null : body.slice(), { status, statusText, headers });
    } catch {
      throw new Http1Error(`An answer with status ${status} the relay cannot read`);
    }
    return { response, reusable: keepAlive && delimited };
  }
}

/** Reads up to and including the blank line after the headers; returns them, decoded. */
async function readHead(c: Connection, first: () => void): Promise<string> {
  let scanned = 0; // bytes after c.start already searched (fill() may move c.start)
  for (;;) {
    const at = indexOfBytes(c.buffer, CRLF_CRLF, c.start + Math.max(0, scanned - 3), c.end);
    if (at >= 0) {
      const head = decoder.decode(c.buffer.subarray(c.start, at));
      c.start = at + 4;
      return head;
    }
    scanned = c.end - c.start;
    if (c.end - c.start >= MAX_HEAD_BYTES) throw new Http1Error("The answer's head is too long");
    if (!(await fill(c))) {
      throw new Http1Error("The connection closed before an answer");
    }
    first();
  }
}

function parseHead(
  head: string,
): { status: number; statusText: string; headers: Headers; keepAlive: boolean } {
  const [statusLine, ...lines] = head.split("\r\n");
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) {
    // Not quoted: a peer that echoes the request would put the token (in its path) in the message.
    throw new Http1Error("Not an HTTP/1.x answer");
  }
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      // a header value a Headers object cannot hold: not one the sender reads
    }
  }
  const connection = (headers.get("connection") ?? "").toLowerCase();
  const keepAlive = m[1] === "1"
    ? !connection.includes("close")
    : connection.includes("keep-alive");
  return { status: Number(m[2]), statusText: m[3] ?? "", headers, keepAlive };
}

async function readExactly(c: Connection, length: number): Promise<Uint8Array> {
  if (!Number.isSafeInteger(length) || length < 0) throw new Http1Error("Bad Content-Length");
  const kept: Uint8Array[] = [];
  let keptBytes = 0;
  let left = length;
  while (left > 0) {
    if (c.start === c.end && !(await fill(c))) throw new Http1Error("The answer was cut off");
    const take = Math.min(left, c.end - c.start);
    if (keptBytes < MAX_BODY_BYTES) {
      const part = c.buffer.slice(c.start, c.start + Math.min(take, MAX_BODY_BYTES - keptBytes));
      kept.push(part);
      keptBytes += part.length;
    }
    c.start += take;
    left -= take;
  }
  return join(kept, keptBytes);
}

async function readChunked(c: Connection): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const line = await readLine(c);
    const hex = line.split(";")[0].trim();
    if (!/^[0-9a-f]{1,12}$/i.test(hex)) throw new Http1Error("Bad chunk size");
    const size = parseInt(hex, 16);
    if (size === 0) {
      while ((await readLine(c)) !== "") {
        // trailers: not used
      }
      return join(parts, bytes);
    }
    const part = await readExactly(c, size);
    if (bytes < MAX_BODY_BYTES) {
      parts.push(part);
      bytes += part.length;
    }
    if ((await readLine(c)) !== "") throw new Http1Error("Bad chunk end");
  }
}

async function readLine(c: Connection): Promise<string> {
  for (;;) {
    const at = indexOfBytes(c.buffer, [13, 10], c.start, c.end);
    if (at >= 0) {
      const line = decoder.decode(c.buffer.subarray(c.start, at));
      c.start = at + 2;
      return line;
    }
    if (c.end - c.start >= MAX_HEAD_BYTES) throw new Http1Error("A chunk line is too long");
    if (!(await fill(c))) throw new Http1Error("The answer was cut off");
  }
}

async function readToEnd(c: Connection): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    if (c.start < c.end) {
      const part = c.buffer.slice(c.start, c.end);
      if (bytes < MAX_BODY_BYTES) {
        parts.push(part);
        bytes += part.length;
      }
      c.start = c.end;
    }
    if (!(await fill(c))) return join(parts, Math.min(bytes, MAX_BODY_BYTES));
  }
}

/** Reads more into the connection's buffer; false at the end of the stream. */
async function fill(c: Connection): Promise<boolean> {
  if (c.start === c.end) c.start = c.end = 0;
  else if (c.end === c.buffer.length) {
    if (c.start > 0) {
      c.buffer.copyWithin(0, c.start, c.end);
      c.end -= c.start;
      c.start = 0;
    } else {
      const grown = new Uint8Array(c.buffer.length * 2);
      grown.set(c.buffer);
      c.buffer = grown;
    }
  }
  const pending = c.pending;
  c.pending = null;
  // An idle connection's read was started on the empty buffer (keep() reset it).
  const n = await (pending ?? c.conn.read(c.buffer.subarray(c.end)));
  if (n === null) return false;
  c.end += n;
  return true;
}

/** Writes head and body as one piece, through the connection's own buffer. */
async function writeRequest(c: Connection, head: Uint8Array, body: Uint8Array): Promise<void> {
  const size = head.length + body.length;
  const out = size <= c.out.length ? c.out : new Uint8Array(size);
  out.set(head, 0);
  out.set(body, head.length);
  await writeAll(c.conn, out.subarray(0, size));
  if (out !== c.out && size <= KEEP_OUT_BYTES) c.out = out;
}

function join(parts: Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const part of parts) {
    const take = Math.min(part.length, bytes - at);
    out.set(part.subarray(0, take), at);
    at += take;
  }
  return out;
}
