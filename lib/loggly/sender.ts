/**
 * Takes records from the queue, batches them and POSTs them to Loggly's bulk endpoint, several
 * requests in flight, retrying until Loggly accepts. Knows nothing of syslog.
 *
 * @module
 */
import { type Logger, logger } from "../log.ts";
import { M, type Metrics } from "../metrics.ts";
import type { EventQueue, QueuedRecord } from "../queue/queue.ts";
import { Notifier, sleep } from "../signal.ts";
import { redactToken } from "../tokens.ts";
import { VERSION } from "../version.ts";
import { type Batch, Batcher } from "./batcher.ts";
import { parseRetryAfter, retryDelay, verdictFor } from "./retry.ts";

/** Where rejected events go: called with the records, Loggly's status and its answer. */
export type DeadLetter = (
  records: readonly QueuedRecord[],
  status: number,
  answer: string,
) => Promise<void>;

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
}

/** Something that drains a queue until told to stop. */
export interface Drain {
  start(): void;
  /** Stops taking new work, flushes what is held for up to `timeoutMs`; returns the events left unsent. */
  stop(timeoutMs: number): Promise<number>;
  /** Since when (ms, the drain's clock) every request has failed; null while deliveries succeed. */
  readonly failingSince: number | null;
}

/** How often a 401/403/404 is logged while it lasts. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Base request timeout, plus one second per 100 KB of body for slow links. */
const REQUEST_TIMEOUT_MS = 30_000;
const REQUEST_BYTES_PER_SECOND = 100_000;

/** The Loggly bulk sender. */
export class Sender implements Drain {
  readonly #queue: EventQueue;
  readonly #o: Required<Omit<SenderOptions, "log">> & { log: Logger };
  readonly #batcher: Batcher;
  readonly #ready: Batch[] = [];
  readonly #wake = new Notifier();
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #stopping = false;
  #loop: Promise<void> | null = null;
  #lastRefusalLog = -Infinity;
  #failingSince: number | null = null;

  constructor(queue: EventQueue, options: SenderOptions) {
    this.#queue = queue;
    this.#o = { requestTimeoutMs: REQUEST_TIMEOUT_MS, log: logger("sender"), ...options };
    this.#batcher = new Batcher({
      maxEvents: options.batchMaxEvents,
      maxBytes: options.batchMaxBytes,
      lingerMs: options.lingerMs,
    });
    queue.onAvailable(() => this.#wake.notify());
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

  async stop(timeoutMs: number): Promise<number> {
    this.#stopping = true;
    this.#wake.notify();
    const timer = setTimeout(() => this.#abort.abort(), timeoutMs);
    try {
      await this.#loop;
      await Promise.all(this.#inFlight);
    } finally {
      clearTimeout(timer);
      this.#abort.abort();
    }
    return this.#queue.heldEvents;
  }

  async #run(): Promise<void> {
    const { concurrency, batchMaxEvents } = this.#o;
    while (!this.#abort.signal.aborted) {
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
      while (this.#inFlight.size < concurrency && this.#ready.length > 0) {
        const request = this.#deliver(this.#ready.shift()!).finally(() => {
          this.#inFlight.delete(request);
          this.#wake.notify();
        });
        this.#inFlight.add(request);
      }
      const idle = this.#ready.length === 0 && this.#queue.pending === 0 &&
        this.#batcher.openRecords === 0;
      if (this.#stopping && idle && this.#inFlight.size === 0) return;
      const due = this.#batcher.nextDue();
      await this.#wake.wait(due === null ? null : due - this.#o.now());
    }
  }

  async #deliver(batch: Batch): Promise<void> {
    const { records } = batch;
    for (let attempt = 0; !this.#abort.signal.aborted; attempt++) {
      const answer = await this.#post(batch);
      const verdict = verdictFor(answer.status, records.length);
      this.#o.metrics.inc(M.requests, { status: String(answer.status ?? "error") });
      if (verdict === "delivered") {
        this.#failingSince = null;
        this.#queue.ack(records);
        this.#o.metrics.inc(M.sent, {}, records.length);
        return;
      }
      if (this.#abort.signal.aborted) return; // shutdown gave up: the events stay unsent
      if (verdict !== "split" && verdict !== "reject") this.#failingSince ??= this.#o.now();
      if (verdict === "split") {
        const half = Math.ceil(records.length / 2);
        this.#o.log.warn("Loggly answered 413 for {events} events; sending them in two halves", {
          events: records.length,
        });
        // One after the other, so that a split never exceeds --concurrency.
        await this.#deliver(this.#sub(batch, records.slice(0, half)));
        await this.#deliver(this.#sub(batch, records.slice(half)));
        return;
      }
      if (verdict === "reject") {
        await this.#o.deadLetter(records, answer.status!, answer.text);
        this.#queue.ack(records);
        return;
      }
      let wait = retryDelay(
        attempt,
        { initialMs: this.#o.retryInitialDelayMs, maxMs: this.#o.retryMaxDelayMs },
        this.#o.random,
        answer.retryAfterMs,
      );
      if (verdict === "bad-token" || verdict === "bad-endpoint") {
        wait = Math.max(wait, this.#o.retryMaxDelayMs);
        this.#logRefusal(verdict, answer.status!, records.length, batch.token);
      } else {
        this.#o.log.warn(
          "Sending {events} events failed ({reason}); retry {attempt} in {wait} ms",
          {
            events: records.length,
            reason: answer.status === null ? answer.text : `HTTP ${answer.status}`,
            attempt: attempt + 1,
            wait,
          },
        );
      }
      this.#o.metrics.inc(M.retries);
      await sleep(wait, this.#abort.signal);
    }
  }

  #sub(batch: Batch, records: QueuedRecord[]): Batch {
    const bytes = records.reduce((sum, r) => sum + r.bytes.length + 1, -1);
    return { ...batch, records, bytes };
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

  async #post(
    batch: Batch,
  ): Promise<{ status: number | null; text: string; retryAfterMs: number | null }> {
    const tags = batch.tags === "" ? "" : `tag/${batch.tags}/`;
    const url = `${this.#o.url}/bulk/${batch.token ?? this.#o.token}/${tags}`;
    const timeoutMs = this.#o.requestTimeoutMs +
      Math.floor(batch.bytes / REQUEST_BYTES_PER_SECOND) * 1000;
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(timeoutMs)]);
    try {
      const response = await this.#o.fetch(url, {
        method: "POST",
        body: joinLines(batch),
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
        };
      }
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), this.#o.now());
      return { status: response.status, text, retryAfterMs };
    } catch (error) {
      return { status: null, text: describeError(error), retryAfterMs: null };
    }
  }
}

/** Loggly's acceptance: `{"response":"ok"}`, whatever the spacing. */
const LOGGLY_OK = /"response"\s*:\s*"ok"/;

/** The request body: the batch's records separated by newlines. */
export function joinLines(batch: Batch): Uint8Array<ArrayBuffer> {
  const body = new Uint8Array(batch.bytes);
  let at = 0;
  for (const record of batch.records) {
    if (at > 0) body[at++] = 10;
    body.set(record.bytes, at);
    at += record.bytes.length;
  }
  return body;
}

/**
 * A network error with its cause ("fetch failed" alone says nothing). The cause may quote the
 * URL, token included: the log redactor hides it.
 */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
