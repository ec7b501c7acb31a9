/**
 * A stand-in for Loggly's HTTP inputs: checks path, token, tags and Loggly's size limits, records
 * what it accepted, and can fail on purpose (an HTTP status for a while, or be down altogether).
 *
 * @module
 */

/** One event the stand-in accepted, with the tags of its request. */
export interface Received {
  tags: string[];
  event: Record<string, unknown>;
  /** The customer token of the request that carried it. */
  token: string;
}

/** A planned failure: answer `status` (with an optional Retry-After) for the next `times` requests. */
export interface Failure {
  status: number;
  times: number;
  retryAfter?: string;
  body?: string;
}

const MAX_REQUEST_BYTES = 5_000_000;
const MAX_EVENT_BYTES = 1_000_000;
/** Longest request target HTTP front ends commonly accept (nginx's default buffers hold 8 KB). */
const MAX_URL_BYTES = 8192;
const TAG = /^[A-Za-z0-9._-]+$/;

/** The stand-in server. */
export class LogglyStub {
  readonly token: string;
  /** Tokens of the accounts it has (the first is `token`). */
  readonly accounts: readonly string[];
  readonly received: Received[] = [];
  /** Breaches of Loggly's rules seen in requests (the relay must cause none). */
  readonly violations: string[] = [];
  /** Status of every request answered, in order. */
  readonly statuses: number[] = [];
  /** Sizes of request bodies, in order. */
  readonly requestBytes: number[] = [];
  /** When each request came in (Date.now()), in order. */
  readonly requestTimes: number[] = [];
  /** Delay before each answer, to hold requests open. */
  delayMs = 0;
  /** Most requests that were open at once. */
  maxConcurrent = 0;
  /** While true, requests wait unanswered (after `delayMs`) until {@link LogglyStub.release}. */
  hold = false;
  #held: (() => void)[] = [];
  #open = 0;
  #failures: Failure[] = [];
  #server: Deno.HttpServer | null = null;
  #port = 0;
  #waiters = new Set<() => void>();

  constructor(token: string, ...otherAccounts: string[]) {
    this.token = token;
    this.accounts = [token, ...otherAccounts];
  }

  /** The base URL to give the relay as --loggly-url. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Starts serving (again, on the same port after `stop`). */
  start(): this {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: this.#port, onListen: () => {} },
      (request) => this.#handle(request),
    );
    this.#port = (this.#server.addr as Deno.NetAddr).port;
    return this;
  }

  /** Stops serving: the relay then meets connection refused, a real outage. */
  async stop(): Promise<void> {
    await this.#server?.shutdown();
    this.#server = null;
  }

  /** Queues failures, answered before any success. */
  fail(failure: Failure): void {
    this.#failures.push({ ...failure });
  }

  /** Requests open now: received and not yet answered. */
  get openRequests(): number {
    return this.#open;
  }

  /** Lets every request held by `hold` go on to its answer. */
  release(): void {
    for (const go of this.#held.splice(0)) go();
  }

  /** Messages of all received events. */
  messages(): string[] {
    return this.received.map((r) => String(r.event.message));
  }

  /**
   * Resolves once `predicate` holds (checked on every request and every 10 ms), or rejects after
   * `timeoutMs` naming what was received.
   */
  async waitFor(predicate: () => boolean, timeoutMs = 10_000, what = "events"): Promise<void> {
    if (predicate()) return;
    let wake = () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Timed out waiting for ${what}; got ${this.received.length}`)),
        timeoutMs,
      );
    });
    try {
      while (!predicate()) {
        let poll: ReturnType<typeof setTimeout> | undefined;
        const next = new Promise<void>((resolve) => {
          wake = resolve;
          poll = setTimeout(resolve, 10);
        });
        this.#waiters.add(wake);
        await Promise.race([next, timeout]).finally(() => clearTimeout(poll));
        this.#waiters.delete(wake);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until `count` events were accepted. */
  waitForCount(count: number, timeoutMs = 10_000): Promise<void> {
    return this.waitFor(() => this.received.length >= count, timeoutMs, `${count} events`);
  }

  /** Ends the planned failures at once: the next request succeeds. */
  recover(): void {
    this.#failures = [];
  }

  async #handle(request: Request): Promise<Response> {
    this.requestTimes.push(Date.now());
    this.maxConcurrent = Math.max(this.maxConcurrent, ++this.#open);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.hold) await new Promise<void>((resolve) => this.#held.push(resolve));
    const response = await this.#answer(request).finally(() => this.#open--);
    this.statuses.push(response.status);
    for (const wake of this.#waiters) wake();
    return response;
  }

  async #answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.length + url.search.length > MAX_URL_BYTES) {
      this.violations.push(`URL of ${url.pathname.length + url.search.length} bytes`);
      return text(414, "URI too long");
    }
    const match = /^\/(bulk|inputs)\/([^/]+)\/(?:tag\/([^/]*)\/?)?$/.exec(url.pathname);
    if (request.method !== "POST") return text(405, "method not allowed");
    if (!match) {
      this.violations.push(`bad path ${url.pathname.replace(this.token, "TOKEN")}`);
      return text(404, "not found");
    }
    const body = new Uint8Array(await request.arrayBuffer());
    this.requestBytes.push(body.length);
    const failure = this.#failures[0];
    if (failure) {
      if (--failure.times <= 0) this.#failures.shift();
      const headers: Record<string, string> = failure.retryAfter
        ? { "retry-after": failure.retryAfter }
        : {};
      return new Response(failure.body ?? "failing on purpose", {
        status: failure.status,
        headers,
      });
    }
    if (!this.accounts.includes(match[2])) return text(403, "forbidden");
    const headerTags = request.headers.get("x-loggly-tag");
    if (headerTags === "") return text(400, "empty X-LOGGLY-TAG");
    const tags = [...(match[3] ?? "").split(","), ...(headerTags ?? "").split(",")]
      .filter((t) => t !== "");
    for (const tag of tags) {
      if (!TAG.test(tag)) this.violations.push(`bad tag ${JSON.stringify(tag)}`);
    }
    if (body.length > MAX_REQUEST_BYTES) {
      this.violations.push(`request of ${body.length} bytes`);
      return text(413, "request too large");
    }
    const lines = new TextDecoder().decode(body).split("\n").filter((l) => l !== "");
    if (match[1] === "inputs" && lines.length > 1) {
      this.violations.push("several lines sent to /inputs");
    }
    for (const line of lines) {
      const size = new TextEncoder().encode(line).length;
      if (size > MAX_EVENT_BYTES) {
        this.violations.push(`event of ${size} bytes`);
        continue; // Loggly drops such an event
      }
      try {
        this.received.push({ tags, event: JSON.parse(line), token: match[2] });
      } catch {
        this.violations.push(`not JSON: ${line.slice(0, 80)}`);
      }
    }
    return new Response(JSON.stringify({ response: "ok" }), {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  }
}

function text(status: number, body: string): Response {
  return new Response(body, { status });
}

/** A token of the right shape for tests. */
export const TEST_TOKEN = "0b6d4f7e-1a2b-4c3d-9e8f-123456789abc";
