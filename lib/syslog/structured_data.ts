/**
 * Reader for RFC 5424 STRUCTURED-DATA: `[id p="v" ...][id2 ...]`, with the escapes `\"`, `\\`
 * and `\]` in values. Scans once with indexes and never throws.
 *
 * @module
 */

import type { StructuredData } from "../event.ts";

/** Loggly's private enterprise number: `[TOKEN@41058 tag="x"]` carries tags in Loggly's syslog format. */
export const LOGGLY_SD_SUFFIX = "@41058";

/** What {@link readStructuredData} found. */
export interface StructuredDataResult {
  /** The elements read completely (empty when none). */
  data: StructuredData;
  /** Index after the last complete element; on failure, the start of the element that failed. */
  end: number;
  /** False when an element was malformed or something other than SP or the end followed. */
  ok: boolean;
}

/** Sets an own property, also for the name `__proto__`, so that no name can touch a prototype. */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      configurable: true,
      writable: true,
    });
  } else {
    target[key] = value;
  }
}

/** True for characters allowed in an SD-NAME: printable, not `=`, SP, `]` or `"`. */
function isNameChar(c: number): boolean {
  return c > 32 && c !== 61 && c !== 93 && c !== 34 && c !== 127;
}

function readName(text: string, i: number, end: number): number {
  while (i < end && isNameChar(text.charCodeAt(i))) i++;
  return i;
}

/** Adds one param; a repeated name turns the value into an array of strings. */
function addParam(params: Record<string, string | string[]>, name: string, value: string): void {
  if (!Object.hasOwn(params, name)) {
    setOwn(params, name, value);
    return;
  }
  const existing = params[name];
  if (Array.isArray(existing)) existing.push(value);
  else setOwn(params, name, [existing, value]);
}

/** Values at least this long are unescaped into one buffer (see {@link unescape}). */
const LONG_VALUE = 256;
/** UTF-16 code units back to a string; a leading U+FEFF is part of the value, not a BOM. */
const utf16 = new TextDecoder("utf-16le", { ignoreBOM: true });

/**
 * The PARAM-VALUE between `start` and `end` without the backslash of each `\"`, `\\` and `\]`.
 * A long one is copied into one buffer: concatenating a piece per escape builds a rope of as many
 * nodes, and its cost grows faster than the value (measured: 12x from 1 MB to 4 MB of `\\`).
 */
function unescape(text: string, start: number, end: number): string {
  if (end - start >= LONG_VALUE) {
    const units = new Uint16Array(end - start); // little-endian, as on every platform Deno runs on
    let n = 0;
    let k = start;
    for (; k < end; k++) {
      let c = text.charCodeAt(k);
      if (c >= 0xd800 && c <= 0xdfff) break; // decoding would replace a lone surrogate
      if (c === 92) {
        const next = text.charCodeAt(k + 1);
        if (next === 34 || next === 92 || next === 93) {
          c = next;
          k++;
        }
      }
      units[n++] = c;
    }
    if (k >= end) return utf16.decode(units.subarray(0, n));
  }
  let value = "";
  let segment = start;
  for (let k = start; k < end; k++) {
    if (text.charCodeAt(k) !== 92) continue;
    const next = text.charCodeAt(k + 1);
    if (next === 34 || next === 92 || next === 93) {
      value += text.slice(segment, k);
      segment = k + 1; // keep the escaped character, drop the backslash
      k++;
    }
  }
  return value + text.slice(segment, end);
}

/**
 * Reads one element at `start` (which holds `[`) into `data`; returns the index after its `]`,
 * or -1 when it is malformed (then `data` is left untouched).
 */
function readElement(text: string, start: number, end: number, data: StructuredData): number {
  let i = start + 1;
  const idEnd = readName(text, i, end);
  if (idEnd === i) return -1;
  const id = text.slice(i, idEnd);
  i = idEnd;
  const names: string[] = [];
  const values: string[] = [];
  while (true) {
    if (i >= end) return -1;
    const c = text.charCodeAt(i);
    if (c === 93) break; // ]
    if (c !== 32) return -1;
    while (i < end && text.charCodeAt(i) === 32) i++;
    if (i < end && text.charCodeAt(i) === 93) break;
    const nameEnd = readName(text, i, end);
    if (nameEnd === i || text.charCodeAt(nameEnd) !== 61 || text.charCodeAt(nameEnd + 1) !== 34) {
      return -1;
    }
    names.push(text.slice(i, nameEnd));
    i = nameEnd + 2;
    const valueStart = i;
    let escaped = false;
    while (true) {
      if (i >= end) return -1;
      const v = text.charCodeAt(i);
      if (v === 34) break; // "
      if (v === 92) { // \
        if (i + 1 >= end) return -1;
        const next = text.charCodeAt(i + 1);
        if (next === 34 || next === 92 || next === 93) {
          escaped = true;
          i += 2;
          continue;
        }
      }
      i++;
    }
    values.push(escaped ? unescape(text, valueStart, i) : text.slice(valueStart, i));
    i++;
  }
  let params = Object.hasOwn(data, id) ? data[id] : undefined;
  if (params === undefined) {
    params = {};
    setOwn(data, id, params);
  }
  for (let k = 0; k < names.length; k++) addParam(params, names[k], values[k]);
  return i + 1;
}

/**
 * Reads the structured data that starts at `start` (which holds `[`). The elements read before a
 * malformed one are kept; `end` then points at the malformed element.
 */
export function readStructuredData(text: string, start: number, end: number): StructuredDataResult {
  const data: StructuredData = {};
  let i = start;
  while (i < end && text.charCodeAt(i) === 91) { // [
    const next = readElement(text, i, end, data);
    if (next < 0) return { data, end: i, ok: false };
    i = next;
  }
  return { data, end: i, ok: i >= end || text.charCodeAt(i) === 32 };
}
