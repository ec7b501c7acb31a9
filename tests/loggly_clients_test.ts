/**
 * Loggly's client libraries, and the HTTP calls Loggly documents, pointed at the relay: each test
 * starts a relay in-process with its HTTP input on HTTPS (a throwaway CA that every client
 * verifies), runs a real client, and checks what reached the Loggly stand-in.
 *
 * - node-loggly-bulk: its `host` option.
 * - winston-loggly-bulk: no `host` option (it always addresses logs-01.loggly.com); its `proxy`
 *   option, or HTTPS_PROXY, sends the request to the relay, whose certificate must then name
 *   logs-01.loggly.com (Node checks the certificate against the Host header).
 * - Python: urllib.request and requests, posting to /inputs and /bulk.
 * - curl, as Loggly's documentation shows it.
 */
import assert from "node:assert/strict";
import { M } from "../lib/metrics.ts";
import type { Spec } from "./fixtures/loggly_client.ts";
import type { WinstonSpec } from "./fixtures/winston_client.ts";
import { run, startHarness } from "./helpers.ts";
import { curl, eventsOf, type HttpsRelay, noProxyEnv, startHttpsRelay } from "./https_relay.ts";
import { type Received, TEST_TOKEN } from "./loggly_stub.ts";
import { waitUntil } from "./relay_process.ts";

const LOGGLY_CLIENT = new URL("./fixtures/loggly_client.ts", import.meta.url).pathname;
const WINSTON_CLIENT = new URL("./fixtures/winston_client.ts", import.meta.url).pathname;
/** Longest a client subprocess may run (the first run may have to fetch the npm packages). */
const CLIENT_TIMEOUT_MS = 30_000;
/** The host Loggly's Node.js libraries address; winston-loggly-bulk has no option to change it. */
const LOGGLY_HOST = "logs-01.loggly.com";

/** A client subprocess's exit code and the JSON of its last line of output. */
interface ClientRun {
  code: number;
  result: Record<string, unknown>;
  output: string;
}

/**
 * Runs a client fixture with `deno run`, trusting `ca` (NODE_EXTRA_CA_CERTS, as for Node.js).
 * `until` (bulk mode) is awaited before the client is told to exit by closing its stdin.
 */
async function nodeClient(
  script: string,
  spec: Spec | WinstonSpec,
  options: {
    ca?: string;
    env?: Record<string, string>;
    until?: () => Promise<void>;
  } = {},
): Promise<ClientRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-read",
      "--allow-sys", // node:tls asks for it to read NODE_EXTRA_CA_CERTS
      script,
      JSON.stringify(spec),
    ],
    env: {
      ...noProxyEnv(),
      ...(options.ca ? { NODE_EXTRA_CA_CERTS: options.ca } : {}),
      ...options.env,
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
  }).spawn();
  const done = child.output();
  try {
    // A client that exits early (an error) ends the wait at once.
    const early = done.then(() => "exited" as const);
    await Promise.race([(options.until ?? (() => Promise.resolve()))(), early]);
  } finally {
    await child.stdin.close().catch(() => {});
  }
  const output = await done;
  const stdout = new TextDecoder().decode(output.stdout);
  const text = `${stdout}\n${new TextDecoder().decode(output.stderr)}`;
  const last = stdout.trim().split("\n").at(-1) ?? "";
  return { code: output.code, result: last.startsWith("{") ? JSON.parse(last) : {}, output: text };
}

/** Runs node-loggly-bulk (tests/fixtures/loggly_client.ts); it must exit 0. */
async function logglyClient(
  ca: string,
  spec: Spec,
  until?: () => Promise<void>,
): Promise<Record<string, unknown>> {
  const { code, result, output } = await nodeClient(LOGGLY_CLIENT, spec, { ca, until });
  assert.equal(code, 0, `node-loggly-bulk failed: ${output}`);
  return result;
}

/** Runs winston with winston-loggly-bulk (tests/fixtures/winston_client.ts); it must exit 0. */
async function winstonClient(
  spec: WinstonSpec,
  options: { ca?: string; env?: Record<string, string>; until?: () => Promise<void> } = {},
): Promise<Record<string, unknown>> {
  const { code, result, output } = await nodeClient(WINSTON_CLIENT, spec, options);
  assert.equal(code, 0, `winston-loggly-bulk failed: ${output}`);
  return result;
}

/** Sorted tags of `events`, one string per event. */
function tagsOf(events: Received[]): string[] {
  return events.map((e) => [...e.tags].sort().join(","));
}

// --- node-loggly-bulk: the `host` option -------------------------------------------------------

Deno.test("node-loggly-bulk, single-event mode: JSON objects and text, tags in X-LOGGLY-TAG or the URL", async () => {
  const r = await startHttpsRelay();
  try {
    const common = { host: `127.0.0.1:${r.port}`, token: TEST_TOKEN, bulk: false };
    const [byHeader, byPath] = await Promise.all([
      logglyClient(r.certs.caCert, {
        ...common,
        useTagHeader: true,
        json: true,
        tags: ["app"],
        callTags: ["header-tag"],
        events: [
          { run: "header", n: 1, user: { id: 7 } },
          { run: "header", n: 2, timestamp: "2020-01-01T00:00:00+02:00" },
        ],
      }),
      logglyClient(r.certs.caCert, {
        ...common,
        useTagHeader: false,
        json: false,
        tags: ["app"],
        callTags: ["path-tag"],
        events: ["plain text from node-loggly-bulk", { run: "path", level: "info" }],
      }),
    ]);
    // The library hands the relay's answer to its callback.
    assert.deepEqual(byHeader, { results: [{ response: "ok" }, { response: "ok" }] });
    assert.deepEqual(byPath, { results: [{ response: "ok" }, { response: "ok" }] });

    await r.h.stub.waitForCount(4);
    const header = eventsOf(r.h, "header").sort((a, b) => Number(a.event.n) - Number(b.event.n));
    assert.equal(header.length, 2);
    for (const { tags, event } of header) {
      assert.deepEqual(tags, ["app", "header-tag"]);
      assert.deepEqual(event.relay, { input: "http", peer: "127.0.0.1" });
    }
    assert.deepEqual(header[0].event.user, { id: 7 }, "fields stay at the top level");
    assert.match(String(header[0].event.timestamp), /^\d{4}-\d\d-\d\dT.*Z$/);
    assert.equal(header[1].event.timestamp, "2020-01-01T00:00:00+02:00", "timestamp kept");

    // json: false sends text; an object becomes the library's key=value text.
    const text = r.h.stub.received.filter((e) => e.tags.includes("path-tag"));
    assert.deepEqual(text.map((e) => e.event.message).sort(), [
      "plain text from node-loggly-bulk",
      "run=path, level=info",
    ]);
    for (const { tags, event } of text) {
      assert.deepEqual(tags, ["app", "path-tag"]);
      assert.equal((event.relay as Record<string, unknown>).input, "http");
    }
    assert.equal(r.h.relay.metrics.get(M.httpRequests, { status: "200" }), 4);
    assert.deepEqual(r.h.stub.violations, []);
  } finally {
    await r.stop();
  }
});

/**
 * Bulk mode sends once 100 events are buffered (or after 5 s), from its own timers, and calls
 * back before sending: so the test watches the relay for the request. node-loggly-bulk 4.0.2 puts
 * only the last buffered event in the request body (it sets `body`, which axios ignores, instead
 * of `data`), and with `useTagHeader: true` it drops the tags in bulk mode; what it does send must
 * arrive intact.
 */
async function bulkRun(r: HttpsRelay, run: string, useTagHeader: boolean) {
  const before = r.h.relay.metrics.get(M.httpRequests, { status: "200" });
  const events = Array.from({ length: 100 }, (_, i) => ({ run, i, nested: { ok: true } }));
  const answer = await logglyClient(r.certs.caCert, {
    host: `127.0.0.1:${r.port}`,
    token: TEST_TOKEN,
    bulk: true,
    useTagHeader,
    json: true,
    tags: ["bulk-app"],
    callTags: ["batch"],
    events,
  }, async () => {
    await waitUntil(() => r.h.relay.metrics.get(M.httpRequests, { status: "200" }) > before);
    // Everything the relay took in is delivered.
    await waitUntil(() => r.h.relay.metrics.total(M.sent) >= r.h.relay.metrics.total(M.received));
  });
  assert.deepEqual(answer, { queued: 100 });
  const got = eventsOf(r.h, run);
  assert.ok(got.length >= 1, "nothing arrived from node-loggly-bulk's bulk request");
  assert.ok(got.some((g) => g.event.i === 99), "the event that triggered the send");
  for (const { event } of got) {
    assert.deepEqual(event.nested, { ok: true });
    assert.ok(Number.isInteger(event.i) && Number(event.i) < 100);
    assert.deepEqual(event.relay, { input: "http", peer: "127.0.0.1" });
  }
  assert.equal(r.h.relay.metrics.total(M.dropped), 0);
  return got;
}

Deno.test("node-loggly-bulk, bulk mode: with tags in /bulk/TOKEN/tag/.../ and without /tag/", async () => {
  const r = await startHttpsRelay();
  try {
    const tagged = await bulkRun(r, "bulk-tagged", false);
    assert.ok(tagged.every((g) => g.tags.join() === "batch,bulk-app"), JSON.stringify(tagged));
    const untagged = await bulkRun(r, "bulk-untagged", true);
    assert.ok(untagged.every((g) => g.tags.length === 0), JSON.stringify(untagged));
    assert.deepEqual(r.h.stub.violations, []);
  } finally {
    await r.stop();
  }
});

// --- winston-loggly-bulk: the `proxy` option or HTTPS_PROXY --------------------------------------

/** A relay whose certificate names Loggly's host as well as 127.0.0.1. */
function startRelayForWinston(): Promise<HttpsRelay> {
  return startHttpsRelay([], { san: `DNS:${LOGGLY_HOST}, IP:127.0.0.1` });
}

Deno.test("winston-loggly-bulk: `proxy` (object or URL) or HTTPS_PROXY sends to the relay over HTTPS", async () => {
  const r = await startRelayForWinston();
  try {
    const relayUrl = `https://127.0.0.1:${r.port}`;
    const ca = r.certs.caCert;
    const [byObject, byUrl, byEnv] = await Promise.all([
      // axios's own form of a proxy.
      winstonClient({
        token: TEST_TOKEN,
        proxy: { protocol: "https", host: "127.0.0.1", port: r.port },
        json: true,
        tags: ["winston-app"],
        entries: [
          { level: "info", message: "user signed in", run: "w-object", n: 1, user: { id: 7 } },
          {
            level: "error",
            message: "payment failed",
            run: "w-object",
            n: 2,
            tags: ["billing"],
            error: { code: "E42" },
          },
        ],
      }, { ca }),
      // A URL object works too; json left at its default (off) sends key=value text.
      winstonClient({
        token: TEST_TOKEN,
        proxyUrl: relayUrl,
        tags: ["winston-text"],
        entries: [{ level: "warn", message: "disk almost full", free: "5%" }],
      }, { ca }),
      // No option at all: axios takes the proxy from the environment.
      winstonClient({
        token: TEST_TOKEN,
        json: true,
        entries: [{ level: "debug", message: "cache miss", run: "w-env", key: "k1" }],
      }, { ca, env: { HTTPS_PROXY: relayUrl } }),
    ]);
    // Each transport reported every entry: the library saw the relay's 200.
    assert.deepEqual([byObject, byUrl, byEnv], [{ logged: 2 }, { logged: 1 }, { logged: 1 }]);

    await r.h.stub.waitForCount(4);
    const object = eventsOf(r.h, "w-object").sort((a, b) => Number(a.event.n) - Number(b.event.n));
    assert.deepEqual(tagsOf(object), ["winston-app", "billing,winston-app"]);
    const [first, second] = object.map((e) => e.event);
    assert.equal(first.level, "info");
    assert.equal(first.message, "user signed in");
    assert.deepEqual(first.user, { id: 7 }, "winston's metadata stays at the top level");
    assert.match(String(first.timestamp), /^\d{4}-\d\d-\d\dT[\d:.]+Z$/, "the transport's");
    assert.deepEqual(first.relay, { input: "http", peer: "127.0.0.1" });
    assert.equal(second.level, "error");
    assert.deepEqual(second.error, { code: "E42" });
    assert.deepEqual(second.tags, ["billing"], "an entry's tags are also kept as a field");

    const text = r.h.stub.received.filter((e) => e.tags.includes("winston-text"));
    assert.equal(text.length, 1);
    assert.match(
      String(text[0].event.message),
      /^level=warn, message=disk almost full, free=5%, timestamp=\d{4}-/,
    );

    const [env] = eventsOf(r.h, "w-env");
    assert.deepEqual([env.tags, env.event.level, env.event.key], [[], "debug", "k1"]);
    assert.equal(r.h.stub.received.length, 4);
    assert.equal(r.h.relay.metrics.get(M.httpRequests, { status: "200" }), 4);
    assert.deepEqual(r.h.stub.violations, []);
  } finally {
    await r.stop();
  }
});

Deno.test("winston-loggly-bulk, isBulk: through the proxy to /bulk; only the last of 100 arrives, untagged", async () => {
  const r = await startRelayForWinston();
  try {
    const before = r.h.relay.metrics.get(M.httpRequests, { status: "200" });
    const entries = Array.from({ length: 100 }, (_, i) => ({
      level: "info",
      message: `entry ${i}`,
      run: "w-bulk",
      i,
    }));
    const answer = await winstonClient({
      token: TEST_TOKEN,
      proxy: { protocol: "https", host: "127.0.0.1", port: r.port },
      json: true,
      isBulk: true,
      tags: ["winston-bulk"],
      entries,
    }, {
      ca: r.certs.caCert,
      // The 100th entry makes the library send; then everything taken in is delivered.
      until: async () => {
        await waitUntil(() => r.h.relay.metrics.get(M.httpRequests, { status: "200" }) > before);
        await waitUntil(() =>
          r.h.relay.metrics.total(M.sent) >= r.h.relay.metrics.total(M.received)
        );
      },
    });
    assert.deepEqual(answer, { queued: 100 });
    // node-loggly-bulk 4.0.2's bulk bugs (see bulkRun): one event per request, tags dropped.
    const got = eventsOf(r.h, "w-bulk");
    assert.deepEqual(got.map((g) => [g.event.i, g.event.message, g.tags]), [[99, "entry 99", []]]);
    assert.deepEqual(got[0].event.relay, { input: "http", peer: "127.0.0.1" });
    assert.deepEqual(r.h.stub.violations, []);
  } finally {
    await r.stop();
  }
});

Deno.test("winston-loggly-bulk: `proxy` with protocol http reaches a loopback relay without TLS", async () => {
  const h = await startHarness(["--http", "127.0.0.1:0"]);
  try {
    const answer = await winstonClient({
      token: TEST_TOKEN,
      proxy: { protocol: "http", host: "127.0.0.1", port: h.relay.http!.port },
      json: true,
      tags: ["sidecar"],
      entries: [{ level: "info", message: "in clear on loopback", run: "w-http" }],
    });
    assert.deepEqual(answer, { logged: 1 });
    await h.stub.waitForCount(1);
    const [event] = eventsOf(h, "w-http");
    assert.deepEqual([event.tags, event.event.message], [["sidecar"], "in clear on loopback"]);
  } finally {
    await h.stop();
  }
});

Deno.test("winston-loggly-bulk: a relay certificate without logs-01.loggly.com loses events silently", async () => {
  const r = await startHttpsRelay(); // certificate for 127.0.0.1 and localhost only
  try {
    const { code, result, output } = await nodeClient(WINSTON_CLIENT, {
      token: TEST_TOKEN,
      proxy: { protocol: "https", host: "127.0.0.1", port: r.port },
      json: true,
      entries: [{ level: "info", message: "lost", run: "w-lost" }],
      // The TLS handshake fails at once; the library reports nothing either way.
      watchdogMs: 3_000,
    }, { ca: r.certs.caCert });
    assert.equal(code, 2, output);
    assert.deepEqual(result, { error: "the transport never reported" });
    assert.doesNotMatch(output, /Loggly Error/, "not even on the console");
    assert.equal(r.h.relay.metrics.total(M.httpRequests), 0);
    assert.equal(r.h.stub.received.length, 0);
  } finally {
    await r.stop();
  }
});

// --- Python: urllib.request and requests ---------------------------------------------------------

/** A POST for the Python scripts: they send `body` and return the status and the JSON answer. */
interface PythonCall {
  url: string;
  body: string;
  headers: Record<string, string>;
}

const URLLIB_SCRIPT = `
import json, ssl, sys, urllib.error, urllib.request
ca, calls = sys.argv[1], json.loads(sys.argv[2])
def post(call, context):
    request = urllib.request.Request(
        call["url"], data=call["body"].encode(), headers=call["headers"], method="POST")
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return [response.status, json.loads(response.read())]
trusted = ssl.create_default_context(cafile=ca)
answers = [post(call, trusted) for call in calls]
try:
    post(calls[0], ssl.create_default_context())
    untrusted = "accepted"
except urllib.error.URLError as error:
    untrusted = type(error.reason).__name__
print(json.dumps({"answers": answers, "untrusted": untrusted}))
`;

const REQUESTS_SCRIPT = `
import json, sys, requests
ca, calls = sys.argv[1], json.loads(sys.argv[2])
def post(call, verify):
    response = requests.post(
        call["url"], data=call["body"].encode(), headers=call["headers"], verify=verify,
        timeout=10)
    return [response.status_code, response.json()]
answers = [post(call, ca) for call in calls]
try:
    post(calls[0], True)
    untrusted = "accepted"
except requests.exceptions.SSLError:
    untrusted = "SSLError"
print(json.dumps({"answers": answers, "untrusted": untrusted}))
`;

/** The first of `python3` on PATH and Debian's /usr/bin/python3 that can import `module`. */
async function pythonWith(module: string, debianPackage: string): Promise<string> {
  for (const python of ["python3", "/usr/bin/python3"]) {
    const probe = await run(python, ["-c", `import ${module}`]).catch(() => null);
    if (probe?.code === 0) return python;
  }
  throw new Error(
    `No python3 here can import ${module}: apt-get install ${debianPackage} ` +
      "(for /usr/bin/python3)",
  );
}

/** Runs `script` with `calls`, trusting only `ca`; returns what it printed. */
async function python(
  interpreter: string,
  script: string,
  ca: string,
  calls: PythonCall[],
): Promise<{ answers: [number, unknown][]; untrusted: string }> {
  const out = await run(interpreter, ["-c", script, ca, JSON.stringify(calls)], {
    env: noProxyEnv(),
  });
  assert.equal(out.code, 0, `${interpreter} failed: ${out.stdout}\n${out.stderr}`);
  return JSON.parse(out.stdout);
}

/** /inputs with one JSON event and /bulk with two JSON lines and a text line, for `name`. */
function pythonCalls(r: HttpsRelay, name: string): PythonCall[] {
  const lines = [
    JSON.stringify({ run: name, n: 1, logger: "app.jobs" }),
    JSON.stringify({ run: name, n: 2, logger: "app.jobs" }),
    `${name}: a plain text line`,
  ];
  return [
    {
      url: `${r.base}/inputs/${TEST_TOKEN}/tag/python,${name}/`,
      body: JSON.stringify({ run: name, n: 0, level: "WARNING", ctx: { order: 42 } }),
      headers: { "Content-Type": "application/json" },
    },
    {
      url: `${r.base}/bulk/${TEST_TOKEN}/tag/python,${name}/`,
      body: lines.join("\n"),
      headers: { "Content-Type": "text/plain" },
    },
  ];
}

/** Checks that the four events of {@link pythonCalls} arrived whole, tagged. */
async function assertPythonEvents(r: HttpsRelay, name: string): Promise<void> {
  await r.h.stub.waitForCount(4);
  const json = eventsOf(r.h, name).sort((a, b) => Number(a.event.n) - Number(b.event.n));
  assert.deepEqual(json.map((e) => e.event.n), [0, 1, 2]);
  assert.deepEqual(json[0].event.ctx, { order: 42 });
  assert.equal(json[0].event.level, "WARNING");
  assert.equal(json[1].event.logger, "app.jobs");
  const text = r.h.stub.received.filter((e) => e.event.message === `${name}: a plain text line`);
  assert.equal(text.length, 1);
  const all = [...json, ...text];
  assert.deepEqual(tagsOf(all), all.map(() => `python,${name}`));
  for (const { event } of all) assert.deepEqual(event.relay, { input: "http", peer: "127.0.0.1" });
  assert.equal(r.h.stub.received.length, 4);
  assert.deepEqual(r.h.stub.violations, []);
}

Deno.test("Python urllib.request: /inputs and /bulk over HTTPS with an ssl context for the CA", async () => {
  const interpreter = await pythonWith("ssl", "python3");
  const r = await startHttpsRelay();
  try {
    const out = await python(interpreter, URLLIB_SCRIPT, r.certs.caCert, pythonCalls(r, "urllib"));
    assert.deepEqual(out.answers, [[200, { response: "ok" }], [200, { response: "ok" }]]);
    assert.equal(out.untrusted, "SSLCertVerificationError", "the certificate is verified");
    await assertPythonEvents(r, "urllib");
  } finally {
    await r.stop();
  }
});

Deno.test("Python requests: /inputs and /bulk over HTTPS with verify=CA", async () => {
  const interpreter = await pythonWith("requests", "python3-requests");
  const r = await startHttpsRelay();
  try {
    const out = await python(
      interpreter,
      REQUESTS_SCRIPT,
      r.certs.caCert,
      pythonCalls(r, "requests"),
    );
    assert.deepEqual(out.answers, [[200, { response: "ok" }], [200, { response: "ok" }]]);
    assert.equal(out.untrusted, "SSLError", "the certificate is verified");
    await assertPythonEvents(r, "requests");
  } finally {
    await r.stop();
  }
});

// --- curl, as Loggly's documentation shows it ----------------------------------------------------

Deno.test("curl as in Loggly's docs: text, JSON and multiline to /inputs, lines to /bulk, tags either way", async () => {
  const r = await startHttpsRelay();
  try {
    const token = TEST_TOKEN;
    const text = ["-H", "content-type:text/plain"];
    const calls: [string, string[]][] = [
      ["text, path tag", [...text, "-d", "Hello from curl", `${r.base}/inputs/${token}/tag/http/`]],
      ["json, header tags", [
        "-H",
        "content-type:application/json",
        "-H",
        "X-LOGGLY-TAG: a,b",
        "-d",
        JSON.stringify({ message: "hello world", from: "hoover", run: "curl-json" }),
        `${r.base}/inputs/${token}/`,
      ]],
      // curl's own default type (application/x-www-form-urlencoded): the body is still the event.
      ["json as form, path tags", [
        "-d",
        JSON.stringify({ run: "curl-form", from: "hoover" }),
        `${r.base}/inputs/${token}/tag/a,b/`,
      ]],
      ["multiline text", [
        ...text,
        "-d",
        'Exception in thread "main" java.lang.IllegalStateException\n\tat Foo.bar(Foo.java:7)',
        `${r.base}/inputs/${token}/tag/http/`,
      ]],
      ["bulk text, path tags", [...text, "-d", "Hello\nWorld", `${r.base}/bulk/${token}/tag/a,b/`]],
      ["bulk json, header tags", [
        "-H",
        "X-LOGGLY-TAG: a,b",
        "-d",
        [1, 2].map((n) => JSON.stringify({ run: "curl-bulk", n })).join("\n"),
        `${r.base}/bulk/${token}`,
      ]],
    ];
    // Loggly's bulk file upload: curl -T FILE -X POST (-T alone would PUT, which is refused).
    const file = await Deno.makeTempFile({ suffix: ".log" });
    await Deno.writeTextFile(file, "uploaded one\nuploaded two\n");
    // No slash at the end: curl -T appends the file name to a URL that ends in one.
    const upload = `${r.base}/bulk/${token}/tag/file_upload`;
    calls.push(["file upload", [...text, "-T", file, "-X", "POST", upload]]);
    for (const [name, args] of calls) {
      const answer = await curl(r.certs.caCert, args);
      assert.deepEqual(
        [answer.code, answer.status, answer.body],
        [0, 200, '{"response":"ok"}'],
        name,
      );
    }
    // -T alone is a PUT: refused (405, or a reset while curl waits to send the body), never
    // taken as events; the count of 10 below shows it added none.
    const put = await curl(r.certs.caCert, [...text, "-T", file, upload]);
    assert.notEqual(put.status, 200, "-T without -X POST is a PUT");
    await Deno.remove(file);

    await r.h.stub.waitForCount(10);
    assert.deepEqual(
      tagsOf([...byMessageOf(r, "uploaded one"), ...byMessageOf(r, "uploaded two")]),
      [
        "file_upload",
        "file_upload",
      ],
    );
    const byMessage = (message: string) =>
      r.h.stub.received.filter((e) => e.event.message === message);
    assert.deepEqual(tagsOf(byMessage("Hello from curl")), ["http"]);
    const [json] = eventsOf(r.h, "curl-json");
    assert.deepEqual(json.tags, ["a", "b"]);
    assert.deepEqual([json.event.message, json.event.from], ["hello world", "hoover"]);
    const [form] = eventsOf(r.h, "curl-form");
    assert.deepEqual([form.event.from, form.tags], ["hoover", ["a", "b"]]);
    const multiline = r.h.stub.received.filter((e) =>
      String(e.event.message).startsWith("Exception")
    );
    assert.equal(multiline.length, 1, "one event, newlines and all");
    assert.match(String(multiline[0].event.message), /IllegalStateException\n\tat Foo\.bar/);
    assert.deepEqual(tagsOf([...byMessage("Hello"), ...byMessage("World")]), ["a,b", "a,b"]);
    const bulk = eventsOf(r.h, "curl-bulk");
    assert.deepEqual([bulk.map((e) => e.event.n).sort(), tagsOf(bulk)], [[1, 2], ["a,b", "a,b"]]);
    assert.equal(r.h.stub.received.length, 10);
    assert.deepEqual(r.h.stub.violations, []);
  } finally {
    await r.stop();
  }
});

/** Events the stand-in received with `message`. */
function byMessageOf(r: { h: { stub: { received: Received[] } } }, message: string): Received[] {
  return r.h.stub.received.filter((e) => e.event.message === message);
}
