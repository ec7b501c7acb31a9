import assert from "node:assert/strict";
import { makeRedactor, REDACTED } from "../lib/redact.ts";

const TOKEN = "0b6d4f7e-1a2b-4c3d-9e8f-123456789abc";

Deno.test("the token is replaced wherever it appears, every time", () => {
  const redact = makeRedactor([TOKEN]);
  assert.equal(
    redact(`token=${TOKEN}; again:${TOKEN}!`),
    `token=${REDACTED}; again:${REDACTED}!`,
  );
});

Deno.test("text without secrets is unchanged", () => {
  assert.equal(makeRedactor([TOKEN])("nothing to hide here"), "nothing to hide here");
});

Deno.test("the path segment after /bulk/ is redacted, even for an unknown token", () => {
  const redact = makeRedactor([]);
  assert.equal(
    redact("POST https://logs-01.loggly.com/bulk/someone-elses-token/tag/web/ failed"),
    `POST https://logs-01.loggly.com/bulk/${REDACTED}/tag/web/ failed`,
  );
});

Deno.test("the path segment after /inputs/ is redacted, up to a query", () => {
  const redact = makeRedactor([]);
  assert.equal(
    redact("GET http://x/inputs/abc123?x=1 and http://y/inputs/def456"),
    `GET http://x/inputs/${REDACTED}?x=1 and http://y/inputs/${REDACTED}`,
  );
});

Deno.test("a known token in a URL is redacted once, not twice", () => {
  const redact = makeRedactor([TOKEN]);
  assert.equal(redact(`/bulk/${TOKEN}/tag/a`), `/bulk/${REDACTED}/tag/a`);
});

Deno.test("null and empty secrets are ignored", () => {
  const redact = makeRedactor([null, "", TOKEN]);
  assert.equal(redact("plain text"), "plain text");
  assert.equal(redact(TOKEN), REDACTED);
});
