/**
 * Readers for the time stamps found in syslog headers: RFC 3339 (RFC 5424, and rsyslog's
 * forwarding format) and the BSD `Mmm dd hh:mm:ss` stamp of RFC 3164 with its Cisco variants.
 * They scan with indexes, never backtrack, and never throw.
 *
 * @module
 */

import { utcYear } from "../iso_time.ts";
import { daysInMonth, utcMillis, type WallTime, zonedToUtc } from "./zone.ts";

/** Where and how to read a stamp that carries no year or zone of its own. */
export interface StampContext {
  /** Reference "now" (ms since the epoch) for inferring a missing year. */
  now: number;
  /** IANA zone in which a stamp without a zone is read. */
  timeZone: string;
}

/** A stamp found in the text. */
export interface Stamp {
  /** Index just after the stamp. */
  end: number;
  /** Milliseconds since the epoch; NaN when the stamp has the right shape but impossible values. */
  time: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Fixed offsets (in hours) of zone abbreviations that devices append to BSD stamps. */
const ZONE_ABBREVIATIONS: ReadonlyMap<string, number> = new Map([
  ["UTC", 0],
  ["UT", 0],
  ["GMT", 0],
  ["Z", 0],
  ["WET", 0],
  ["WEST", 1],
  ["CET", 1],
  ["CEST", 2],
  ["MET", 1],
  ["MEST", 2],
  ["EET", 2],
  ["EEST", 3],
  ["MSK", 3],
  ["EST", -5],
  ["EDT", -4],
  ["CST", -6],
  ["CDT", -5],
  ["MST", -7],
  ["MDT", -6],
  ["PST", -8],
  ["PDT", -7],
  ["AKST", -9],
  ["AKDT", -8],
  ["HST", -10],
  ["JST", 9],
  ["KST", 9],
]);

/** Month numbers keyed by the three lower-case letters of the English month name. */
const MONTHS: ReadonlyMap<number, number> = new Map(
  ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].map(
    (name, i) => [monthKey(name, 0), i + 1],
  ),
);

/**
 * The three characters at `i` as one number, case folded (no substring on the hot path); -1
 * when one is not ASCII (it would spill into its neighbour's byte).
 */
function monthKey(text: string, i: number): number {
  const a = text.charCodeAt(i), b = text.charCodeAt(i + 1), c = text.charCodeAt(i + 2);
  if ((a | b | c) > 127) return -1;
  return ((a | 32) << 16) | ((b | 32) << 8) | (c | 32);
}

function digit(text: string, i: number): number {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** The value of exactly `count` digits at `i`, or -1. */
function digits(text: string, i: number, count: number): number {
  let value = 0;
  for (let k = 0; k < count; k++) {
    const d = digit(text, i + k);
    if (d < 0) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** Reads `.fraction` at `i` (any number of digits) into `w.millisecond`; returns the new index. */
function readFraction(text: string, i: number, end: number, w: WallTime): number {
  if (i >= end || text.charCodeAt(i) !== 46 || digit(text, i + 1) < 0 || i + 1 >= end) return i;
  i++;
  let ms = 0;
  let scale = 100;
  while (i < end) {
    const d = digit(text, i);
    if (d < 0) break;
    ms += d * scale; // digits past the third add 0: precision is cut to milliseconds
    scale = scale >= 10 ? scale / 10 : 0;
    i++;
  }
  w.millisecond = ms;
  return i;
}

function validTime(w: WallTime): boolean {
  return w.month >= 1 && w.month <= 12 && w.day >= 1 &&
    w.day <= daysInMonth(w.year, w.month) && w.hour <= 23 && w.minute <= 59 && w.second <= 59;
}

/** Reads `hh:mm:ss` at `i` into `w`; returns the index after it, or -1. */
function readClock(text: string, i: number, w: WallTime): number {
  const hour = digits(text, i, 2);
  if (hour < 0 || text.charCodeAt(i + 2) !== 58) return -1;
  const minute = digits(text, i + 3, 2);
  if (minute < 0 || text.charCodeAt(i + 5) !== 58) return -1;
  const second = digits(text, i + 6, 2);
  if (second < 0) return -1;
  w.hour = hour;
  w.minute = minute;
  w.second = second;
  return i + 8;
}

/**
 * Reads an RFC 3339 stamp (`2026-11-26T21:30:46.123+01:00`) at `start`. Lenient: any number of
 * fraction digits, `z`/`t` in lower case, `+hhmm` offsets; without a zone it is read in
 * `context.timeZone`. Undefined when the text there does not have that shape.
 */
export function readRfc3339(
  text: string,
  start: number,
  end: number,
  context: StampContext,
): Stamp | undefined {
  if (start + 19 > end) return undefined;
  const year = digits(text, start, 4);
  if (year < 0 || text.charCodeAt(start + 4) !== 45) return undefined;
  const month = digits(text, start + 5, 2);
  if (month < 0 || text.charCodeAt(start + 7) !== 45) return undefined;
  const day = digits(text, start + 8, 2);
  const t = text.charCodeAt(start + 10);
  if (day < 0 || (t !== 84 && t !== 116)) return undefined; // T or t
  const w: WallTime = { year, month, day, hour: 0, minute: 0, second: 0, millisecond: 0 };
  let i = readClock(text, start + 11, w);
  if (i < 0) return undefined;
  i = readFraction(text, i, end, w);
  let offset: number | undefined;
  if (i < end) {
    const c = text.charCodeAt(i);
    if (c === 90 || c === 122) { // Z or z
      offset = 0;
      i++;
    } else if (c === 43 || c === 45) { // + or -
      const hours = digits(text, i + 1, 2);
      let minutes = -1;
      let next = -1;
      if (hours >= 0 && text.charCodeAt(i + 3) === 58) {
        minutes = digits(text, i + 4, 2);
        next = i + 6;
      } else if (hours >= 0) {
        minutes = digits(text, i + 3, 2);
        next = i + 5;
      }
      if (minutes < 0 || next > end) return undefined;
      if (hours > 23 || minutes > 59) return { end: next, time: NaN };
      offset = (c === 45 ? -1 : 1) * (hours * HOUR_MS + minutes * 60_000);
      i = next;
    }
  }
  if (!validTime(w)) return { end: i, time: NaN };
  const time = offset === undefined ? zonedToUtc(w, context.timeZone) : utcMillis(w) - offset;
  return { end: i, time };
}

/** Index of the first character at or after `i` that is not a space. */
function skipSpaces(text: string, i: number, end: number): number {
  while (i < end && text.charCodeAt(i) === 32) i++;
  return i;
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

/**
 * Reads a BSD stamp at `start`: `Oct 11 22:14:15`, `Oct  1 ...`, and the Cisco forms with a
 * leading `*` or `.`, milliseconds, a year before the clock (`Mar  1 2024 00:00:18`) and a zone
 * abbreviation after it (`UTC`). The year, when missing, is the one nearest to `context.now`.
 * Undefined when the text there does not have that shape.
 */
export function readBsdStamp(
  text: string,
  start: number,
  end: number,
  context: StampContext,
): Stamp | undefined {
  let i = start;
  const lead = text.charCodeAt(i);
  if (lead === 42 || lead === 46) i++; // * or .
  if (i + 14 > end || text.charCodeAt(i + 3) !== 32) return undefined;
  const month = MONTHS.get(monthKey(text, i));
  if (month === undefined) return undefined;
  i = skipSpaces(text, i + 3, end);
  let day = digit(text, i);
  if (day < 0) return undefined;
  i++;
  const second = digit(text, i);
  if (second >= 0) {
    day = day * 10 + second;
    i++;
  }
  if (text.charCodeAt(i) !== 32) return undefined;
  i = skipSpaces(text, i, end);
  let year: number | undefined;
  const maybeYear = digits(text, i, 4);
  if (maybeYear >= 0 && text.charCodeAt(i + 4) === 32) {
    year = maybeYear;
    i = skipSpaces(text, i + 4, end);
  }
  const w: WallTime = { year: 0, month, day, hour: 0, minute: 0, second: 0, millisecond: 0 };
  i = readClock(text, i, w);
  if (i < 0) return undefined;
  i = readFraction(text, i, end, w);
  let offset: number | undefined;
  if (i + 1 < end && text.charCodeAt(i) === 32 && isUpper(text.charCodeAt(i + 1))) {
    let j = i + 1;
    while (j < end && j - i <= 5 && isUpper(text.charCodeAt(j))) j++;
    const after = j < end ? text.charCodeAt(j) : 32;
    const hours = ZONE_ABBREVIATIONS.get(text.slice(i + 1, j));
    if (hours !== undefined && (after === 32 || after === 58)) {
      offset = hours * HOUR_MS;
      i = j;
    }
  }
  if (w.month < 1 || w.day < 1 || w.day > 31 || w.hour > 23 || w.minute > 59 || w.second > 59) {
    return { end: i, time: NaN };
  }
  if (year !== undefined) {
    w.year = year;
    return { end: i, time: validTime(w) ? toUtc(w, offset, context.timeZone) : NaN };
  }
  return { end: i, time: nearestYear(w, context.now, offset, context.timeZone) };
}

/**
 * Index after a Cisco uptime stamp (`service timestamps log uptime`) at `start`: `00:20:10`,
 * `00:20:10.123`, or two counts with units, `1d02h`, `2w3d`, `2y10w`. -1 when there is none.
 * An uptime says how long the device has been up, not when: it gives no time.
 */
export function readUptime(text: string, start: number, end: number): number {
  if (text.charCodeAt(start + 2) === 58) { // hh:mm:ss[.fff]
    const w: WallTime = {
      year: 0,
      month: 1,
      day: 1,
      hour: 0,
      minute: 0,
      second: 0,
      millisecond: 0,
    };
    const i = readClock(text, start, w);
    if (i < 0 || w.hour > 23 || w.minute > 59 || w.second > 59) return -1;
    return readFraction(text, i, end, w);
  }
  let i = start;
  for (let part = 0; part < 2; part++) {
    const first = i;
    while (i < end && i - first < 4 && digit(text, i) >= 0) i++;
    if (i === first || "ywdh".indexOf(text[i]) < 0) return -1;
    i++;
  }
  return i;
}

/** The instant of `w` at the fixed `offset` from UTC (ms), or else read in `timeZone`. */
function toUtc(w: WallTime, offset: number | undefined, timeZone: string): number {
  return offset === undefined ? zonedToUtc(w, timeZone) : utcMillis(w) - offset;
}

/**
 * The instant of a year-less wall time in the year (now's year, the one before or after) that
 * puts it nearest to `now`; NaN when the date exists in none of them (Feb 29). The wall time is
 * read at `offset` (ms) when given, else in `timeZone`.
 */
export function nearestYear(
  w: WallTime,
  now: number,
  offset: number | undefined,
  timeZone: string,
): number {
  const thisYear = Number.isFinite(now) ? utcYear(now) : NaN;
  if (!Number.isFinite(thisYear)) return NaN;
  w.year = thisYear;
  if (validTime(w)) {
    const time = toUtc(w, offset, timeZone);
    // Other years are at least 365 days away from this one: half a year is decisive.
    if (Math.abs(time - now) <= 182 * DAY_MS) return time;
  }
  let best = NaN;
  let bestDistance = Infinity;
  for (const year of [thisYear - 1, thisYear, thisYear + 1]) {
    w.year = year;
    if (!validTime(w)) continue;
    const time = toUtc(w, offset, timeZone);
    const distance = Math.abs(time - now);
    if (distance < bestDistance) {
      best = time;
      bestDistance = distance;
    }
  }
  return best;
}
