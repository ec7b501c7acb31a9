/**
 * The HTTP input (Hono): Loggly-compatible `/inputs` and `/bulk` paths, a plain JSON API at
 * `/v1/events`, and `/healthz` and `/metrics`. Knows nothing of how events reach Loggly: it hands
 * them to the ingest and answers only once the queue holds them (on disk, with a spool).
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { type Context, Hono } from "hono";
import type { Ingest } from "../ingest.ts";
import type { Logger } from "../log.ts";
import { M, type Metrics } from "../metrics.ts";
import { STATUS_PAGE } from "../status/page.ts";
import type { StatusReport } from "../status/report.ts";
import type { EventQueue } from "../queue/queue.ts";
import {
  type Body,
  BodyBuffers,
  BodyError,
  type ParsedBody,
  parseEvents,
  readBody,
} from "./body.ts";

/** What the HTTP app checks, which a reload changes in place. */
export interface HttpAppLimits {
  /**
   * Tokens accepted in Loggly paths and as bearer tokens (the relay's own, --http-token and
   * --accept-token).
   */
  pathTokens: readonly string[];
  /** --accept-token values: events sent with one in the path go to that Loggly account. */
  accountTokens?: readonly string[];
  /** --http-token values: when set, /v1/events needs one as a bearer token. */
  bearerTokens: readonly string[];
  maxBodyBytes: number;
}

/** What the HTTP app needs. */
export interface HttpAppOptions extends HttpAppLimits {
  ingest: Ingest;
  queue: EventQueue;
  metrics: Metrics;
  log: Logger;
  /** True when the app listens on loopback only: /healthz and /metrics are then open. */
  loopback: boolean;
  /** Why the relay cannot accept now (null when it can), for /healthz. */
  unhealthy: () => string | null;
  /** The status report for /status.json (and the page at / that shows it); absent: no page. */
  status?: () => StatusReport;
}

/** The HTTP app, and how a reload changes what it checks. */
export interface HttpApp {
  /** Serve it with `Deno.serve(app.fetch)`. */
  readonly app: Hono<Env>;
  /** Applies new tokens and body limit to requests from now on. */
  configure(limits: HttpAppLimits): void;
}

/** Longest wait for events to be stored before answering 503 instead. */
const FLUSH_WAIT_MS = 10_000;
/** Seconds a client is asked to wait when the queue is full. */
const RETRY_AFTER_SECONDS = 5;

type Env = { Bindings: { remoteAddr?: { hostname?: string } } };

/** Builds the Hono app. */
export function createHttpApp(o: HttpAppOptions): HttpApp {
  const app = new Hono<Env>({ strict: false });
  const buffers = new BodyBuffers();
  const encode = (tokens: readonly string[]) => tokens.map((t) => new TextEncoder().encode(t));
  let acceptedTokens: Uint8Array[] = [];
  let accountTokens: Uint8Array[] = [];
  let httpTokens: Uint8Array[] = [];
  let bearers: Uint8Array[] = [];
  let maxBodyBytes = 0;
  const configure = (limits: HttpAppLimits) => {
    acceptedTokens = encode(limits.pathTokens);
    const accounts = limits.accountTokens ?? [];
    accountTokens = encode(accounts);
    // Beyond loopback /v1/events is never open: without --http-token the relay's token is
    // required (not an --accept-token: /v1/events has no way to name another account).
    httpTokens = encode(limits.bearerTokens);
    bearers = limits.bearerTokens.length > 0 || o.loopback
      ? httpTokens
      : encode(limits.pathTokens.filter((t) => !accounts.includes(t)));
    maxBodyBytes = limits.maxBodyBytes;
  };
  configure(o);

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    o.metrics.inc(M.httpRequests, { status: String(c.res.status) });
    o.metrics.inc(M.httpSeconds, {}, (performance.now() - started) / 1000);
  });

  const loggly = (mode: "one" | "lines") => async (c: Context<Env>) => {
    const token = c.req.param("token") ?? "";
    if (!anyEqual(token, acceptedTokens)) {
      return fail(c, 403, "This token is not accepted here: use the relay's Loggly token");
    }
    const account = anyEqual(token, accountTokens) ? token : undefined;
    const headerTags = c.req.header("x-loggly-tag");
    if (headerTags !== undefined && headerTags.trim() === "") {
      return fail(c, 400, "X-LOGGLY-TAG is empty: leave the header out or give tags");
    }
    const tags = [...splitTags(c.req.param("tags")), ...splitTags(headerTags)];
    return await ingest(c, mode, tags, { response: "ok" }, account);
  };
  for (const [kind, mode] of [["inputs", "one"], ["bulk", "lines"]] as const) {
    const paths = [`/${kind}/:token`, `/${kind}/:token/tag/:tags`];
    app.post(paths[0], loggly(mode));
    app.post(paths[1], loggly(mode));
    for (const path of paths) app.all(path, (c) => wrongMethod(c, "POST"));
  }

  app.post("/v1/events", async (c) => {
    if (bearers.length > 0 && !anyEqual(bearerOf(c), bearers)) {
      return fail(c, 401, "Give Authorization: Bearer <one of the relay's --http-token values>");
    }
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
    const mode = type === "application/json"
      ? "json"
      : type === "application/x-ndjson"
      ? "ndjson"
      : type === "text/plain"
      ? "lines"
      : null;
    if (mode === null) {
      return fail(
        c,
        415,
        `Content-Type "${type}" is not accepted: use application/json, application/x-ndjson ` +
          "or text/plain",
      );
    }
    return await ingest(c, mode, splitTags(c.req.header("x-loggly-tag")), { response: "ok" });
  });
  app.all("/v1/events", (c) => wrongMethod(c, "POST"));

  app.get("/healthz", (c) => {
    const denied = guard(c);
    if (denied) return denied;
    const reason = o.unhealthy();
    return reason === null
      ? c.json({ status: "ok" })
      : c.json({ status: "unavailable", reason }, 503);
  });
  app.get("/metrics", (c) => {
    const denied = guard(c);
    if (denied) return denied;
    return c.text(o.metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" });
  });
  const { status } = o;
  if (status !== undefined) {
    // The page holds no data (it asks /status.json, guarded as /metrics is): open everywhere,
    // so that a browser beyond loopback can load it and then ask for the token.
    app.get("/", (c) =>
      c.html(STATUS_PAGE, 200, {
        "cache-control": "no-store",
        "content-security-policy":
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
          "connect-src 'self'; img-src 'self' data:",
      }));
    app.get("/status.json", (c) => {
      const denied = guard(c);
      if (denied) return denied;
      return c.json(status(), 200, { "cache-control": "no-store" });
    });
  }
  const readOnly = ["/healthz", "/metrics", ...(status === undefined ? [] : ["/", "/status.json"])];
  for (const path of readOnly) app.all(path, (c) => wrongMethod(c, "GET"));

  app.notFound((c) =>
    fail(c, 404, "No such path: POST to /inputs/TOKEN/, /bulk/TOKEN/ or /v1/events")
  );
  app.onError((error, c) => {
    o.log.error("HTTP request failed: {error}", { error });
    return fail(c, 500, "The relay failed to handle this request; it is logged");
  });

  /** /healthz and /metrics: open on loopback, else behind a bearer --http-token. */
  function guard(c: Context<Env>): Response | null {
    if (o.loopback || (httpTokens.length > 0 && anyEqual(bearerOf(c), httpTokens))) return null;
    return fail(c, 403, "Give Authorization: Bearer <--http-token> to read this from the network");
  }

  async function ingest(
    c: Context<Env>,
    mode: "one" | "lines" | "json" | "ndjson",
    tags: string[],
    ok: Record<string, unknown>,
    account?: string,
  ): Promise<Response> {
    const tagProblem = o.ingest.tagsProblem(tags);
    if (tagProblem !== null) return fail(c, 400, tagProblem);
    if (o.ingest.full) return busy(c);
    let body: Body;
    try {
      body = await readBody(c.req.raw, maxBodyBytes, buffers);
    } catch (error) {
      if (error instanceof BodyError) return fail(c, error.status, error.message);
      throw error;
    }
    let parsed: ParsedBody;
    let taken: ReturnType<Ingest["httpEvents"]>;
    try {
      // The events are parsed as the intake takes them: the body is needed until it returns.
      parsed = parseEvents(body.bytes, mode);
      taken = o.ingest.httpEvents(parsed.events, c.env?.remoteAddr?.hostname, tags, account);
    } finally {
      body.release();
    }
    if (taken === null) return busy(c); // the queue filled while the body was read
    const rejected = [...parsed.rejected];
    for (const event of taken.tooLarge) {
      rejected.push({ line: event.line, error: "event over Loggly's 1 MB limit" });
    }
    const queued = taken.queued;
    // With a spool, on disk before we answer; a disk that cannot be written gets a 503, not a hang.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const persisted = await Promise.race([
      o.queue.flushed().then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), FLUSH_WAIT_MS)),
    ]);
    clearTimeout(timer);
    if (!persisted) {
      c.header("retry-after", String(RETRY_AFTER_SECONDS));
      return fail(c, 503, "The relay could not store the events in time (disk?): retry later");
    }
    if (rejected.length === 0) return c.json(ok);
    rejected.sort((a, b) => a.line - b.line);
    o.metrics.inc(M.dropped, { input: "http", reason: "refused line" }, rejected.length);
    const status = taken.tooLarge.length > 0 && parsed.rejected.length === 0 ? 413 : 400;
    return c.json({
      response: "error",
      message: `Refused ${rejected.length} of ${rejected.length + queued} events ` +
        `(lines ${rejected.map((r) => r.line).join(", ")}); the other ${queued} were ` +
        "accepted: send only the refused ones again, fixed",
      accepted: queued,
      rejected,
    }, status);
  }

  function busy(c: Context<Env>): Response {
    o.ingest.dropped("http", "queue full");
    c.header("retry-after", String(RETRY_AFTER_SECONDS));
    return fail(c, 503, "The relay's queue is full: retry later");
  }

  return { app, configure };
}

function fail(c: Context, status: number, message: string): Response {
  return c.json({ response: "error", message }, status as 400);
}

function wrongMethod(c: Context, allowed: string): Response {
  c.header("allow", allowed);
  return fail(c, 405, `Method ${c.req.method} is not allowed here: use ${allowed}`);
}

function splitTags(value: string | undefined): string[] {
  return (value ?? "").split(",").map((t) => t.trim()).filter((t) => t !== "");
}

function bearerOf(c: Context): string {
  const header = c.req.header("authorization") ?? "";
  return header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : "";
}

/** Constant-time comparison of `given` against each accepted token. */
function anyEqual(given: string, accepted: readonly Uint8Array[]): boolean {
  const bytes = new TextEncoder().encode(given);
  let match = false;
  for (const token of accepted) {
    const same = bytes.length === token.length && timingSafeEqual(bytes, token);
    match = match || same;
  }
  return match;
}
