/**
 * Time zone arithmetic on top of `Intl`: the offset of an IANA zone at an instant, and the UTC
 * instant of a wall-clock time read in a zone (correct around DST changes). Formatters and
 * offsets are cached per zone, so the hot path costs a few map look-ups.
 *
 * @module
 */

/** A wall-clock time; month is 1..12. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const DAY_MS = 86_400_000;
/** 400 Gregorian years, exactly. */
const FOUR_CENTURIES_MS = 146_097 * DAY_MS;
/** Offsets are cached per 15-minute slice of time. */
const SLICE_MS = 900_000;
const MAX_CACHED_SLICES = 4096;
/** `Intl` cannot name years before 1 CE without eras: offsets are looked up within this range. */
const MIN_LOOKUP_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const MAX_LOOKUP_MS = 253_402_300_799_000; // 9999-12-31T23:59:59Z

/** True when `year` is a Gregorian leap year. */
export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** The number of days in a month (1..12) of a year. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Milliseconds since the epoch of a wall time read as UTC (years 0..99 are taken literally). */
export function utcMillis(w: WallTime): number {
  if (w.year >= 100) {
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);
  }
  const shifted = Date.UTC(
    w.year + 400,
    w.month - 1,
    w.day,
    w.hour,
    w.minute,
    w.second,
    w.millisecond,
  );
  return shifted - FOUR_CENTURIES_MS;
}

interface ZoneCache {
  /** Undefined for UTC, which needs no formatter. */
  format: Intl.DateTimeFormat | undefined;
  slices: Map<number, number>;
}

const zones = new Map<string, ZoneCache | null>();

function zoneCache(timeZone: string): ZoneCache | null {
  let cache = zones.get(timeZone);
  if (cache !== undefined) return cache;
  cache = null;
  if (timeZone === "UTC" || timeZone === "Etc/UTC") {
    cache = { format: undefined, slices: new Map() };
  } else if (isIanaShaped(timeZone)) {
    try {
      const format = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
      cache = { format, slices: new Map() };
    } catch {
      cache = null;
    }
  }
  if (zones.size > 1024) zones.clear();
  zones.set(timeZone, cache);
  return cache;
}

/** Offset strings such as "+01:00" are accepted by `Intl`, but they are not IANA names. */
function isIanaShaped(timeZone: string): boolean {
  if (typeof timeZone !== "string" || timeZone.length === 0 || timeZone.length > 64) return false;
  const first = timeZone.charCodeAt(0);
  return first !== 43 && first !== 45 && (first < 48 || first > 57); // not + - or a digit
}

/** True when `zone` is an IANA zone name this runtime knows. */
export function isValidTimeZone(zone: string): boolean {
  return zoneCache(zone) !== null;
}

/** Offset (local minus UTC, in ms) computed by `Intl`, uncached. */
function computeOffset(format: Intl.DateTimeFormat, instant: number): number {
  const at = Math.min(Math.max(instant, MIN_LOOKUP_MS), MAX_LOOKUP_MS);
  const whole = at - (((at % 1000) + 1000) % 1000);
  const w: WallTime = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0 };
  for (const part of format.formatToParts(whole)) {
    switch (part.type) {
      case "year":
        w.year = Number(part.value);
        break;
      case "month":
        w.month = Number(part.value);
        break;
      case "day":
        w.day = Number(part.value);
        break;
      case "hour":
        w.hour = Number(part.value) % 24;
        break;
      case "minute":
        w.minute = Number(part.value);
        break;
      case "second":
        w.second = Number(part.value);
        break;
    }
  }
  return utcMillis(w) - whole;
}

function offsetIn(cache: ZoneCache, instant: number): number {
  const format = cache.format;
  if (format === undefined) return 0;
  const slice = Math.floor(instant / SLICE_MS);
  const known = cache.slices.get(slice);
  if (known !== undefined) return known;
  const start = slice * SLICE_MS;
  const first = computeOffset(format, start);
  const last = computeOffset(format, start + SLICE_MS - 1000);
  // A change of offset inside the slice (only seen in old history): do not cache it.
  if (first !== last) return computeOffset(format, instant);
  if (cache.slices.size >= MAX_CACHED_SLICES) cache.slices.clear();
  cache.slices.set(slice, first);
  return first;
}

/**
 * The UTC instant of a wall time read in `timeZone` (an unknown zone is read as UTC). A time
 * skipped by a DST change is moved forward by the gap; a repeated time is the earlier instant.
 */
export function zonedToUtc(w: WallTime, timeZone: string): number {
  const wall = utcMillis(w);
  const cache = zoneCache(timeZone);
  if (cache === null || cache.format === undefined || !Number.isFinite(wall)) return wall;
  const before = offsetIn(cache, wall - DAY_MS);
  const after = offsetIn(cache, wall + DAY_MS);
  if (before === after) {
    // Two changes within two days are rare; the offset at the first guess settles them.
    const guess = wall - before;
    const actual = offsetIn(cache, guess);
    return actual === before ? guess : wall - actual;
  }
  const early = wall - before;
  const late = wall - after;
  const earlyFits = offsetIn(cache, early) === before;
  const lateFits = offsetIn(cache, late) === after;
  if (earlyFits && lateFits) return Math.min(early, late);
  if (earlyFits) return early;
  if (lateFits) return late;
  return early; // in the gap: the offset from before the change moves it forward
}
