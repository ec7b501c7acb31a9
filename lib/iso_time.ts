/**
 * `Date#toISOString` for the hot path: every event carries a timestamp, and the built-in costs
 * about 0.43 µs a call here (a third of parsing a syslog line); this costs about 0.12 µs.
 *
 * @module
 */

/** Milliseconds of 10000-01-01T00:00:00Z: beyond it (or before 1970) the built-in is used. */
const YEAR_10000 = 253_402_300_800_000;
const DAY_MS = 86_400_000;

function pad2(n: number): string {
  return n < 10 ? "0" + n : "" + n;
}

/** The same string as `new Date(ms).toISOString()` (`2026-11-27T03:57:45.000Z`). */
export function isoUtc(ms: number): string {
  if (!(ms >= 0 && ms < YEAR_10000) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  // Civil date from days since 1970-01-01, in 400-year eras starting on March 1 (the leap day
  // last): H. Hinnant's days_from_civil, inverted.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra -
    (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const milli = rest - second * 1000;
  return year + "-" + pad2(month) + "-" + pad2(day) + "T" + pad2(hour) + ":" + pad2(minute) +
    ":" + pad2(second) + "." + (milli < 10 ? "00" : milli < 100 ? "0" : "") + milli + "Z";
}
