/**
 * Loggly's own syslog format as the setups people run actually write it (captured from rsyslog
 * 8.2302 with Loggly's template and from syslog-ng 3.38's loggly() destination), and the
 * deviations real senders add: each must give the event a native RFC 5424 sender gives, with the
 * tags taken and the token never left in the event. tests/loggly_senders_test.ts runs the real
 * programs; these pin the exact lines.
 */
import assert from "node:assert/strict";
import { normaliseSyslog } from "../lib/syslog/normalise.ts";
import { parseSyslog } from "../lib/syslog/parse.ts";
import { redactToken, TokenPolicy } from "../lib/tokens.ts";

const TOKEN = "0b6d4f7e-1a2b-4c3d-9e8f-123456789abc";
const OTHER = "11111111-2222-4333-8444-555555555555";
const NOW = new Date("2026-11-30T12:00:00Z");
const SD = `[${TOKEN}@41058 tag="web" tag="prod"]`;

/** The event and tags the relay makes of `line`. */
function read(line: string) {
  const parsed = parseSyslog(new TextEncoder().encode(line), { now: NOW, timeZone: "UTC" });
  return normaliseSyslog(parsed, { bytes: new Uint8Array() }, "tcp", "127.0.0.1", NOW);
}

/** What a native RFC 5424 sender's line gives, for comparison. */
const NATIVE = read(`<156>1 2026-11-30T11:15:02+00:00 vm myapp 14742 - ${SD} hello`);
/** The native header without a PROCID. */
const { procId: _, ...NATIVE_NO_PID } = NATIVE.event.syslog!;

Deno.test("the native form: header parsed, tags taken, element and token gone", () => {
  assert.deepEqual(NATIVE.event, {
    timestamp: "2026-11-30T11:15:02.000Z",
    message: "hello",
    syslog: {
      host: "vm",
      appName: "myapp",
      procId: "14742",
      facility: "local3",
      severity: "warning",
      priority: 156,
    },
    relay: { input: "tcp", peer: "127.0.0.1" },
  });
  assert.deepEqual(NATIVE.tags, ["web", "prod"]);
  assert.deepEqual(NATIVE.tokens, [TOKEN]);
});

Deno.test("rsyslog with Loggly's template: version 0 and the tag's space give the native event", () => {
  const line = `<156>0 2026-11-30T11:15:02+00:00 vm myapp 14742 - ${SD}  hello`;
  assert.deepEqual(read(line), NATIVE);
  const noPid = read(`<156>0 2026-11-30T11:15:02+00:00 vm myapp - - ${SD}  hello`);
  assert.equal(noPid.event.syslog?.procId, undefined);
  assert.equal(noPid.event.message, "hello");
});

Deno.test("syslog-ng's loggly(): empty MSGID (two spaces) and empty PID too (three)", () => {
  const sd = `[${TOKEN}@41058 tag="web"]`;
  const emptyMsgId = read(`<156>1 2026-11-30T11:15:02+00:00 vm myapp 14742  ${sd} hello`);
  assert.deepEqual(emptyMsgId.event, NATIVE.event);
  assert.deepEqual(emptyMsgId.tags, ["web"]);
  const emptyPid = read(`<156>1 2026-11-30T11:15:02+00:00 vm myapp   ${sd} hello`);
  assert.deepEqual(emptyPid.event.syslog, NATIVE_NO_PID);
  assert.equal(emptyPid.event.message, "hello");
  const withMsgId = read(`<156>1 2026-11-30T11:15:02+00:00 vm myapp  ID47 ${sd} hello`);
  assert.equal(withMsgId.event.syslog?.procId, undefined);
  assert.equal(withMsgId.event.syslog?.msgId, "ID47");
});

Deno.test("real senders' deviations: other versions, fields left out, runs of spaces", () => {
  for (
    const line of [
      `<156>2 2026-11-30T11:15:02+00:00 vm myapp 14742 - ${SD} hello`,
      `<156>12 2026-11-30T11:15:02+00:00 vm myapp 14742 - ${SD} hello`,
      `<156>1 2026-11-30T11:15:02+00:00 vm  myapp  14742  - ${SD} hello`,
    ]
  ) {
    assert.deepEqual(read(line), NATIVE, line);
  }
  const leftOut = read(`<156>1 2026-11-30T11:15:02+00:00 vm myapp ${SD} hello`);
  assert.deepEqual(leftOut.event.syslog, NATIVE_NO_PID);
  assert.deepEqual(leftOut.tags, ["web", "prod"]);
  const commas = read(`<156>1 2026-11-30T11:15:02+00:00 vm myapp 1 - [${TOKEN}@41058 tag="a,b"] x`);
  assert.deepEqual(commas.tags, ["a", "b"]);
});

Deno.test("Loggly's element after an RFC 3164 header is taken too, not left as text", () => {
  const { event, tags, tokens } = read(`<156>Nov 30 11:15:02 vm myapp[14742]: ${SD} hello`);
  assert.equal(event.message, "hello");
  assert.deepEqual(tags, ["web", "prod"]);
  assert.deepEqual(tokens, [TOKEN]);
  assert.ok(!JSON.stringify(event).includes(TOKEN));
  const other = read(`<13>Nov 30 11:15:02 vm app: [x@1 k="v"] keeps other elements as text`);
  assert.equal(other.event.message, `[x@1 k="v"] keeps other elements as text`);
});

Deno.test("genuine RFC 3164 lines that start with digits stay RFC 3164", () => {
  for (
    const line of [
      "<13>10 2026-11-30 disk almost full",
      "<13>12 - backup done in 3 s",
      "<13>5 - 3 = 2",
      "<13>0 2026-11-30T10:00:00Z disk full",
      "<13>2 2026-11-30T10:00:00Z backup finished [ok]",
    ]
  ) {
    const { event } = read(line);
    assert.equal(event.message, line.slice(4), line);
    assert.equal(event.relay.parseError, undefined, line);
  }
  // Version 1 with a bad stamp is RFC 5424 that failed: that stays an error, as before.
  assert.equal(
    read("<13>1 2026-13-99T00:00:00Z h a - - - x").event.relay.parseError,
    "Invalid RFC 5424 timestamp",
  );
  // An MSGID that looks like an element is still the MSGID where the fields read in full.
  const msgId = read("<13>1 2026-11-30T11:15:02Z h a p [j] - body");
  assert.equal(msgId.event.syslog?.msgId, "[j]");
  assert.equal(msgId.event.message, "body");
});

Deno.test("a token left in the text (malformed or misplaced element) is routed by and hidden", () => {
  const broken = read(`<13>1 2026-11-30T10:00:00Z h a p m [${OTHER}@41058 tag="x\\] broken`);
  assert.deepEqual(broken.tokens, [OTHER]);
  assert.ok(!JSON.stringify(broken.event).includes(OTHER), JSON.stringify(broken.event));
  const second = read(`<13>Nov 30 10:00:00 host app: [x@1 a="b"] [${OTHER}@41058 tag="t"] hi`);
  assert.deepEqual(second.tokens, [OTHER]);
  assert.match(second.event.message, /\[x@1 a="b"\] \[\[REDACTED\]@41058 tag="t"\] hi/);
});

Deno.test("token policy: own, accepted (case aside) and foreign; two accounts are foreign", () => {
  const policy = new TokenPolicy(TOKEN, [OTHER]);
  assert.deepEqual(policy.route([]), { kind: "own" });
  assert.deepEqual(policy.route([TOKEN.toUpperCase()]), { kind: "own" });
  assert.deepEqual(policy.route([OTHER]), { kind: "accepted", token: OTHER });
  const stranger = "22222222-3333-4444-8555-666666666666";
  assert.deepEqual(policy.route([stranger]), { kind: "foreign", token: stranger });
  assert.deepEqual(policy.route([TOKEN, OTHER]), { kind: "foreign", token: OTHER });
  assert.deepEqual(new TokenPolicy(null).route([stranger]), { kind: "own" }, "dry run");
  assert.equal(redactToken(stranger), "…6666");
});
