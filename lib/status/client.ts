/**
 * How `loggly-relay status` asks a running relay for /status.json. Over HTTPS it trusts exactly
 * the certificate of the relay's own configuration (`--http-tls-cert`), whoever issued it and
 * whatever names it carries: the relay is asked on loopback, where no public name would match.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import https from "node:https";
import type { TLSSocket } from "node:tls";

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
  const url = `${r.url}/status.json`;
  if (!url.startsWith("https:") || r.certificatePem === null) {
    const response = await fetch(url, {
      headers: r.headers,
      signal: AbortSignal.timeout(r.timeoutMs),
    });
    return { status: response.status, text: await response.text() };
  }
  const pem = r.certificatePem;
  const expected = new X509Certificate(pem).fingerprint256;
  return await new Promise<Answer>((resolve, reject) => {
    // The chain is not checked against any CA: the certificate itself is (pinned) below.
    const request = https.get(
      url,
      {
        headers: r.headers,
        rejectUnauthorized: false,
        // A CA of its own, so that node:tls does not load the system's (no --allow-sys here).
        ca: [pem],
        timeout: r.timeoutMs,
      },
      (response) => {
        const peer = (response.socket as TLSSocket).getPeerCertificate();
        if (peer?.fingerprint256 !== expected) {
          response.destroy();
          reject(new Error("it serves another certificate than --http-tls-cert"));
          return;
        }
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => text += chunk);
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error("no answer in time")));
    request.on("error", reject);
  });
}
