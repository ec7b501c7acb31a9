import assert from "node:assert/strict";
import { Metrics } from "../lib/metrics.ts";

Deno.test("an untouched metric reads 0", () => {
  const m = new Metrics();
  assert.equal(m.get("nothing"), 0);
  assert.equal(m.total("nothing"), 0);
});

Deno.test("inc adds 1 by default, or the given amount", () => {
  const m = new Metrics();
  m.inc("hits");
  m.inc("hits");
  m.inc("hits", {}, 5);
  assert.equal(m.get("hits"), 7);
});

Deno.test("labels keep separate counts and total sums them", () => {
  const m = new Metrics();
  m.inc("received", { input: "udp" }, 3);
  m.inc("received", { input: "tcp" }, 4);
  m.inc("received");
  assert.equal(m.get("received", { input: "udp" }), 3);
  assert.equal(m.get("received", { input: "tcp" }), 4);
  assert.equal(m.get("received"), 1);
  assert.equal(m.total("received"), 8);
});

Deno.test("label order does not matter", () => {
  const m = new Metrics();
  m.inc("dropped", { input: "udp", reason: "full" });
  m.inc("dropped", { reason: "full", input: "udp" });
  assert.equal(m.get("dropped", { reason: "full", input: "udp" }), 2);
  assert.equal(m.render().match(/^dropped\{/gm)?.length, 1);
});

Deno.test("label values with separators do not collide", () => {
  const m = new Metrics();
  m.inc("x", { a: "1,b=2" });
  m.inc("x", { a: "1", b: "2" });
  assert.equal(m.get("x", { a: "1,b=2" }), 1);
  assert.equal(m.get("x", { a: "1", b: "2" }), 1);
});

Deno.test("set replaces a gauge's value", () => {
  const m = new Metrics();
  m.set("queue", 10);
  m.set("queue", 4);
  assert.equal(m.get("queue"), 4);
});

Deno.test("render gives Prometheus text with HELP and TYPE", () => {
  const m = new Metrics();
  m.describe("sent_total", "counter", "Events sent.");
  m.inc("sent_total", {}, 12);
  m.set("queue_events", 3);
  assert.equal(
    m.render(),
    [
      "# HELP sent_total Events sent.",
      "# TYPE sent_total counter",
      "sent_total 12",
      "# TYPE queue_events gauge",
      "queue_events 3",
      "",
    ].join("\n"),
  );
});

Deno.test("render sorts label names and escapes quote, backslash and newline", () => {
  const m = new Metrics();
  m.inc("req", { z: "last", a: 'say "hi"\\now\nthen' });
  assert.equal(m.render(), '# TYPE req counter\nreq{a="say \\"hi\\"\\\\now\\nthen",z="last"} 1\n');
});
