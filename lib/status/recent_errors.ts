/**
 * The last few messages that did not parse, for the status page: when, on which input, why, and
 * the line itself (cut, tokens redacted). Cheap when nothing fails; a flood of bad input costs a
 * copy of at most {@link LINE_BYTES} bytes per message.
 *
 * @module
 */
import { redactTokenLike } from "../redact.ts";

/** How many are kept. */
export const RECENT_ERRORS = 10;
/** How much of each line is kept. */
export const LINE_BYTES = 300;

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
    this.#kept.push({
      at,
      input,
      error,
      bytes: bytes.slice(0, LINE_BYTES),
      cut: bytes.length > LINE_BYTES,
    });
    if (this.#kept.length > RECENT_ERRORS) this.#kept.shift();
  }

  /** The kept errors, newest first, decoded and redacted. */
  list(): ParseErrorEntry[] {
    const redact = this.#redact();
    const decoder = new TextDecoder();
    return this.#kept.toReversed().map((k) => ({
      at: k.at,
      input: k.input,
      error: k.error,
      line: redactTokenLike(redact(decoder.decode(k.bytes) + (k.cut ? "…" : ""))),
    }));
  }
}
