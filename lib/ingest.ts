/**
 * Where every source hands in what it received: messages become encoded records for the queue,
 * with their tags and account checked and every problem counted.
 *
 * @module
 */
import { EventEncoder } from "./encode.ts";
import type { Event, HttpJsonEvent, InputKind, RelayFields } from "./event.ts";
import type { BodyEvent } from "./http/body.ts";
import { isoUtc } from "./iso_time.ts";
import type { Logger } from "./log.ts";
import { type Counter, M, type Metrics } from "./metrics.ts";
import type { EventQueue, QueuedRecord } from "./queue/queue.ts";
import type { Frame } from "./syslog/framing.ts";
import { normaliseSyslog } from "./syslog/normalise.ts";
import { parseSyslog } from "./syslog/parse.ts";
import type { Throttle } from "./throttle.ts";
import { redactToken, type TokenPolicy } from "./tokens.ts";
import { isValidTag, MAX_TAG_LENGTH, MAX_TAGS } from "./units.ts";

/** What {@link Ingest} needs. */
export interface IngestOptions {
  /** Tags for every event (already checked). */
  tags: readonly string[];
  timeZone: string;
  maxEventBytes: number;
  now: () => Date;
  metrics: Metrics;
  throttle: Throttle;
  log: Logger;
  /** Where accepted records go. */
  queue: EventQueue;
  /** The Loggly accounts events may go to. */
  tokens: TokenPolicy;
  /** Called with each encoded event (for -vv); absent, nothing is done per event. */
  onEvent?: (bytes: Uint8Array) => void;
  /** Called with each syslog message that did not parse (the status page lists the last ones). */
  onParseError?: (input: InputKind, error: string, bytes: Uint8Array) => void;
}

/** Distinct foreign tokens named in a warning of their own; past this, they share one. */
const MAX_NAMED_TOKENS = 100;

/** Turns received messages into queue records. */
export class Ingest {
  #o: IngestOptions;
  #baseKey: string;
  readonly #encoder: EventEncoder;
  readonly #received = new Map<InputKind, Counter>();
  readonly #namedTokens = new Set<string>();

  constructor(options: IngestOptions) {
    this.#o = options;
    // The queue copies each record: the encoder reuses one buffer for every event.
    this.#encoder = new EventEncoder(options.maxEventBytes);
    this.#baseKey = [...new Set(options.tags)].sort().join(",");
  }

  /** New settings (a reload) for the events that come next. */
  configure(
    changes: Partial<Pick<IngestOptions, "tags" | "timeZone" | "tokens" | "onEvent">>,
  ): void {
    this.#o = { ...this.#o, ...changes };
    this.#baseKey = [...new Set(this.#o.tags)].sort().join(",");
  }

  /** True while the queue is full: stream readers pause, HTTP answers 503, UDP drops. */
  get full(): boolean {
    return this.#o.queue.full;
  }

  /** Resolves once the queue takes events again. */
  whenAccepting(): Promise<void> {
    return this.#o.queue.whenNotFull();
  }

  /**
   * Counts, parses and queues syslog messages that arrived together on a stream `input` from
   * `peer`; true when the queue is now full and the reader must pause (nothing is dropped).
   */
  frames(frames: readonly Frame[], input: InputKind, peer: string | undefined): boolean {
    if (frames.length > 0) {
      this.#receivedOn(input).inc(frames.length);
      // Frames read together arrived together: one clock reading serves them all.
      const now = this.#o.now();
      for (const frame of frames) this.#queue(this.syslog(frame, input, peer, now));
    }
    return this.#o.queue.full;
  }

  /** One UDP datagram: queued, or dropped and counted when the queue is full (UDP cannot wait). */
  datagram(frame: Frame, peer: string): void {
    this.#receivedOn("udp").inc();
    if (this.#o.queue.full) this.dropped("udp", "queue full");
    else this.#queue(this.syslog(frame, "udp", peer));
  }

  /**
   * Parses one syslog message received at `now` and encodes it as a record; null when it names
   * a Loggly account the relay does not forward to (counted).
   */
  syslog(
    frame: Frame,
    input: InputKind,
    peer: string | undefined,
    now: Date = this.#o.now(),
  ): QueuedRecord | null {
    const parsed = parseSyslog(frame.bytes, { now, timeZone: this.#o.timeZone });
    if (parsed.parseError !== undefined) {
      this.#o.metrics.inc(M.parseErrors, { input });
      this.#o.onParseError?.(input, parsed.parseError, frame.bytes);
    }
    if (frame.truncated) this.#count(M.truncated, input, "message over --max-message-bytes");
    if (frame.incomplete) {
      this.#count(M.incomplete, input, "connection ended inside a message, sent marked incomplete");
    }
    const { event, tags, tokens } = normaliseSyslog(parsed, frame, input, peer, now);
    const route = this.#o.tokens.route(tokens);
    if (route.kind === "foreign") {
      this.#foreign(input, route.token);
      return null;
    }
    const token = route.kind === "accepted" ? route.token : undefined;
    try {
      return this.record(event, tags, token);
    } catch {
      // A body nested too deeply for JSON.stringify: send it as text only, never crash.
      delete event.json;
      this.#count(M.parseErrors, input, "JSON body too deeply nested, sent as text");
      return this.record(event, tags, token);
    }
  }

  /**
   * Encodes an event with the tags it asked for (invalid ones dropped and counted), for the
   * relay's own account or the accepted `token`.
   */
  record(event: Event, tags: readonly string[], token?: string): QueuedRecord {
    const { bytes, cut } = this.#encoder.encode(event);
    if (cut) this.#count(M.truncated, event.relay.input, "event over Loggly's 1 MB limit, cut");
    this.#o.onEvent?.(bytes);
    const key = this.#tagKey(event.relay.input, tags);
    return token === undefined ? { bytes, tags: key } : { bytes, tags: key, token };
  }

  #queue(record: QueuedRecord | null): void {
    if (record !== null) this.#o.queue.push(record);
  }

  #receivedOn(input: InputKind): Counter {
    let counter = this.#received.get(input);
    if (counter === undefined) {
      counter = this.#o.metrics.counter(M.received, { input });
      this.#received.set(input, counter);
    }
    return counter;
  }

  /** Counts an event refused for naming a foreign token; warns once per token. */
  #foreign(input: InputKind, token: string): void {
    const key = token.toLowerCase();
    const named = this.#namedTokens.has(key);
    if (!named && this.#namedTokens.size >= MAX_NAMED_TOKENS) {
      return this.dropped(input, "foreign token"); // counted, and logged now and then
    }
    this.#o.metrics.inc(M.dropped, { input, reason: "foreign token" });
    if (!named) {
      this.#namedTokens.add(key);
      this.#o.log.warn(
        "Refused {input} events naming the Loggly token {token}, which is not this relay's: " +
          "they belong to another Loggly account. To deliver them there, add --accept-token; " +
          'until then they are counted as dropped (reason "foreign token")',
        { input, token: redactToken(token) },
      );
    }
  }

  /**
   * Events of one HTTP request, for the relay's own account or the accepted `token`: encoded,
   * then queued all together and counted; null (nothing queued) when the queue is full. Events
   * over Loggly's 1 MB limit are not queued but returned, for the caller to answer for.
   */
  httpEvents(
    events: Iterable<BodyEvent>,
    peer: string | undefined,
    tags: readonly string[],
    token?: string,
  ): { queued: number; tooLarge: BodyEvent[] } | null {
    if (this.#o.queue.full) return null;
    const tooLarge: BodyEvent[] = [];
    let queued = 0;
    for (const event of events) {
      // Pushed as soon as encoded: the encoder may reuse its buffer for the next one.
      const record = this.http(event, peer, tags, token);
      if (record === null) tooLarge.push(event);
      else {
        this.#o.queue.push(record);
        queued++;
      }
    }
    this.#receivedOn("http").inc(queued);
    return { queued, tooLarge };
  }

  /**
   * One event received over HTTP, for the relay's own account or the accepted `token`; null when
   * it is over Loggly's 1 MB event limit (the caller answers for it). JSON objects keep their
   * fields at the top level.
   */
  http(
    event: BodyEvent,
    peer: string | undefined,
    tags: readonly string[],
    token?: string,
  ): QueuedRecord | null {
    const relay: RelayFields = peer === undefined ? { input: "http" } : { input: "http", peer };
    const now = isoUtc(this.#o.now().getTime());
    let value: Event | HttpJsonEvent;
    if ("json" in event) {
      // The parsed object is the relay's own: completed in place rather than copied.
      const json = event.json as HttpJsonEvent;
      json.timestamp ??= now;
      json.relay = relay;
      value = json;
    } else {
      value = { timestamp: now, message: event.text, relay };
    }
    const bytes = this.#encoder.encodeWhole(value);
    if (bytes === null) return null;
    const key = this.#tagKey("http", tags);
    return token === undefined ? { bytes, tags: key } : { bytes, tags: key, token };
  }

  /** Counts (and now and then logs) an event dropped for `reason`. */
  dropped(input: InputKind, reason: string, by = 1): void {
    this.#o.metrics.inc(M.dropped, { input, reason }, by);
    const n = this.#o.throttle.hit(`drop:${input}:${reason}`, by);
    if (n > 0) {
      this.#o.log.warn("Dropped {n} {input} events: {reason}", { n, input, reason });
    }
  }

  /** Counts (and now and then logs) a connection closed or refused by a limit. */
  connectionClosed(input: InputKind, reason: string, detail: string): void {
    this.#o.metrics.inc(M.connectionsClosed, { input, reason });
    const n = this.#o.throttle.hit(`closed:${input}:${reason}`);
    if (n > 0) {
      this.#o.log.warn("Closed {n} {input} connections ({reason}), e.g. {detail}", {
        n,
        input,
        reason,
        detail,
      });
    }
  }

  /** Counts (and now and then logs) a reader paused because the queue is full. */
  paused(input: InputKind): void {
    this.#o.metrics.inc(M.paused, { input });
    const n = this.#o.throttle.hit(`pause:${input}`);
    if (n > 0) {
      this.#o.log.warn(
        "The queue is full: paused {input} readers {n} times (senders wait; nothing is dropped)",
        { n, input },
      );
    }
  }

  #count(metric: string, input: InputKind, what: string): void {
    this.#o.metrics.inc(metric, { input });
    const n = this.#o.throttle.hit(`${metric}:${input}`);
    if (n > 0) this.#o.log.warn("{n} {input} events: {what}", { n, input, what });
  }

  /**
   * Why an HTTP request's tags cannot be taken (the caller answers 400), or null: a tag over
   * {@link MAX_TAG_LENGTH} characters, or more than {@link MAX_TAGS} with --tag's. Taking them
   * would make a batch URL no HTTP front end accepts, and its events would be lost later.
   */
  tagsProblem(tags: readonly string[]): string | null {
    const all = new Set(this.#o.tags);
    for (const tag of tags) {
      if (tag.length > MAX_TAG_LENGTH) {
        return `The tag "${tag.slice(0, 20)}..." is ${tag.length} characters long: ` +
          `use at most ${MAX_TAG_LENGTH}`;
      }
      if (isValidTag(tag)) all.add(tag);
    }
    if (all.size > MAX_TAGS) {
      return `${all.size} tags (with the relay's --tag values) are too many: use at most ` +
        `${MAX_TAGS} per request`;
    }
    return null;
  }

  #tagKey(input: InputKind, tags: readonly string[]): string {
    if (tags.length === 0) return this.#baseKey;
    const all = new Set(this.#o.tags);
    for (const tag of tags) {
      // Syslog cannot be answered: tags past the limits are left out and counted, like bad ones.
      if (isValidTag(tag) && tag.length <= MAX_TAG_LENGTH && all.size < MAX_TAGS) all.add(tag);
      else if (all.has(tag)) continue;
      else {
        this.#o.metrics.inc(M.tagsDropped, { input });
        const n = this.#o.throttle.hit(`tag:${input}`);
        if (n > 0) {
          this.#o.log.warn(
            "Left out {n} tags from {input} events (e.g. {tag}): Loggly accepts only " +
              `letters, digits, -, . and _, here at most ${MAX_TAGS} tags of ` +
              `${MAX_TAG_LENGTH} characters`,
            { n, input, tag: JSON.stringify(tag.slice(0, 64)) },
          );
        }
      }
    }
    return [...all].sort().join(",");
  }
}
