/**
 * Reading an HTTP request body within a byte limit (after gzip too, so a small compressed body
 * cannot expand without bound), and cutting it into events.
 *
 * @module
 */

/** A body that could not be read: carries the HTTP status and a message that says what to fix. */
export class BodyError extends Error {
  readonly status: 400 | 413 | 415;
  constructor(status: 400 | 413 | 415, message: string) {
    super(message);
    this.name = "BodyError";
    this.status = status;
  }
}

/**
 * Reusable buffers for request bodies. A body read as text was one large string per request,
 * kept across the reads and so left to V8's major collections (tens of MiB of heap under HTTP
 * load); a body read into one of these buffers is garbage to nobody, and its lines are decoded
 * a part at a time as they are parsed.
 */
export class BodyBuffers {
  static readonly FIRST_BYTES = 64 * 1024;
  /** Buffers up to this size are kept for the next requests, at most {@link KEEP} of them. */
  static readonly KEEP_BYTES = 1024 * 1024;
  static readonly KEEP = 4;
  readonly #free: Uint8Array[] = [];

  /** A buffer to read a body into (its size is at least FIRST_BYTES). */
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(BodyBuffers.FIRST_BYTES);
  }

  /** A buffer no longer needed, kept when it is small enough and few are. */
  give(buffer: Uint8Array): void {
    if (buffer.length > BodyBuffers.KEEP_BYTES || this.#free.length >= BodyBuffers.KEEP) return;
    this.#free.push(buffer);
  }
}

/** A request body, read into a buffer of {@link BodyBuffers}: valid until `release`. */
export interface Body {
  bytes: Uint8Array;
  /** Gives the buffer back; `bytes` must not be used after. */
  release(): void;
}

/** Reads the request body, at most `limit` bytes after decompression, into one of `buffers`. */
export async function readBody(
  request: Request,
  limit: number,
  buffers: BodyBuffers,
): Promise<Body> {
  const encoding = (request.headers.get("content-encoding") ?? "identity").toLowerCase().trim();
  if (encoding !== "identity" && encoding !== "gzip") {
    throw new BodyError(415, `Content-Encoding "${encoding}" is not supported: send gzip or none`);
  }
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > limit) throw tooLarge(limit);
  const stream: ReadableStream<Uint8Array> | null = encoding === "gzip" && request.body
    ? request.body.pipeThrough(
      new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>,
    )
    : request.body;
  const reader = stream?.getReader();
  let buffer = buffers.take();
  let size = 0;
  let released = false;
  const body = () => ({
    bytes: buffer.subarray(0, size),
    release: () => {
      // Once only: a buffer given back twice would be handed to two requests at once.
      if (!released) buffers.give(buffer);
      released = true;
    },
  });
  if (reader === undefined) return body();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.length > limit) throw tooLarge(limit);
      if (size + value.length > buffer.length) {
        const larger = new Uint8Array(
          Math.min(limit, Math.max(buffer.length * 2, size + value.length)),
        );
        larger.set(buffer.subarray(0, size));
        buffers.give(buffer);
        buffer = larger;
      }
      buffer.set(value, size);
      size += value.length;
    }
  } catch (error) {
    buffers.give(buffer);
    if (error instanceof BodyError) throw error;
    throw new BodyError(400, `The body could not be read (${describe(error)}): check its encoding`);
  } finally {
    reader.cancel().catch(() => {});
  }
  return body();
}

function tooLarge(limit: number): BodyError {
  return new BodyError(
    413,
    `The body is over ${limit} bytes: send fewer events per request (or raise --http-max-body-bytes)`,
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One event read from a body: a JSON object, or a line of text, with its 1-based line (or item). */
export type BodyEvent = ({ json: Record<string, unknown> } | { text: string }) & { line: number };

/** A part of a body that is not an event: its 1-based line and why. */
export interface Rejected {
  line: number;
  error: string;
}

/**
 * Events read from a body, and the lines refused. The events are read as they are taken (one
 * line parsed at a time, so that a large body's parsed objects never all live at once);
 * `rejected` is complete once they all were.
 */
export interface ParsedBody {
  events: Iterable<BodyEvent>;
  rejected: Rejected[];
}

/**
 * Cuts a body into events. `lines`: one event per non-empty line (Loggly's bulk, text), where a
 * line that is not a JSON object is text, as Loggly indexes it (so a client retrying a refused
 * body never duplicates its good lines). `ndjson`: every line must be a JSON object. `one`: the
 * whole body is a single event. `json`: a JSON object or an array of them.
 */
export function parseEvents(
  body: Uint8Array,
  mode: "one" | "lines" | "json" | "ndjson",
): ParsedBody {
  const rejected: Rejected[] = [];
  let raw: Iterable<string>;
  if (mode === "json" || mode === "one") {
    const text = decoder.decode(body);
    if (mode === "json") return parseJsonDocument(text);
    raw = [text.replace(/\r?\n$/, "")];
  } else raw = splitByteLines(body);
  return { events: lines(raw, mode === "ndjson" ? "strict" : "loose", rejected), rejected };
}

/** Decodes a whole body: invalid UTF-8 becomes U+FFFD, a leading BOM is left out. */
const decoder = new TextDecoder();
/** Decodes part of a body: a U+FEFF at its start is text (only the body's first may be a BOM). */
const partDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Bytes of whole lines decoded at a time: a string this size dies young, where the body's
 * whole text, kept across the reads, was left to V8's major collections; and one decoding per
 * line cost more than the parsing it saved.
 */
const PART_BYTES = 32 * 1024;

/** The lines of `body` (split at LF), decoded a part of whole lines at a time. */
function* splitByteLines(body: Uint8Array): Generator<string> {
  let start = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  while (start < body.length) {
    // Up to the last LF within PART_BYTES; a longer line is a part of its own.
    let end = start + PART_BYTES >= body.length
      ? body.length
      : body.lastIndexOf(10, start + PART_BYTES);
    if (end < start) end = body.indexOf(10, start + PART_BYTES);
    if (end < 0) end = body.length;
    yield* splitLines(partDecoder.decode(body.subarray(start, end)));
    start = end + 1;
  }
}

/** The lines of `body` (split at LF), one at a time. */
function* splitLines(body: string): Generator<string> {
  let start = 0;
  while (start <= body.length) {
    const end = body.indexOf("\n", start);
    if (end < 0) {
      yield body.slice(start);
      return;
    }
    yield body.slice(start, end);
    start = end + 1;
  }
}

/**
 * How deeply a JSON event may nest objects and arrays. Deeper ones are refused (400): encoding
 * them overflows the stack, and no log event needs more.
 */
export const MAX_JSON_DEPTH = 100;

/** Why a JSON text nests too deeply, or null; a linear scan that skips strings. */
export function tooDeep(text: string, limit: number = MAX_JSON_DEPTH): string | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // a backslash escapes the next character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) { // { [
      if (++depth > limit) return `JSON nested deeper than ${limit} levels`;
    } else if (c === 125 || c === 93) depth--;
  }
  return null;
}

/** The events of the `all` lines, in order; refused lines go to `rejected`. */
function* lines(
  all: Iterable<string>,
  mode: "strict" | "loose",
  rejected: Rejected[],
): Generator<BodyEvent> {
  let number = 0;
  for (const raw of all) {
    number++;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") continue;
    // Only "{" promises JSON: "[INFO] started" and "[Mon Jan 05 …] [error]" are ordinary text.
    const looksJson = mode === "strict" || /^\s*\{/.test(line);
    if (!looksJson) {
      yield { text: line, line: number };
      continue;
    }
    const deep = tooDeep(line);
    if (deep !== null) {
      rejected.push({ line: number, error: deep });
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      if (mode === "loose") yield { text: line, line: number };
      else rejected.push({ line: number, error: `malformed JSON: ${describe(error)}` });
      continue;
    }
    if (isObject(value)) yield { json: value, line: number };
    else if (mode === "loose") yield { text: line, line: number };
    else rejected.push({ line: number, error: "not a JSON object" });
  }
}

/** All the events of NDJSON `body`, read now. */
function ndjsonNow(body: string): { events: BodyEvent[]; rejected: Rejected[] } {
  const rejected: Rejected[] = [];
  return { events: [...lines(splitLines(body), "strict", rejected)], rejected };
}

function parseJsonDocument(body: string): ParsedBody {
  // An array of events may be one level deeper than an event.
  const deep = tooDeep(body, MAX_JSON_DEPTH + 1);
  if (deep !== null) {
    // NDJSON sent as application/json is judged line by line, as below.
    if (body.trim().includes("\n")) return ndjsonNow(body);
    return { events: [], rejected: [{ line: 1, error: deep }] };
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    // Not one document: perhaps NDJSON sent as application/json.
    const asLines = ndjsonNow(body);
    if (asLines.events.length > 0) return asLines;
    return { events: [], rejected: [{ line: 1, error: `malformed JSON: ${describe(error)}` }] };
  }
  const items = Array.isArray(value) ? value : [value];
  const out = { events: [] as BodyEvent[], rejected: [] as Rejected[] };
  items.forEach((item, index) => {
    if (isObject(item)) out.events.push({ json: item, line: index + 1 });
    else if (typeof item === "string") out.events.push({ text: item, line: index + 1 });
    else {out.rejected.push({
        line: index + 1,
        error: "not a JSON object or string (item of the array)",
      });}
  });
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
