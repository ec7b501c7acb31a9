/**
 * The status page in a real browser: headless Chromium (Debian's `chromium`) driven by
 * playwright-core. The page loads without console errors, shows what /metrics says, rises while
 * events flow without a reload, shows a Loggly outage within seconds, reveals no token, and reads
 * on a phone. Screenshots go to tests/output/ (the README's is one of them).
 *
 * A script, run by tests/status_page_test.ts with -A: playwright-core reads /proc/sys, which
 * Deno grants only to --allow-all, and the suite's own permissions stay as they are.
 */
import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import { sendTcp, sendUdp, startHarness } from "../helpers.ts";
import { TEST_TOKEN } from "../loggly_stub.ts";

/** Where the screenshots are saved. */
export const SCREENSHOTS = new URL("../output/", import.meta.url).pathname;
const CHROMIUM = "/usr/bin/chromium";

async function launch(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}

/** The value of one series of /metrics (0 when absent). */
function metric(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(" ").pop());
}

/** Waits until the element `id` on the page shows text that `test` accepts. */
async function waitForText(
  page: Page,
  id: string,
  test: (text: string) => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test(await shown(page, id))) {
    if (Date.now() > deadline) throw new Error(`${id} still shows "${await shown(page, id)}"`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function shown(page: Page, id: string): Promise<string> {
  return (await page.locator(`[data-testid="${id}"]`).textContent()) ?? "";
}

/** Runs every check; throws on the first that fails. */
async function main(): Promise<void> {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  const h = await startHarness(["--http", "127.0.0.1:0"]);
  const browser = await launch();
  const problems: string[] = [];
  try {
    const base = `http://127.0.0.1:${h.relay.http!.port}`;
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    const response = await page.goto(`${base}/`);
    assert.equal(response?.status(), 200);
    assert.match(response!.headers()["content-type"], /^text\/html/);
    await page.locator('[data-testid="sent"]').waitFor();

    // Events flow: the counts rise on the page without a reload, as /metrics has them.
    await sendTcp(h.relay.tcp!.port, "<13>one\n<13>two\n<13>three\n");
    await sendUdp(h.relay.udp!.port, "<13>four", `not syslog at all ${TEST_TOKEN}`);
    await h.stub.waitForCount(5);
    await waitForText(page, "sent", (t) => t === "5");
    // A few seconds of traffic, for the chart (and the README's screenshot) to show.
    for (let i = 1; i <= 6; i++) {
      await sendTcp(h.relay.tcp!.port, "<13>more\n".repeat(10 * i));
      await sendUdp(h.relay.udp!.port, ..."<13>udp ".repeat(4 * i).split(" ").slice(0, 4 * i));
      await h.stub.waitForCount(5 + 7 * i * (i + 1));
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    const total = 5 + 7 * 6 * 7;
    await waitForText(page, "sent", (t) => t === String(total));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const received = "loggly_relay_events_received_total";
    assert.equal(
      await shown(page, "received-tcp"),
      String(metric(metrics, received, '{input="tcp"}')),
    );
    assert.equal(
      await shown(page, "received-udp"),
      String(metric(metrics, received, '{input="udp"}')),
    );
    assert.equal(
      await shown(page, "sent"),
      String(metric(metrics, "loggly_relay_events_sent_total")),
    );
    assert.equal(await shown(page, "received-tcp"), String(3 + 10 * 21));
    assert.equal(await shown(page, "loggly-state"), "Loggly OK");
    // The line that did not parse is shown, its token redacted.
    await waitForText(page, "parse-errors", (t) => t.includes("not syslog"));
    assert.match(await shown(page, "parse-errors"), /not syslog at all \[REDACTED\]/);
    await page.screenshot({ path: `${SCREENSHOTS}status-page.png`, fullPage: true });

    // An outage: Loggly answers 503; the page says so within seconds, without a reload.
    h.stub.fail({ status: 503, times: 1_000_000, body: "down for maintenance" });
    await sendTcp(h.relay.tcp!.port, "<13>during the outage\n");
    const outageAt = Date.now();
    await waitForText(page, "loggly-state", (t) => t === "Loggly FAILING");
    console.log(`The page showed the outage ${Date.now() - outageAt} ms after it began`);
    assert.match(await shown(page, "loggly-answer"), /503 \(down for maintenance\)/);
    await page.screenshot({ path: `${SCREENSHOTS}status-page-outage.png`, fullPage: true });

    const html = await page.content();
    const json = await (await fetch(`${base}/status.json`)).text();
    assert.ok(!html.includes(TEST_TOKEN) && !json.includes(TEST_TOKEN), "no token on the page");

    // On a phone: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    const width = await page.locator("body").evaluate((body) => body.scrollWidth);
    assert.ok(width <= 390, `the page is ${width} px wide on a 390 px screen`);
    await page.screenshot({ path: `${SCREENSHOTS}status-page-phone.png`, fullPage: true });
    assert.deepEqual(problems, [], "no console errors");
    h.stub.recover();
  } finally {
    await browser.close();
    await h.stop();
  }
}

/** Beyond loopback: the page loads, asks for an --http-token, then shows the status. */
async function tokenForm(): Promise<void> {
  const httpToken = "page-bearer-token-0123456789";
  const h = await startHarness(["--http", "0.0.0.0:0", "--http-token", httpToken]);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${h.relay.http!.port}/`);
    await waitForText(page, "banner", (t) => t.includes("behind a token"));
    assert.ok(await page.locator("#auth").isVisible(), "the token form is shown");
    await page.fill("#token", httpToken);
    await page.click("#auth button");
    await waitForText(page, "sent", (t) => t === "0");
    assert.ok(!await page.locator("#auth").isVisible(), "the form is gone");
    assert.ok(!(await page.content()).includes(httpToken), "the token is not on the page");
  } finally {
    await browser.close();
    await h.stop();
  }
}

if (import.meta.main) {
  await main();
  await tokenForm();
  console.log("status page: every check passed");
}
