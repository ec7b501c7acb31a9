/**
 * The HTTP input end to end over real sockets and HTTPS: a throwaway CA made with openssl, the
 * relay started in-process against the Loggly stand-in, and curl and fetch as clients. Loggly's
 * client libraries and the calls Loggly documents are in loggly_clients_test.ts.
 */
import { spooledEvents } from "./spool_reader.ts";
import assert from "node:assert/strict";
import { M } from "../lib/metrics.ts";
import { startRelay } from "../lib/relay.ts";
import { testConfig } from "./helpers.ts";
import { curl, eventsOf, startHttpsRelay } from "./https_relay.ts";
import { TEST_TOKEN } from "./loggly_stub.ts";
import { waitUntil } from "./relay_process.ts";

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

Deno.test("HTTPS: chunked bodies refused early (over the limit, bad gzip) get their answer; TRACE 405; the relay stays up", async () => {
  const r = await startHttpsRelay(["--http-max-body-bytes", "100KB"]);
  const dir = await Deno.makeTempDir();
  try {
    const big = `${dir}/big.ndjson`;
    await Deno.writeTextFile(big, `${JSON.stringify({ pad: "x".repeat(1000) })}\n`.repeat(300));
    const garbage = `${dir}/garbage.gz`;
    await Deno.writeFile(garbage, new Uint8Array(200_000).map((_, i) => (i * 7919) % 251));
    const chunked = ["-H", "Transfer-Encoding: chunked"];
    const bulk = `${r.base}/bulk/${TEST_TOKEN}/`;
    for (let i = 0; i < 3; i++) { // more than once: a crash would show on the next request
      const over = await curl(r.certs.caCert, [...chunked, "--data-binary", `@${big}`, bulk]);
      assert.equal(over.status, 413, `${over.body} ${over.stderr}`);
      const gzip = await curl(r.certs.caCert, [
        ...chunked,
        "-H",
        "Content-Encoding: gzip",
        "--data-binary",
        `@${garbage}`,
        bulk,
      ]);
      assert.equal(gzip.status, 400, `${gzip.body} ${gzip.stderr}`);
    }
    const trace = await curl(r.certs.caCert, ["-X", "TRACE", `${r.base}/healthz`]);
    assert.equal(trace.status, 405, trace.stderr);
    const ok = await curl(r.certs.caCert, ["-d", '{"run":"after"}', bulk]);
    assert.equal(ok.status, 200, ok.stderr);
    await r.h.stub.waitForCount(1);
    assert.equal(eventsOf(r.h, "after").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await r.stop();
  }
});

Deno.test("HTTPS: a keep-alive client answered 503 (queue full) before its body was read goes on without errors", async () => {
  const r = await startHttpsRelay(["--queue-max-events", "50"]);
  try {
    await r.h.stub.stop(); // nothing leaves: the queue fills and stays full
    // Bodies far larger than one read: the app answers 503 before most of each has arrived.
    const body = Array.from(
      { length: 1000 },
      (_, i) => JSON.stringify({ n: i, pad: "p".repeat(200) }),
    ).join("\n");
    const statuses: number[] = [];
    // Four at a time on one client: connections are reused at once after every answer.
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 10; i++) {
        const response = await fetch(`${r.base}/bulk/${TEST_TOKEN}/`, {
          method: "POST",
          body,
          client: r.client,
        });
        await response.text();
        statuses.push(response.status);
      }
    }));
    assert.ok(statuses.includes(503), `${statuses}`);
    assert.ok(statuses.every((s) => s === 200 || s === 503), `${statuses}`);
  } finally {
    r.h.stub.start();
    await r.stop();
  }
});
