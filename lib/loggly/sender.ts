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
}

/** How often a 401/403 is logged while it lasts. */
const BAD_TOKEN_LOG_INTERVAL_MS = 60_000;

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
  #lastBadTokenLog = -Infinity;

  constructor(queue: EventQueue, options: SenderOptions) {
    this.#queue = queue;
    this.#o = { requestTimeoutMs: 30_000, log: logger("sender"), ...options };
    this.#batcher = new Batcher({
      maxEvents: options.batchMaxEvents,
      maxBytes: options.batchMaxBytes,
      lingerMs: options.lingerMs,
    });
    queue.onAvailable(() => this.#wake.notify());
  }

  start(): void {
    this.#loop ??= this.#run();
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
          this.#ready.push(...this.#batcher.add(record, now));
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
        this.#queue.ack(records);
        this.#o.metrics.inc(M.sent, {}, records.length);
        return;
      }
      if (verdict === "split") {
        const half = Math.ceil(records.length / 2);
        this.#o.log.warn("Loggly answered 413 for {events} events; sending them in two halves", {
          events: records.length,
        });
        await Promise.all([
          this.#deliver(this.#sub(batch, records.slice(0, half))),
          this.#deliver(this.#sub(batch, records.slice(half))),
        ]);
        return;
      }
      if (verdict === "reject") {
        this.#o.log.error(
          "Loggly refused {events} events with {status}: {answer}; they go to the dead-letter file",
          { events: records.length, status: answer.status, answer: answer.text.slice(0, 500) },
        );
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
      if (verdict === "bad-token") {
        wait = Math.max(wait, this.#o.retryMaxDelayMs);
        this.#logBadToken(answer.status!, records.length);
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
    return { tags: batch.tags, records, bytes, openedAt: batch.openedAt };
  }

  #logBadToken(status: number, events: number): void {
    const now = this.#o.now();
    if (now - this.#lastBadTokenLog < BAD_TOKEN_LOG_INTERVAL_MS) return;
    this.#lastBadTokenLog = now;
    this.#o.log.error(
      "Loggly answered {status}: the token was refused. Check --token (Source Setup > Customer " +
        "Tokens); {events} events are kept and retried every {wait} ms until it is accepted",
      { status, events, wait: this.#o.retryMaxDelayMs },
    );
  }

  async #post(
    batch: Batch,
  ): Promise<{ status: number | null; text: string; retryAfterMs: number | null }> {
    const tags = batch.tags === "" ? "" : `tag/${batch.tags}/`;
    const url = `${this.#o.url}/bulk/${this.#o.token}/${tags}`;
    const signal = AbortSignal.any([
      this.#abort.signal,
      AbortSignal.timeout(this.#o.requestTimeoutMs),
    ]);
    try {
      const response = await this.#o.fetch(url, {
        method: "POST",
        body: joinLines(batch),
        headers: { "content-type": "text/plain", "user-agent": `loggly-relay/${VERSION}` },
        signal,
      });
      const text = await response.text();
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), this.#o.now());
      return { status: response.status, text, retryAfterMs };
    } catch (error) {
      return { status: null, text: describeError(error), retryAfterMs: null };
    }
  }
}

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
