/**
 * Connection limits shared by the TCP and TLS inputs: a cap per input and per peer address (a
 * connection's own deadlines, idle and slow message, are in session.ts). A breach closes that
 * connection only, and is counted and logged.
 *
 * A connection over the cap of its peer is not closed at once: the relay may simply not have read
 * that peer's earlier connections to their end yet (a sender writing short connections back to
 * back has closed them long before). It waits, unread, and takes the first place its peer frees,
 * oldest first. It is closed only if its peer frees no place for {@link PLACE_WAIT_MS} while the
 * relay could read (time the queue is full does not count), or to make room: waiting connections
 * and those being read together never exceed the input's cap, and a newcomer takes the place of
 * the newest waiting connection of the peer with the most waiting. With the input's cap reached,
 * the TCP input stops accepting (new connections wait in the kernel's backlog); the TLS input
 * (node:tls cannot stop accepting) closes them at once.
 *
 * @module
 */

/** How long a connection over --max-connections-per-peer waits for a place (the help says it). */
export const PLACE_WAIT_MS = 2_000;

/** Limits of one input. */
export interface ConnectionLimits {
  maxConnections: number;
  maxPerPeer: number;
  /** A connection over the peer's cap waits this long for the peer to free a place (0: none). */
  placeWaitMs: number;
}

/** What the guard does with the connections it is given. */
export interface GuardActions<C> {
  /** Starts reading `conn`, which has a place now (at once, or after waiting). */
  admit(conn: C): void;
  /** Closes `conn`, which gets no place, and counts it. */
  refuse(conn: C, detail: string): void;
}

interface Peer<C> {
  /** Connections of this peer with a place (being read). */
  open: number;
  /** Connections waiting for a place, oldest first. */
  waiting: { conn: C; since: number }[];
  /** When this peer last freed a place (or the queue last held its readers back). */
  freedAt: number;
}

/** Counts connections per input and peer; holds those over the peer's cap until a place frees. */
export class ConnectionGuard<C = unknown> {
  #limits: ConnectionLimits;
  readonly #actions: GuardActions<C>;
  readonly #peers = new Map<string, Peer<C>>();
  #open = 0;
  #waiting = 0;
  readonly #roomWaiters: (() => void)[] = [];

  constructor(limits: ConnectionLimits, actions: GuardActions<C>) {
    this.#limits = limits;
    this.#actions = actions;
  }

  /** Connections with a place. */
  get open(): number {
    return this.#open;
  }

  /** Connections waiting for a place. */
  get waiting(): number {
    return this.#waiting;
  }

  /** True when the input has --max-connections connections with a place. */
  get full(): boolean {
    return this.#open >= this.#limits.maxConnections;
  }

  /** Resolves once the input is below --max-connections. */
  whenNotFull(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Takes a new connection from `peer`: admits it, holds it, or refuses it. */
  offer(peer: string, conn: C, now: number): void {
    if (this.full) {
      this.#actions.refuse(conn, `the input has ${this.#open} connections (--max-connections)`);
      return;
    }
    let state = this.#peers.get(peer);
    if (!state) {
      state = { open: 0, waiting: [], freedAt: now };
      this.#peers.set(peer, state);
    }
    if (state.open < this.#limits.maxPerPeer) {
      this.#open++;
      state.open++;
      this.#actions.admit(conn);
    } else if (this.#limits.placeWaitMs > 0) {
      state.waiting.push({ conn, since: now });
      this.#waiting++;
    } else {
      this.#actions.refuse(
        conn,
        `${peer} has ${state.open} connections (--max-connections-per-peer)`,
      );
      return;
    }
    if (this.#open + this.#waiting > this.#limits.maxConnections) this.#evict(peer);
  }

  /**
   * Applies new caps (a reload). No connection is closed for them: over a lowered cap, places
   * are given again only once the count is below it; under a raised one, waiting connections
   * take the places it adds at once, and the input accepts again.
   */
  configure(limits: ConnectionLimits): void {
    this.#limits = limits;
    for (const state of this.#peers.values()) {
      while (state.waiting.length > 0 && state.open < limits.maxPerPeer && !this.full) {
        const { conn } = state.waiting.shift()!;
        this.#waiting--;
        this.#open++;
        state.open++;
        this.#actions.admit(conn);
      }
    }
    if (!this.full) { for (const wake of this.#roomWaiters.splice(0)) wake(); }
  }

  /**
   * Frees the place of an admitted connection; the oldest waiting one of `peer` takes it, unless
   * the peer is over a cap lowered since (then the place goes).
   */
  release(peer: string, now: number): void {
    const state = this.#peers.get(peer);
    if (!state || state.open === 0) return;
    state.freedAt = now;
    const next = state.open <= this.#limits.maxPerPeer ? state.waiting.shift() : undefined;
    if (next) {
      this.#waiting--;
      this.#actions.admit(next.conn);
      return;
    }
    this.#open--;
    state.open--;
    if (state.open === 0) this.#peers.delete(peer);
    if (!this.full) { for (const wake of this.#roomWaiters.splice(0)) wake(); }
  }

  /** Forgets a waiting connection that ended on its own; false if it was not waiting. */
  withdraw(peer: string, conn: C): boolean {
    const state = this.#peers.get(peer);
    const at = state?.waiting.findIndex((w) => w.conn === conn) ?? -1;
    if (!state || at < 0) return false;
    state.waiting.splice(at, 1);
    this.#waiting--;
    return true;
  }

  /**
   * Refuses connections that waited `placeWaitMs` while their peer freed no place. While
   * `paused` (the queue is full, so no reader reads) nobody's wait runs.
   */
  expire(now: number, paused: boolean): void {
    for (const [peer, state] of this.#peers) {
      if (paused) {
        state.freedAt = now;
        continue;
      }
      while (
        state.waiting.length > 0 &&
        now - Math.max(state.waiting[0].since, state.freedAt) >= this.#limits.placeWaitMs
      ) {
        const { conn } = state.waiting.shift()!;
        this.#waiting--;
        this.#actions.refuse(
          conn,
          `${peer} kept ${state.open} connections open while another waited ` +
            `${this.#limits.placeWaitMs}ms for a place (--max-connections-per-peer)`,
        );
      }
    }
  }

  /** Restarts the wait of `peer`'s waiting connections: its readers were held back by us. */
  resumed(peer: string, now: number): void {
    const state = this.#peers.get(peer);
    if (state) state.freedAt = now;
  }

  /** Removes and returns every waiting connection (on shutdown). */
  takeWaiting(): C[] {
    const all: C[] = [];
    for (const state of this.#peers.values()) {
      for (const { conn } of state.waiting.splice(0)) all.push(conn);
    }
    this.#waiting = 0;
    return all;
  }

  /** Makes room within --max-connections: the newest waiting one of the peer with the most goes. */
  #evict(arriving: string): void {
    let victim: [string, Peer<C>] | null = null;
    for (const entry of this.#peers) {
      const most = victim?.[1].waiting.length ?? 0;
      const n = entry[1].waiting.length;
      // On a tie the arriving peer's own newest goes: it came last.
      if (n > most || (n > 0 && n === most && entry[0] === arriving)) victim = entry;
    }
    if (!victim) return;
    const [peer, state] = victim;
    const { conn } = state.waiting.pop()!;
    this.#waiting--;
    this.#actions.refuse(
      conn,
      `${peer} has ${state.open} connections and ${state.waiting.length + 1} waiting ` +
        `(--max-connections-per-peer, --max-connections)`,
    );
  }
}
