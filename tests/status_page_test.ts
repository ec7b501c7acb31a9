/**
 * The status page in a real browser (tests/browser/status_page.ts, in a process of its own with
 * -A, as playwright-core needs): its checks pass, and the screenshot is saved.
 */
import assert from "node:assert/strict";
import { run } from "./helpers.ts";

const SCRIPT = new URL("./browser/status_page.ts", import.meta.url).pathname;
const SCREENSHOT = new URL("./output/status-page.png", import.meta.url).pathname;

Deno.test("status page in Chromium: clean load, /metrics counts, live updates, outage, no token", async () => {
  const { code, stdout, stderr } = await run(Deno.execPath(), ["run", "-A", SCRIPT]);
  assert.equal(code, 0, stdout + stderr);
  assert.match(stdout, /status page: every check passed/);
  const png = await Deno.readFile(SCREENSHOT);
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
});
