/**
 * An Event's JSON form: one line, at most `maxBytes` of UTF-8. A larger event is cut (message
 * shortened, bulky fields dropped) and marked in `relay.truncated`, never sent whole to be refused.
 *
 * @module
 */
import type { Event } from "./event.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes events into one buffer, each encoding overwriting the last: the queues copy what they
 * are pushed, so on the hot path no buffer is allocated per event (that doubled the cost of
 * encoding and left millions of tiny buffers to the allocator).
 */
export class EventEncoder {
  /** The buffer's size; a larger event is encoded into a buffer of its own. */
  static readonly BUFFER_BYTES = 64 * 1024;
  readonly #maxBytes: number;
  readonly #buffer = new Uint8Array(EventEncoder.BUFFER_BYTES);

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Like {@link encodeEvent}, with the same result; the bytes are valid until the next call
   * (copy them, as the queues do, before encoding again).
   */
  encode(event: Event): { bytes: Uint8Array; cut: boolean } {
    const json = JSON.stringify(event);
    const bytes = this.#intoBuffer(json);
    return bytes === null ? encodeJson(json, event, this.#maxBytes) : { bytes, cut: false };
  }

  /**
   * Encodes any JSON value as is; null when it is over the limit (the caller refuses it). The
   * bytes are valid until the next call.
   */
  encodeWhole(value: unknown): Uint8Array | null {
    const json = JSON.stringify(value);
    const bytes = this.#intoBuffer(json) ?? encoder.encode(json);
    return bytes.length <= this.#maxBytes ? bytes : null;
  }

  /** The UTF-8 of `json` in the buffer; null when it may not fit (or is over the limit). */
  #intoBuffer(json: string): Uint8Array | null {
    if (json.length * 3 > EventEncoder.BUFFER_BYTES) return null; // 3 bytes per UTF-16 unit, at most
    const { written } = encoder.encodeInto(json, this.#buffer);
    return written > this.#maxBytes ? null : this.#buffer.subarray(0, written);
  }
}

/** Serialises `event` as UTF-8 JSON of at most `maxBytes` bytes; `cut` tells if it was truncated. */
export function encodeEvent(event: Event, maxBytes: number): { bytes: Uint8Array; cut: boolean } {
  return encodeJson(JSON.stringify(event), event, maxBytes);
}

function encodeJson(
  json: string,
  event: Event,
  maxBytes: number,
): { bytes: Uint8Array; cut: boolean } {
  const full = encoder.encode(json);
  if (full.length <= maxBytes) return { bytes: full, cut: false };
  const bytes = encoder.encode(JSON.stringify(truncateEvent(event, full.length, maxBytes)));
  return { bytes, cut: true };
}

/** Returns a copy of `event` whose JSON fits `maxBytes`, marked as truncated. */
export function truncateEvent(event: Event, originalBytes: number, maxBytes: number): Event {
  const earlier = event.relay.truncated;
  const truncated = {
    originalBytes: Math.max(earlier?.originalBytes ?? 0, originalBytes),
    limit: Math.min(earlier?.limit ?? maxBytes, maxBytes),
  };
  // `json` repeats the message, so it goes first; structured data only if still too large.
  const { json: _json, ...rest } = event;
  let shell: Event = { ...rest, message: "", relay: { ...event.relay, truncated } };
  if (byteLength(JSON.stringify(shell)) > maxBytes / 2 && shell.syslog) {
    const { structuredData: _sd, ...syslog } = shell.syslog;
    shell = { ...shell, syslog };
  }
  if (byteLength(JSON.stringify(shell)) > maxBytes) {
    // Only a header of absurd size gets here (a megabyte-long host name): keep the relay fields.
    const { syslog: _syslog, ...bare } = shell;
    shell = bare;
  }
  const budget = maxBytes - byteLength(JSON.stringify(shell));
  return { ...shell, message: longestPrefixFitting(event.message, budget) };
}

/** The longest prefix of `text` whose JSON string form (without quotes) is at most `budget` bytes. */
function longestPrefixFitting(text: string, budget: number): string {
  if (budget <= 0) return "";
  // A prefix of `budget` UTF-8 bytes is the upper bound; JSON escapes can only make it longer.
  let prefix = decoder.decode(encoder.encode(text).subarray(0, budget)).replace(/\uFFFD$/, "");
  let lo = 0;
  let hi = prefix.length;
  if (jsonBytes(prefix) <= budget) return prefix;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(prefix.slice(0, mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  prefix = prefix.slice(0, lo);
  // Do not leave half of a surrogate pair at the cut.
  return /[\uD800-\uDBFF]$/.test(prefix) ? prefix.slice(0, -1) : prefix;
}

function jsonBytes(text: string): number {
  return byteLength(JSON.stringify(text)) - 2;
}

/** UTF-8 length of `text`. */
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}
