/**
 * How `loggly-relay status` asks a running relay for /status.json. Over HTTPS it trusts exactly
 * the certificate of the relay's own configuration (`--http-tls-cert`), whoever issued it and
 * whatever names it carries (the relay is asked on loopback, where no public name would match),
 * and it checks that certificate before it sends anything, the bearer token included.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import { indexOfBytes } from "../net_io.ts";

/** An answer: its status and body. */
export interface Answer {
  readonly status: number;
  readonly text: string;
}

/** Where and how to ask. */
export interface StatusRequest {
  /** The relay's base URL, `http://HOST:PORT` or `https://HOST:PORT`. */
  readonly url: string;
  readonly headers: Record<string, string>;
  /** For https: the PEM the relay serves (its first certificate is the one trusted). */
  readonly certificatePem: string | null;
  readonly timeoutMs: number;
}

/** GETs `${url}/status.json`; throws with the cause when there is no answer. */
export async function fetchStatus(r: StatusRequest): Promise<Answer> {
  const url = new URL(`${r.url}/status.json`);
  if (url.protocol !== "https:" || r.certificatePem === null) {
    const response = await fetch(url, {
      headers: r.headers,
      signal: AbortSignal.timeout(r.timeoutMs),
    });
    return { status: response.status, text: await response.text() };
  }
  const expected = new X509Certificate(r.certificatePem).fingerprint256;
  const socket = tls.connect({
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(url.port),
    // Not checked against a CA: the certificate itself is compared below, before any byte is
    // sent. A CA of its own keeps node:tls from loading the system's (no --allow-sys here).
    rejectUnauthorized: false,
    ca: [r.certificatePem],
  });
  const timer = setTimeout(() => socket.destroy(new Error("no answer in time")), r.timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    if (socket.getPeerCertificate()?.fingerprint256 !== expected) {
      throw new Error("it serves another certificate than --http-tls-cert");
    }
    const head = [
      `GET ${url.pathname} HTTP/1.1`,
      `Host: ${url.host}`,
      "Connection: close",
      ...Object.entries(r.headers).map(([name, value]) => `${name}: ${value}`),
    ];
    socket.write(`${head.join("\r\n")}\r\n\r\n`);
    const chunks: Uint8Array[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      socket.once("end", resolve);
      socket.once("close", resolve);
      socket.once("error", reject);
    });
    return parseResponse(concat(chunks));
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

/** An HTTP/1.1 response read to the end of the connection: status and body (chunked or not). */
export function parseResponse(raw: Uint8Array): Answer {
  const decoder = new TextDecoder();
  const end = indexOfBytes(raw, CRLF2);
  if (end < 0) throw new Error("the answer ended inside its headers");
  const [statusLine, ...headers] = decoder.decode(raw.subarray(0, end)).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP answer: ${statusLine.slice(0, 40)}`);
  let body = raw.subarray(end + 4);
  if (headers.some((h) => /^transfer-encoding:\s*chunked/i.test(h))) {
    // Sizes count bytes: the chunks are joined before anything is decoded.
    const parts: Uint8Array[] = [];
    for (let at = 0;;) {
      const lineEnd = indexOfBytes(body, CRLF, at);
      const size = lineEnd < 0 ? 0 : parseInt(decoder.decode(body.subarray(at, lineEnd)), 16);
      if (!(size > 0)) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = concat(parts);
  }
  const length = headers.find((h) => /^content-length:/i.test(h));
  if (length !== undefined && body.length < Number(length.split(":")[1])) {
    throw new Error("the answer was cut short");
  }
  return { status, text: decoder.decode(body) };
}

const CRLF = [13, 10];
const CRLF2 = [13, 10, 13, 10];

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
