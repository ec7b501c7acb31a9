/**
 * Takes records from the queue, batches them and POSTs them to Loggly's bulk endpoint, several
 * requests in flight, retrying until Loggly accepts. While Loggly fails it sends small probes,
 * paced by outage.ts. Knows nothing of syslog.
 *
 * @module
 */
import { type Logger, logger } from "../log.ts";
import { M, type Metrics } from "../metrics.ts";
import type { EventQueue } from "../queue/queue.ts";
import { Notifier, sleep } from "../signal.ts";
import { redactToken } from "../tokens.ts";
import { VERSION } from "../version.ts";
import { type Batch, Batcher, bodyOf, eventsOf, receiptFor, splitBatch } from "./batcher.ts";
import {
  HEALTHY,
  isOutage,
  mayStart,
  nextStartAt,
  type Pacing,
  PROBE_INTERVAL_MS,
  PROBE_MAX_EVENTS,
  probeSize,
  requestDelivered,
  requestFailed,
  requestStarted,
} from "./outage.ts";
import { MAX_RETRY_AFTER_MS, parseRetryAfter, verdictFor } from "./retry.ts";

/** Where rejected events go: called with their batch, Loggly's status and its answer. */
export type DeadLetter = (batch: Batch, status: number, answer: string) => Promise<void>;

/** What the sender needs; everything with an effect is passed in. */
export interface SenderOptions {
  /** Loggly base URL, without a trailing slash. */
  url: string;
  token: string;
  fetch: typeof fetch;
  now: () => number;
  random: () => number;
  batchMaxEvents: number;
  batchMaxBytes: number;
  lingerMs: number;
  concurrency: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  /** Per-request timeout. */
  requestTimeoutMs?: number;
  deadLetter: DeadLetter;
  metrics: Metrics;
  log?: Logger;
  /** Waits `ms` on the clock of `now`, or less if `signal` aborts; real time by default. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The events a drain still held when it stopped. */
/** The settings a reload may change while the sender runs. */
export type ReconfigurableKeys =
  | "url"
  | "token"
  | "batchMaxEvents"
  | "batchMaxBytes"
  | "lingerMs"
  | "concurrency"
  | "retryInitialDelayMs"
  | "retryMaxDelayMs"
  | "deadLetter";

export interface Undelivered {
  /** Events never sent, or sent only in requests that failed: Loggly does not have them. */
  unsent: number;
  /** Events in requests the shutdown timeout aborted: Loggly may or may not have them. */
  inFlight: number;
}

/** Something that drains a queue until told to stop. */
export interface Drain {
  start(): void;
  /** Stops taking new work, flushes what is held for up to `timeoutMs`; returns what was left. */
  stop(timeoutMs: number): Promise<Undelivered>;
  /** Since when (ms, the drain's clock) every request has failed; null while deliveries succeed. */
  readonly failingSince: number | null;
  /** Loggly's last answer and when it came; null before the first (or when nothing is sent). */
  readonly lastAnswer: LastAnswer | null;
}

/** An answer from Loggly, as the status line and the status page show it. */
export interface LastAnswer {
  /** The HTTP status; null for a network error, a timeout or an answer that was not Loggly's. */
  readonly status: number | null;
  /** The error, or the start of the answer's body. */
  readonly text: string;
  /** When (ms, the drain's clock). */
  readonly at: number;
}

/** How often a 401/403/404, or an outage, is logged while it lasts. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Base request timeout, plus one second per 100 KB of body for slow links. */
const REQUEST_TIMEOUT_MS = 30_000;
const REQUEST_BYTES_PER_SECOND = 100_000;

/** The Loggly bulk sender. */
export class Sender implements Drain {
  readonly #queue: EventQueue;
  #o: Required<Omit<SenderOptions, "log">> & { log: Logger };
  readonly #batcher: Batcher;
  readonly #ready: Batch[] = [];
  readonly #wake = new Notifier();
  readonly #abort = new AbortController();
  /** Request slots: deliveries under way, including a refused batch waiting to be retried. */
  readonly #inFlight = new Set<Promise<void>>();
  #pacing: Pacing = HEALTHY;
  /** Requests waiting for Loggly's answer. */
  #requests = 0;
  /** Events in requests that the shutdown timeout aborted. */
  #aborted = 0;
  #stopping = false;
  #loop: Promise<void> | null = null;
  #lastRefusalLog = -Infinity;
  #lastOutageLog = -Infinity;
  #failingSince: number | null = null;
  #lastAnswer: LastAnswer | null = null;

  constructor(queue: EventQueue, options: SenderOptions) {
    this.#queue = queue;
    this.#o = { requestTimeoutMs: REQUEST_TIMEOUT_MS, log: logger("sender"), sleep, ...options };
    this.#batcher = new Batcher({
      maxEvents: options.batchMaxEvents,
      maxBytes: options.batchMaxBytes,
      lingerMs: options.lingerMs,
    });
    queue.onAvailable(() => this.#wake.notify());
    this.#abort.signal.addEventListener("abort", () => this.#wake.notify());
  }

  /** New settings (a reload), for the next requests; those under way finish as they began. */
  configure(changes: Partial<Pick<SenderOptions, ReconfigurableKeys>>): void {
    this.#o = { ...this.#o, ...changes };
    this.#batcher.setLimits({
      maxEvents: this.#o.batchMaxEvents,
      maxBytes: this.#o.batchMaxBytes,
      lingerMs: this.#o.lingerMs,
    });
    this.#wake.notify();
  }

  start(): void {
    this.#loop ??= this.#run().catch((error) => {
      // Never an unhandled rejection that ends the process: say loudly that delivery stopped.
      this.#o.log.fatal("The sender stopped: {error}", { error });
    });
  }

  get failingSince(): number | null {
    return this.#failingSince;
  }

  get lastAnswer(): LastAnswer | null {
    return this.#lastAnswer;
  }

  async stop(timeoutMs: number): Promise<Undelivered> {
    this.#stopping = true;
    this.#wake.notify();
    const timer = new AbortController();
    this.#o.sleep(timeoutMs, timer.signal).then(() => this.#abort.abort());
    try {
      await this.#loop;
      await Promise.all(this.#inFlight);
    } finally {
      timer.abort();
      this.#abort.abort();
    }
    const held = this.#queue.heldEvents;
    const inFlight = Math.min(this.#aborted, held);
    return { unsent: held - inFlight, inFlight };
  }

  async #run(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      const { concurrency, batchMaxEvents } = this.#o; // a reload may change them
      // Take only what the free request slots can use, so batches fill while requests are out.
      while (this.#ready.length < concurrency && this.#queue.pending > 0) {
        const now = this.#o.now();
        for (const record of this.#queue.take(batchMaxEvents)) {
          for (const batch of this.#batcher.add(record, now)) this.#ready.push(batch);
        }
      }
      this.#ready.push(
        ...(this.#stopping ? this.#batcher.drain() : this.#batcher.due(this.#o.now())),
      );
      let wakeAt = this.#batcher.nextDue();
      if (this.#pacing.failures === 0) {
        while (this.#inFlight.size < concurrency && this.#ready.length > 0) {
          this.#launch(this.#ready.shift()!);
        }
      } else if (this.#ready.length > 0 && this.#inFlight.size < concurrency) {
        // Deliveries fail: one small request when the pacing allows it.
        if (mayStart(this.#pacing, this.#o.now(), this.#requests)) this.#launch(this.#probe());
        else if (isOutage(this.#pacing) || this.#requests === 0) {
          wakeAt = Math.min(wakeAt ?? Infinity, nextStartAt(this.#pacing));
        }
      }
      const idle = this.#ready.length === 0 && this.#queue.pending === 0 &&
        this.#batcher.openRecords === 0;
      if (idle && this.#inFlight.size === 0) this.#batcher.trim();
      if (this.#stopping && idle && this.#inFlight.size === 0) return;
      await this.#pause(wakeAt === null ? null : wakeAt - this.#o.now());
    }
  }

  /** Waits for a wake-up call, at most `ms` (null: no limit) on the sender's clock. */
  async #pause(ms: number | null): Promise<void> {
    if (ms === null) return await this.#wake.wait(null);
    const timer = new AbortController();
    await Promise.race([this.#wake.wait(null), this.#o.sleep(Math.max(0, ms), timer.signal)]);
    timer.abort();
  }

  #launch(batch: Batch): void {
    this.#pacing = requestStarted(this.#pacing, this.#o.now());
    const request = this.#deliver(batch).finally(() => {
      this.#inFlight.delete(request);
      this.#wake.notify();
    });
    this.#inFlight.add(request);
  }

  /** The first few records of the first ready batch, for a request while deliveries fail. */
  #probe(): Batch {
    const batch = this.#ready[0];
    const sizes: number[] = [];
    for (const event of eventsOf(batch)) {
      if (sizes.length === PROBE_MAX_EVENTS) break;
      sizes.push(event.length);
    }
    const n = probeSize(sizes);
    if (n === batch.count) return this.#ready.shift()!;
    const [probe, rest] = splitBatch(batch, n);
    this.#ready[0] = rest;
    return probe;
  }

  /** One request for `batch`; what Loggly could not take yet goes back to the front of the line. */
  async #deliver(batch: Batch): Promise<void> {
    const events = batch.count;
    const answer = await this.#post(batch);
    if (answer.aborted) {
      this.#aborted += events; // Loggly may have them: the timeout cut the answer off
      return;
    }
    const verdict = verdictFor(answer.status, events);
    this.#o.metrics.inc(M.requests, { status: String(answer.status ?? "error") });
    const now = this.#o.now();
    this.#lastAnswer = { status: answer.status, text: answer.text.slice(0, 200), at: now };
    this.#o.log.debug("Posted {events} events ({bytes} bytes) to Loggly: {answer}", {
      events,
      bytes: batch.bytes,
      answer: answer.status ?? `no answer (${answer.text})`,
    });
    if (verdict === "delivered") {
      this.#queue.ack(receiptFor(batch));
      this.#batcher.recycle(batch);
      this.#o.metrics.inc(M.sent, {}, events);
      this.#answered(now);
      return;
    }
    if (this.#abort.signal.aborted) return; // shutdown gave up: the events stay unsent
    // A 413 or another 4xx is an answer: Loggly is up, whatever it thought of these events.
    if (verdict === "split" || verdict === "reject") this.#answered(now);
    if (verdict === "split") {
      this.#o.log.warn("Loggly answered 413 for {events} events; sending them in two halves", {
        events,
      });
      this.#ready.unshift(...splitBatch(batch, Math.ceil(events / 2)));
      return;
    }
    if (verdict === "reject") {
      await this.#o.deadLetter(batch, answer.status!, answer.text);
      this.#queue.ack(receiptFor(batch));
      this.#batcher.recycle(batch);
      return;
    }
    this.#failingSince ??= now;
    this.#o.metrics.inc(M.retries);
    if (verdict === "bad-token" || verdict === "bad-endpoint") {
      // Not an outage but a setting: this account's batch alone waits, in its slot.
      this.#logRefusal(verdict, answer.status!, events, batch.token);
      const wait = Math.max(
        this.#o.retryMaxDelayMs,
        Math.min(answer.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS),
      );
      await this.#o.sleep(wait, this.#abort.signal);
      this.#ready.unshift(batch);
      return;
    }
    const before = this.#pacing;
    this.#pacing = requestFailed(
      before,
      now,
      answer.retryAfterMs,
      { initialMs: this.#o.retryInitialDelayMs, maxMs: this.#o.retryMaxDelayMs },
      this.#o.random,
    );
    this.#ready.unshift(batch);
    this.#logFailure(before, events, answer, now);
  }

  /** Loggly answered: failures are over; if there were any, say so, and for how long. */
  #answered(now: number): void {
    const since = this.#pacing.since;
    this.#pacing = requestDelivered(this.#pacing);
    this.#failingSince = null;
    if (since === null) return;
    this.#o.log.info(
      "Loggly accepts events again after {seconds} s of failed deliveries; sending the " +
        "backlog of {events} events",
      { seconds: ((now - since) / 1000).toFixed(1), events: this.#queue.heldEvents },
    );
  }

  /** One line per failure before an outage; then one when it starts, and one a minute. */
  #logFailure(
    before: Pacing,
    events: number,
    answer: { status: number | null; text: string },
    now: number,
  ): void {
    const pacing = this.#pacing;
    const reason = answer.status === null ? answer.text : `HTTP ${answer.status}`;
    const wait = Math.max(0, nextStartAt(pacing) - now);
    if (!isOutage(pacing)) {
      this.#o.log.warn(
        "Sending {events} events failed ({reason}); retry {attempt} in {wait} ms",
        { events, reason, attempt: pacing.failures, wait },
      );
    } else if (!isOutage(before) || now - this.#lastOutageLog >= REFUSAL_LOG_INTERVAL_MS) {
      this.#lastOutageLog = now;
      this.#o.log.warn(
        "Loggly is failing ({reason}), {failures} requests in a row for {seconds} s; {held} " +
          "events are kept, and one request of at most {probe} events goes every {interval} s " +
          "(or as Retry-After asks) until Loggly accepts again",
        {
          reason,
          failures: pacing.failures,
          seconds: ((now - pacing.since!) / 1000).toFixed(1),
          held: this.#queue.heldEvents,
          probe: PROBE_MAX_EVENTS,
          interval: PROBE_INTERVAL_MS / 1000,
        },
      );
    } else {
      this.#o.log.debug("Sending {events} events failed ({reason}); next request in {wait} ms", {
        events,
        reason,
        wait,
      });
    }
  }

  #logRefusal(
    verdict: "bad-token" | "bad-endpoint",
    status: number,
    events: number,
    token: string | undefined,
  ): void {
    const now = this.#o.now();
    if (now - this.#lastRefusalLog < REFUSAL_LOG_INTERVAL_MS) return;
    this.#lastRefusalLog = now;
    const cause = verdict === "bad-token" && token !== undefined
      ? `the --accept-token ${redactToken(token)} was refused. Check it in that Loggly account`
      : verdict === "bad-token"
      ? "the token was refused. Check --token (Source Setup > Customer Tokens)"
      : "no Loggly input at that address. Check --loggly-url";
    this.#o.log.error(
      `Loggly answered {status}: ${cause}; {events} events are kept and retried every {wait} ms ` +
        "until it is accepted",
      { status, events, wait: this.#o.retryMaxDelayMs },
    );
  }

  async #post(batch: Batch): Promise<Answer> {
    const tags = batch.tags === "" ? "" : `tag/${batch.tags}/`;
    const url = `${this.#o.url}/bulk/${batch.token ?? this.#o.token}/${tags}`;
    const timeoutMs = this.#o.requestTimeoutMs +
      Math.floor(batch.bytes / REQUEST_BYTES_PER_SECOND) * 1000;
    // One timer per request, cleared when it ends: AbortSignal.timeout's lived on for the whole
    // timeout after every request (tens of thousands of live timers and dependent signals at
    // full load, promoted into V8's old generation).
    const request = new AbortController();
    const timer = setTimeout(
      () => request.abort(new DOMException("Signal timed out.", "TimeoutError")),
      timeoutMs,
    );
    const shutdown = () => request.abort(this.#abort.signal.reason);
    this.#abort.signal.addEventListener("abort", shutdown, { once: true });
    const signal = request.signal;
    this.#requests++;
    const body = bodyOf(batch);
    try {
      const response = await this.#o.fetch(url, {
        method: "POST",
        body,
        headers: { "content-type": "text/plain", "user-agent": `loggly-relay/${VERSION}` },
        // A redirect would turn the POST into a GET whose 200 is not Loggly's acceptance.
        redirect: "manual",
        signal,
      });
      const text = await response.text();
      if (response.ok && !LOGGLY_OK.test(text)) {
        // A captive portal or proxy answering 200 has not accepted anything: keep the events.
        return {
          status: null,
          text: `HTTP ${response.status} without Loggly's "ok" answer`,
          retryAfterMs: null,
          aborted: false,
        };
      }
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), this.#o.now());
      return { status: response.status, text, retryAfterMs, aborted: false };
    } catch (error) {
      const aborted = this.#abort.signal.aborted;
      return { status: null, text: describeError(error), retryAfterMs: null, aborted };
    } finally {
      this.#requests--;
      clearTimeout(timer);
      this.#abort.signal.removeEventListener("abort", shutdown);
    }
  }
}

/** What came of one request. */
interface Answer {
  /** Loggly's HTTP status; null for a network error, a timeout or a non-Loggly answer. */
  status: number | null;
  text: string;
  retryAfterMs: number | null;
  /** True when the shutdown timeout cut the request off: Loggly may have the events. */
  aborted: boolean;
}

/** Loggly's acceptance: `{"response":"ok"}`, whatever the spacing. */
export const LOGGLY_OK: RegExp = /"response"\s*:\s*"ok"/;

/**
 * A network error with its cause ("fetch failed" alone says nothing). The cause may quote the
 * URL, token included: the log redactor hides it.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
