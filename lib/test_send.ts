/**
 * `loggly-relay test-send`: one tagged test event to Loggly with the configured token, and
 * Loggly's answer in plain words (accepted, bad token, unreachable, with the cause), so that a
 * new user can check the token before wiring anything. Pure but for the `fetch` passed in.
 *
 * @module
 */
import { describeError, LOGGLY_OK } from "./loggly/sender.ts";
import { makeRedactor } from "./redact.ts";

/** The tag the test event carries, besides the configured ones. */
export const TEST_TAG = "loggly-relay-test";

/** What the test send needs. */
export interface TestSendOptions {
  /** Loggly's base URL, without a trailing slash. */
  url: string;
  token: string;
  tags: readonly string[];
  fetch: typeof fetch;
  now: () => Date;
  hostname: string;
  version: string;
  timeoutMs: number;
}

/** What came of it. */
export interface TestSendResult {
  readonly outcome: "accepted" | "bad token" | "unreachable" | "refused";
  /** One or two sentences for the user; never the token. */
  readonly message: string;
}

/** Sends the test event and says what Loggly answered. */
export async function testSend(o: TestSendOptions): Promise<TestSendResult> {
  const redact = makeRedactor([o.token]);
  const tags = [...new Set([TEST_TAG, ...o.tags])].join(",");
  const at = o.now().toISOString();
  const event = {
    timestamp: at,
    message: `loggly-relay test-send from ${o.hostname}: the token works`,
    relay: { input: "test-send", host: o.hostname, version: o.version },
  };
  let status: number;
  let text: string;
  try {
    const response = await o.fetch(`${o.url}/bulk/${o.token}/tag/${tags}/`, {
      method: "POST",
      body: JSON.stringify(event) + "\n",
      headers: { "content-type": "text/plain", "user-agent": `loggly-relay/${o.version}` },
      redirect: "manual",
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    status = response.status;
    text = (await response.text()).slice(0, 200);
  } catch (error) {
    return {
      outcome: "unreachable",
      message: `Loggly is unreachable at ${o.url}: ${redact(describeError(error))}. Check the ` +
        "network, DNS, a proxy (HTTPS_PROXY) or --loggly-url.",
    };
  }
  const answer = redact(text.replace(/\s+/g, " ").trim());
  if (status >= 200 && status < 300 && LOGGLY_OK.test(text)) {
    return {
      outcome: "accepted",
      message: `Loggly accepted the test event (HTTP ${status}). Search for tag:${TEST_TAG} in ` +
        "Loggly; it shows up within a minute.",
    };
  }
  if (status === 401 || status === 403) {
    return {
      outcome: "bad token",
      message: `Loggly refused the token (HTTP ${status}: ${answer}). Copy the customer token ` +
        "again from Source Setup > Customer Tokens in Loggly.",
    };
  }
  return {
    outcome: "refused",
    message: `Loggly did not accept the test event (HTTP ${status}: ${answer || "no text"}). ` +
      (status === 404
        ? "Check --loggly-url."
        : "Try again in a minute; if it persists, check --loggly-url."),
  };
}
