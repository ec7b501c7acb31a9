/**
 * RFC 6587 framing for syslog over TCP/TLS: cuts a byte stream into messages, detecting octet
 * counting or non-transparent (LF) framing per message, holding at most about one message.
 *
 * @module
 */

/** One message cut out of a stream. */
export interface Frame {
  /**
   * The message bytes. A message that lay whole in one pushed chunk is a view of that chunk (no
   * copy on the hot path): consume the frames before reusing the chunk's buffer. Bytes held
   * across pushes are copied, so the framer's own buffer never leaks out.
   */
  bytes: Uint8Array;
  /** Set when the message was longer than the limit: `bytes` holds its first `limit` bytes. */
  truncated?: { originalBytes: number; limit: number };
  /** Set when the stream ended inside the message: `bytes` is what arrived of it. */
  incomplete?: true;
}

const NUL = 0, LF = 10, CR = 13, SP = 32, D0 = 48, D1 = 49, D9 = 57;
/** Longest MSG-LEN accepted; more digits than this means the line is not octet counted. */
const MAX_DIGITS = 10;
const LT = 60;
/** HEAD: reading MSG-LEN; PEEK: MSG-LEN and SP read, waiting for the byte that decides. */
const HEAD = 0, OCTET = 1, SKIP = 2, LINE = 3, PEEK = 4;

/** Splits a byte stream into syslog messages (RFC 6587 octet counting or LF), bounded memory. */
export class SyslogFramer {
  /** The limit of the message being read. */
  #limit: number;
  /** The limit of messages not begun yet (see {@link SyslogFramer.setLimit}). */
  #nextLimit: number;
  #buf: Uint8Array = new Uint8Array(0);
  /** Bytes held in #buf: MSG-LEN digits (HEAD), body so far (OCTET) or line start (LINE). */
  #len = 0;
  #state = HEAD;
  /** OCTET: body bytes still to collect; SKIP: bytes still to drop. */
  #need = 0;
  #declared = 0;
  /** LINE: bytes seen so far, kept or dropped. */
  #lineTotal = 0;
  #lastCR = false;

  constructor(maxMessageBytes: number) {
    this.#limit = this.#nextLimit = checkedLimit(maxMessageBytes);
  }

  /** Sets the limit from the next message on: one begun keeps the limit it began with. */
  setLimit(maxMessageBytes: number): void {
    this.#nextLimit = checkedLimit(maxMessageBytes);
  }

  /** Bytes currently held for an incomplete message (for per-connection caps/metrics). */
  get bufferedBytes(): number {
    return this.#len;
  }

  /** Feeds one chunk; returns the messages it completed (possibly none). */
  push(chunk: Uint8Array): Frame[] {
    const out: Frame[] = [];
    const n = chunk.length;
    // Next LF / NUL at or after i (n when none); cached so each chunk is scanned once.
    let i = 0, lf = -1, nul = -1;
    while (i < n) {
      if (this.#state === HEAD) {
        const start = i;
        let digits = this.#len;
        if (digits === 0) { // between messages: nothing is held
          this.#limit = this.#nextLimit;
          const c = chunk[i];
          if (c === LF || c === NUL) { // empty line
            i++;
            continue;
          }
          if (c < D1 || c > D9) {
            this.#state = LINE;
            continue;
          }
        }
        while (i < n && digits < MAX_DIGITS && chunk[i] >= D0 && chunk[i] <= D9) i++, digits++;
        if (i === n) { // MSG-LEN may go on in the next chunk
          this.#store(chunk, start, n);
        } else if (chunk[i] === SP && (i + 1 === n || chunk[i + 1] === LT)) {
          // Octet counting only when a PRI follows: "1700000000 disk full" is a line, not a
          // count that would swallow the next 1.7 GB of the stream.
          let declared = 0;
          for (let k = 0; k < this.#len; k++) declared = declared * 10 + this.#buf[k] - D0;
          for (let k = start; k < i; k++) declared = declared * 10 + chunk[k] - D0;
          this.#declared = declared;
          if (++i === n) { // the byte after SP is in the next chunk
            this.#store(chunk, start, n);
            this.#state = PEEK;
            continue;
          }
          this.#startOctet();
        } else { // not a MSG-LEN: the digits start an LF-framed line
          this.#lineTotal = this.#len;
          i = start;
          this.#state = LINE;
        }
      } else if (this.#state === PEEK) {
        if (chunk[i] === LT) this.#startOctet();
        else {
          this.#lineTotal = this.#len; // the held digits and SP start a line
          this.#state = LINE;
        }
      } else if (this.#state === OCTET) {
        const need = this.#need;
        if (this.#len === 0 && n - i >= need) {
          out.push(this.#frame(chunk, i, need, this.#declared, true));
          i += need;
        } else {
          const take = Math.min(need, n - i);
          this.#store(chunk, i, i + take);
          i += take;
          this.#need -= take;
          if (this.#need > 0) continue;
          out.push(this.#frame(this.#buf, 0, this.#len, this.#declared));
          this.#len = 0;
        }
        this.#need = this.#declared - this.#limit;
        this.#state = this.#need > 0 ? SKIP : HEAD;
      } else if (this.#state === SKIP) {
        const take = Math.min(this.#need, n - i);
        i += take;
        this.#need -= take;
        if (this.#need === 0) this.#state = HEAD;
      } else {
        if (lf < i && (lf = chunk.indexOf(LF, i)) < 0) lf = n;
        if (nul < i && (nul = chunk.indexOf(NUL, i)) < 0) nul = n;
        const end = lf < nul ? lf : nul;
        if (end === n) {
          this.#keepLine(chunk, i, n);
          i = n;
          continue;
        }
        if (this.#lineTotal === 0) { // whole line in this chunk
          const size = end - i - (end > i && chunk[end - 1] === CR ? 1 : 0);
          if (size > 0) out.push(this.#frame(chunk, i, Math.min(size, this.#limit), size, true));
        } else {
          this.#keepLine(chunk, i, end);
          this.#emitLine(out);
        }
        i = end + 1;
        this.#state = HEAD;
      }
    }
    return out;
  }

  /** MSG-LEN is read and a PRI follows: collect the message body. */
  #startOctet(): void {
    this.#len = 0;
    this.#need = Math.min(this.#declared, this.#limit);
    this.#state = OCTET;
  }

  /**
   * End of stream: returns the message still held, if any. After the peer's own clean close
   * (`cut` false) an unterminated LF line is a whole message, as rsyslog and syslog-ng read it.
   * Anything held when the relay cut the stream (`cut` true: shutdown, a timeout, a read error),
   * and an octet-counted message shorter than its MSG-LEN, comes out marked `incomplete`.
   */
  end(cut = false): Frame[] {
    const out: Frame[] = [];
    if (this.#state === OCTET) {
      if (this.#len > 0) out.push(this.#frame(this.#buf, 0, this.#len, this.#declared));
    } else if (this.#state !== SKIP) {
      this.#lineTotal = Math.max(this.#lineTotal, this.#len); // HEAD/PEEK: pending digits
      this.#emitLine(out);
    }
    if (out.length > 0 && (cut || this.#state === OCTET)) out[0].incomplete = true;
    this.#len =
      this.#lineTotal =
      this.#need =
      this.#declared =
        0;
    this.#lastCR = false;
    this.#state = HEAD;
    return out;
  }

  #frame(src: Uint8Array, start: number, kept: number, originalBytes: number, view = false): Frame {
    const bytes = view ? src.subarray(start, start + kept) : src.slice(start, start + kept);
    return originalBytes > this.#limit
      ? { bytes, truncated: { originalBytes, limit: this.#limit } }
      : { bytes };
  }

  /** Counts line bytes src[from, to), keeping those that still fit under the limit. */
  #keepLine(src: Uint8Array, from: number, to: number): void {
    if (to === from) return;
    this.#lineTotal += to - from;
    this.#lastCR = src[to - 1] === CR;
    if (this.#len < this.#limit) {
      this.#store(src, from, Math.min(to, from + this.#limit - this.#len));
    }
  }

  /** Emits the buffered line (trailing CR stripped, empty lines skipped) and resets. */
  #emitLine(out: Frame[]): void {
    const size = this.#lineTotal - (this.#lastCR ? 1 : 0);
    if (size > 0) out.push(this.#frame(this.#buf, 0, Math.min(size, this.#limit, this.#len), size));
    this.#len = this.#lineTotal = 0;
    this.#lastCR = false;
  }

  /** Appends src[from, to) to the buffer, growing it up to limit + 16 bytes. */
  #store(src: Uint8Array, from: number, to: number): void {
    const needed = this.#len + to - from;
    if (needed > this.#buf.length) {
      const cap = Math.min(this.#limit + 16, Math.max(needed, this.#buf.length * 2, 256));
      const grown = new Uint8Array(Math.max(cap, needed));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(src.subarray(from, to), this.#len);
    this.#len = needed;
  }
}

function checkedLimit(maxMessageBytes: number): number {
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1) {
    throw new RangeError(`maxMessageBytes must be a positive integer, got ${maxMessageBytes}`);
  }
  return maxMessageBytes;
}
