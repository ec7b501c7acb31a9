/**
 * One syslog stream connection, TCP or TLS alike, from its first byte to its last: framing, its
 * deadlines (idle, slow message), pausing while the queue is full, and the flush at the end.
 * Listeners own the sockets; a session owns what is read from one, and hands it to the intake.
 *
 * @module
 */
import type { Ingest } from "../ingest.ts";
import type { InputKind } from "../event.ts";
import { M, type Metrics } from "../metrics.ts";
import { SyslogFramer } from "./framing.ts";

/** The deadlines of a connection. */
export interface SessionLimits {
  /** Close a connection with no data for this long (0: never). */
  idleTimeoutMs: number;
  /** A message begun must be complete within this long (0: no limit). */
  messageTimeoutMs: number;
}

/** Why a connection is closed by its deadlines. */
export interface Overdue {
  reason: "idle" | "slow message";
  detail: string;
}

/** What sessions need from the relay. */
export interface SessionDeps {
  ingest: Ingest;
  metrics: Metrics;
  maxMessageBytes: number;
}

/**
 * When the message a connection holds began, after a read that completed `completed` messages
 * and left `held` bytes of the next: null when none is held; now when this read began it (a
 * message completed in it, so what is held started after that); else still `previous`. A stream
 * whose every read ends inside some message is not one slow message.
 */
export function messageStart(
  previous: number | null,
  held: number,
  completed: number,
  now: number,
): number | null {
  if (held === 0) return null;
  return completed > 0 ? now : previous ?? now;
}

/** One connection's stream of syslog messages. */
export class StreamSession {
  readonly input: InputKind;
  readonly peer: string;
  readonly #framer: SyslogFramer;
  readonly #ingest: Ingest;
  #limits: SessionLimits;
  #lastRead: number;
  #paused = false;
  #messageStarted: number | null = null;

  constructor(
    input: InputKind,
    peer: string,
    deps: SessionDeps,
    limits: SessionLimits,
    now: number,
  ) {
    this.input = input;
    this.peer = peer;
    this.#framer = new SyslogFramer(deps.maxMessageBytes);
    this.#ingest = deps.ingest;
    this.#limits = limits;
    this.#lastRead = now;
  }

  /** Takes bytes read at `now`; true when the queue is full and the reader must pause. */
  data(chunk: Uint8Array, now: number): boolean {
    this.#lastRead = now;
    const frames = this.#framer.push(chunk);
    this.#messageStarted = messageStart(
      this.#messageStarted,
      this.#framer.bufferedBytes,
      frames.length,
      now,
    );
    return this.#ingest.frames(frames, this.input, this.peer);
  }

  /**
   * Applies new limits (a reload): the message size from the next message on; deadlines that
   * changed at once, counted from `now`, so that the reload itself closes no connection.
   */
  configure(maxMessageBytes: number, limits: SessionLimits, now: number): void {
    this.#framer.setLimit(maxMessageBytes);
    const { idleTimeoutMs, messageTimeoutMs } = this.#limits;
    if (limits.idleTimeoutMs === idleTimeoutMs && limits.messageTimeoutMs === messageTimeoutMs) {
      return;
    }
    this.#limits = limits;
    this.#lastRead = now;
    if (this.#messageStarted !== null) this.#messageStarted = now;
  }

  /** The reader stopped reading: the queue is full. Not the peer being idle or slow. */
  paused(): void {
    this.#paused = true;
    this.#ingest.paused(this.input);
  }

  /** The reader reads again at `now`; the time paused does not count against the peer. */
  resumed(now: number): void {
    this.#paused = false;
    this.#lastRead = now;
    if (this.#messageStarted !== null) this.#messageStarted = now;
  }

  /** Why the connection must be closed at `now`, or null. Never while paused by the relay. */
  overdue(now: number): Overdue | null {
    if (this.#paused) return null;
    const { idleTimeoutMs, messageTimeoutMs } = this.#limits;
    if (idleTimeoutMs > 0 && now - this.#lastRead >= idleTimeoutMs) {
      return { reason: "idle", detail: `${this.peer} sent nothing for --idle-timeout` };
    }
    if (
      this.#messageStarted !== null && messageTimeoutMs > 0 &&
      now - this.#messageStarted >= messageTimeoutMs
    ) {
      return {
        reason: "slow message",
        detail: `${this.peer} did not finish a message within --message-timeout`,
      };
    }
    return null;
  }

  /**
   * The stream ended: what it held is still forwarded. `cut` when the relay closed it (or it
   * broke) rather than the peer: then a message begun is marked incomplete (framing.ts).
   */
  end(cut: boolean): void {
    this.#ingest.frames(this.#framer.end(cut), this.input, this.peer);
  }
}

/** The open sessions of one input: counted, and swept for their deadlines. */
export class Sessions {
  readonly #input: InputKind;
  #deps: SessionDeps;
  #limits: SessionLimits;
  readonly #open = new Map<StreamSession, () => void>();

  constructor(input: InputKind, deps: SessionDeps, limits: SessionLimits) {
    this.#input = input;
    this.#deps = deps;
    this.#limits = limits;
  }

  /** Number of open sessions. */
  get size(): number {
    return this.#open.size;
  }

  /** A session for a new connection from `peer`; `close` closes its socket. */
  open(peer: string, close: () => void, now: number): StreamSession {
    const session = new StreamSession(this.#input, peer, this.#deps, this.#limits, now);
    this.#open.set(session, close);
    this.#deps.metrics.inc(M.connections, { input: this.#input });
    this.#gauge();
    return session;
  }

  /** Applies new limits to new sessions and, as {@link StreamSession.configure} says, open ones. */
  configure(maxMessageBytes: number, limits: SessionLimits, now: number): void {
    this.#deps = { ...this.#deps, maxMessageBytes };
    this.#limits = limits;
    for (const session of this.#open.keys()) session.configure(maxMessageBytes, limits, now);
  }

  /** Forgets a session whose connection ended. */
  closed(session: StreamSession): void {
    if (this.#open.delete(session)) this.#gauge();
  }

  /** Closes, counts and logs connections past their deadlines. */
  sweep(now: number): void {
    for (const [session, close] of this.#open) {
      const overdue = session.overdue(now);
      if (overdue === null) continue;
      this.#deps.ingest.connectionClosed(this.#input, overdue.reason, overdue.detail);
      close();
    }
  }

  /** Closes every open connection (shutdown). */
  closeAll(): void {
    for (const close of this.#open.values()) close();
  }

  #gauge(): void {
    this.#deps.metrics.set(M.connectionsOpen, this.#open.size, { input: this.#input });
  }
}
