/**
 * `loggly-relay test-send`: one tagged event to a real HTTP stand-in for Loggly, and the answer in
 * plain words with the exit code: accepted 0; a bad token, no Loggly there, or an error 1.
 */
import assert from "node:assert/strict";
import { TEST_TAG, testSend, type TestSendOptions } from "../lib/test_send.ts";
import { run } from "./helpers.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";
import { DENO_RUN } from "./relay_process.ts";

const OTHER = "11111111-2222-4333-8444-555555555555";

function options(url: string, token = TEST_TOKEN): TestSendOptions {
  return {
    url,
    token,
    tags: ["prod"],
    fetch,
    now: () => new Date("2026-11-30T10:00:00Z"),
    hostname: "web-01",
    version: "1.2.3",
    timeoutMs: 5_000,
  };
}

Deno.test("test-send: accepted, with the test tag and the configured ones", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  try {
    const result = await testSend(options(stub.url));
    assert.equal(result.outcome, "accepted", result.message);
    assert.match(result.message, /Loggly accepted the test event \(HTTP 200\)/);
    assert.deepEqual(stub.received[0].tags, [TEST_TAG, "prod"]);
    assert.equal(
      stub.received[0].event.message,
      "loggly-relay test-send from web-01: the token works",
    );
    assert.deepEqual(stub.violations, []);
  } finally {
    await stub.stop();
  }
});

Deno.test("test-send: a bad token, a 404, an outage and no one listening, in plain words", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  try {
    const bad = await testSend(options(stub.url, OTHER));
    assert.equal(bad.outcome, "bad token");
    assert.match(bad.message, /Loggly refused the token \(HTTP 403: forbidden\)/);
    assert.ok(!bad.message.includes(OTHER));
    stub.fail({ status: 503, times: 1, body: "down for maintenance" });
    const down = await testSend(options(stub.url));
    assert.equal(down.outcome, "refused");
    assert.match(down.message, /HTTP 503: down for maintenance/);
    const wrongPath = await testSend(options(`${stub.url}/nothing-here`));
    assert.equal(wrongPath.outcome, "refused");
    assert.match(wrongPath.message, /HTTP 404.*Check --loggly-url/);
  } finally {
    await stub.stop();
  }
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const away = await testSend(options(`http://127.0.0.1:${port}`));
  assert.equal(away.outcome, "unreachable");
  assert.match(away.message, /Loggly is unreachable at http:\/\/127\.0\.0\.1:\d+: .*refused/i);
  assert.ok(!away.message.includes(TEST_TOKEN));
});

Deno.test("test-send as a command: exit 0 when accepted, 1 with the reason otherwise", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  try {
    const args = [...DENO_RUN.slice(1), "test-send", "--loggly-url", stub.url, "--token"];
    const good = await run(DENO_RUN[0], [...args, TEST_TOKEN]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /Loggly accepted the test event/);
    const bad = await run(DENO_RUN[0], [...args, OTHER]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /Loggly refused the token/);
    assert.ok(!(bad.stdout + bad.stderr).includes(OTHER));
    const none = await run(DENO_RUN[0], [...DENO_RUN.slice(1), "test-send", "--dry-run"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /test-send needs a token/);
  } finally {
    await stub.stop();
  }
});
