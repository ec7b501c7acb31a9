/**
 * The one type where sources and the sender meet: every input (UDP, TCP, TLS, HTTP) normalises
 * into an {@link Event}, and the sender only ever sees its JSON form.
 *
 * @module
 */

/** Which listener an event came in on. */
export type InputKind = "udp" | "tcp" | "tls" | "http";

/** RFC 5424 structured data: SD-ID -> param name -> value (an array when a name repeats). */
export type StructuredData = Record<string, Record<string, string | string[]>>;

/** The syslog header, with absent fields left out (never sent as "-"). */
export interface SyslogFields {
  host?: string;
  appName?: string;
  procId?: string;
  msgId?: string;
  facility?: string;
  severity?: string;
  priority?: number;
  structuredData?: StructuredData;
}

/** Where and how the relay received an event. */
export interface RelayFields {
  input: InputKind;
  peer?: string;
  /** Set when the syslog parser could not read the whole header; names what it could not read. */
  parseError?: string;
  /** Set when the message was cut to fit a size limit. */
  truncated?: { originalBytes: number; limit: number };
  /** Set when the connection ended inside the message: this is the part that arrived. */
  incomplete?: true;
}

/**
 * An event that arrived over HTTP as a JSON object: the sender's fields stay at the top level,
 * where Loggly would have indexed them had it been sent there directly, with `relay` added and a
 * `timestamp` added when the sender gave none.
 */
export interface HttpJsonEvent {
  [field: string]: unknown;
  timestamp: unknown;
  relay: RelayFields;
}

/** A normalised event, as sent to Loggly (one JSON object per line). */
export interface Event {
  /** ISO 8601, UTC, with milliseconds. */
  timestamp: string;
  message: string;
  syslog?: SyslogFields;
  /** The message body when it is a JSON object. */
  json?: Record<string, unknown>;
  relay: RelayFields;
}
