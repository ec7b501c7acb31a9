import assert from "node:assert/strict";
import { Throttle } from "../lib/throttle.ts";

/** A throttle with a 1 s interval on a clock the test moves by hand. */
function setup() {
  const clock = { now: 1_000_000 };
  return { clock, throttle: new Throttle(1000, () => clock.now) };
}

Deno.test("the first occurrence of a key is reported at once", () => {
  const { throttle } = setup();
  assert.equal(throttle.hit("bad frame"), 1);
});

Deno.test("the first report carries `by`", () => {
  const { throttle } = setup();
  assert.equal(throttle.hit("dropped", 25), 25);
});

Deno.test("occurrences within the interval are counted, not reported", () => {
  const { clock, throttle } = setup();
  throttle.hit("k");
  for (let i = 0; i < 10; i++) {
    clock.now += 50;
    assert.equal(throttle.hit("k"), 0);
  }
});

Deno.test("after the interval the next occurrence reports the count since the last report", () => {
  const { clock, throttle } = setup();
  throttle.hit("k");
  throttle.hit("k");
  throttle.hit("k", 3);
  clock.now += 999;
  assert.equal(throttle.hit("k"), 0);
  clock.now += 1;
  assert.equal(throttle.hit("k"), 6);
});

Deno.test("the count restarts after each report", () => {
  const { clock, throttle } = setup();
  throttle.hit("k");
  clock.now += 1000;
  throttle.hit("k");
  clock.now += 500;
  assert.equal(throttle.hit("k"), 0);
  clock.now += 500;
  assert.equal(throttle.hit("k"), 2);
});

Deno.test("a lone occurrence after a long quiet spell is reported as 1", () => {
  const { clock, throttle } = setup();
  throttle.hit("k");
  clock.now += 60_000;
  assert.equal(throttle.hit("k"), 1);
});

Deno.test("keys are throttled independently", () => {
  const { clock, throttle } = setup();
  assert.equal(throttle.hit("a"), 1);
  clock.now += 100;
  assert.equal(throttle.hit("b"), 1);
  assert.equal(throttle.hit("a"), 0);
  clock.now += 900;
  assert.equal(throttle.hit("a"), 2);
  assert.equal(throttle.hit("b"), 0);
});
