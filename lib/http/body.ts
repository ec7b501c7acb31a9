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

/** Reads the request body as text, at most `limit` bytes after decompression. */
export async function readBody(request: Request, limit: number): Promise<string> {
  const encoding = (request.headers.get("content-encoding") ?? "identity").toLowerCase().trim();
  if (encoding !== "identity" && encoding !== "gzip") {
    throw new BodyError(415, `Content-Encoding "${encoding}" is not supported: send gzip or none`);
  }
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > limit) throw tooLarge(limit);
  if (!request.body) return "";
  const stream: ReadableStream<Uint8Array> = encoding === "gzip"
    ? request.body.pipeThrough(
      new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>,
    )
    : request.body;
  // Decoded as it arrives: no second buffer of the whole body (one per request was most of
  // the relay's external memory under HTTP load).
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) throw tooLarge(limit);
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    if (error instanceof BodyError) throw error;
    throw new BodyError(400, `The body could not be read (${describe(error)}): check its encoding`);
  } finally {
    reader.cancel().catch(() => {});
  }
  return text + decoder.decode();
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
export function parseEvents(body: string, mode: "one" | "lines" | "json" | "ndjson"): ParsedBody {
  if (mode === "json") return parseJsonDocument(body);
  const rejected: Rejected[] = [];
  const raw = mode === "one" ? [body.replace(/\r?\n$/, "")] : splitLines(body);
  return { events: lines(raw, mode === "ndjson" ? "strict" : "loose", rejected), rejected };
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
function ndjsonNow(body: string): ParsedBody {
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
    if ((asLines.events as BodyEvent[]).length > 0) return asLines;
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
