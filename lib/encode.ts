/**
 * An Event's JSON form: one line, at most `maxBytes` of UTF-8. A larger event is cut (message
 * shortened, bulky fields dropped) and marked in `relay.truncated`, never sent whole to be refused.
 *
 * @module
 */
import type { Event } from "./event.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A slab and how many queued records were cut from it and not yet released. */
interface Slab {
  bytes: Uint8Array;
  records: number;
}

/**
 * Encodes events into a shared slab instead of one small buffer each: on the hot path that halves
 * the cost of encoding and spares the allocator millions of tiny buffers. A slab stays alive while
 * any record cut from it is queued; once every one of them is released (delivered), it is used
 * again: left to the garbage collector, slabs (100 MB/s at full load) were freed only when V8's
 * external memory had grown by tens of MiB.
 */
export class EventEncoder {
  static readonly SLAB_BYTES = 1 << 20;
  /** Released slabs kept for reuse; more are left to the garbage collector. */
  static readonly POOL_SLABS = 4;
  readonly #maxBytes: number;
  readonly #pool: Uint8Array[] = [];
  /** Slabs by their buffer; weak, so that a record dropped unreleased holds nothing up. */
  readonly #slabs = new WeakMap<ArrayBufferLike, Slab>();
  #current: Slab;
  #at = 0;

  readonly #transient: boolean;

  /**
   * With `transient`, for a queue that copies what it is given, each encoding overwrites the
   * last: no slab is held, and nothing needs releasing.
   */
  constructor(maxBytes: number, transient = false) {
    this.#maxBytes = maxBytes;
    this.#transient = transient;
    this.#current = this.#fresh();
  }

  /** Like {@link encodeEvent}, with the same result. */
  encode(event: Event): { bytes: Uint8Array; cut: boolean } {
    const json = JSON.stringify(event);
    const bytes = this.#intoSlab(json);
    return bytes === null ? encodeJson(json, event, this.#maxBytes) : { bytes, cut: false };
  }

  /** Encodes any JSON value as is; null when it is over the limit (the caller refuses it). */
  encodeWhole(value: unknown): Uint8Array | null {
    const json = JSON.stringify(value);
    const bytes = this.#intoSlab(json) ?? encoder.encode(json);
    return bytes.length <= this.#maxBytes ? bytes : null;
  }

  /**
   * The records' bytes are no longer needed (delivered, or written to the dead-letter file):
   * their slabs may be used again. Each record is released once at most; records not encoded
   * here are ignored.
   */
  release(records: readonly { readonly bytes: Uint8Array }[]): void {
    for (const record of records) {
      const slab = this.#slabs.get(record.bytes.buffer);
      if (slab !== undefined && --slab.records === 0 && slab !== this.#current) {
        this.#recycle(slab);
      }
    }
  }

  /** The UTF-8 of `json` in the slab; null when it is large (or over the limit). */
  #intoSlab(json: string): Uint8Array | null {
    const worst = json.length * 3; // UTF-8 bytes per UTF-16 unit, at most
    if (worst > EventEncoder.SLAB_BYTES / 4) return null;
    if (this.#transient) this.#at = 0;
    else if (this.#at + worst > EventEncoder.SLAB_BYTES) {
      const full = this.#current;
      this.#current = this.#fresh();
      if (full.records === 0) this.#recycle(full);
    }
    const slab = this.#current;
    const into = this.#at === 0 ? slab.bytes : slab.bytes.subarray(this.#at);
    const { written } = encoder.encodeInto(json, into);
    if (written > this.#maxBytes) return null;
    const bytes = slab.bytes.subarray(this.#at, this.#at + written);
    this.#at += written;
    slab.records++;
    return bytes;
  }

  #fresh(): Slab {
    const slab = { bytes: this.#pool.pop() ?? new Uint8Array(EventEncoder.SLAB_BYTES), records: 0 };
    this.#slabs.set(slab.bytes.buffer, slab);
    this.#at = 0;
    return slab;
  }

  #recycle(slab: Slab): void {
    this.#slabs.delete(slab.bytes.buffer);
    if (this.#pool.length < EventEncoder.POOL_SLABS) this.#pool.push(slab.bytes);
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
