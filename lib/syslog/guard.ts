/**
 * Connection limits shared by the TCP and TLS inputs: a cap per input and per peer address, and
 * a deadline for finishing a message once it has begun (slow senders holding a connection open
 * one byte at a time). A breach closes that connection only, and is counted and logged.
 *
 * @module
 */

/** Limits of one input. */
export interface ConnectionLimits {
  maxConnections: number;
  maxPerPeer: number;
  /** A message begun must be complete within this long (0: no limit). */
  messageTimeoutMs: number;
}

/** Counts open connections per input and per peer. */
export class ConnectionGuard {
  readonly #limits: ConnectionLimits;
  readonly #perPeer = new Map<string, number>();
  #open = 0;

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  /** Takes a place for a connection from `peer`, or returns why it is refused. */
  admit(peer: string): string | null {
    if (this.#open >= this.#limits.maxConnections) {
      return `the input has ${this.#open} connections (--max-connections)`;
    }
    const mine = this.#perPeer.get(peer) ?? 0;
    if (mine >= this.#limits.maxPerPeer) {
      return `${peer} has ${mine} connections (--max-connections-per-peer)`;
    }
    this.#open++;
    this.#perPeer.set(peer, mine + 1);
    return null;
  }

  /** Frees the place of a connection that `admit` let in. */
  release(peer: string): void {
    this.#open--;
    const mine = (this.#perPeer.get(peer) ?? 1) - 1;
    if (mine <= 0) this.#perPeer.delete(peer);
    else this.#perPeer.set(peer, mine);
  }

  /** True when a message begun at `startedAt` has taken too long by `now`. */
  tooSlow(startedAt: number | null, now: number): boolean {
    return startedAt !== null && this.#limits.messageTimeoutMs > 0 &&
      now - startedAt >= this.#limits.messageTimeoutMs;
  }
}
