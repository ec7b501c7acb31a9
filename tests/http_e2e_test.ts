/**
 * The HTTP input end to end over real sockets and HTTPS: a throwaway CA made with openssl, the
 * relay started in-process against the Loggly stand-in, and real clients: Loggly's own Node.js
 * library (node-loggly-bulk, in a subprocess that trusts the test CA), curl, and fetch.
 */
import { spooledEvents } from "./spool_reader.ts";
import assert from "node:assert/strict";
import { M } from "../lib/metrics.ts";
import { startRelay } from "../lib/relay.ts";
import { type Harness, run, startHarness, testConfig } from "./helpers.ts";
import { TEST_TOKEN } from "./loggly_stub.ts";
import { waitUntil } from "./relay_process.ts";
import type { Spec } from "./fixtures/loggly_client.ts";
import { makeTestCertificates, type TestCertificates } from "./tls_fixture.ts";

const LOGGLY_CLIENT = new URL("./fixtures/loggly_client.ts", import.meta.url).pathname;
/** Longest a client subprocess may run (the first run may have to fetch the npm package). */
const CLIENT_TIMEOUT_MS = 30_000;

/** A relay serving HTTPS on an ephemeral loopback port, with its certificates. */
interface HttpsRelay {
  h: Harness;
  certs: TestCertificates;
  port: number;
  /** https://127.0.0.1:PORT */
  base: string;
  /** fetch that trusts the test CA. */
  client: Deno.HttpClient;
  stop(): Promise<void>;
}

async function startHttpsRelay(extra: string[] = []): Promise<HttpsRelay> {
  const certs = await makeTestCertificates();
  try {
    const h = await startHarness([
      "--http",
      "127.0.0.1:0",
      "--http-tls-cert",
      certs.cert,
      "--http-tls-key",
      certs.key,
      ...extra,
    ]);
    const port = h.relay.http!.port;
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
    return {
      h,
      certs,
      port,
      base: `https://127.0.0.1:${port}`,
      client,
      async stop() {
        client.close();
        await h.stop();
        await certs.remove();
      },
    };
  } catch (error) {
    await certs.remove();
    throw error;
  }
}

/** curl over HTTPS, trusting the test CA; returns the status and the answer's body. */
async function curl(
  ca: string | null,
  args: string[],
): Promise<{ code: number; status: number; body: string; stderr: string }> {
  const result = await run("curl", [
    "-sS",
    "--max-time",
    "10",
    "--noproxy",
    "*",
    ...(ca ? ["--cacert", ca] : []),
    "-w",
    "\n%{http_code}",
    ...args,
  ]);
  const at = result.stdout.lastIndexOf("\n");
  return {
    code: result.code,
    status: Number(result.stdout.slice(at + 1)),
    body: result.stdout.slice(0, at),
    stderr: result.stderr,
  };
}

/** Events the stand-in received whose `run` field is `run`. */
function eventsOf(h: Harness, run: string) {
  return h.stub.received.filter((r) => r.event.run === run);
}

/** Adds 127.0.0.1 to every no-proxy variable a proxy-aware Node client reads. */
function noProxyEnv(): Record<string, string> {
  const names = ["no_proxy", "NO_PROXY", "npm_config_no_proxy"];
  const existing = names.map((n) => Deno.env.get(n)).filter((v) => v);
  const value = [...existing, "127.0.0.1", "localhost"].join(",");
  return Object.fromEntries(names.map((n) => [n, value]));
}

/**
 * Runs node-loggly-bulk in a subprocess trusting `ca` (NODE_EXTRA_CA_CERTS, as for Node.js).
 * `until` (bulk mode) is awaited before the client is told to exit.
 */
async function logglyClient(
  ca: string,
  spec: Spec,
  until: () => Promise<void> = () => Promise.resolve(),
): Promise<Record<string, unknown>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-read",
      "--allow-sys", // node:tls asks for it to read NODE_EXTRA_CA_CERTS
      LOGGLY_CLIENT,
      JSON.stringify(spec),
    ],
    env: { NODE_EXTRA_CA_CERTS: ca, ...noProxyEnv() },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
  }).spawn();
  const done = child.output();
  try {
    // A client that exits early (an error) ends the wait at once.
    const early = done.then(() => "exited" as const);
    await Promise.race([until(), early]);
  } finally {
    await child.stdin.close().catch(() => {});
  }
  const output = await done;
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `node-loggly-bulk failed: ${stdout}\n${stderr}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

// --- Loggly's own client library ---------------------------------------------------------------

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

// --- curl ----------------------------------------------------------------------------------

Deno.test("curl over HTTPS: /inputs, /bulk and gzip /v1/events, verified against the test CA", async () => {
  const r = await startHttpsRelay();
  try {
    const ca = r.certs.caCert;
    const inputs = await curl(ca, [
      "-H",
      "X-LOGGLY-TAG: hdr",
      "-H",
      "content-type: application/json",
      "--data-binary",
      JSON.stringify({ run: "curl-inputs", level: "error", ctx: { a: [1, 2] } }),
      `${r.base}/inputs/${TEST_TOKEN}/tag/web,curl/`,
    ]);
    assert.equal(inputs.code, 0, inputs.stderr);
    assert.equal(inputs.status, 200);
    assert.equal(inputs.body, '{"response":"ok"}');

    const bulkFile = `${r.certs.dir}/bulk.txt`;
    await Deno.writeTextFile(
      bulkFile,
      `${JSON.stringify({ run: "curl-bulk", n: 1 })}\n${
        JSON.stringify({ run: "curl-bulk", n: 2 })
      }\n`,
    );
    const bulk = await curl(ca, ["--data-binary", `@${bulkFile}`, `${r.base}/bulk/${TEST_TOKEN}`]);
    assert.equal(bulk.status, 200, bulk.stderr);
    assert.equal(bulk.body, '{"response":"ok"}');

    const gzFile = `${r.certs.dir}/events.ndjson.gz`;
    const ndjson = [1, 2, 3].map((n) => JSON.stringify({ run: "curl-v1", n })).join("\n");
    const gz = new Blob([ndjson]).stream().pipeThrough(new CompressionStream("gzip"));
    await Deno.writeFile(gzFile, new Uint8Array(await new Response(gz).arrayBuffer()));
    const v1 = await curl(ca, [
      "--data-binary",
      `@${gzFile}`,
      "-H",
      "Content-Encoding: gzip",
      "-H",
      "Content-Type: application/x-ndjson",
      "-H",
      "X-LOGGLY-TAG: v1",
      `${r.base}/v1/events`,
    ]);
    assert.equal(v1.status, 200, v1.stderr);

    await r.h.stub.waitForCount(6);
    const [inputEvent] = eventsOf(r.h, "curl-inputs");
    assert.deepEqual(inputEvent.tags, ["curl", "hdr", "web"]);
    assert.equal(inputEvent.event.level, "error");
    assert.deepEqual(inputEvent.event.ctx, { a: [1, 2] });
    assert.deepEqual(inputEvent.event.relay, { input: "http", peer: "127.0.0.1" });
    assert.deepEqual(eventsOf(r.h, "curl-bulk").map((e) => e.event.n).sort(), [1, 2]);
    const v1Events = eventsOf(r.h, "curl-v1");
    assert.deepEqual(v1Events.map((e) => e.event.n).sort(), [1, 2, 3]);
    assert.ok(v1Events.every((e) => e.tags.join() === "v1"));
    assert.deepEqual(r.h.stub.violations, []);

    // Without the CA, curl refuses the certificate: TLS is verified, not merely present.
    const untrusted = await curl(null, ["--data-binary", "x", `${r.base}/bulk/${TEST_TOKEN}/`]);
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /certificate/i);
  } finally {
    await r.stop();
  }
});

Deno.test("plain HTTP to the HTTPS port fails: no silent downgrade, nothing queued", async () => {
  const r = await startHttpsRelay();
  try {
    const url = `http://127.0.0.1:${r.port}/bulk/${TEST_TOKEN}/`;
    await assert.rejects(() => fetch(url, { method: "POST", body: "in clear" }));
    const plain = await curl(null, ["--data-binary", "in clear", url]);
    assert.notEqual(plain.code, 0, `curl got ${plain.status}: ${plain.body}`);
    assert.notEqual(plain.status, 200);
    assert.equal(r.h.relay.metrics.total(M.received), 0);
    assert.equal(r.h.relay.metrics.total(M.httpRequests), 0);
    // The port still serves HTTPS afterwards.
    const ok = await fetch(`${r.base}/bulk/${TEST_TOKEN}/`, {
      method: "POST",
      body: "after",
      client: r.client,
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    await r.h.stub.waitForCount(1);
    assert.deepEqual(r.h.stub.messages(), ["after"]);
  } finally {
    await r.stop();
  }
});

// --- the spool -----------------------------------------------------------------------------

Deno.test("with --spool, a 200 means the event is on disk, and a restart delivers it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "relay-http-spool-" });
  const r = await startHttpsRelay(["--spool", dir]);
  let second: Awaited<ReturnType<typeof startRelay>> | null = null;
  try {
    assert.equal(r.h.relay.durable, true);
    await r.h.stub.stop(); // Loggly is down: nothing leaves the spool
    const response = await fetch(`${r.base}/bulk/${TEST_TOKEN}/tag/durable/`, {
      method: "POST",
      body: `${JSON.stringify({ run: "spool", n: 1 })}\n${JSON.stringify({ run: "spool", n: 2 })}`,
      client: r.client,
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { response: "ok" });
    // Read at once: the answer came only after the events were committed.
    const onDisk = await spooledEvents(dir);
    assert.deepEqual(onDisk.filter((e) => e.run === "spool").map((e) => e.n), [1, 2]);

    const unsent = await r.h.relay.stop(300);
    assert.equal(unsent, 2);
    r.h.stub.start(); // back on the same port
    second = await startRelay(testConfig(["--spool", dir], r.h.stub));
    await r.h.stub.waitForCount(2);
    const delivered = eventsOf(r.h, "spool");
    assert.deepEqual(delivered.map((e) => e.event.n).sort(), [1, 2]);
    assert.ok(delivered.every((e) => e.tags.join() === "durable"));
    assert.deepEqual(delivered[0].event.relay, { input: "http", peer: "127.0.0.1" });
  } finally {
    await second?.stop(2000);
    r.client.close();
    await r.h.stub.stop();
    await r.certs.remove();
    await Deno.remove(dir, { recursive: true });
  }
});

// --- health and metrics through the real wiring --------------------------------------------

Deno.test("/healthz over HTTPS: failing delivery, then a full queue (POST 503), then healthy again", async () => {
  const r = await startHttpsRelay(["--queue-max-events", "2", "--health-failing-after", "100ms"]);
  try {
    const get = async (path: string) => {
      const response = await fetch(`${r.base}${path}`, { client: r.client });
      return { status: response.status, text: await response.text() };
    };
    const post = (body: string) =>
      fetch(`${r.base}/bulk/${TEST_TOKEN}/`, { method: "POST", body, client: r.client });
    assert.deepEqual(await get("/healthz"), { status: 200, text: '{"status":"ok"}' });

    await r.h.stub.stop();
    const first = await post("one");
    assert.equal(first.status, 200);
    await first.body?.cancel();
    let health = { status: 0, text: "" };
    await waitUntil(async () => (health = await get("/healthz")).status === 503, 5000);
    assert.match(JSON.parse(health.text).reason, /Every delivery to Loggly has failed for/);

    const second = await post("two");
    assert.equal(second.status, 200);
    await second.body?.cancel();
    health = await get("/healthz");
    assert.equal(health.status, 503);
    assert.match(JSON.parse(health.text).reason, /queue is full/);
    const refused = await post("three");
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "5");
    await refused.body?.cancel();

    const metrics = await get("/metrics");
    assert.equal(metrics.status, 200);
    const lines = metrics.text.split("\n");
    assert.ok(lines.includes('loggly_relay_events_received_total{input="http"} 2'), metrics.text);
    assert.ok(
      lines.includes('loggly_relay_events_dropped_total{input="http",reason="queue full"} 1'),
      metrics.text,
    );

    r.h.stub.start();
    await r.h.stub.waitForCount(2);
    await waitUntil(async () => (await get("/healthz")).status === 200, 5000);
    assert.deepEqual(r.h.stub.messages().sort(), ["one", "two"]);
  } finally {
    await r.stop();
  }
});
