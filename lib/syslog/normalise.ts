/**
 * A parsed syslog message becomes an {@link Event}, plus the Loggly tags it asked for.
 *
 * @module
 */
import type { Event, InputKind, RelayFields, StructuredData } from "../event.ts";
import { isoUtc } from "../iso_time.ts";
import type { Frame } from "./framing.ts";
import type { ParsedSyslog } from "./parse.ts";
import { LOGGLY_SD_SUFFIX } from "./structured_data.ts";
import { REDACTED } from "../redact.ts";

/** An event, the tags its sender asked for (unchecked), and the Loggly tokens it named. */
export interface Normalised {
  event: Event;
  tags: string[];
  /** The customer tokens of its Loggly elements (`TOKEN@41058`), usually none or one. */
  tokens: string[];
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
  if (frame.incomplete) relay.incomplete = true;
  const event: Event = {
    timestamp: parsed.timestamp ?? isoUtc(receivedAt.getTime()),
    message: parsed.message,
  } as Event;
  const tags: string[] = [];
  const tokens: string[] = [];
  if (parsed.syslog) {
    // The parser's fields are the event's: copied only when the Loggly elements come out.
    let syslog = parsed.syslog;
    if (syslog.structuredData) {
      syslog = { ...syslog };
      const structuredData = takeLogglyElements(syslog.structuredData!, tags, tokens);
      if (structuredData) syslog.structuredData = structuredData;
      else delete syslog.structuredData;
    }
    event.syslog = syslog;
  }
  if (tokens.length === 0) event.message = takeTokensFromText(event.message, tokens);
  if (parsed.json) event.json = parsed.json;
  event.relay = relay; // last, so that the JSON reads header, body, then relay details
  return { event, tags, tokens };
}

/** A customer token (a UUID) in Loggly's SD-ID form, `TOKEN@41058`. */
const TOKEN_IN_TEXT =
  /[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?=@41058)/g;

/**
 * A Loggly element the parser could not take as structured data (malformed, or not first) leaves
 * its token in the text: the event is still routed by it, and the token is hidden there.
 */
function takeTokensFromText(message: string, tokens: string[]): string {
  if (!message.includes(LOGGLY_SD_SUFFIX)) return message;
  return message.replace(TOKEN_IN_TEXT, (token) => {
    tokens.push(token);
    return REDACTED;
  });
}

/**
 * Moves the tags and the token of Loggly's own SD elements into `tags` and `tokens`, and leaves
 * the elements out: their SD-ID is the customer token, which must not be indexed as a field.
 * A tag value may list several tags with commas, as Loggly's tag paths do. Returns the rest of
 * the structured data (undefined if none).
 */
function takeLogglyElements(
  sd: StructuredData,
  tags: string[],
  tokens: string[],
): StructuredData | undefined {
  let rest: StructuredData | undefined;
  for (const [id, params] of Object.entries(sd)) {
    if (id.endsWith(LOGGLY_SD_SUFFIX)) {
      tokens.push(id.slice(0, -LOGGLY_SD_SUFFIX.length));
      const tag = params.tag;
      // Loops, not spreads: a message may carry more tags than a call has arguments.
      for (const value of Array.isArray(tag) ? tag : tag === undefined ? [] : [tag]) {
        for (const t of value.split(",")) if (t.trim() !== "") tags.push(t.trim());
      }
    } else {
      (rest ??= {})[id] = params;
    }
  }
  return rest;
}
