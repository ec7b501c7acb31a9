/**
 * Syslog over TLS (RFC 5425), on `node:tls`: `Deno.listenTls` cannot ask for client certificates.
 * `node:tls` reports `authorized: false` even for a valid client certificate here, so the chain,
 * dates and key usage are checked by the relay itself (`X509Certificate`). Certificates are read
 * again on `reload()` (SIGHUP) for new connections; established ones stay up.
 *
 * TLS 1.2 is the highest version offered by default. A TLS 1.3 server sends session tickets
 * after the handshake; a sender that never reads (most syslog clients) and closes at once then
 * closes over unread bytes, so its kernel resets the connection (RFC 2525, 2.17) and throws away
 * what it had not sent yet: its last messages never leave its host. TLS 1.2 sends nothing after
 * the handshake, and this runtime cannot turn the tickets off. `maxVersion: "1.3"` offers 1.3.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import tls from "node:tls";
import { unreadable } from "../access.ts";
import { M } from "../metrics.ts";
import type { ListenAddress } from "../units.ts";
import { ConnectionGuard } from "./guard.ts";
import { type Listener, type ListenerDeps, type StreamOptions, sweepInterval } from "./listen.ts";
import { Sessions } from "./session.ts";

/** A TLS protocol version the input can be limited to. */
export type TlsVersion = "1.2" | "1.3";

/** TLS input settings beyond those of every stream listener. */
export interface TlsOptions extends StreamOptions {
  /** Highest protocol version offered: "1.2" unless senders read (see the module doc). */
  maxVersion: TlsVersion;
  /** A connection must finish its handshake this long after accept (0: no limit). */
  handshakeTimeoutMs: number;
}

/** Certificate files of the TLS input. */
export interface TlsInputFiles {
  cert: string;
  key: string;
  /** When set, clients must present a certificate issued by a CA in this file. */
  clientCa: string | null;
}

/** A TLS listener whose certificates can be re-read. */
export interface TlsListener extends Listener {
  /** Re-reads the certificate files; on error keeps the old ones and throws why. */
  reload(): void;
}

/** A certificate file that cannot be used: names the file and what to do. */
export class CertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CertificateError";
  }
}

/** The TCP side of a TLS connection, as the connection limits see it. */
interface RawSocket {
  remoteAddress?: string;
  remotePort?: number;
  destroy(): void;
  once(event: "close", listener: () => void): void;
}

/** A connection from accept to close. */
interface Accepted {
  raw: RawSocket;
  peer: string;
  /** It has a place: read it once its handshake is done. */
  admitted: boolean;
  /** Closed by the connection limits. */
  refused: boolean;
  /** Its TLS socket, once the handshake finished while it still waited for a place. */
  secure: tls.TLSSocket | null;
  /** Closes it unless its handshake is done by --handshake-timeout. */
  deadline?: ReturnType<typeof setTimeout>;
}

interface Material {
  cert: string;
  key: string;
  clientCas: X509Certificate[];
}

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";

/** Starts the TLS syslog listener. Throws CertificateError for unusable files. */
export async function listenTls(
  address: ListenAddress,
  deps: ListenerDeps,
  files: TlsInputFiles,
  options: TlsOptions,
): Promise<TlsListener> {
  let material = readMaterial(files, Date.now());
  // Given on every secure context: one set without maxVersion falls back to TLS 1.3.
  const versions = {
    minVersion: "TLSv1.2",
    maxVersion: options.maxVersion === "1.3" ? "TLSv1.3" : "TLSv1.2",
  } as const;
  const { ingest } = deps;
  const sessions = new Sessions("tls", deps, options.session);
  // Every TCP connection, also those still in their handshake: close() must end them too.
  const connections = new Set<{ destroy(): void }>();
  // The same, by remote address and port, to find a connection again once its handshake is done.
  const accepted = new Map<string, Accepted>();
  let closing = false;
  const server = tls.createServer({
    cert: material.cert,
    key: material.key,
    ...versions,
    requestCert: files.clientCa !== null,
    rejectUnauthorized: false, // checked below, see the module doc
  });
  // Limits apply at TCP connect: a refused connection never costs a handshake. One that waits
  // for a place (see guard.ts) finishes its handshake, then waits unread.
  const guard = new ConnectionGuard<Accepted>(options.limits, {
    admit(entry) {
      entry.admitted = true;
      if (entry.secure !== null) {
        handle(entry.secure, entry.secure.remoteAddress);
        entry.secure.resume();
      }
    },
    refuse(entry, detail) {
      entry.refused = true;
      deps.ingest.connectionClosed("tls", "connection limit", detail);
      entry.secure?.destroy();
      entry.raw.destroy();
    },
  });
  server.on("connection", (raw: RawSocket) => {
    const entry: Accepted = {
      raw,
      peer: raw.remoteAddress ?? "unknown",
      admitted: false,
      refused: false,
      secure: null,
    };
    const key = keyOf(raw);
    accepted.set(key, entry);
    connections.add(raw);
    if (options.handshakeTimeoutMs > 0) {
      entry.deadline = setTimeout(() => {
        if (entry.refused) return;
        deps.ingest.connectionClosed(
          "tls",
          "handshake timeout",
          `${entry.peer} did not finish its TLS handshake within --handshake-timeout`,
        );
        raw.destroy();
      }, options.handshakeTimeoutMs);
    }
    raw.once("close", () => {
      clearTimeout(entry.deadline);
      if (accepted.get(key) === entry) accepted.delete(key);
      connections.delete(raw);
      if (entry.admitted) guard.release(entry.peer, Date.now());
      else guard.withdraw(entry.peer, entry);
    });
    guard.offer(entry.peer, entry, Date.now());
  });
  const sweeper = setInterval(() => {
    const now = Date.now();
    guard.expire(now, ingest.full);
    sessions.sweep(now);
  }, sweepInterval(options));
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    const peer = socket.remoteAddress;
    const entry = accepted.get(keyOf(socket));
    clearTimeout(entry?.deadline);
    if (closing || entry?.refused) {
      socket.destroy();
      return;
    }
    socket.on(
      "error",
      (error: Error) => deps.log.debug("TLS connection error: {error}", { error }),
    );
    if (files.clientCa !== null) {
      const refusal = checkClient(socket.getPeerCertificate(true), material.clientCas, Date.now());
      if (refusal !== null) {
        deps.metrics.inc(M.connectionsClosed, { input: "tls", reason: "client certificate" });
        deps.log.warn("Refused a TLS client from {peer}: {refusal}", { peer, refusal });
        socket.destroy();
        return;
      }
    }
    if (entry !== undefined && !entry.admitted) {
      // Still waiting for a place: what it sends stays unread until then.
      socket.pause();
      entry.secure = socket;
      return;
    }
    handle(socket, peer);
  });
  server.on("tlsClientError", (error: Error) => {
    deps.metrics.inc(M.connectionsClosed, { input: "tls", reason: "handshake" });
    deps.log.debug("TLS handshake failed: {error}", { error });
  });

  function handle(socket: tls.TLSSocket, address: string | undefined): void {
    const peer = address ?? "unknown";
    const session = sessions.open(peer, () => socket.destroy(), Date.now());
    let paused = false;
    socket.on("data", (chunk: Uint8Array) => {
      if (!session.data(chunk, Date.now()) || paused) return;
      paused = true;
      socket.pause();
      session.paused();
      ingest.whenAccepting().then(() => {
        paused = false;
        const now = Date.now();
        session.resumed(now);
        guard.resumed(peer, now);
        socket.resume();
      });
    });
    let eof = false; // the peer closed; otherwise we cut the connection (or it broke)
    socket.on("end", () => eof = true);
    socket.on("close", () => {
      session.end(!eof);
      sessions.closed(session);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error: Error) => deps.log.error("TLS listener error: {error}", { error }));
  const bound = server.address() as { port: number };
  return {
    address: { hostname: address.hostname, port: bound.port },
    reload() {
      const next = readMaterial(files, Date.now());
      server.setSecureContext({ cert: next.cert, key: next.key, ...versions });
      material = next;
    },
    async close() {
      closing = true;
      clearInterval(sweeper);
      guard.takeWaiting(); // ended with every connection below; none may take a freed place
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      sessions.closeAll();
      // A peer still in its handshake (under TLS 1.3, one whose handshake is done on its side
      // only) is not among them, and server.close() would wait for it.
      for (const socket of connections) socket.destroy();
      await closed;
    },
  };
}

/** Reads and checks the certificate, key and client CA files. */
export function readMaterial(files: TlsInputFiles, now: number): Material {
  const cert = readPem("--tls-cert", files.cert);
  const key = readPem("--tls-key", files.key);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new CertificateError(
      `--tls-cert ${files.cert} is not a PEM certificate: give the certificate chain file`,
    );
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new CertificateError(
      `--tls-key ${files.key} is not a PEM private key: give the key file`,
    );
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new CertificateError(
      `--tls-key ${files.key} does not belong to --tls-cert ${files.cert}: give the matching pair`,
    );
  }
  const expired = datesProblem(leaf, now);
  if (expired) throw new CertificateError(`--tls-cert ${files.cert} ${expired}: renew it`);
  const clientCas = files.clientCa === null
    ? []
    : splitPem(readPem("--tls-client-ca", files.clientCa)).map((pem) => {
      try {
        return new X509Certificate(pem);
      } catch {
        throw new CertificateError(
          `--tls-client-ca ${files.clientCa} holds something that is not a certificate`,
        );
      }
    });
  if (files.clientCa !== null && clientCas.length === 0) {
    throw new CertificateError(
      `--tls-client-ca ${files.clientCa} holds no certificate: give the CA's PEM file`,
    );
  }
  return { cert, key, clientCas };
}

/** Why a client certificate is refused, or null when it is accepted. */
export function checkClient(
  // deno-lint-ignore no-explicit-any
  peer: any,
  cas: readonly X509Certificate[],
  now: number,
): string | null {
  if (!peer?.raw) return "it presented no certificate (--tls-client-ca requires one)";
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(peer.raw);
  } catch {
    return "its certificate cannot be read";
  }
  const dates = datesProblem(cert, now);
  if (dates) return `its certificate ${dates}`;
  if (!allowsClientAuth(cert)) return "its certificate is not for client authentication";
  // Walk the chain it sent (leaf, intermediates) until a certificate our CA file issued.
  let current = cert;
  let issuer = peer.issuerCertificate;
  for (let depth = 0; depth < 8; depth++) {
    const ca = cas.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (ca) return datesProblem(ca, now) === null ? null : "the CA that issued it has expired";
    if (!issuer?.raw || issuer === peer) break;
    let next: X509Certificate;
    try {
      next = new X509Certificate(issuer.raw);
    } catch {
      break;
    }
    if (!current.checkIssued(next) || !current.verify(next.publicKey) || datesProblem(next, now)) {
      break;
    }
    current = next;
    issuer = issuer.issuerCertificate === issuer ? null : issuer.issuerCertificate;
  }
  return "its certificate was not issued by a CA in --tls-client-ca";
}

function datesProblem(cert: X509Certificate, now: number): string | null {
  if (now < Date.parse(cert.validFrom)) return `is not valid before ${cert.validFrom}`;
  if (now > Date.parse(cert.validTo)) return `expired on ${cert.validTo}`;
  return null;
}

/**
 * Extended key usage, read from the DER (this runtime's `X509Certificate#keyUsage` is empty): a
 * certificate without the extension may be used for anything; with it, it must name clientAuth.
 */
function allowsClientAuth(cert: X509Certificate): boolean {
  const der = new Uint8Array(cert.raw);
  const at = indexOf(der, [0x06, 0x03, 0x55, 0x1d, 0x25]); // OID 2.5.29.37, extKeyUsage
  if (at < 0) return true;
  const region = der.subarray(at, at + 128);
  return indexOf(region, oidBytes(CLIENT_AUTH)) >= 0 ||
    indexOf(region, oidBytes(ANY_EXTENDED_KEY_USAGE)) >= 0;
}

function oidBytes(oid: string): number[] {
  const parts = oid.split(".").map(Number);
  const body = [parts[0] * 40 + parts[1]];
  for (const part of parts.slice(2)) {
    const bytes = [part & 0x7f];
    for (let v = part >> 7; v > 0; v >>= 7) bytes.unshift((v & 0x7f) | 0x80);
    body.push(...bytes);
  }
  return [0x06, body.length, ...body];
}

function indexOf(haystack: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function readPem(flag: string, path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new CertificateError(unreadable(flag, path, error));
  }
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function keyOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
