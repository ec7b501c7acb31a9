/**
 * Which Loggly account an event belongs to. A message in Loggly's own syslog format names a
 * customer token (`[TOKEN@41058 tag="…"]`); an HTTP request names one in its path. The relay
 * forwards only into accounts it was given: its own token, and those of `--accept-token`.
 *
 * @module
 */

/** Where an event goes: the relay's own account, another accepted one, or nowhere. */
export type TokenRoute =
  | { kind: "own" }
  | { kind: "accepted"; token: string }
  | { kind: "foreign"; token: string };

/** Decides routes; tokens compare without regard to case (Loggly's are lower-case UUIDs). */
export class TokenPolicy {
  readonly #own: string | null;
  readonly #accepted: Map<string, string>;

  /** `own` is null only for a dry run, which sends nothing: then every token is taken as own. */
  constructor(own: string | null, accepted: readonly string[] = []) {
    this.#own = own?.toLowerCase() ?? null;
    this.#accepted = new Map(accepted.map((t) => [t.toLowerCase(), t]));
  }

  /**
   * The route of an event that names `tokens` (none: the relay's own account). Naming two
   * different accounts is as good as naming a foreign one: the event is not split or guessed.
   */
  route(tokens: readonly string[]): TokenRoute {
    if (tokens.length === 0 || this.#own === null) return { kind: "own" };
    const first = tokens[0].toLowerCase();
    for (const token of tokens) {
      if (token.toLowerCase() !== first) return { kind: "foreign", token };
    }
    if (first === this.#own) return { kind: "own" };
    const accepted = this.#accepted.get(first);
    return accepted === undefined
      ? { kind: "foreign", token: tokens[0] }
      : { kind: "accepted", token: accepted };
  }
}

/** A token as it may be logged: its last four characters only. */
export function redactToken(token: string): string {
  return token.length <= 8 ? "…" : `…${token.slice(-4)}`;
}
