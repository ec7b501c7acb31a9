/**
 * A parsed syslog message becomes an {@link Event}, plus the Loggly tags it asked for.
 *
 * @module
 */
import type { Event, InputKind, RelayFields, StructuredData } from "../event.ts";
import { isoUtc } from "../iso_time.ts";
import type { Frame } from "./framing.ts";
import type { ParsedSyslog } from "./parse.ts";

/** Loggly's private enterprise number: `[TOKEN@41058 tag="x"]` carries tags in Loggly's syslog format. */
const LOGGLY_SD_SUFFIX = "@41058";

/** An event and the tags its sender asked for (unchecked). */
export interface Normalised {
  event: Event;
  tags: string[];
}

/** Builds the event for one syslog message received on `input` from `peer` at `receivedAt`. */
export function normaliseSyslog(
  parsed: ParsedSyslog,
  frame: Frame,
  input: InputKind,
  peer: string | undefined,
  receivedAt: Date,
): Normalised {
  const relay: RelayFields = { input };
  if (peer !== undefined) relay.peer = peer;
  if (parsed.parseError !== undefined) relay.parseError = parsed.parseError;
  if (frame.truncated) relay.truncated = frame.truncated;
  const event: Event = {
    timestamp: parsed.timestamp ?? isoUtc(receivedAt.getTime()),
    message: parsed.message,
  } as Event;
  const tags: string[] = [];
  if (parsed.syslog) {
    const syslog = { ...parsed.syslog };
    if (syslog.structuredData) {
      const structuredData = takeLogglyTags(syslog.structuredData, tags);
      if (structuredData) syslog.structuredData = structuredData;
      else delete syslog.structuredData;
    }
    event.syslog = syslog;
  }
  if (parsed.json) event.json = parsed.json;
  event.relay = relay; // last, so that the JSON reads header, body, then relay details
  return { event, tags };
}

/**
 * Moves the tags of Loggly's own SD element into `tags` and leaves the element out: its SD-ID is
 * the customer token, which must not be indexed as a field. Returns the rest (undefined if none).
 */
function takeLogglyTags(sd: StructuredData, tags: string[]): StructuredData | undefined {
  let rest: StructuredData | undefined;
  for (const [id, params] of Object.entries(sd)) {
    if (id.endsWith(LOGGLY_SD_SUFFIX)) {
      const tag = params.tag;
      // A loop, not a spread: a message may carry more tags than a call has arguments.
      for (const t of Array.isArray(tag) ? tag : tag === undefined ? [] : [tag]) tags.push(t);
    } else {
      (rest ??= {})[id] = params;
    }
  }
  return rest;
}
