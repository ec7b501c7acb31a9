/**
 * Syslog over TLS (RFC 5425): the stream listener of listen.ts (accept, connection limits,
 * sessions) with a `node:tls` layer on each admitted connection.
 *
 * The TLS layer reads the socket through a stream the relay feeds itself, one read at a time and
 * only while the queue takes events. `node:tls`'s own server cannot pause: in this runtime a
 * paused TLS socket goes on reading its peer and holds the decrypted bytes in memory, so a fast
 * sender into a full queue grew the relay by hundreds of MiB. `Deno.listenTls` would read
 * cleanly but can neither ask for client certificates nor stop at TLS 1.2.
 *
 * TLS 1.2 is the highest version offered by default. A TLS 1.3 server sends session tickets
 * after the handshake; a sender that never reads (most syslog clients) and closes at once then
 * closes over unread bytes, so its kernel resets the connection (RFC 2525, 2.17) and throws away
 * what it had not sent yet: its last messages never leave its host. TLS 1.2 sends nothing after
 * the handshake, and this runtime cannot turn the tickets off. `maxVersion: "1.3"` offers 1.3.
 *
 * @module
 */
import { Duplex } from "node:stream";
import tls from "node:tls";
import { M } from "../metrics.ts";
import { closeQuietly, writeAll } from "../net_io.ts";
import type { ListenAddress } from "../units.ts";
import {
  type ConnectionIo,
  type Listener,
  type ListenerDeps,
  listenStream,
  READ_BUFFER_BYTES,
  type StreamLimits,
  type StreamOptions,
} from "./listen.ts";
import { checkClient, type Material, readMaterial, type TlsInputFiles } from "./tls_certs.ts";

export { CertificateError, type TlsInputFiles } from "./tls_certs.ts";

/** A TLS protocol version the input can be limited to. */
export type TlsVersion = "1.2" | "1.3";

/** TLS input settings beyond those of every stream listener. */
export interface TlsOptions extends StreamOptions {
  /** Highest protocol version offered: "1.2" unless senders read (see the module doc). */
  maxVersion: TlsVersion;
  /** A connection must finish its handshake this long after it is admitted (0: no limit). */
  handshakeTimeoutMs: number;
}

/** What a reload changes in place on the TLS input. */
export interface TlsLimits extends StreamLimits {
  handshakeTimeoutMs: number;
}

/** A TLS listener whose certificates can be re-read and whose limits change while it runs. */
export interface TlsListener extends Listener {
  /** Re-reads the certificate files; on error keeps the old ones and throws why. */
  reload(): void;
  /** Applies new limits as a TCP listener does; the handshake deadline to new connections. */
  configure(limits: TlsLimits): void;
}

/** The certificates in force, and the context new connections get. */
interface Current {
  material: Material;
  context: tls.SecureContext;
}

/** Starts the TLS syslog listener. Throws CertificateError for unusable files. */
export function listenTls(
  address: ListenAddress,
  deps: ListenerDeps,
  files: TlsInputFiles,
  options: TlsOptions,
): TlsListener {
  // Given on every context: one without maxVersion falls back to TLS 1.3.
  const versions = {
    minVersion: "TLSv1.2",
    maxVersion: options.maxVersion === "1.3" ? "TLSv1.3" : "TLSv1.2",
  } as const;
  const load = (): Current => {
    const material = readMaterial(files, Date.now());
    const context = tls.createSecureContext({
      cert: material.cert,
      key: material.key,
      ...versions,
    });
    return { material, context };
  };
  let current = load();
  let handshakeTimeoutMs = options.handshakeTimeoutMs;
  const listener = listenStream(
    "tls",
    address,
    deps,
    options,
    (conn, io) => readTls(conn, io, current, deps, handshakeTimeoutMs),
  );
  return {
    address: listener.address,
    close: () => listener.close(),
    configure(limits) {
      listener.configure(limits);
      handshakeTimeoutMs = limits.handshakeTimeoutMs;
    },
    reload() {
      // Established connections keep theirs; new ones get the new certificate.
      current = load();
    },
  };
}

/** How a handshake ended. */
type Handshake = "done" | "failed" | "timeout";

/** Runs the TLS layer of one admitted connection; true when the peer ended it. */
async function readTls(
  conn: Deno.TcpConn,
  io: ConnectionIo,
  current: Current,
  deps: ListenerDeps,
  handshakeTimeoutMs: number,
): Promise<boolean> {
  let secure = false;
  // Before the handshake is done the TLS layer reads freely; after it, only while the queue
  // takes events.
  const stream = connStream(conn, () => secure ? io.room() : Promise.resolve(true));
  const cut = () => stream.destroy();
  io.cut.addEventListener("abort", cut);
  const clientCas = current.material.clientCas;
  const socket = new tls.TLSSocket(stream, {
    isServer: true,
    secureContext: current.context,
    requestCert: clientCas.length > 0,
    rejectUnauthorized: false, // checked below, see tls_certs.ts
  });
  try {
    const handshake = await handshakeOf(socket, stream, handshakeTimeoutMs);
    if (handshake === "timeout") {
      deps.ingest.connectionClosed(
        "tls",
        "handshake timeout",
        `${io.peer} did not finish its TLS handshake within --handshake-timeout`,
      );
      return false;
    }
    if (handshake === "failed") {
      deps.metrics.inc(M.connectionsClosed, { input: "tls", reason: "handshake" });
      return false;
    }
    if (clientCas.length > 0) {
      const refusal = checkClient(socket.getPeerCertificate(true), clientCas, Date.now());
      if (refusal !== null) {
        deps.metrics.inc(M.connectionsClosed, { input: "tls", reason: "client certificate" });
        deps.log.warn("Refused a TLS client from {peer}: {refusal}", { peer: io.peer, refusal });
        return false;
      }
    }
    secure = true;
    return await new Promise<boolean>((resolve) => {
      let eof = false;
      socket.on("data", (chunk: Uint8Array) => io.session.data(chunk, Date.now()));
      socket.on("end", () => {
        // Everything it sent is in: answer its close_notify, then done.
        eof = true;
        socket.end(() => resolve(true));
      });
      const failed = (error: Error) => {
        deps.log.debug("TLS connection from {peer} ended: {error}", { peer: io.peer, error });
        socket.destroy();
      };
      socket.on("error", failed);
      // A TLS socket built over a stream reports TLS errors after its handshake only so.
      socket.on("_tlsError", failed);
      socket.on("close", () => resolve(eof));
      // The TLS socket does not always close when its transport does (the relay cut it).
      stream.once("close", () => resolve(eof));
      if (socket.destroyed || stream.destroyed) resolve(false);
    });
  } finally {
    io.cut.removeEventListener("abort", cut);
    socket.destroy();
  }
}

/** Waits for the handshake of `socket` over `stream`, at most `timeoutMs` (0: no limit). */
function handshakeOf(socket: tls.TLSSocket, stream: Duplex, timeoutMs: number): Promise<Handshake> {
  return new Promise((resolve) => {
    const timer = timeoutMs > 0 ? setTimeout(() => resolve("timeout"), timeoutMs) : undefined;
    const end = (outcome: Handshake) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    socket.once("secure", () => end("done"));
    socket.once("error", () => end("failed"));
    socket.once("_tlsError", () => end("failed"));
    socket.once("close", () => end("failed"));
    stream.once("close", () => end("failed"));
  });
}

/**
 * The connection as a stream for the TLS layer: each read of the layer is one read of the
 * socket, made only once `room` resolves (false: the stream ends).
 */
function connStream(conn: Deno.TcpConn, room: () => Promise<boolean>): Duplex {
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  let reading = false;
  const next = async (): Promise<Uint8Array | null> => {
    if (!(await room())) return null;
    const n = await conn.read(buffer);
    return n === null ? null : buffer.slice(0, n);
  };
  return new Duplex({
    read() {
      if (reading) return;
      reading = true;
      next().then(
        (chunk) => {
          reading = false;
          this.push(chunk);
        },
        (error) => {
          reading = false;
          this.destroy(error);
        },
      );
    },
    write(chunk: Uint8Array, _encoding, done) {
      writeAll(conn, chunk).then(() => done(), done);
    },
    final(done) {
      try {
        conn.closeWrite();
      } catch {
        // closed already
      }
      done();
    },
    destroy(error, done) {
      closeQuietly(conn);
      done(error);
    },
  });
}
