/**
 * Syslog message parser: RFC 5424, and RFC 3164 in its real-world variants (no host, Cisco
 * sequence numbers and stamps, RFC 3339 stamps in a 3164 layout, no PRI at all). Pure, linear in
 * the length of the message, and never throws: what cannot be read stays in the message and is
 * named in `parseError`.
 *
 * @module
 */

import type { StructuredData, SyslogFields } from "../event.ts";
import { isoUtc } from "../iso_time.ts";
import { facilityName, severityName } from "./names.ts";
import {
  LOGGLY_SD_SUFFIX,
  readStructuredData,
  type StructuredDataResult,
} from "./structured_data.ts";
import {
  readBsdStamp,
  readRfc3339,
  readUptime,
  type Stamp,
  type StampContext,
} from "./timestamp.ts";

export { isValidTimeZone } from "./zone.ts";

/** How to read stamps that carry no year or zone. */
export interface ParseOptions {
  /** Reference "now" for inferring the year of RFC 3164 stamps. */
  now: Date;
  /** IANA zone (e.g. "UTC", "Europe/Berlin") in which RFC 3164 stamps without a zone are read. */
  timeZone: string;
}

/** A parsed syslog message. */
export interface ParsedSyslog {
  /**
   * ISO 8601 UTC with milliseconds (Date#toISOString form), absent when the message carried no
   * usable time.
   */
  timestamp?: string;
  message: string;
  /** Absent when nothing of a header could be read. Absent header fields are left out (never "-"). */
  syslog?: SyslogFields;
  /** Present when the message body is a JSON object (also after a CEE cookie "@cee:"). */
  json?: Record<string, unknown>;
  /**
   * Present when the header could not be fully read: short sentence-case reason. The message then
   * holds what could not be parsed (so nothing is lost).
   */
  parseError?: string;
}

/** Header fields collected while parsing, turned into {@link SyslogFields} at the end. */
interface Header {
  priority?: number;
  host?: string;
  appName?: string;
  procId?: string;
  msgId?: string;
  structuredData?: StructuredData;
}

/** Longest token taken for a host name or a tag; anything longer is message text. */
const MAX_HOST_LENGTH = 255;
const MAX_TAG_LENGTH = 256;

const decoder = new TextDecoder("utf-8");
/** A tag with no stamp before it: a short name, an optional [pid], a colon and a space. */
const BARE_TAG = /^([A-Za-z0-9_./-]{1,48})(?:\[([^\]\s]{1,32})\])?: /;

/** Parses one syslog message (RFC 5424 or RFC 3164, leniently); never throws. */
export function parseSyslog(raw: Uint8Array, options: ParseOptions): ParsedSyslog {
  let text: string;
  try {
    text = decoder.decode(raw);
  } catch {
    return { message: "", parseError: "Message could not be decoded" };
  }
  try {
    return parseText(text, options);
  } catch {
    return { message: text.slice(0, trimmedEnd(text)), parseError: "Message could not be parsed" };
  }
}

/** Length of `text` without trailing CR, LF and NUL characters. */
function trimmedEnd(text: string): number {
  let end = text.length;
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c !== 10 && c !== 13 && c !== 0) break;
    end--;
  }
  return end;
}

function parseText(text: string, options: ParseOptions): ParsedSyslog {
  const end = trimmedEnd(text);
  if (end === 0) return { message: "", parseError: "Message is empty" };
  let now = options.now instanceof Date ? options.now.getTime() : NaN;
  if (!Number.isFinite(now)) now = Date.now();
  const context: StampContext = { now, timeZone: options.timeZone };
  if (text.charCodeAt(0) !== 60) { // <
    return parse3164(text, 0, end, {}, context, "Message has no PRI");
  }
  const afterPri = readPri(text, end);
  if (afterPri < 0) return finish(NaN, text.slice(0, end), undefined, "Invalid PRI");
  const header: Header = { priority: Number(text.slice(1, afterPri - 1)) };
  const afterVersion = rfc5424Start(text, afterPri, end);
  if (afterVersion >= 0) {
    // rsyslog writes version 0 for what it did not receive as RFC 5424 (Loggly's template uses
    // %protocol-version%); its message then keeps the space of the RFC 3164 tag.
    const version1 = afterVersion === afterPri + 2 && text.charCodeAt(afterPri) === 49;
    const parsed = parse5424(text, afterVersion, end, header, context, version1);
    if (parsed !== null) return parsed;
  }
  return parse3164(text, afterPri, end, header, context, undefined);
}

/** Index after a valid `<N>` (N 0..191, 1 to 3 digits) at the start, or -1. */
function readPri(text: string, end: number): number {
  let value = 0;
  let i = 1;
  while (i < end && i <= 4) {
    const c = text.charCodeAt(i);
    if (c === 62) break; // >
    if (c < 48 || c > 57) return -1;
    value = value * 10 + (c - 48);
    i++;
  }
  if (i === 1 || i > 4 || i >= end || text.charCodeAt(i) !== 62 || value > 191) return -1;
  return i + 1;
}

/**
 * The index of the timestamp when an RFC 5424 header may start at `i`, else -1: a VERSION of one
 * or two digits (1 by the RFC; real senders write 0 and others), a space, then a NILVALUE or the
 * start of a full date. A stamp right after the PRI (`<13>2026-…`) is RFC 3164 with an ISO stamp.
 * A version other than 1 counts only with a valid stamp (see parse5424).
 */
function rfc5424Start(text: string, i: number, end: number): number {
  let j = i;
  while (j < end && j - i < 2 && isDigit(text.charCodeAt(j))) j++;
  if (j === i || text.charCodeAt(j) !== 32) return -1;
  j++;
  const c = text.charCodeAt(j);
  if (c === 45) return j + 1 >= end || text.charCodeAt(j + 1) === 32 ? j : -1; // -
  for (let k = 0; k < 4; k++) if (!isDigit(text.charCodeAt(j + k))) return -1;
  return text.charCodeAt(j + 4) === 45 ? j : -1;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Index after the run of spaces at `i`. */
function skipSpaces(text: string, i: number, end: number): number {
  while (i < end && text.charCodeAt(i) === 32) i++;
  return i;
}

/** Index of the first space at or after `i`, or `end`. */
function tokenEnd(text: string, i: number, end: number): number {
  while (i < end && text.charCodeAt(i) !== 32) i++;
  return i;
}

function parse5424(
  text: string,
  start: number,
  end: number,
  header: Header,
  context: StampContext,
  version1: boolean,
): ParsedSyslog | null {
  // Only version 1 is sure to be RFC 5424. Another version must have a stamp and a header that
  // reads cleanly: "<13>10 2026-11-30 disk full" or "<13>12 - backup done" is RFC 3164 text.
  let i = start;
  let time = NaN;
  if (text.charCodeAt(i) === 45) { // - (rfc5424Start checked what follows)
    if (!version1) return null;
    i++;
  } else {
    const stamp = readRfc3339(text, i, end, context);
    if (stamp === undefined || Number.isNaN(stamp.time) || !endsToken(text, stamp.end, end)) {
      if (!version1) return null;
      return finish(NaN, text.slice(i, end), header, "Invalid RFC 5424 timestamp");
    }
    time = stamp.time;
    i = stamp.end;
  }
  // Fields are separated by one space, and an empty one (two spaces) is absent, as syslog-ng's
  // loggly() writes an empty MSGID; where that reading does not end at the structured data,
  // fields are read between runs of spaces instead.
  // (Fields left out are read only with version 1: elsewhere "backup finished [ok]" is text.)
  let read!: Fields;
  for (const [strict, early] of HEADER_READINGS) {
    if (early && !version1) continue;
    read = readFields(text, i, end, strict, early, header);
    if (read.clean) break;
  }
  if (!version1 && !read.clean) return null;
  if (read.sd < 0) return finish(time, "", header, "RFC 5424 header is incomplete");
  i = read.sd;
  const c = text.charCodeAt(i);
  if (c === 45 && endsToken(text, i + 1, end)) {
    i++;
  } else if (c === 91) { // [
    const data = read.data ?? readStructuredData(text, i, end);
    for (const _ in data.data) {
      header.structuredData = data.data;
      break;
    }
    if (!data.ok) {
      return finish(time, text.slice(data.end, end), header, "Malformed structured data");
    }
    i = data.end;
  } else {
    return finish(time, text.slice(i, end), header, "Malformed structured data");
  }
  if (i >= end) return finish(time, "", header, undefined);
  i++; // the SP before MSG
  if (!version1) i = skipSpaces(text, i, end);
  if (text.charCodeAt(i) === 0xfeff) i++; // BOM
  return finish(time, text.slice(i, end), header, undefined);
}

/** Where {@link readFields} found the structured data. */
interface Fields {
  /** Index of the structured data after them; -1 when the message ends first. */
  sd: number;
  /** True when a NILVALUE or a well-formed SD element stands at `sd`. */
  clean: boolean;
  /** The structured data at `sd` when it was read already (to tell that it is well formed). */
  data?: StructuredDataResult;
}

/**
 * The ways of reading the header fields, in the order tried ([strict, early]): the first that
 * ends at the structured data wins, else the last one stands (and the SD reading says why).
 */
const HEADER_READINGS: readonly [boolean, boolean][] = [
  [true, false], // RFC 5424 (and an empty field as two spaces)
  [true, true], // fields left out before the structured data
  [false, true], // runs of spaces between fields
  [false, false], // as before: runs of spaces, the SD where the fifth token stands
];

/**
 * Reads HOSTNAME APP-NAME PROCID MSGID from `i` (the space after the stamp) into `fields` (those
 * absent set to undefined). `strict`: one space
 * between fields, and two spaces make an empty field; else fields are separated by runs of
 * spaces. `early`: a well-formed SD element where a field was expected ends them.
 */
function readFields(
  text: string,
  i: number,
  end: number,
  strict: boolean,
  early: boolean,
  fields: Header,
): Fields {
  fields.host =
    fields.appName =
    fields.procId =
    fields.msgId =
      undefined;
  for (const key of HEADER_FIELDS) {
    if (i >= end) return { sd: -1, clean: false };
    i = strict ? i + 1 : skipSpaces(text, i, end);
    if (i >= end) return { sd: -1, clean: false };
    if (early) {
      const data = wellFormedData(text, i, end);
      if (data !== undefined) return { sd: i, clean: true, data };
    }
    if (text.charCodeAt(i) === 32) continue; // empty (strict only)
    const stop = tokenEnd(text, i, end);
    if (stop - i !== 1 || text.charCodeAt(i) !== 45) fields[key] = text.slice(i, stop);
    i = stop;
  }
  i = strict ? i + 1 : skipSpaces(text, i, end);
  if (i >= end) return { sd: -1, clean: false };
  if (text.charCodeAt(i) === 45 && endsToken(text, i + 1, end)) return { sd: i, clean: true };
  const data = wellFormedData(text, i, end);
  return { sd: i, clean: data !== undefined, data };
}

const HEADER_FIELDS = ["host", "appName", "procId", "msgId"] as const;

/** Well-formed structured data (one element or more) at `i`, else undefined. */
function wellFormedData(text: string, i: number, end: number): StructuredDataResult | undefined {
  if (text.charCodeAt(i) !== 91) return undefined;
  const sd = readStructuredData(text, i, end);
  return sd.ok && sd.end > i ? sd : undefined;
}

/** True when `i` is the end of the text or holds a space. */
function endsToken(text: string, i: number, end: number): boolean {
  return i >= end || text.charCodeAt(i) === 32;
}

/** A stamp at `i`, RFC 3339 or BSD/Cisco. */
function readStamp(text: string, i: number, end: number, context: StampContext): Stamp | undefined {
  const c = text.charCodeAt(i);
  if (c >= 48 && c <= 57) return readRfc3339(text, i, end, context);
  return readBsdStamp(text, i, end, context);
}

/** Index after `digits: ` (a Cisco sequence number) at `i`, or -1. */
function skipSequence(text: string, i: number, end: number): number {
  let j = i;
  while (j < end && j - i < 20) {
    const c = text.charCodeAt(j);
    if (c < 48 || c > 57) break;
    j++;
  }
  if (j === i || text.charCodeAt(j) !== 58 || text.charCodeAt(j + 1) !== 32) return -1;
  return skipSpaces(text, j + 2, end);
}

/**
 * Index after `host: ` (a Cisco origin-id: a host name or IPv4 address) at `i`, or -1. An
 * all-digit token is a sequence number, not a host.
 */
function skipOriginHost(text: string, i: number, end: number): number {
  const stop = tokenEnd(text, i, Math.min(end, i + MAX_HOST_LENGTH + 1));
  if (stop - i < 2 || stop >= end || text.charCodeAt(stop - 1) !== 58) return -1;
  let digitsOnly = true;
  for (let k = i; k < stop - 1; k++) {
    const c = text.charCodeAt(k);
    if (c >= 48 && c <= 57) continue;
    const lower = c | 32;
    if (!(lower >= 97 && lower <= 122) && c !== 45 && c !== 46 && c !== 95) return -1; // - . _
    digitsOnly = false;
  }
  return digitsOnly ? -1 : stop;
}

/** A Cisco `%FACILITY-SEVERITY-MNEMONIC:` (`%SYS-5-CONFIG_I:`, `%ASA-6-302013:`). */
const MNEMONIC = /^%[A-Za-z0-9_]{1,32}-[0-7]-[A-Za-z0-9_]{1,48}:/;

/** True when a Cisco `%FACILITY-SEVERITY-MNEMONIC:` starts at `i`. */
function isMnemonic(text: string, i: number): boolean {
  return text.charCodeAt(i) === 37 && MNEMONIC.test(text.slice(i, i + 88));
}

/**
 * Index after a Cisco uptime stamp and its colon (`00:20:10: `, `2y10w: `) at `i`, or -1; only
 * when a `%FACILITY-SEVERITY-MNEMONIC:` follows, since an uptime alone looks like message text.
 */
function skipUptime(text: string, i: number, end: number): number {
  const j = readUptime(text, i, end);
  if (j < 0 || text.charCodeAt(j) !== 58 || text.charCodeAt(j + 1) !== 32) return -1;
  const next = skipSpaces(text, j + 2, end);
  return isMnemonic(text, next) ? next : -1;
}

/** What precedes a Cisco IOS message: counters, origin-id, and a date or uptime stamp. */
interface CiscoPrefix {
  /** Index of what follows the prefix (the stamp when there is one). */
  next: number;
  /** False when only a counter was read: what follows it is not known to be Cisco's. */
  complete: boolean;
  host?: string;
  stamp?: Stamp;
}

/**
 * Reads the Cisco IOS header `[counter: ][origin-id: ][sequence: ](stamp | uptime: )` at `i`,
 * when what follows it is a stamp, an uptime or a `%FAC-SEV-MNEMONIC`; undefined otherwise.
 */
function readCiscoPrefix(
  text: string,
  i: number,
  end: number,
  context: StampContext,
): CiscoPrefix | undefined {
  const counter = skipSequence(text, i, end);
  const counted = counter >= 0;
  let j = counted ? counter : i;
  let found = counted ? ciscoHeaderEnd(text, j, end, context, counted, undefined) : undefined;
  let host: string | undefined;
  if (found === undefined) {
    const hostEnd = skipOriginHost(text, j, end);
    if (hostEnd >= 0) {
      host = text.slice(j, hostEnd - 1);
      j = skipSpaces(text, hostEnd, end);
      found = ciscoHeaderEnd(text, j, end, context, counted, host);
    }
  }
  if (found === undefined) {
    const sequence = skipSequence(text, j, end);
    if (sequence >= 0) found = ciscoHeaderEnd(text, sequence, end, context, counted, host);
  }
  return found ?? (counted ? { next: counter, complete: false } : undefined);
}

/** The end of a Cisco header at `j`: a stamp, an uptime, or (after a counter) a mnemonic. */
function ciscoHeaderEnd(
  text: string,
  j: number,
  end: number,
  context: StampContext,
  counted: boolean,
  host: string | undefined,
): CiscoPrefix | undefined {
  const stamp = readStamp(text, j, end, context);
  if (stamp !== undefined) return { next: j, complete: true, host, stamp };
  const uptime = skipUptime(text, j, end);
  if (uptime >= 0) return { next: uptime, complete: true, host };
  // A mnemonic right after "name:" with no counter is read as an ordinary tag and message.
  if (counted && isMnemonic(text, j)) return { next: j, complete: true, host };
  return undefined;
}

/**
 * Index after a Cisco `clock timezone` name that is not a known abbreviation (`VIENNA: %...`),
 * or -1: letters only, a colon, and a `%FAC-SEV-MNEMONIC` next.
 */
function skipZoneName(text: string, i: number, end: number): number {
  let j = i;
  while (j < end && j - i <= 16) {
    const c = text.charCodeAt(j) | 32;
    if (c < 97 || c > 122) break;
    j++;
  }
  if (j === i || text.charCodeAt(j) !== 58) return -1;
  const next = skipSpaces(text, j + 1, end);
  return next > j + 1 && isMnemonic(text, next) ? next : -1;
}

/** True when the token `[start, stop)` holds a `|`: a CEF/LEEF header, never a host or a tag. */
function isMessageToken(text: string, start: number, stop: number): boolean {
  for (let k = start; k < stop; k++) if (text.charCodeAt(k) === 124) return true;
  return false;
}

function parse3164(
  text: string,
  start: number,
  end: number,
  header: Header,
  context: StampContext,
  error: string | undefined,
): ParsedSyslog {
  // The stamp, possibly after Cisco counters and origin-id.
  let i = skipSpaces(text, start, end);
  let stamp = readStamp(text, i, end, context);
  let cisco = false;
  if (stamp === undefined) {
    const prefix = readCiscoPrefix(text, i, end, context);
    if (prefix !== undefined) {
      cisco = prefix.complete;
      i = prefix.next;
      stamp = prefix.stamp;
      if (prefix.host !== undefined) header.host = prefix.host;
    }
  }
  if (stamp === undefined) {
    if (cisco && isMnemonic(text, i)) return finish(NaN, text.slice(i, end), header, error);
    // No stamp: "<14>app[12]: msg", as Python's SysLogHandler and small devices send it. Like
    // rsyslog and syslog-ng, take a leading "name:" or "name[pid]:" as the tag.
    const tag = header.priority === undefined ? null : BARE_TAG.exec(text.slice(i, i + 96));
    if (tag === null) return finish(NaN, text.slice(cisco ? i : start, end), header, error);
    header.appName = tag[1];
    if (tag[2] !== undefined) header.procId = tag[2];
    return finish(NaN, text.slice(i + tag[0].length, end), header, error);
  }
  if (Number.isNaN(stamp.time)) {
    header.host = undefined;
    return finish(NaN, text.slice(start, end), header, error ?? "Invalid timestamp");
  }
  i = stamp.end;
  if (text.charCodeAt(i) === 58) i++; // Cisco: "00:00:18.123: %SYS-5-..."
  i = skipSpaces(text, i, end);
  if (cisco) {
    const afterZone = skipZoneName(text, i, end);
    if (afterZone >= 0) i = afterZone;
  }

  // HOSTNAME, unless the next token is already the tag (or a Cisco %FAC-SEV-MNEMONIC).
  if (header.host === undefined && i < end && text.charCodeAt(i) !== 37) { // %
    const stop = tokenEnd(text, i, Math.min(end, i + MAX_HOST_LENGTH + 1));
    if (!endsToken(text, stop, end) || isMessageToken(text, i, stop)) {
      return finish(stamp.time, text.slice(i, end), header, error);
    }
    if (readTag(text, i, stop, header)) {
      return finish(stamp.time, text.slice(afterTag(text, stop, end), end), header, error);
    }
    if (isEmptyTag(text, i, stop)) {
      return finish(stamp.time, text.slice(afterTag(text, stop, end), end), header, error);
    }
    if (!isNilToken(text, i, stop)) header.host = text.slice(i, stop);
    i = skipSpaces(text, stop, end);
  }
  // TAG: "app[pid]:" or "app:"; a lone ":" (Cisco ASA's "device-id : %ASA-...") is an empty tag.
  if (i < end && text.charCodeAt(i) !== 37) {
    const stop = tokenEnd(text, i, Math.min(end, i + MAX_TAG_LENGTH + 1));
    if (endsToken(text, stop, end) && !isMessageToken(text, i, stop)) {
      if (isEmptyTag(text, i, stop)) i = afterTag(text, stop, end);
      else if (readTag(text, i, stop, header)) i = afterTag(text, stop, end);
    }
  }
  return finish(stamp.time, text.slice(i, end), header, error);
}

/** True when the token `[start, stop)` is a lone `:`. */
function isEmptyTag(text: string, start: number, stop: number): boolean {
  return stop === start + 1 && text.charCodeAt(start) === 58;
}

/** True when the token `[start, stop)` is `-`, the NILVALUE some senders write for a missing field. */
function isNilToken(text: string, start: number, stop: number): boolean {
  return stop === start + 1 && text.charCodeAt(start) === 45;
}

/** Index of the message after a tag that ends at `stop`: one space is part of the separator. */
function afterTag(text: string, stop: number, end: number): number {
  return stop < end && text.charCodeAt(stop) === 32 ? stop + 1 : stop;
}

/**
 * Reads a tag token `[start, stop)` (`app:`, `app[pid]:` or `app[pid]`) into the header; false
 * (and the header untouched) when the token is not a tag.
 */
function readTag(text: string, start: number, stop: number, header: Header): boolean {
  let last = stop;
  if (text.charCodeAt(last - 1) === 58) last--; // :
  const colon = last < stop;
  if (last > start && text.charCodeAt(last - 1) === 93) { // ]
    let open = start;
    while (open < last - 1 && text.charCodeAt(open) !== 91) open++; // [
    if (open === start) return false;
    if (open < last - 1) {
      header.appName = text.slice(start, open);
      if (last - 1 > open + 1 && !isNilToken(text, open + 1, last - 1)) {
        header.procId = text.slice(open + 1, last - 1);
      }
      return true;
    }
  }
  if (!colon || last === start) return false;
  header.appName = text.slice(start, last);
  return true;
}

/** Builds the result; `time` is NaN when there is none. */
function finish(
  time: number,
  message: string,
  header: Header | undefined,
  parseError: string | undefined,
): ParsedSyslog {
  if (header !== undefined && message.charCodeAt(0) === 91) { // [
    message = takeLogglyElement(message, header);
  }
  const result: ParsedSyslog = Number.isFinite(time) && Math.abs(time) <= 8.64e15
    ? { timestamp: isoUtc(time), message }
    : { message };
  if (header !== undefined) {
    const syslog: SyslogFields = {};
    let any = false;
    if (header.host !== undefined) {
      syslog.host = header.host;
      any = true;
    }
    if (header.appName !== undefined) {
      syslog.appName = header.appName;
      any = true;
    }
    if (header.procId !== undefined) {
      syslog.procId = header.procId;
      any = true;
    }
    if (header.msgId !== undefined) {
      syslog.msgId = header.msgId;
      any = true;
    }
    if (header.priority !== undefined) {
      syslog.facility = facilityName(header.priority);
      syslog.severity = severityName(header.priority);
      syslog.priority = header.priority;
      any = true;
    }
    if (header.structuredData !== undefined) {
      syslog.structuredData = header.structuredData;
      any = true;
    }
    if (any) result.syslog = syslog;
  }
  const json = readJson(message);
  if (json !== undefined) result.json = json;
  if (parseError !== undefined) result.parseError = parseError;
  return result;
}

/**
 * A message that starts with Loggly's own SD element (`[TOKEN@41058 tag="x"] text`, as a sender
 * writes it after an RFC 3164 header) has the element moved into the structured data, so that its
 * tags are honoured and the token is not stored as text. Returns the rest of the message.
 */
function takeLogglyElement(message: string, header: Header): string {
  const close = message.indexOf("]");
  if (close < 0 || !message.slice(0, close).includes(LOGGLY_SD_SUFFIX)) return message;
  const sd = readStructuredData(message, 0, message.length);
  if (!sd.ok || !Object.keys(sd.data).some((id) => id.endsWith(LOGGLY_SD_SUFFIX))) return message;
  header.structuredData = { ...header.structuredData, ...sd.data };
  return message.slice(skipSpaces(message, sd.end, message.length));
}

function isJsonSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** The message as a JSON object (after an optional `@cee:` cookie), or undefined. */
function readJson(message: string): Record<string, unknown> | undefined {
  let i = message.startsWith("@cee:") ? 5 : 0;
  while (i < message.length && isJsonSpace(message.charCodeAt(i))) i++;
  if (message.charCodeAt(i) !== 123) return undefined; // {
  let last = message.length - 1;
  while (last > i && isJsonSpace(message.charCodeAt(last))) last--;
  if (message.charCodeAt(last) !== 125) return undefined; // }
  try {
    const value: unknown = JSON.parse(i === 0 ? message : message.slice(i));
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // Not JSON after all: the message stays text.
  }
  return undefined;
}
