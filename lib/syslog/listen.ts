/**
 * The stream listener (Deno.listen) that TCP and TLS share, and what every listener shares. It
 * owns the sockets: accepting, the connection limits (guard.ts), reading and closing; what is
 * read goes to the connection's session (session.ts), which frames it, hands it to the intake
 * and says when to pause for the queue. TCP reads the socket itself; TLS (tls.ts) reads it
 * through a TLS layer. UDP is in udp.ts.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import type { Ingest } from "../ingest.ts";
import type { Logger } from "../log.ts";
import { closeQuietly } from "../net_io.ts";
import { M, type Metrics } from "../metrics.ts";
import type { ListenAddress } from "../units.ts";
import { ConnectionGuard, type ConnectionLimits } from "./guard.ts";
import { type SessionLimits, Sessions, type StreamSession } from "./session.ts";

/** A running listener. */
export interface Listener {
  /** The address actually bound (the real port when 0 was asked for). */
  readonly address: ListenAddress;
  /** Stops accepting, ends open connections (delivering what they had sent) and waits for them. */
  close(): Promise<void>;
}

/** What every listener needs. */
export interface ListenerDeps {
  ingest: Ingest;
  metrics: Metrics;
  log: Logger;
  maxMessageBytes: number;
}

/** TCP and TLS listener settings beyond the shared ones. */
export interface StreamOptions {
  /** Each connection's deadlines. */
  session: SessionLimits;
  /** How many connections, per input and per peer. */
  limits: ConnectionLimits;
}

/** What a reload changes in place on a TCP or TLS input. */
export interface StreamLimits extends StreamOptions {
  maxMessageBytes: number;
}

/** A TCP listener (and the base of the TLS one), whose limits change while it runs. */
export interface StreamListener extends Listener {
  /**
   * Applies new limits: new connections get them; open ones stay open and take the message size
   * from their next message and the deadlines at once (counted from now when they changed).
   */
  configure(limits: StreamLimits): void;
}

/** How often the idle, slow-message and place-waiting deadlines are checked. */
export function sweepInterval(options: StreamOptions): number {
  const { idleTimeoutMs, messageTimeoutMs } = options.session;
  const shortest = Math.min(
    ...[idleTimeoutMs, messageTimeoutMs, options.limits.placeWaitMs].filter((ms) => ms > 0),
    20_000,
  );
  return Math.max(10, Math.min(shortest / 4, 5_000));
}

/** Bytes read from a stream connection at once. */
export const READ_BUFFER_BYTES = 64 * 1024;
const ACCEPT_RETRY_MS = 100;
const ACCEPT_ERROR_LOG_INTERVAL_MS = 10_000;

/** What a reader gets for one admitted connection. */
export interface ConnectionIo {
  readonly peer: string;
  readonly session: StreamSession;
  /** Aborts when the relay cuts the connection (deadline, shutdown); its socket is closed. */
  readonly cut: AbortSignal;
  /**
   * Resolves once the queue takes events (at once when it does): the reader must wait for it
   * before each read, so that a full queue pauses the sender. False once the listener closes.
   */
  room(): Promise<boolean>;
}

/**
 * Reads one admitted connection into its session until it ends; resolves true when the peer
 * closed it (end of stream), false when the relay cut it (timeout, shutdown, handshake).
 */
export type ConnectionReader = (conn: Deno.TcpConn, io: ConnectionIo) => Promise<boolean>;

/** Starts a TCP syslog listener (RFC 6587: octet counting or LF framing, per message). */
export function listenTcp(
  address: ListenAddress,
  deps: ListenerDeps,
  options: StreamOptions,
): StreamListener {
  return listenStream("tcp", address, deps, options, readPlain);
}

/** Reads a plain TCP connection, one buffer for the connection's life. */
async function readPlain(conn: Deno.TcpConn, io: ConnectionIo): Promise<boolean> {
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  while (await io.room()) {
    const n = await conn.read(buffer);
    if (n === null) return true;
    io.session.data(buffer.subarray(0, n), Date.now());
  }
  return false;
}

/**
 * A stream listener (TCP, and TLS on top of it): accepts, applies the connection limits, opens
 * each admitted connection's session and hands the connection to `read`.
 */
export function listenStream(
  input: "tcp" | "tls",
  address: ListenAddress,
  deps: ListenerDeps,
  options: StreamOptions,
  read: ConnectionReader,
): StreamListener {
  const server = Deno.listen({ hostname: address.hostname, port: address.port, transport: "tcp" });
  const { ingest } = deps;
  const sessions = new Sessions(input, deps, options.session);
  const handlers = new Set<Promise<void>>();
  let closing = false;
  let wakeClosing: () => void = () => {};
  const closed = new Promise<void>((resolve) => wakeClosing = resolve);
  // A connection over its peer's cap waits here unread (its bytes stay in the kernel) until the
  // peer frees a place; see guard.ts.
  const guard = new ConnectionGuard<Deno.TcpConn>(options.limits, {
    admit(conn) {
      const handler = handle(conn).finally(() => handlers.delete(handler));
      handlers.add(handler);
    },
    refuse(conn, detail) {
      ingest.connectionClosed(input, "connection limit", detail);
      closeQuietly(conn);
    },
  });

  const sweep = () => {
    const now = Date.now();
    guard.expire(now, ingest.full);
    sessions.sweep(now);
  };
  let sweepEvery = sweepInterval(options);
  let sweeper = setInterval(sweep, sweepEvery);

  const handle = async (conn: Deno.TcpConn): Promise<void> => {
    const peer = peerOf(conn);
    const cut = new AbortController();
    const session = sessions.open(peer, () => {
      cut.abort();
      closeQuietly(conn);
    }, Date.now());
    const io: ConnectionIo = {
      peer,
      session,
      cut: cut.signal,
      async room() {
        if (!closing && ingest.full) {
          session.paused();
          await Promise.race([ingest.whenAccepting(), closed]);
          const now = Date.now();
          session.resumed(now);
          guard.resumed(peer, now);
        }
        return !closing;
      },
    };
    let eof = false; // the peer closed; otherwise we cut the connection (or it broke)
    try {
      eof = await read(conn, io);
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted)) {
        deps.log.debug("{input} connection from {peer} ended: {error}", { input, peer, error });
      }
    } finally {
      // What the peer sent before it went away (a last line without LF) is still delivered;
      // a message cut off by a timeout, shutdown or reset is delivered marked incomplete.
      session.end(!eof);
      sessions.closed(session);
      closeQuietly(conn);
      guard.release(peer, Date.now());
    }
  };

  const acceptLoop = (async () => {
    let lastErrorLog = -Infinity;
    while (!closing) {
      if (guard.full) {
        // At --max-connections, further connections wait in the kernel's backlog, not refused.
        await Promise.race([guard.whenNotFull(), closed]);
        continue;
      }
      let conn: Deno.TcpConn;
      try {
        conn = await server.accept();
      } catch (error) {
        if (closing) break;
        // Out of file descriptors and the like pass; the listener must outlive them.
        deps.metrics.inc(M.acceptErrors, { input });
        if (Date.now() - lastErrorLog >= ACCEPT_ERROR_LOG_INTERVAL_MS) {
          lastErrorLog = Date.now();
          const kind = input.toUpperCase();
          deps.log.error(`Accepting a ${kind} connection failed: {error}; retrying`, { error });
        }
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      // --max-connections lowered (a reload) while this accept waited: the connection waits,
      // unread, for a place as it would have in the backlog.
      if (guard.full) await Promise.race([guard.whenNotFull(), closed]);
      if (closing) {
        closeQuietly(conn);
        break;
      }
      guard.offer(peerOf(conn), conn, Date.now());
      // While the backlog is not empty an accept completes at once, and connections already
      // accepted are read far less often than new ones come in: a sender of many short
      // connections gets thousands ahead of the readers, all of them over its cap. While
      // connections wait for a place, one turn of the event loop per accept lets readers keep up.
      if (guard.waiting > 0) await new Promise((resolve) => setImmediate(resolve));
    }
  })();

  const bound = server.addr as Deno.NetAddr;
  return {
    address: { hostname: address.hostname, port: bound.port },
    configure(limits) {
      if (closing) return;
      sessions.configure(limits.maxMessageBytes, limits.session, Date.now());
      guard.configure(limits.limits);
      const every = sweepInterval(limits);
      if (every !== sweepEvery) {
        clearInterval(sweeper);
        sweepEvery = every;
        sweeper = setInterval(sweep, every);
      }
    },
    async close() {
      closing = true;
      wakeClosing();
      clearInterval(sweeper);
      closeQuietly(server);
      // Waiting ones first, so that none takes the place of a connection closed below.
      for (const conn of guard.takeWaiting()) closeQuietly(conn);
      sessions.closeAll();
      await acceptLoop;
      await Promise.all(handlers);
    },
  };
}

function peerOf(conn: Deno.Conn): string {
  const addr = conn.remoteAddr as Deno.NetAddr;
  return addr.hostname;
}
