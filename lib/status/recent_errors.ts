/**
 * The last few messages that did not parse, for the status page: when, on which input, why, and
 * the line itself (cut, tokens redacted). Cheap when nothing fails; a flood of bad input costs a
 * copy of at most {@link LINE_BYTES} bytes per message.
 *
 * @module
 */
import { MAX_HTTP_TOKEN_LENGTH } from "../config.ts";
import { redactTokenLike } from "../redact.ts";

/** How many are kept. */
export const RECENT_ERRORS = 10;
/** How much of each line is shown. */
export const LINE_BYTES = 300;
/** Kept beyond it, so that a token across the cut is whole when redacted: the longest token. */
const TOKEN_MARGIN = 4 * MAX_HTTP_TOKEN_LENGTH; // UTF-8: up to 4 bytes a character

/** One message that did not parse. */
export interface ParseErrorEntry {
  /** When, in ms since the epoch. */
  readonly at: number;
  readonly input: string;
  readonly error: string;
  /** The start of the line as received, with any token redacted. */
  readonly line: string;
}

interface Kept {
  at: number;
  input: string;
  error: string;
  bytes: Uint8Array;
  cut: boolean;
}

/** A ring of the last {@link RECENT_ERRORS} parse errors. */
export class RecentErrors {
  readonly #kept: Kept[] = [];
  readonly #redact: () => (text: string) => string;

  /** `redact` gives the redactor in force (it changes when a reload changes the tokens). */
  constructor(redact: () => (text: string) => string) {
    this.#redact = redact;
  }

  /** Keeps one: the bytes are copied (the caller's buffer is reused). */
  add(at: number, input: string, error: string, bytes: Uint8Array): void {
    // A little more than is shown: a token that straddles the cut is still whole when redacted.
    this.#kept.push({
      at,
      input,
      error,
      bytes: bytes.slice(0, LINE_BYTES + TOKEN_MARGIN),
      cut: bytes.length > LINE_BYTES,
    });
    if (this.#kept.length > RECENT_ERRORS) this.#kept.shift();
  }

  /** The kept errors, newest first, decoded and redacted. */
  list(): ParseErrorEntry[] {
    const redact = this.#redact();
    const decoder = new TextDecoder();
    return this.#kept.toReversed().map((k) => {
      const line = redactTokenLike(redact(decoder.decode(k.bytes)));
      // Cut after redacting; what remains of a secret cut in two is hidden too.
      const shown = k.cut ? `${line.slice(0, LINE_BYTES).replace(/[0-9a-f-]{4,}$/i, "")}…` : line;
      return { at: k.at, input: k.input, error: k.error, line: shown };
    });
  }
}
