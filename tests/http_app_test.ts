/**
 * The HTTP input's app on its own: every answer of `createHttpApp`, through `app.request()`, with
 * a real MemoryQueue, Ingest and Metrics wired as lib/relay.ts wires them.
 */
import assert from "node:assert/strict";
import { LOGGLY_MAX_EVENT_BYTES } from "../lib/config.ts";
import { createHttpApp, type HttpAppOptions } from "../lib/http/app.ts";
import { BodyBuffers, parseEvents, readBody } from "../lib/http/body.ts";
import { Ingest } from "../lib/ingest.ts";
import { logger } from "../lib/log.ts";
import { M, Metrics } from "../lib/metrics.ts";
import { MemoryQueue } from "../lib/queue/memory_queue.ts";
import { receiptOf } from "../lib/queue/queue.ts";
import { Throttle } from "../lib/throttle.ts";
import { TokenPolicy } from "../lib/tokens.ts";
import { TEST_TOKEN } from "./loggly_stub.ts";

const NOW = new Date("2026-01-02T03:04:05.678Z");
const HTTP_TOKEN = "http-token-0123456789abcdef";
const WRONG_TOKEN = "ffffffff-1a2b-4c3d-9e8f-123456789abc";
/** No answer may ever carry one of these. */
const SECRETS = [TEST_TOKEN, HTTP_TOKEN, WRONG_TOKEN];
const PEER = { remoteAddr: { hostname: "10.1.2.3" } };
const OK = { response: "ok" };

interface Options {
  bearerTokens?: string[];
  /** --accept-token values. */
  accountTokens?: string[];
  loopback?: boolean;
  maxBodyBytes?: number;
  queueMaxEvents?: number;
  tags?: string[];
  unhealthy?: HttpAppOptions["unhealthy"];
}

/** A queued event, decoded. */
interface Queued {
  tags: string;
  event: Record<string, unknown>;
}

/** The app as lib/relay.ts builds it, with its queue and metrics to look into. */
function setup(o: Options = {}) {
  const metrics = new Metrics();
  const queue = new MemoryQueue(o.queueMaxEvents ?? 100_000, 64 * 1024 * 1024);
  const ingest = new Ingest({
    tags: o.tags ?? [],
    timeZone: "UTC",
    maxEventBytes: LOGGLY_MAX_EVENT_BYTES,
    now: () => NOW,
    metrics,
    throttle: new Throttle(10_000, () => NOW.getTime()),
    log: logger("input"),
    queue,
    tokens: new TokenPolicy(TEST_TOKEN),
  });
  const bearerTokens = o.bearerTokens ?? [];
  const { app, configure } = createHttpApp({
    ingest,
    queue,
    metrics,
    log: logger("http"),
    pathTokens: [TEST_TOKEN, ...bearerTokens, ...(o.accountTokens ?? [])],
    accountTokens: o.accountTokens ?? [],
    bearerTokens,
    loopback: o.loopback ?? true,
    maxBodyBytes: o.maxBodyBytes ?? 5_000_000,
    unhealthy: o.unhealthy ?? (() => null),
  });

  /** Sends a request as from 10.1.2.3; checks that no answer leaks a token. */
  async function send(
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; headers: Headers; text: string; json: Record<string, unknown> }> {
    const response = await app.request(path, { method: "POST", ...init }, PEER);
    const text = await response.text();
    for (const secret of SECRETS) {
      assert.ok(!text.includes(secret), `a token in the answer to ${init.method ?? "POST"}`);
    }
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text);
    } catch {
      // /metrics is text
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  /** Takes every queued event out of the queue. */
  function taken(): Queued[] {
    const records = queue.take(1_000_000);
    queue.ack(receiptOf(records));
    return records.map((r) => ({
      tags: r.tags,
      event: JSON.parse(new TextDecoder().decode(r.bytes)),
    }));
  }

  return { app, configure, queue, metrics, send, taken };
}

const json = (value: unknown) => JSON.stringify(value);
const headers = (h: Record<string, string>) => ({ headers: h });

/** A body of `chunks` chunks made on demand; `pulled()` tells how many the reader asked for. */
function countingBody(chunk: Uint8Array, chunks: number) {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) controller.close();
      else {
        pulled++;
        controller.enqueue(chunk);
      }
    },
  }, { highWaterMark: 0 });
  return { init: { body, duplex: "half" } as RequestInit, pulled: () => pulled };
}

async function gzip(data: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// --- Loggly-compatible paths -----------------------------------------------------------------

Deno.test("Loggly paths answer 200 {response: ok}, with and without /tag/ and a trailing slash", async () => {
  const t = setup();
  const cases: [string, string][] = [
    [`/inputs/${TEST_TOKEN}`, ""],
    [`/inputs/${TEST_TOKEN}/`, ""],
    [`/inputs/${TEST_TOKEN}/tag/a,b`, "a,b"],
    [`/inputs/${TEST_TOKEN}/tag/a,b/`, "a,b"],
    [`/bulk/${TEST_TOKEN}`, ""],
    [`/bulk/${TEST_TOKEN}/`, ""],
    [`/bulk/${TEST_TOKEN}/tag/x`, "x"],
    [`/bulk/${TEST_TOKEN}/tag/x/`, "x"],
  ];
  for (const [path, tags] of cases) {
    const label = path.replace(TEST_TOKEN, "TOKEN");
    const answer = await t.send(path, { body: `hello ${label}` });
    assert.equal(answer.status, 200, label);
    assert.equal(answer.text, '{"response":"ok"}', label);
    assert.match(answer.headers.get("content-type") ?? "", /^application\/json/, label);
    const queued = t.taken();
    assert.equal(queued.length, 1, label);
    assert.equal(queued[0].tags, tags, label);
    assert.equal(queued[0].event.message, `hello ${label}`);
  }
  assert.equal(t.metrics.get(M.received, { input: "http" }), cases.length);
  assert.equal(t.metrics.get(M.httpRequests, { status: "200" }), cases.length);
});

Deno.test("tags from the path, X-LOGGLY-TAG and --tag are merged, sorted; invalid ones left out", async () => {
  const t = setup({ tags: ["base"] });
  const answer = await t.send(
    `/inputs/${TEST_TOKEN}/tag/b,a/`,
    { body: "tagged", ...headers({ "X-LOGGLY-TAG": " d, c ,bad tag!" }) },
  );
  assert.equal(answer.status, 200);
  assert.deepEqual(t.taken().map((q) => q.tags), ["a,b,base,c,d"]);
  assert.equal(t.metrics.get(M.tagsDropped, { input: "http" }), 1);

  await t.send(`/bulk/${TEST_TOKEN}/`, { body: "1\n2\n", ...headers({ "x-loggly-tag": "h" }) });
  assert.deepEqual(t.taken().map((q) => q.tags), ["base,h", "base,h"]);
  await t.send(`/bulk/${TEST_TOKEN}/`, { body: "untagged" });
  assert.deepEqual(t.taken().map((q) => q.tags), ["base"]);
});

Deno.test("an empty X-LOGGLY-TAG is 400, as Loggly answers, and queues nothing", async () => {
  const t = setup();
  for (const value of ["", "   "]) {
    for (const kind of ["inputs", "bulk"]) {
      const answer = await t.send(`/${kind}/${TEST_TOKEN}/`, {
        body: "x",
        ...headers({ "X-LOGGLY-TAG": value }),
      });
      assert.equal(answer.status, 400);
      assert.equal(answer.json.response, "error");
      assert.match(String(answer.json.message), /X-LOGGLY-TAG is empty/);
    }
  }
  assert.equal(t.queue.heldEvents, 0);
});

Deno.test("a wrong token is 403, and no answer ever shows a token", async () => {
  const t = setup({ bearerTokens: [HTTP_TOKEN] });
  for (
    const path of [
      `/inputs/${WRONG_TOKEN}/`,
      `/inputs/${WRONG_TOKEN}/tag/a/`,
      `/bulk/${WRONG_TOKEN}`,
      `/bulk/${WRONG_TOKEN}/tag/a`,
      `/bulk/${TEST_TOKEN}x/`,
      `/bulk/${TEST_TOKEN.slice(0, -1)}/`,
    ]
  ) {
    const answer = await t.send(path, { body: "x" });
    assert.equal(answer.status, 403);
    assert.match(String(answer.json.message), /token is not accepted/);
  }
  // --http-token values are accepted in Loggly paths too.
  assert.equal((await t.send(`/bulk/${HTTP_TOKEN}/`, { body: "x" })).status, 200);
  assert.equal(t.queue.heldEvents, 1);
});

Deno.test("/inputs: a JSON object keeps its fields at the top level; text is one event", async () => {
  const t = setup();
  const object = { level: "warn", user: { id: 7 }, message: "from JSON" };
  assert.equal((await t.send(`/inputs/${TEST_TOKEN}/`, { body: json(object) })).status, 200);
  const pretty = JSON.stringify({ a: 1, b: [1, 2] }, null, 2) + "\n";
  assert.equal((await t.send(`/inputs/${TEST_TOKEN}/`, { body: pretty })).status, 200);
  const text = "first line\nsecond line\r\n  third\n";
  assert.equal((await t.send(`/inputs/${TEST_TOKEN}/`, { body: text })).status, 200);
  const [fromJson, fromPretty, fromText] = t.taken().map((q) => q.event);
  assert.deepEqual(fromJson, {
    ...object,
    timestamp: NOW.toISOString(),
    relay: { input: "http", peer: "10.1.2.3" },
  });
  assert.deepEqual(fromPretty, {
    a: 1,
    b: [1, 2],
    timestamp: NOW.toISOString(),
    relay: { input: "http", peer: "10.1.2.3" },
  });
  assert.deepEqual(fromText, {
    timestamp: NOW.toISOString(),
    message: "first line\nsecond line\r\n  third",
    relay: { input: "http", peer: "10.1.2.3" },
  });
});

Deno.test("/inputs: malformed JSON is kept as text, as Loggly indexes it", async () => {
  const t = setup();
  const answer = await t.send(`/inputs/${TEST_TOKEN}/`, { body: '{"oops": ' });
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.json, { response: "ok" });
  assert.deepEqual(t.taken().map((q) => q.event.message), ['{"oops": ']);
});

Deno.test("/bulk: every line is an event; malformed JSON lines are text, so a retry duplicates nothing", async () => {
  const t = setup();
  const body = [
    json({ n: 1 }),
    "plain text line",
    '{"n": 2,',
    "",
    json({ n: 3 }),
    '{"n": 5',
    json({ n: 4 }) + "\r",
  ].join("\n") + "\n";
  const answer = await t.send(`/bulk/${TEST_TOKEN}/tag/x/`, { body });
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.json, { response: "ok" });
  const queued = t.taken();
  assert.deepEqual(
    queued.map((q) => q.event.n ?? q.event.message),
    [1, "plain text line", '{"n": 2,', 3, '{"n": 5', 4],
  );
  assert.ok(queued.every((q) => q.tags === "x"));
  assert.equal(t.metrics.get(M.received, { input: "http" }), 6);
  assert.equal(t.queue.heldEvents, 0);
});

Deno.test("/v1/events NDJSON: malformed lines refused by line number with the accepted count", async () => {
  const t = setup();
  const body = [json({ n: 1 }), '{"n": 2,', json({ n: 3 }), '{"n": 5'].join("\n");
  const answer = await t.send("/v1/events", {
    body,
    ...headers({ "content-type": "application/x-ndjson" }),
  });
  assert.equal(answer.status, 400);
  assert.equal(answer.json.response, "error");
  assert.equal(answer.json.accepted, 2);
  const rejected = answer.json.rejected as { line: number; error: string }[];
  assert.deepEqual(rejected.map((r) => r.line), [2, 4]);
  assert.ok(rejected.every((r) => /malformed JSON/.test(r.error)));
  assert.match(String(answer.json.message), /Refused 2 of 4 events \(lines 2, 4\)/);
  assert.match(String(answer.json.message), /the other 2 were accepted/);
  assert.deepEqual(t.taken().map((q) => q.event.n), [1, 3]);
});

Deno.test("/v1/events: a JSON object, a JSON array, NDJSON and text lines", async () => {
  const t = setup();
  const post = (type: string, body: BodyInit) =>
    t.send("/v1/events", { body, ...headers({ "content-type": type }) });

  assert.deepEqual((await post("application/json; charset=utf-8", json({ a: 1 }))).json, OK);
  assert.deepEqual(t.taken().map((q) => q.event.a), [1]);

  const array = json([{ a: 2 }, "text item", { a: 3 }]);
  assert.deepEqual((await post("application/json", array)).json, OK);
  assert.deepEqual(t.taken().map((q) => q.event.a ?? q.event.message), [2, "text item", 3]);

  const ndjson = `${json({ a: 4 })}\n\n${json({ a: 5 })}\n`;
  assert.deepEqual((await post("application/x-ndjson", ndjson)).json, OK);
  assert.deepEqual(t.taken().map((q) => q.event.a), [4, 5]);

  assert.deepEqual((await post("text/plain", "line one\r\nline two\n\n")).json, OK);
  assert.deepEqual(t.taken().map((q) => q.event.message), ["line one", "line two"]);

  // NDJSON sent as application/json is read line by line.
  assert.deepEqual(
    (await post("application/json", `${json({ a: 6 })}\n${json({ a: 7 })}`)).json,
    OK,
  );
  assert.deepEqual(t.taken().map((q) => q.event.a), [6, 7]);

  // X-LOGGLY-TAG applies here too.
  const tagged = await t.send("/v1/events", {
    body: "t",
    ...headers({ "content-type": "text/plain", "x-loggly-tag": "p,q" }),
  });
  assert.equal(tagged.status, 200);
  assert.deepEqual(t.taken().map((q) => q.tags), ["p,q"]);
});

Deno.test("/v1/events: NDJSON lines and array items that are not objects are refused by number", async () => {
  const t = setup();
  const ndjson = await t.send("/v1/events", {
    body: `${json({ a: 1 })}\n42\nnot json\n${json({ a: 2 })}`,
    ...headers({ "content-type": "application/x-ndjson" }),
  });
  assert.equal(ndjson.status, 400);
  assert.equal(ndjson.json.accepted, 2);
  assert.deepEqual((ndjson.json.rejected as { line: number }[]).map((r) => r.line), [2, 3]);
  assert.deepEqual(t.taken().map((q) => q.event.a), [1, 2]);

  const array = await t.send("/v1/events", {
    body: json([{ a: 3 }, 5, null]),
    ...headers({ "content-type": "application/json" }),
  });
  assert.equal(array.status, 400);
  assert.equal(array.json.accepted, 1);
  assert.deepEqual((array.json.rejected as { line: number }[]).map((r) => r.line), [2, 3]);
  assert.deepEqual(t.taken().map((q) => q.event.a), [3]);
});

Deno.test("/v1/events: a gzip body is read; bad gzip is 400; another encoding is 415", async () => {
  const t = setup();
  const body = await gzip(`${json({ z: 1 })}\n${json({ z: 2 })}\n`);
  const ok = await t.send("/v1/events", {
    body: body as BodyInit,
    ...headers({ "content-type": "application/x-ndjson", "content-encoding": "gzip" }),
  });
  assert.deepEqual(ok.json, OK);
  assert.deepEqual(t.taken().map((q) => q.event.z), [1, 2]);

  const gzipped = await t.send(`/bulk/${TEST_TOKEN}/`, {
    body: (await gzip("bulk one\nbulk two\n")) as BodyInit,
    ...headers({ "content-encoding": "GZIP" }),
  });
  assert.equal(gzipped.status, 200);
  assert.deepEqual(t.taken().map((q) => q.event.message), ["bulk one", "bulk two"]);

  const bad = await t.send("/v1/events", {
    body: "this is not gzip",
    ...headers({ "content-type": "text/plain", "content-encoding": "gzip" }),
  });
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.message), /could not be read/);

  const br = await t.send("/v1/events", {
    body: "x",
    ...headers({ "content-type": "text/plain", "content-encoding": "br" }),
  });
  assert.equal(br.status, 415);
  assert.match(String(br.json.message), /Content-Encoding "br"/);
  assert.equal(t.queue.heldEvents, 0);
});

Deno.test("/v1/events: an unknown or missing Content-Type is 415", async () => {
  const t = setup();
  for (const type of ["application/xml", "application/x-www-form-urlencoded", null]) {
    const answer = await t.send("/v1/events", {
      body: type === null ? new Uint8Array([1, 2]) : "<a/>",
      ...(type === null ? {} : headers({ "content-type": type })),
    });
    assert.equal(answer.status, 415, String(type));
    assert.match(String(answer.json.message), /application\/json, application\/x-ndjson/);
  }
  assert.equal(t.queue.heldEvents, 0);
});

Deno.test("/v1/events: with --http-token a bearer token is required (401 without or wrong)", async () => {
  const t = setup({ bearerTokens: [HTTP_TOKEN] });
  const post = (auth?: string) =>
    t.send("/v1/events", {
      body: "x",
      ...headers({ "content-type": "text/plain", ...(auth ? { authorization: auth } : {}) }),
    });
  for (
    const auth of [
      undefined,
      `Bearer ${WRONG_TOKEN}`,
      `Bearer ${TEST_TOKEN}`, // the Loggly token is for paths, not for bearer auth
      `Basic ${btoa(`u:${HTTP_TOKEN}`)}`,
      `Bearer ${HTTP_TOKEN}x`,
      "Bearer ",
    ]
  ) {
    const answer = await post(auth);
    assert.equal(answer.status, 401, auth);
    assert.match(String(answer.json.message), /Authorization: Bearer/);
  }
  assert.equal(t.queue.heldEvents, 0);
  assert.equal((await post(`Bearer ${HTTP_TOKEN}`)).status, 200);
  assert.equal((await post(`bearer   ${HTTP_TOKEN} `)).status, 200);
  assert.equal(t.queue.heldEvents, 2);
});

Deno.test("configure: new tokens and body limit apply to the next request (a reload)", async () => {
  const t = setup({ bearerTokens: [HTTP_TOKEN], loopback: false });
  const NEW_TOKEN = "http-token-fedcba9876543210";
  const post = (auth: string, body = "x") =>
    t.send("/v1/events", {
      body,
      ...headers({ "content-type": "text/plain", authorization: auth }),
    });
  assert.equal((await post(`Bearer ${HTTP_TOKEN}`)).status, 200);
  t.configure({
    pathTokens: [TEST_TOKEN, NEW_TOKEN],
    accountTokens: [],
    bearerTokens: [NEW_TOKEN],
    maxBodyBytes: 10,
  });
  assert.equal((await post(`Bearer ${HTTP_TOKEN}`)).status, 401, "the old --http-token");
  assert.equal((await post(`Bearer ${NEW_TOKEN}`)).status, 200);
  assert.equal((await post(`Bearer ${NEW_TOKEN}`, "x".repeat(11))).status, 413);
  assert.equal((await t.send(`/inputs/${NEW_TOKEN}/`, { body: "y" })).status, 200);
  assert.equal((await t.send(`/inputs/${HTTP_TOKEN}/`, { body: "y" })).status, 403);
  assert.equal(t.queue.heldEvents, 3);
});

Deno.test("/v1/events without --http-token needs no credentials", async () => {
  const t = setup();
  const answer = await t.send("/v1/events", {
    body: "x",
    ...headers({ "content-type": "text/plain" }),
  });
  assert.equal(answer.status, 200);
});

// --- limits ----------------------------------------------------------------------------------

Deno.test("413 for a body over the limit: by Content-Length, before reading", async () => {
  const limit = 64 * 1024;
  const t = setup({ maxBodyBytes: limit });
  const body = "a".repeat(limit + 1);
  for (const path of [`/bulk/${TEST_TOKEN}/`, `/inputs/${TEST_TOKEN}/`, "/v1/events"]) {
    const answer = await t.send(path, {
      body,
      ...headers({ "content-type": "text/plain", "content-length": String(body.length) }),
    });
    assert.equal(answer.status, 413, path);
    assert.match(String(answer.json.message), new RegExp(`over ${limit} bytes`));
  }
  // A declared length over the limit is refused without reading a byte.
  const streamed = countingBody(new Uint8Array(1024).fill(0x61), 65);
  const declared = await t.send(`/bulk/${TEST_TOKEN}/`, {
    ...streamed.init,
    ...headers({ "content-length": String(65 * 1024) }),
  });
  assert.equal(declared.status, 413);
  assert.equal(streamed.pulled(), 0);
  // Exactly at the limit is fine.
  const atLimit = "b".repeat(limit);
  const fits = await t.send(`/inputs/${TEST_TOKEN}/`, {
    body: atLimit,
    ...headers({ "content-length": String(limit) }),
  });
  assert.equal(fits.status, 200);
  assert.equal(t.queue.heldEvents, 1);
});

Deno.test("413 for a streamed body without Content-Length, reading stops early", async () => {
  const limit = 64 * 1024;
  const t = setup({ maxBodyBytes: limit });
  const chunk = new TextEncoder().encode("c".repeat(16 * 1024 - 1) + "\n");
  const streamed = countingBody(chunk, 200); // 3.2 MB offered
  const answer = await t.send(`/bulk/${TEST_TOKEN}/`, streamed.init);
  assert.equal(answer.status, 413);
  assert.match(String(answer.json.message), /The body is over 65536 bytes/);
  // 4 chunks fit in 64 KiB: the 5th is over, and a few more may be buffered on the way.
  const pulled = streamed.pulled();
  assert.ok(pulled >= 5 && pulled < 10, `the relay read ${pulled} chunks of a body it refused`);
  assert.equal(t.queue.heldEvents, 0);
});

Deno.test("413 for a gzip bomb: the limit applies after decompression", async () => {
  const limit = 1024 * 1024;
  const t = setup({ maxBodyBytes: limit });
  // 32 MiB of short lines: every event is small, only the body is too large.
  const bomb = await gzip(("a".repeat(1023) + "\n").repeat(32 * 1024));
  assert.ok(bomb.length < limit / 8, `the bomb is ${bomb.length} bytes compressed`);
  for (const path of [`/bulk/${TEST_TOKEN}/`, "/v1/events"]) {
    const answer = await t.send(path, {
      body: bomb as BodyInit,
      ...headers({
        "content-type": "text/plain",
        "content-encoding": "gzip",
        "content-length": String(bomb.length),
      }),
    });
    assert.equal(answer.status, 413, path);
    assert.match(String(answer.json.message), /The body is over 1048576 bytes/);
  }
  assert.equal(t.queue.heldEvents, 0);
});

Deno.test("413 for an event over Loggly's 1 MB, naming its line; the others are kept", async () => {
  const t = setup();
  const big = json({ blob: "x".repeat(LOGGLY_MAX_EVENT_BYTES) });
  const answer = await t.send(`/bulk/${TEST_TOKEN}/`, {
    body: `${json({ n: 1 })}\n${big}\n${json({ n: 3 })}\n`,
  });
  assert.equal(answer.status, 413);
  assert.equal(answer.json.accepted, 2);
  assert.deepEqual(answer.json.rejected, [{ line: 2, error: "event over Loggly's 1 MB limit" }]);
  assert.deepEqual(t.taken().map((q) => q.event.n), [1, 3]);

  const text = await t.send(`/inputs/${TEST_TOKEN}/`, { body: "y".repeat(1_000_001) });
  assert.equal(text.status, 413);
  assert.deepEqual(text.json.rejected, [{ line: 1, error: "event over Loggly's 1 MB limit" }]);

  // A malformed line in the same body makes it a 400 that lists both.
  const mixed = await t.send("/v1/events", {
    body: `${big}\n{bad\n${json({ n: 9 })}`,
    ...headers({ "content-type": "application/x-ndjson" }),
  });
  assert.equal(mixed.status, 400);
  assert.deepEqual((mixed.json.rejected as { line: number }[]).map((r) => r.line), [1, 2]);
  assert.deepEqual(t.taken().map((q) => q.event.n), [9]);
});

// --- methods, paths, back-pressure -----------------------------------------------------------

Deno.test("wrong methods are 405 with Allow; unknown paths 404", async () => {
  const t = setup();
  const wrong: [string, string, string][] = [
    ["GET", `/bulk/${TEST_TOKEN}/`, "POST"],
    ["GET", `/bulk/${TEST_TOKEN}/tag/x/`, "POST"],
    ["PUT", `/inputs/${TEST_TOKEN}`, "POST"],
    ["DELETE", `/inputs/${TEST_TOKEN}/tag/x`, "POST"],
    ["GET", "/v1/events", "POST"],
    ["POST", "/healthz", "GET"],
    ["PUT", "/metrics", "GET"],
  ];
  for (const [method, path, allowed] of wrong) {
    const label = `${method} ${path.replace(TEST_TOKEN, "TOKEN")}`;
    const answer = await t.send(path, { method, ...(method === "GET" ? {} : { body: "x" }) });
    assert.equal(answer.status, 405, label);
    assert.equal(answer.headers.get("allow"), allowed, label);
    assert.match(String(answer.json.message), new RegExp(`Method ${method} is not allowed`));
  }
  for (const path of ["/", "/bulk", "/bulk/", "/inputs", "/v2/events", "/bulk/a/b/c/d"]) {
    const answer = await t.send(path, { body: "x" });
    assert.equal(answer.status, 404, path);
    assert.match(String(answer.json.message), /No such path/);
  }
  assert.equal(t.queue.heldEvents, 0);
});

Deno.test("a full queue answers 503 with Retry-After, counted as a drop, without reading", async () => {
  const t = setup({ queueMaxEvents: 2 });
  assert.equal((await t.send(`/bulk/${TEST_TOKEN}/`, { body: "1\n2\n" })).status, 200);
  assert.ok(t.queue.full);
  const paths = [`/bulk/${TEST_TOKEN}/`, `/inputs/${TEST_TOKEN}/tag/a/`, "/v1/events"];
  for (const path of paths) {
    const streamed = countingBody(new TextEncoder().encode("3\n"), 1);
    const answer = await t.send(path, {
      ...streamed.init,
      ...headers({ "content-type": "text/plain" }),
    });
    assert.equal(answer.status, 503, path);
    assert.equal(streamed.pulled(), 0, "the body of a refused request was read");
    assert.equal(answer.headers.get("retry-after"), "5");
    assert.match(String(answer.json.message), /queue is full/);
  }
  assert.equal(t.queue.heldEvents, 2);
  assert.equal(t.metrics.get(M.dropped, { input: "http", reason: "queue full" }), paths.length);
  assert.equal(t.metrics.get(M.httpRequests, { status: "503" }), paths.length);
  // Once the sender takes and acks, requests are accepted again.
  t.taken();
  assert.equal((await t.send(`/bulk/${TEST_TOKEN}/`, { body: "4" })).status, 200);
});

// --- the event -------------------------------------------------------------------------------

Deno.test("a JSON event's timestamp is kept verbatim; one is added when absent", async () => {
  const t = setup();
  const given = [
    { timestamp: "2020-02-03 04:05:06,789 +0100", n: 1 },
    { timestamp: 1_700_000_000_123, n: 2 },
    { timestamp: "not a date at all", n: 3 },
    { n: 4 },
  ];
  const answer = await t.send(`/bulk/${TEST_TOKEN}/`, { body: given.map(json).join("\n") });
  assert.equal(answer.status, 200);
  assert.deepEqual(t.taken().map((q) => q.event.timestamp), [
    "2020-02-03 04:05:06,789 +0100",
    1_700_000_000_123,
    "not a date at all",
    NOW.toISOString(),
  ]);
});

Deno.test("relay.peer is the client's address, and absent when the server gives none", async () => {
  const t = setup();
  await t.send(`/inputs/${TEST_TOKEN}/`, { body: json({ a: 1 }) });
  assert.deepEqual(t.taken()[0].event.relay, { input: "http", peer: "10.1.2.3" });
  const response = await t.app.request(`/inputs/${TEST_TOKEN}/`, { method: "POST", body: "b" });
  assert.equal(response.status, 200);
  assert.deepEqual(t.taken()[0].event.relay, { input: "http" });
});

// --- /healthz and /metrics -------------------------------------------------------------------

Deno.test("/healthz: 200 when healthy, 503 with the reason otherwise (a full queue, failing delivery)", async () => {
  let failing: string | null = null;
  const t = setup({
    queueMaxEvents: 1,
    // As lib/relay.ts answers: a full queue first, then what the drain reports.
    unhealthy: () => t.queue.full ? "The queue is full: Loggly is not keeping up" : failing,
  });
  const ok = await t.send("/healthz", { method: "GET" });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json, { status: "ok" });

  await t.send(`/inputs/${TEST_TOKEN}/`, { body: "fills the queue" });
  const full = await t.send("/healthz", { method: "GET" });
  assert.equal(full.status, 503);
  assert.deepEqual(full.json, {
    status: "unavailable",
    reason: "The queue is full: Loggly is not keeping up",
  });

  t.taken();
  failing = "Every delivery to Loggly has failed for 300 s";
  const down = await t.send("/healthz", { method: "GET" });
  assert.equal(down.status, 503);
  assert.deepEqual(down.json, { status: "unavailable", reason: failing });

  failing = null;
  assert.equal((await t.send("/healthz", { method: "GET" })).status, 200);
});

Deno.test("/metrics: Prometheus text with the HTTP input's counts", async () => {
  const t = setup();
  await t.send(`/bulk/${TEST_TOKEN}/`, { body: "a\nb\nc\n" });
  await t.send(`/bulk/${WRONG_TOKEN}/`, { body: "a" });
  const answer = await t.send("/metrics", { method: "GET" });
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get("content-type"), "text/plain; version=0.0.4");
  const lines = answer.text.split("\n");
  assert.ok(lines.includes('loggly_relay_events_received_total{input="http"} 3'), answer.text);
  assert.ok(lines.includes('loggly_relay_http_requests_total{status="200"} 1'), answer.text);
  assert.ok(lines.includes('loggly_relay_http_requests_total{status="403"} 1'), answer.text);
  assert.ok(lines.includes("# TYPE loggly_relay_http_request_seconds_total counter"));
  // Every sample line is `name{labels} number`.
  for (const line of lines.filter((l) => l !== "" && !l.startsWith("#"))) {
    assert.match(line, /^[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+$/, line);
  }
});

Deno.test("/healthz and /metrics: open on loopback; beyond it 403 unless a bearer --http-token", async () => {
  const open = setup({ loopback: true });
  for (const path of ["/healthz", "/metrics"]) {
    assert.equal((await open.send(path, { method: "GET" })).status, 200, path);
  }

  const guarded = setup({ loopback: false, bearerTokens: [HTTP_TOKEN] });
  for (const path of ["/healthz", "/metrics"]) {
    const get = (auth?: string) =>
      guarded.send(path, { method: "GET", ...(auth ? headers({ authorization: auth }) : {}) });
    for (const auth of [undefined, `Bearer ${WRONG_TOKEN}`, `Bearer ${TEST_TOKEN}`]) {
      const answer = await get(auth);
      assert.equal(answer.status, 403, `${path} ${auth}`);
      assert.match(String(answer.json.message), /Authorization: Bearer/);
    }
    assert.equal((await get(`Bearer ${HTTP_TOKEN}`)).status, 200, path);
  }

  // Beyond loopback without any --http-token there is no way in.
  const closed = setup({ loopback: false });
  for (const path of ["/healthz", "/metrics"]) {
    const answer = await closed.send(path, {
      method: "GET",
      ...headers({ authorization: `Bearer ${TEST_TOKEN}` }),
    });
    assert.equal(answer.status, 403, path);
  }
});

Deno.test("text lines that start with [ are text, not malformed JSON", () => {
  const parsed = parseEvents(
    new TextEncoder().encode("[INFO] server started\n[Mon Jan 05 10:00:00] [error] boom\n"),
    "lines",
  );
  assert.deepEqual(parsed.rejected, []);
  assert.deepEqual([...parsed.events].map((e) => "text" in e ? e.text : null), [
    "[INFO] server started",
    "[Mon Jan 05 10:00:00] [error] boom",
  ]);
});

Deno.test("/v1/events beyond loopback without --http-token needs the relay's token as bearer", async () => {
  const app = setup({ loopback: false });
  const post = (auth?: string) =>
    app.send("/v1/events", {
      method: "POST",
      ...headers({ "content-type": "text/plain", ...(auth ? { authorization: auth } : {}) }),
      body: "hello",
    });
  assert.equal((await post()).status, 401);
  assert.equal((await post(`Bearer ${WRONG_TOKEN}`)).status, 401);
  assert.equal((await post(`Bearer ${TEST_TOKEN}`)).status, 200);
});

Deno.test("/v1/events: an --accept-token is no bearer token (it would land in the relay's account)", async () => {
  const other = "11111111-2222-4333-8444-555555555555";
  const app = setup({ loopback: false, accountTokens: [other] });
  const post = (token: string) =>
    app.send("/v1/events", {
      method: "POST",
      ...headers({ "content-type": "text/plain", authorization: `Bearer ${token}` }),
      body: "hello",
    });
  assert.equal((await post(other)).status, 401);
  assert.equal((await post(TEST_TOKEN)).status, 200);
  assert.equal((await app.send(`/inputs/${other}/`, { body: "x" })).status, 200);
  const records = app.queue.take(10);
  assert.deepEqual(records.map((r) => r.token), [undefined, other]);
});

Deno.test("JSON nested deeper than 100 levels is refused per line with 400, never 500", async () => {
  const nest = (levels: number) => '{"a":'.repeat(levels) + "1" + "}".repeat(levels);
  const t = setup();
  // /bulk: the deep line is refused, the others kept, and the answer names it.
  const bulk = await t.send(`/bulk/${TEST_TOKEN}/`, {
    body: [json({ n: 1 }), nest(10_000), nest(100), "text"].join("\n"),
  });
  assert.equal(bulk.status, 400);
  assert.equal(bulk.json.accepted, 3);
  assert.deepEqual(bulk.json.rejected, [{ line: 2, error: "JSON nested deeper than 100 levels" }]);
  assert.equal(t.taken().length, 3);
  // /inputs and /v1/events (NDJSON, JSON, and an array of events) alike.
  const inputs = await t.send(`/inputs/${TEST_TOKEN}/`, { body: nest(101) });
  assert.equal(inputs.status, 400);
  for (
    const [type, body] of [
      ["application/x-ndjson", `${json({ n: 1 })}\n${nest(10_000)}`],
      ["application/json", nest(10_000)],
      ["application/json", `[${nest(10_000)}]`],
    ]
  ) {
    const answer = await t.send("/v1/events", { ...headers({ "content-type": type }), body });
    assert.equal(answer.status, 400, `${type}: ${answer.text}`);
  }
  // A string holding brackets is no nesting.
  const quoted = await t.send(`/inputs/${TEST_TOKEN}/`, { body: json({ s: "[".repeat(500) }) });
  assert.equal(quoted.status, 200);
  // An array of events may be one level deeper than an event.
  const array = await t.send("/v1/events", {
    ...headers({ "content-type": "application/json" }),
    body: `[${nest(100)}]`,
  });
  assert.equal(array.status, 200, array.text);
});

Deno.test("tags: more than 64 per request or one over 64 characters is refused with 400, never taken", async () => {
  const t = setup({ tags: ["relay", "prod"] });
  const body = { body: '{"n":1}' };
  const many = Array.from({ length: 5000 }, (_, i) => `t${i}`).join(",");
  const header = await t.send(`/inputs/${TEST_TOKEN}`, {
    ...body,
    headers: { "X-LOGGLY-TAG": many },
  });
  assert.equal(header.status, 400, header.text);
  assert.match(header.text, /5002 tags .* at most 64/);
  const long = "x".repeat(10_000);
  for (const path of [`/inputs/${TEST_TOKEN}/tag/${long}/`, `/bulk/${TEST_TOKEN}/tag/a,${long}/`]) {
    const answer = await t.send(path, body);
    assert.equal(answer.status, 400, answer.text);
    assert.match(answer.text, /10000 characters long: use at most 64/);
  }
  const v1 = await t.send("/v1/events", {
    ...body,
    headers: { "Content-Type": "application/json", "X-LOGGLY-TAG": many },
  });
  assert.equal(v1.status, 400, v1.text);
  assert.equal(t.queue.heldEvents, 0, "nothing taken");
  // At the limit: 62 of the request's own and the relay's 2, a 64-character one among them.
  const fits = [...Array.from({ length: 61 }, (_, i) => `t${i}`), "y".repeat(64), "prod"];
  const ok = await t.send(`/inputs/${TEST_TOKEN}/tag/${fits.join(",")}/`, body);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(t.taken()[0].tags.split(",").length, 64);
});

Deno.test("bulk: a body of many chunks, larger than a body buffer, gives every line in order", async () => {
  const { send, taken } = setup();
  const lines = Array.from({ length: 3000 }, (_, i) => json({ n: i, pad: "x".repeat(i % 200) }));
  const bytes = new TextEncoder().encode(lines.join("\n") + "\n");
  assert.ok(bytes.length > 4 * BodyBuffers.FIRST_BYTES);
  // Cut at odd places: inside lines, and between the bytes of no character in particular.
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += 7_777) chunks.push(bytes.subarray(at, at + 7_777));
  const body = ReadableStream.from(chunks);
  for (let round = 0; round < 2; round++) { // the second reads into a buffer used before
    const answer = await send(`/bulk/${TEST_TOKEN}/`, {
      method: "POST",
      body: round === 0 ? body : ReadableStream.from(chunks),
      duplex: "half",
    } as RequestInit);
    assert.equal(answer.status, 200);
    assert.deepEqual(taken().map((q) => q.event.n), lines.map((_, i) => i));
  }
});

Deno.test("bulk: a BOM first in the body is left out; U+FEFF elsewhere and bad UTF-8 are text", () => {
  const enc = new TextEncoder();
  const body = new Uint8Array([
    ...[0xef, 0xbb, 0xbf],
    ...enc.encode('{"a":1}\n\uFEFFsecond\nbad '),
    0xff,
    ...enc.encode(" byte\n"),
  ]);
  const events = [...parseEvents(body, "lines").events];
  assert.deepEqual(events, [
    { json: { a: 1 }, line: 1 },
    { text: "\uFEFFsecond", line: 2 },
    { text: "bad \uFFFD byte", line: 3 },
  ]);
});

Deno.test("readBody: a buffer given back is used for the next body; large ones are not kept", async () => {
  const buffers = new BodyBuffers();
  const request = (bytes: Uint8Array) =>
    new Request("http://relay/", { method: "POST", body: bytes as BodyInit });
  const small = await readBody(request(new Uint8Array(100).fill(65)), 1_000_000, buffers);
  assert.equal(small.bytes.length, 100);
  const first = small.bytes.buffer;
  small.release();
  const again = await readBody(request(new Uint8Array(10).fill(66)), 1_000_000, buffers);
  assert.equal(again.bytes.buffer, first);
  assert.deepEqual(again.bytes, new Uint8Array(10).fill(66));
  again.release();
  const big = await readBody(request(new Uint8Array(1_500_000).fill(67)), 2_000_000, buffers);
  assert.equal(big.bytes.length, 1_500_000);
  assert.ok(big.bytes.every((b) => b === 67));
  const bigBuffer = big.bytes.buffer;
  big.release(); // over KEEP_BYTES: left to the garbage collector
  const next = await readBody(request(new Uint8Array(10)), 1_000_000, buffers);
  assert.notEqual(next.bytes.buffer, bigBuffer);
  // Released twice by mistake: still given back once, so two bodies never share a buffer.
  next.release();
  next.release();
  const [one, two] = await Promise.all([
    readBody(request(new Uint8Array(10)), 1_000_000, buffers),
    readBody(request(new Uint8Array(10)), 1_000_000, buffers),
  ]);
  assert.notEqual(one.bytes.buffer, two.bytes.buffer);
  await assert.rejects(
    readBody(request(new Uint8Array(2_000)), 1_000, buffers),
    (error: Error) => error.name === "BodyError" && /over 1000 bytes/.test(error.message),
  );
});

Deno.test("bulk: lines read a part at a time are the lines of the whole body, decoded", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pieces = ["a", "é", "日", "😀", " ", "\r", "\t", "[x]"];
  for (let body = 0; body < 15; body++) {
    const bytes: number[] = [];
    const lines = 1 + Math.floor(random() * 400);
    for (let i = 0; i < lines; i++) {
      // Mostly short lines, some longer than a part; never "{" first, so every line is text.
      const length = random() < 0.02 ? 40_000 + Math.floor(random() * 30_000) : random() * 300;
      for (let k = 0; k < length; k++) {
        if (random() < 0.001) bytes.push(0xff, 0xe6); // invalid UTF-8
        else bytes.push(...new TextEncoder().encode(pieces[Math.floor(random() * pieces.length)]));
      }
      if (i < lines - 1 || random() < 0.5) bytes.push(10);
    }
    const raw = Uint8Array.from(random() < 0.3 ? [0xef, 0xbb, 0xbf, ...bytes] : bytes);
    const expected = new TextDecoder().decode(raw).split("\n")
      .map((line, i) => ({ text: line.replace(/\r$/, ""), line: i + 1 }))
      .filter((e) => e.text.trim() !== "");
    assert.deepEqual([...parseEvents(raw, "lines").events], expected, `body ${body}`);
  }
});
