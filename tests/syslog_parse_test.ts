import assert from "node:assert/strict";
import { isValidTimeZone, type ParsedSyslog, parseSyslog } from "../lib/syslog/parse.ts";

const encoder = new TextEncoder();
const NOW = new Date("2026-11-27T12:00:00Z");

function parse(text: string, now: Date = NOW, timeZone = "UTC"): ParsedSyslog {
  return parseSyslog(encoder.encode(text), { now, timeZone });
}

function bytes(...parts: (string | number[])[]): Uint8Array {
  const chunks = parts.map((p) => typeof p === "string" ? encoder.encode(p) : Uint8Array.from(p));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const BOM = [0xef, 0xbb, 0xbf];

// ---------------------------------------------------------------- RFC 5424

Deno.test("5424: RFC example 1 (BOM before MSG, NILVALUE procId and SD)", () => {
  const raw = bytes(
    "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ",
    BOM,
    "'su root' failed for lonvick on /dev/pts/8",
  );
  assert.deepEqual(parseSyslog(raw, { now: NOW, timeZone: "UTC" }), {
    timestamp: "2003-10-11T22:14:15.003Z",
    message: "'su root' failed for lonvick on /dev/pts/8",
    syslog: {
      host: "mymachine.example.com",
      appName: "su",
      msgId: "ID47",
      facility: "auth",
      severity: "crit",
      priority: 34,
    },
  });
});

Deno.test("5424: RFC example 2 (microseconds and a negative offset)", () => {
  const r = parse(
    "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
  );
  assert.deepEqual(r, {
    timestamp: "2003-08-24T12:14:15.000Z",
    message: "%% It's time to make the do-nuts.",
    syslog: {
      host: "192.0.2.1",
      appName: "myproc",
      procId: "8710",
      facility: "local4",
      severity: "notice",
      priority: 165,
    },
  });
});

Deno.test("5424: RFC example 3 (two SD elements, then a BOM and MSG)", () => {
  const raw = bytes(
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] ',
    BOM,
    "An application event log entry...",
  );
  const r = parseSyslog(raw, { now: NOW, timeZone: "UTC" });
  assert.equal(r.message, "An application event log entry...");
  assert.equal(r.parseError, undefined);
  assert.deepEqual(r.syslog, {
    host: "mymachine.example.com",
    appName: "evntslog",
    msgId: "ID47",
    facility: "local4",
    severity: "notice",
    priority: 165,
    structuredData: {
      "exampleSDID@32473": { iut: "3", eventSource: "Application", eventID: "1011" },
      "examplePriority@32473": { class: "high" },
    },
  });
});

Deno.test("5424: RFC example 4 (SD and no MSG)", () => {
  const r = parse(
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
  );
  assert.equal(r.message, "");
  assert.equal(r.parseError, undefined);
  assert.deepEqual(Object.keys(r.syslog?.structuredData ?? {}), [
    "exampleSDID@32473",
    "examplePriority@32473",
  ]);
});

Deno.test("5424: SD escapes, literal backslashes, repeated names, empty element", () => {
  const r = parse(
    String.raw`<13>1 - - - - - [ex@1 a="q\"b\\c\]d" a="two" a="three" w="C:\temp\n"][empty@1] msg`,
  );
  assert.equal(r.parseError, undefined);
  assert.equal(r.message, "msg");
  assert.deepEqual(r.syslog?.structuredData, {
    "ex@1": { a: ['q"b\\c]d', "two", "three"], w: String.raw`C:\temp\n` },
    "empty@1": {},
  });
});

Deno.test("5424: long SD values with escapes, a leading U+FEFF and an emoji read the same", () => {
  const body = 'q\\"b\\\\c\\]d\\x'.repeat(40); // 560 characters: unescaped in one buffer
  const r = parse(`<13>1 - - - - - [x@1 a="\uFEFF${body}" b="\u{1F600}${body}"] m`);
  const value = 'q"b\\c]d\\x'.repeat(40);
  assert.deepEqual(r.syslog?.structuredData, { "x@1": { a: `\uFEFF${value}`, b: `😀${value}` } });
});

Deno.test("5424: unescaped ] inside a value is accepted; a repeated SD-ID merges", () => {
  const r = parse('<13>1 - - - - - [x@1 a="[1]"][x@1 a="2" b="3"]');
  assert.equal(r.parseError, undefined);
  assert.deepEqual(r.syslog?.structuredData, { "x@1": { a: ["[1]", "2"], b: "3" } });
});

Deno.test("5424: an SD-ID or param named __proto__ stays an own property", () => {
  const r = parse('<13>1 - - - - - [__proto__ __proto__="x" polluted="1"] m');
  const sd = r.syslog?.structuredData ?? {};
  assert.ok(Object.hasOwn(sd, "__proto__"));
  assert.equal(JSON.stringify(sd), '{"__proto__":{"__proto__":"x","polluted":"1"}}');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("5424: all NILVALUEs leave every header field out", () => {
  assert.deepEqual(parse("<13>1 - - - - - -"), {
    message: "",
    syslog: { facility: "user", severity: "notice", priority: 13 },
  });
  assert.deepEqual(parse("<13>1 - - - - - - hello"), {
    message: "hello",
    syslog: { facility: "user", severity: "notice", priority: 13 },
  });
});

Deno.test("5424: fractional seconds of any length keep millisecond precision", () => {
  const at = (stamp: string) => parse(`<13>1 ${stamp} h a - - - m`).timestamp;
  assert.equal(at("2026-11-26T21:30:46Z"), "2026-11-26T21:30:46.000Z");
  assert.equal(at("2026-11-26T21:30:46.1Z"), "2026-11-26T21:30:46.100Z");
  assert.equal(at("2026-11-26T21:30:46.12Z"), "2026-11-26T21:30:46.120Z");
  assert.equal(at("2026-11-26T21:30:46.999999999Z"), "2026-11-26T21:30:46.999Z");
  assert.equal(
    at("2026-11-26T21:30:46.1234567890123456789012345678901234567890Z"),
    "2026-11-26T21:30:46.123Z",
  );
});

Deno.test("5424: offsets are converted to UTC", () => {
  const at = (stamp: string) => parse(`<13>1 ${stamp} h a - - - m`).timestamp;
  assert.equal(at("2026-11-26T21:30:46+01:00"), "2026-11-26T20:30:46.000Z");
  assert.equal(at("2026-11-26T02:00:00.5+05:30"), "2026-11-25T20:30:00.500Z");
  assert.equal(at("2026-12-31T22:00:00-07:00"), "2027-01-01T05:00:00.000Z");
  assert.equal(at("2026-11-26T21:30:46-00:00"), "2026-11-26T21:30:46.000Z");
  assert.equal(at("2024-02-29T00:00:00Z"), "2024-02-29T00:00:00.000Z");
});

Deno.test("5424: an invalid timestamp is reported and kept in the message", () => {
  for (const stamp of ["2026-02-30T00:00:00Z", "2026-11-26T25:00:00Z", "2026-11-26T21:30Z"]) {
    const r = parse(`<13>1 ${stamp} host app - - - msg`);
    assert.equal(r.parseError, "Invalid RFC 5424 timestamp", stamp);
    assert.equal(r.message, `${stamp} host app - - - msg`);
    assert.equal(r.timestamp, undefined);
    assert.equal(r.syslog?.priority, 13);
  }
});

Deno.test("5424: a header cut short keeps the fields read", () => {
  const r = parse("<13>1 2026-11-26T21:30:46Z host app");
  assert.equal(r.parseError, "RFC 5424 header is incomplete");
  assert.equal(r.timestamp, "2026-11-26T21:30:46.000Z");
  assert.equal(r.syslog?.host, "host");
  assert.equal(r.syslog?.appName, "app");
  assert.equal(r.message, "");
});

Deno.test("5424: malformed SD keeps complete elements and puts the rest in the message", () => {
  const cases: [string, string, Record<string, unknown> | undefined][] = [
    ['<13>1 - h a - - [ok@1 a="1"][bad@1 a="2] msg', '[bad@1 a="2] msg', { "ok@1": { a: "1" } }],
    ["<13>1 - h a - - [bad@1 a=2] msg", "[bad@1 a=2] msg", undefined],
    ['<13>1 - h a - - [bad@1 a="1"b="2"] msg', '[bad@1 a="1"b="2"] msg', undefined],
    ["<13>1 - h a - - [] msg", "[] msg", undefined],
    ['<13>1 - h a - - [ok@1 a="1"]msg', "msg", { "ok@1": { a: "1" } }],
    ['<13>1 - h a - - [bad@1 a="1\\', '[bad@1 a="1\\', undefined],
    ["<13>1 - h a - - nosd msg", "nosd msg", undefined],
    ["<13>1 - h a - - -x msg", "-x msg", undefined],
  ];
  for (const [input, message, sd] of cases) {
    const r = parse(input);
    assert.equal(r.parseError, "Malformed structured data", input);
    assert.equal(r.message, message, input);
    assert.deepEqual(r.syslog?.structuredData, sd, input);
    assert.equal(r.syslog?.host, "h", input);
  }
});

Deno.test("5424: util-linux logger --rfc5424 output", () => {
  const r = parse(
    '<13>1 2026-11-26T21:30:46.123456+00:00 host user - - [timeQuality tzKnown="1" isSynced="0"] msg',
  );
  assert.deepEqual(r, {
    timestamp: "2026-11-26T21:30:46.123Z",
    message: "msg",
    syslog: {
      host: "host",
      appName: "user",
      facility: "user",
      severity: "notice",
      priority: 13,
      structuredData: { timeQuality: { tzKnown: "1", isSynced: "0" } },
    },
  });
});

// ---------------------------------------------------------------- RFC 3164

Deno.test("3164: RFC example with host and tag", () => {
  assert.deepEqual(parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed"), {
    timestamp: "2026-10-11T22:14:15.000Z",
    message: "'su root' failed",
    syslog: { host: "mymachine", appName: "su", facility: "auth", severity: "crit", priority: 34 },
  });
});

Deno.test("3164: app[pid]: gives appName and procId; a space-padded day", () => {
  const r = parse("<38>Oct  1 02:03:04 web-01 sshd[1234]: Accepted publickey for root");
  assert.equal(r.timestamp, "2026-10-01T02:03:04.000Z");
  assert.equal(r.message, "Accepted publickey for root");
  assert.deepEqual(r.syslog, {
    host: "web-01",
    appName: "sshd",
    procId: "1234",
    facility: "auth",
    severity: "info",
    priority: 38,
  });
  assert.equal(r.parseError, undefined);
});

Deno.test("3164: no host: the token after the stamp is the tag", () => {
  const r = parse("<13>Oct 11 22:14:15 su[123]: msg");
  assert.deepEqual(r.syslog, {
    appName: "su",
    procId: "123",
    facility: "user",
    severity: "notice",
    priority: 13,
  });
  assert.equal(r.message, "msg");
  const plain = parse("<13>Oct 11 22:14:15 cron: job done");
  assert.equal(plain.syslog?.host, undefined);
  assert.equal(plain.syslog?.appName, "cron");
  assert.equal(plain.message, "job done");
});

Deno.test("3164: host without a tag, path-like tags, and a message with its own spacing", () => {
  const noTag = parse("<13>Oct 11 22:14:15 host just some text");
  assert.equal(noTag.syslog?.host, "host");
  assert.equal(noTag.syslog?.appName, undefined);
  assert.equal(noTag.message, "just some text");
  const path = parse("<22>Oct 11 22:14:15 mx postfix/smtpd[99]:   indented");
  assert.equal(path.syslog?.appName, "postfix/smtpd");
  assert.equal(path.syslog?.procId, "99");
  assert.equal(path.message, "  indented");
  const bare = parse("<13>Oct 11 22:14:15 host app[7] text");
  assert.equal(bare.syslog?.appName, "app");
  assert.equal(bare.syslog?.procId, "7");
  assert.equal(bare.message, "text");
  const ipv6 = parse("<13>Oct 11 22:14:15 fe80::1 app: x");
  assert.equal(ipv6.syslog?.host, "fe80::1");
  assert.equal(ipv6.syslog?.appName, "app");
});

Deno.test("3164: stamp only, or stamp and host only", () => {
  assert.deepEqual(parse("<13>Oct 11 22:14:15"), {
    timestamp: "2026-10-11T22:14:15.000Z",
    message: "",
    syslog: { facility: "user", severity: "notice", priority: 13 },
  });
  const r = parse("<13>Oct 11 22:14:15 host");
  assert.equal(r.syslog?.host, "host");
  assert.equal(r.message, "");
});

Deno.test("3164: Cisco sequence number, milliseconds and %FAC-SEV-MNEMONIC", () => {
  const r = parse(
    "<189>123: Mar  1 00:00:18.123: %SYS-5-CONFIG_I: Configured from console by vty0",
    new Date("2026-03-02T00:00:00Z"),
  );
  assert.deepEqual(r, {
    timestamp: "2026-03-01T00:00:18.123Z",
    message: "%SYS-5-CONFIG_I: Configured from console by vty0",
    syslog: { facility: "local7", severity: "notice", priority: 189 },
  });
});

Deno.test("3164: Cisco readings stay within Cisco headers (no counter: a name: is a tag)", () => {
  // Without a counter or origin-id before the stamp, "VIENNA:" is a tag, not a zone name.
  assert.deepEqual(
    parse("<189>Nov 26 22:23:27 VIENNA: %SYS-5-CONFIG_I: x").syslog?.appName,
    "VIENNA",
  );
  // An uptime-like or all-digit token that is not followed by a Cisco message stays text.
  assert.deepEqual(parse("<14>app: 00:20:10 hello"), {
    message: "00:20:10 hello",
    syslog: { appName: "app", facility: "user", severity: "info", priority: 14 },
  });
  assert.equal(parse("<14>42: the answer").message, "42: the answer");
  assert.equal(parse("<14>1d02h: hello").syslog?.appName, "1d02h"); // no counter: a tag
  // A zone-like name followed by something other than %FAC-SEV-MNEMONIC is kept as the tag.
  assert.equal(parse("<189>5: Nov 26 22:23:27 sshd: x").syslog?.appName, "sshd");
  // Without a stamp, a tag followed by clock-like text or a % is still the tag (as in rsyslog).
  const tagged = (text: string, appName: string, message: string, procId?: string) => {
    const r = parse(text);
    assert.equal(r.syslog?.host, undefined, text);
    assert.equal(r.syslog?.appName, appName, text);
    assert.equal(r.syslog?.procId, procId, text);
    assert.equal(r.message, message, text);
  };
  tagged("<13>sshd[1234]: 12:34:56: started", "sshd", "12:34:56: started", "1234");
  tagged("<13>app: %d items processed", "app", "%d items processed");
  tagged("<13>job: 1d02h: took long", "job", "1d02h: took long");
  tagged("<13>app: 99:99:99: %SYS-5-CONFIG_I: y", "app", "99:99:99: %SYS-5-CONFIG_I: y");
  assert.equal(
    parse("<189>82: 99:99:99: %SYS-5-CONFIG_I: y").message,
    "82: 99:99:99: %SYS-5-CONFIG_I: y",
  );
  assert.equal(parse("<189>82: 50% done").message, "82: 50% done");
});

Deno.test("3164: '-' for a missing host or PID, and CEF/LEEF headers, are never fields", () => {
  assert.deepEqual(parse("<14>Nov 26 21:30:46 - app[-]: ready").syslog, {
    appName: "app",
    facility: "user",
    severity: "info",
    priority: 14,
  });
  const leef = parse("<14>Nov 26 21:30:46 LEEF:1.0|Vendor|Prod|1.0|42|src=192.0.2.1");
  assert.equal(leef.message, "LEEF:1.0|Vendor|Prod|1.0|42|src=192.0.2.1");
  assert.equal(leef.syslog?.host, undefined);
  const cef = parse("<14>Nov 26 21:30:46 fw01 CEF:0|V|P|1|sig: x|3|a=b");
  assert.equal(cef.syslog?.host, "fw01");
  assert.equal(cef.syslog?.appName, undefined);
  assert.equal(cef.message, "CEF:0|V|P|1|sig: x|3|a=b");
  assert.equal(parse("<14>Nov 26 21:30:46 : x").syslog?.host, undefined);
});

Deno.test("3164: Cisco origin host, * stamp with UTC zone (overrides the configured zone)", () => {
  const r = parse(
    "<189>45: router1: *Mar  1 18:46:11.203 UTC: %LINK-3-UPDOWN: Interface Gi0/1, changed state to up",
    new Date("2026-03-02T00:00:00Z"),
    "Europe/Berlin",
  );
  assert.equal(r.timestamp, "2026-03-01T18:46:11.203Z");
  assert.equal(r.message, "%LINK-3-UPDOWN: Interface Gi0/1, changed state to up");
  assert.deepEqual(r.syslog, {
    host: "router1",
    facility: "local7",
    severity: "notice",
    priority: 189,
  });
  assert.equal(r.parseError, undefined);
});

Deno.test("3164: Cisco . stamp, zone abbreviations, and an explicit year", () => {
  const dot = parse("<189>7: .Mar  1 18:46:11 CET: %X-1-Y: z", new Date("2026-03-02T00:00:00Z"));
  assert.equal(dot.timestamp, "2026-03-01T17:46:11.000Z");
  assert.equal(dot.message, "%X-1-Y: z");
  const year = parse("<189>123: Mar  1 2024 00:00:18: %SYS-5-CONFIG_I: x", NOW, "Europe/Berlin");
  assert.equal(year.timestamp, "2024-02-29T23:00:18.000Z");
  assert.equal(year.message, "%SYS-5-CONFIG_I: x");
  const asa = parse("<166>Mar 01 2024 12:34:56: %ASA-6-302013: Built");
  assert.equal(asa.timestamp, "2024-03-01T12:34:56.000Z");
  assert.equal(asa.message, "%ASA-6-302013: Built");
  const pst = parse("<13>Nov 26 10:00:00 PST host app: x");
  assert.equal(pst.timestamp, "2026-11-26T18:00:00.000Z");
  assert.equal(pst.syslog?.host, "host");
});

Deno.test("3164: RFC 3339 stamp in a 3164 layout (rsyslog forward format)", () => {
  const r = parse("<34>2026-11-26T21:30:46.123+01:00 host app[12]: msg");
  assert.deepEqual(r, {
    timestamp: "2026-11-26T20:30:46.123Z",
    message: "msg",
    syslog: {
      host: "host",
      appName: "app",
      procId: "12",
      facility: "auth",
      severity: "crit",
      priority: 34,
    },
  });
  const local = parse("<34>2026-07-01T12:00:00 host app: m", NOW, "Europe/Berlin");
  assert.equal(local.timestamp, "2026-07-01T10:00:00.000Z");
});

Deno.test("3164: util-linux logger --rfc3164 output", () => {
  assert.deepEqual(parse("<13>Nov 26 21:30:46 host user: msg"), {
    timestamp: "2026-11-26T21:30:46.000Z",
    message: "msg",
    syslog: { host: "host", appName: "user", facility: "user", severity: "notice", priority: 13 },
  });
});

Deno.test("3164: Python SysLogHandler: no stamp, a leading ident is the tag, no invented host", () => {
  assert.deepEqual(parseSyslog(bytes("<14>disk almost full", [0]), { now: NOW, timeZone: "UTC" }), {
    message: "disk almost full",
    syslog: { facility: "user", severity: "info", priority: 14 },
  });
  const ident = parse("<11>myapp: something failed\x00");
  assert.equal(ident.message, "something failed");
  assert.equal(ident.syslog?.appName, "myapp");
  assert.equal(ident.syslog?.host, undefined);
  assert.equal(ident.parseError, undefined);
  const withPid = parse("<11>myapp[77]: x");
  assert.deepEqual([withPid.syslog?.appName, withPid.syslog?.procId, withPid.message], [
    "myapp",
    "77",
    "x",
  ]);
  assert.equal(parse("<11>not a tag: x").message, "not a tag: x");
});

Deno.test("3164: an impossible date is reported and the text kept", () => {
  const r = parse("<13>Feb 30 10:00:00 host app: x");
  assert.equal(r.parseError, "Invalid timestamp");
  assert.equal(r.message, "Feb 30 10:00:00 host app: x");
  assert.equal(r.timestamp, undefined);
  assert.deepEqual(r.syslog, { facility: "user", severity: "notice", priority: 13 });
});

Deno.test("3164: a 3164 message that starts with '1 ' is not taken for RFC 5424", () => {
  const r = parse("<13>1 apple a day");
  assert.equal(r.message, "1 apple a day");
  assert.equal(r.parseError, undefined);
});

// ---------------------------------------------------------------- no PRI, invalid PRI

Deno.test("no PRI: the header is still read, and the lack of PRI is reported", () => {
  assert.deepEqual(parse("Oct 11 22:14:15 host app: msg"), {
    timestamp: "2026-10-11T22:14:15.000Z",
    message: "msg",
    syslog: { host: "host", appName: "app" },
    parseError: "Message has no PRI",
  });
  assert.deepEqual(parse("hello world"), {
    message: "hello world",
    parseError: "Message has no PRI",
  });
});

Deno.test("invalid PRI: reported, and the whole text is the message", () => {
  for (const input of ["<999>x", "<abc>x", "<192>x", "<1234>x", "<>x", "<13", "<", "<-1>x"]) {
    assert.deepEqual(parse(input), { message: input, parseError: "Invalid PRI" }, input);
  }
  assert.equal(parse("<0>x").syslog?.facility, "kern");
  assert.equal(parse("<0>x").syslog?.severity, "emerg");
  assert.equal(parse("<191>x").syslog?.facility, "local7");
  assert.equal(parse("<191>x").syslog?.severity, "debug");
  assert.equal(parse("<120>x").syslog?.facility, "solaris-cron");
  assert.equal(parse("<007>x").syslog?.priority, 7);
});

// ---------------------------------------------------------------- years and zones

Deno.test("year inference: nearest to now across the new year", () => {
  const dec = parse("<13>Dec 31 23:59:59 h a: m", new Date("2027-01-01T00:00:05Z"));
  assert.equal(dec.timestamp, "2026-12-31T23:59:59.000Z");
  const jan = parse("<13>Jan  1 00:00:01 h a: m", new Date("2026-12-31T23:59:58Z"));
  assert.equal(jan.timestamp, "2027-01-01T00:00:01.000Z");
  const past = parse("<13>Sep 15 12:00:00 h a: m", new Date("2027-01-01T00:00:05Z"));
  assert.equal(past.timestamp, "2026-09-15T12:00:00.000Z");
  const ahead = parse("<13>May 15 12:00:00 h a: m", new Date("2027-01-01T00:00:05Z"));
  assert.equal(ahead.timestamp, "2027-05-15T12:00:00.000Z"); // 135 days ahead beats 231 behind
  const leap = parse("<13>Feb 29 12:00:00 h a: m", new Date("2028-03-01T00:00:00Z"));
  assert.equal(leap.timestamp, "2028-02-29T12:00:00.000Z");
});

Deno.test("year inference in a zone: Berlin new year is still the old year in UTC", () => {
  const r = parse("<13>Jan  1 00:30:00 h a: m", new Date("2026-12-31T23:31:00Z"), "Europe/Berlin");
  assert.equal(r.timestamp, "2026-12-31T23:30:00.000Z");
});

Deno.test("time zone: Europe/Berlin summer and winter, America/New_York", () => {
  const at = (stamp: string, zone: string) =>
    parse(`<13>${stamp} h a: m`, new Date("2026-06-01T00:00:00Z"), zone).timestamp;
  assert.equal(at("Jul 15 12:00:00", "Europe/Berlin"), "2026-07-15T10:00:00.000Z");
  assert.equal(at("Jan 15 12:00:00", "Europe/Berlin"), "2026-01-15T11:00:00.000Z");
  assert.equal(at("Jul 15 12:00:00", "America/New_York"), "2026-07-15T16:00:00.000Z");
  assert.equal(at("Jan 15 12:00:00", "America/New_York"), "2026-01-15T17:00:00.000Z");
  assert.equal(at("Jul 15 12:00:00", "Asia/Kolkata"), "2026-07-15T06:30:00.000Z");
  assert.equal(at("Jul 15 12:00:00", "UTC"), "2026-07-15T12:00:00.000Z");
});

Deno.test("time zone: DST gap moves forward, DST overlap takes the earlier instant", () => {
  const at = (stamp: string) =>
    parse(`<13>${stamp} h a: m`, new Date("2026-06-01T00:00:00Z"), "Europe/Berlin").timestamp;
  assert.equal(at("Mar 29 01:59:59"), "2026-03-29T00:59:59.000Z");
  assert.equal(at("Mar 29 02:30:00"), "2026-03-29T01:30:00.000Z"); // does not exist: 03:30 CEST
  assert.equal(at("Mar 29 03:00:00"), "2026-03-29T01:00:00.000Z");
  assert.equal(at("Oct 25 01:59:59"), "2026-10-24T23:59:59.000Z");
  assert.equal(at("Oct 25 02:30:00"), "2026-10-25T00:30:00.000Z"); // twice: the CEST one
  assert.equal(at("Oct 25 03:00:00"), "2026-10-25T02:00:00.000Z");
});

Deno.test("time zone: an unknown zone does not throw (read as UTC)", () => {
  const r = parse("<13>Jul 15 12:00:00 h a: m", NOW, "Not/AZone");
  assert.equal(r.timestamp, "2026-07-15T12:00:00.000Z");
});

Deno.test("isValidTimeZone", () => {
  assert.equal(isValidTimeZone("UTC"), true);
  assert.equal(isValidTimeZone("Europe/Berlin"), true);
  assert.equal(isValidTimeZone("America/New_York"), true);
  assert.equal(isValidTimeZone("Not/AZone"), false);
  assert.equal(isValidTimeZone(""), false);
  assert.equal(isValidTimeZone("+01:00"), false);
});

// ---------------------------------------------------------------- JSON bodies

Deno.test("JSON body: an object is parsed and the message kept as text", () => {
  const r = parse('<13>1 - h a - - - {"level":"info","n":1}');
  assert.deepEqual(r.json, { level: "info", n: 1 });
  assert.equal(r.message, '{"level":"info","n":1}');
  const cee = parse('<13>Oct 11 22:14:15 h a: @cee: {"msg":"x"}');
  assert.deepEqual(cee.json, { msg: "x" });
  assert.equal(cee.message, '@cee: {"msg":"x"}');
  const plain = parse('{"a":{"b":[1,2]}}\r\n');
  assert.deepEqual(plain.json, { a: { b: [1, 2] } });
  assert.equal(plain.parseError, "Message has no PRI");
});

Deno.test("JSON body: arrays, scalars and broken JSON stay plain text", () => {
  for (const body of ["[1,2]", '"x"', "{not json}", "{", '{"a":1} trailing', "@cee:", "{}x"]) {
    const r = parse(`<13>1 - h a - - - ${body}`);
    assert.equal(r.json, undefined, body);
    assert.equal(r.message, body, body);
  }
});

// ---------------------------------------------------------------- robustness

Deno.test("empty input and line ends only", () => {
  assert.deepEqual(parseSyslog(new Uint8Array(0), { now: NOW, timeZone: "UTC" }), {
    message: "",
    parseError: "Message is empty",
  });
  assert.deepEqual(parse("\r\n\x00"), { message: "", parseError: "Message is empty" });
});

Deno.test("trailing CR, LF and NUL are stripped from the message", () => {
  assert.equal(parse("<13>Oct 11 22:14:15 h a: msg\r\n").message, "msg");
  assert.equal(parse("<13>1 - h a - - - msg\n\x00").message, "msg");
  assert.equal(parse("<13>1 - h a - - - tab\t\n").message, "tab\t");
});

Deno.test("invalid UTF-8 is replaced with U+FFFD, never fatal", () => {
  const r = parseSyslog(bytes("<13>Oct 11 22:14:15 h a: bad ", [0xff, 0xfe, 0xc3], " end"), {
    now: NOW,
    timeZone: "UTC",
  });
  assert.ok(r.message.includes("\ufffd"));
  assert.ok(r.message.startsWith("bad "));
  assert.ok(r.message.endsWith(" end"));
  const sd = parseSyslog(bytes('<13>1 - h a - - [x@1 v="', [0xc0, 0x80], '"] m'), {
    now: NOW,
    timeZone: "UTC",
  });
  assert.equal(sd.parseError, undefined);
  assert.ok((sd.syslog?.structuredData?.["x@1"].v as string).includes("\ufffd"));
});

Deno.test("garbage bytes never throw", () => {
  let seed = 12345; // xorshift32: deterministic, and random enough to reach every branch
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const alphabet = encoder.encode('<>0123456789 -[]="\\:.*%TZ+@{}abcOctMarUTC\r\n\x00');
  for (let n = 0; n < 3000; n++) {
    const length = next() % 120;
    const raw = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      raw[i] = n % 2 === 0 ? next() & 0xff : alphabet[next() % alphabet.length];
    }
    if (n % 3 === 0 && length > 6) raw.set(encoder.encode(n % 2 ? "<13>1 " : "<13>"), 0);
    const r = parseSyslog(raw, { now: NOW, timeZone: "Europe/Berlin" });
    assert.equal(typeof r.message, "string");
    if (r.timestamp !== undefined) assert.ok(!Number.isNaN(Date.parse(r.timestamp)));
  }
});

Deno.test("bad options never throw", () => {
  const r = parseSyslog(encoder.encode("<13>Oct 11 22:14:15 h a: m"), {
    now: new Date(NaN),
    timeZone: "",
  });
  assert.equal(r.message, "m");
  assert.ok(r.timestamp?.endsWith("-10-11T22:14:15.000Z"));
});

Deno.test("1 MB messages and pathological input parse (in linear time)", () => {
  const big = "x".repeat(1 << 20);
  const cases = [
    `<13>1 2026-11-26T21:30:46Z h a - - - ${big}`,
    `<13>Oct 11 22:14:15 h a: ${big}`,
    `<13>Oct 11 22:14:15 ${big}`,
    `<13>1 - h a - - [x@1 v="${big}`,
    `<13>1 - h a - - [x@1${' a="1"'.repeat(150_000)}`,
    `<13>1 - h a - - ${"[x@1]".repeat(200_000)} m`,
    `<13>${"1: ".repeat(300_000)}`,
    `<13>Oct 11 22:14:15 h ${"[".repeat(1 << 20)}]:`,
    "<" + "1".repeat(1 << 20),
    "{".repeat(1 << 20) + "}",
    "@cee: {" + '"a":'.repeat(200_000) + "}",
    big,
  ];
  for (const input of cases) {
    const r = parse(input);
    assert.equal(typeof r.message, "string");
  }
  assert.equal(parse(cases[0]).message.length, 1 << 20);
});

Deno.test("a month name is three ASCII letters: a character past ASCII never reads as one", () => {
  const now = new Date(Date.UTC(2026, 10, 30));
  // U+6A61 would fold into "an" if its code spilled into the next letter's byte.
  const parsed = parseSyslog(new TextEncoder().encode("<13>J\u6A61n 12 10:00:00 host app: x"), {
    now,
    timeZone: "UTC",
  });
  assert.equal(parsed.timestamp, undefined);
  const real = parseSyslog(new TextEncoder().encode("<13>JAN 12 10:00:00 host app: x"), {
    now,
    timeZone: "UTC",
  });
  assert.equal(real.timestamp, "2027-01-12T10:00:00.000Z"); // the nearest January 12
});
