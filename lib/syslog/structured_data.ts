/**
 * Reader for RFC 5424 STRUCTURED-DATA: `[id p="v" ...][id2 ...]`, with the escapes `\"`, `\\`
 * and `\]` in values. Scans once with indexes and never throws.
 *
 * @module
 */

import type { StructuredData } from "../event.ts";

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
    let value = "";
    let segment = i;
    let closed = false;
    while (i < end) {
      const v = text.charCodeAt(i);
      if (v === 34) { // "
        value += text.slice(segment, i);
        closed = true;
        i++;
        break;
      }
      if (v === 92) { // \
        if (i + 1 >= end) return -1;
        const next = text.charCodeAt(i + 1);
        if (next === 34 || next === 92 || next === 93) {
          value += text.slice(segment, i);
          segment = i + 1; // keep the escaped character, drop the backslash
          i += 2;
          continue;
        }
      }
      i++;
    }
    if (!closed) return -1;
    values.push(value);
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
