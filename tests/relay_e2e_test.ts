/**
 * End-to-end over real sockets: a relay started in-process on ephemeral ports, raw TCP/UDP
 * clients, and the Loggly stand-in.
 */
import assert from "node:assert/strict";
import { M } from "../lib/metrics.ts";
import { sendTcp, sendUdp, startHarness, writeAll } from "./helpers.ts";

const encoder = new TextEncoder();

Deno.test("UDP: an RFC 3164 datagram arrives as a structured event", async () => {
  const h = await startHarness();
  try {
    await sendUdp(h.relay.udp!.port, "<34>Oct 11 22:14:15 mymachine su[42]: 'su root' failed");
    await h.stub.waitForCount(1);
    const event = h.stub.received[0].event as Record<string, Record<string, unknown>>;
    assert.equal(event.message, "'su root' failed");
    assert.equal(event.syslog.host, "mymachine");
    assert.equal(event.syslog.appName, "su");
    assert.equal(event.syslog.procId, "42");
    assert.equal(event.syslog.facility, "auth");
    assert.equal(event.syslog.severity, "crit");
    assert.equal(event.relay.input, "udp");
    assert.equal(event.relay.peer, "127.0.0.1");
    assert.match(String(event.timestamp), /^\d{4}-10-11T22:14:15\.000Z$/);
  } finally {
    await h.stop();
  }
});

Deno.test("TCP: LF and octet-counted messages mixed on one connection, written a byte at a time", async () => {
  const h = await startHarness();
  try {
    const msg1 = "<13>1 2026-11-26T21:30:46.123+01:00 web-01 app 12 ID7 - first";
    const stream = `${msg1.length} ${msg1}<14>Nov 26 21:30:46 host app: second\n` +
      `<15>Nov 26 21:30:47 host app: third\r\n`;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.relay.tcp!.port });
    for (const byte of encoder.encode(stream)) await writeAll(conn, new Uint8Array([byte]));
    conn.close();
    await h.stub.waitForCount(3);
    assert.deepEqual(h.stub.messages(), ["first", "second", "third"]);
    const first = h.stub.received[0].event as Record<string, Record<string, unknown>>;
    assert.equal(first.timestamp, "2026-11-26T20:30:46.123Z");
    assert.equal(first.syslog.msgId, "ID7");
    assert.equal(first.relay.input, "tcp");
  } finally {
    await h.stop();
  }
});

Deno.test("TCP: a last line without LF is delivered when the peer closes", async () => {
  const h = await startHarness();
  try {
    await sendTcp(h.relay.tcp!.port, "<13>no newline at the end");
    await h.stub.waitForCount(1);
    assert.equal(h.stub.messages()[0], "no newline at the end");
  } finally {
    await h.stop();
  }
});

Deno.test("TCP: 50 concurrent connections of 40 messages each all arrive, in order per connection", async () => {
  const h = await startHarness();
  try {
    await Promise.all(Array.from({ length: 50 }, (_, c) => {
      const lines = Array.from(
        { length: 40 },
        (_, i) => `<13>Nov 26 21:30:46 h app: c${c} n${i}\n`,
      );
      return sendTcp(h.relay.tcp!.port, ...lines);
    }));
    await h.stub.waitForCount(2000);
    const messages = h.stub.messages();
    for (let c = 0; c < 50; c++) {
      const mine = messages.filter((m) => m.startsWith(`c${c} `));
      assert.deepEqual(mine, Array.from({ length: 40 }, (_, i) => `c${c} n${i}`));
    }
    assert.equal(h.relay.metrics.get(M.received, { input: "tcp" }), 2000);
  } finally {
    await h.stop();
  }
});

Deno.test("bad input: garbage, invalid UTF-8, a 3 MB line and a bogus octet count leave the relay up", async () => {
  const h = await startHarness();
  try {
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 256);
    await sendTcp(h.relay.tcp!.port, garbage, "\n");
    await sendUdp(h.relay.udp!.port, garbage.subarray(0, 1400));
    await sendUdp(h.relay.udp!.port, new Uint8Array([0x3c, 0x31, 0x33, 0x3e, 0xff, 0xfe, 0x41]));
    await sendTcp(h.relay.tcp!.port, "x".repeat(3 * 1024 * 1024) + "\n", "<13>after big\n");
    await sendTcp(h.relay.tcp!.port, "99999999999 <13>bogus count\n", "5 <13>hello world\n");
    // Digits and a space but no PRI: a line, not an octet count swallowing what follows.
    await sendTcp(h.relay.tcp!.port, "1700000000 disk almost full\n<13>after digits\n");
    await sendTcp(h.relay.tcp!.port, "<13>still alive\n");
    await sendUdp(h.relay.udp!.port, "<13>udp still alive");
    // Each send is a connection of its own, read in any order: wait for every one of them.
    const after = ["after big", "still alive", "udp still alive", "after digits"];
    await h.stub.waitFor(
      () => after.every((m) => h.stub.messages().includes(m)),
      10_000,
      "the events after the bad input",
    );
    const messages = h.stub.messages();
    assert.ok(messages.includes("1700000000 disk almost full"));
    assert.ok(messages.includes("after digits"));
    assert.ok(messages.some((m) => m === "A" || m.endsWith("\uFFFDA")), "invalid UTF-8 replaced");
    const big = h.stub.received.find((r) => String(r.event.message).startsWith("xxx"))!;
    const relay = big.event.relay as Record<string, Record<string, number>>;
    assert.deepEqual(relay.truncated, { originalBytes: 3 * 1024 * 1024, limit: 64 * 1024 });
    assert.equal(String(big.event.message).length, 64 * 1024);
    assert.ok(h.relay.metrics.total(M.parseErrors) >= 2);
    assert.deepEqual(h.stub.violations, []);
  } finally {
    await h.stop();
  }
});

Deno.test("events over Loggly's 1 MB limit are cut to fit and marked, never refused whole", async () => {
  const h = await startHarness(["--max-message-bytes", "3MB"]);
  try {
    await sendTcp(h.relay.tcp!.port, "<13>" + "y".repeat(2_500_000) + "\n", "<13>next\n");
    await h.stub.waitForCount(2);
    const big = h.stub.received[0].event;
    const size = encoder.encode(JSON.stringify(big)).length;
    assert.ok(size <= 1_000_000, `event of ${size} bytes`);
    assert.equal((big.relay as Record<string, unknown>).truncated !== undefined, true);
    assert.equal(h.stub.received[1].event.message, "next");
    assert.equal(h.relay.metrics.get(M.truncated, { input: "tcp" }), 1);
    assert.deepEqual(h.stub.violations, []);
  } finally {
    await h.stop();
  }
});

Deno.test("tags: --tag applies to all events; Loggly's syslog SD tags split batches; bad tags dropped", async () => {
  const h = await startHarness(["--tag", "relay", "--tag", "prod"]);
  try {
    const token = h.stub.token;
    await sendTcp(
      h.relay.tcp!.port,
      "<13>1 - h app - - - plain\n",
      `<13>1 - h app - - [${token}@41058 tag="web" tag="bad tag!"] tagged\n`,
    );
    await h.stub.waitForCount(2);
    const byMessage = Object.fromEntries(h.stub.received.map((r) => [r.event.message, r]));
    assert.deepEqual(byMessage.plain.tags, ["prod", "relay"]);
    assert.deepEqual(byMessage.tagged.tags, ["prod", "relay", "web"]);
    assert.ok(!JSON.stringify(byMessage.tagged.event).includes(token), "token left in the event");
    assert.equal(h.relay.metrics.get(M.tagsDropped, { input: "tcp" }), 1);
  } finally {
    await h.stop();
  }
});

Deno.test("tags: a syslog event keeps at most 64 tags of at most 64 characters; the rest counted", async () => {
  const h = await startHarness(["--tag", "relay"]);
  try {
    const many = Array.from({ length: 100 }, (_, i) => `tag="t${i}"`).join(" ");
    await sendTcp(
      h.relay.tcp!.port,
      `<13>1 - h app - - [${h.stub.token}@41058 ${many} tag="${"x".repeat(65)}"] many tags\n`,
    );
    await h.stub.waitForCount(1);
    const [event] = h.stub.received;
    assert.equal(event.tags.length, 64);
    assert.ok(event.tags.includes("relay"));
    assert.equal(h.relay.metrics.get(M.tagsDropped, { input: "tcp" }), 100 - 63 + 1);
    assert.deepEqual(h.stub.violations, []);
  } finally {
    await h.stop();
  }
});

Deno.test("outage: events received while Loggly is down all arrive after it recovers", async () => {
  const h = await startHarness();
  try {
    await h.stub.stop();
    for (let i = 0; i < 30; i++) await sendUdp(h.relay.udp!.port, `<13>during outage ${i}`);
    await sendTcp(h.relay.tcp!.port, "<13>tcp during outage\n");
    await h.stub.waitFor(() => h.relay.metrics.get(M.retries) >= 2, 5000, "retries");
    h.stub.start();
    await h.stub.waitForCount(31, 10_000);
    assert.equal(new Set(h.stub.messages()).size, 31);
  } finally {
    await h.stop();
  }
});

Deno.test("back-pressure: a full queue pauses TCP readers (nothing lost) and makes UDP drop, counted", async () => {
  // The idle timeout is far shorter than the pause: a paused reader is not an idle peer.
  const h = await startHarness([
    "--queue-max-events",
    "20",
    "--batch-max-events",
    "5",
    "--idle-timeout",
    "50ms",
  ]);
  try {
    await h.stub.stop();
    // 2 MB: far more than one read, so most of it waits unread in the socket while paused.
    const pad = "p".repeat(1000);
    const lines = Array.from({ length: 2000 }, (_, i) => `<13>line ${i} ${pad}\n`);
    const sending = sendTcp(h.relay.tcp!.port, ...lines);
    await h.stub.waitFor(() => h.relay.metrics.get(M.received, { input: "tcp" }) >= 20, 5000);
    for (let i = 0; i < 10; i++) await sendUdp(h.relay.udp!.port, `<13>udp ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 200)); // several idle timeouts long
    await h.stub.waitFor(
      () => h.relay.metrics.get(M.dropped, { input: "udp", reason: "queue full" }) === 10,
      5000,
      "UDP drops",
    );
    h.stub.start();
    await sending;
    await h.stub.waitFor(() =>
      h.stub.messages().filter((m) => m.startsWith("line")).length === 2000
    );
    // Batches retried after an outage may land out of order; none may be missing or doubled.
    const tcp = h.stub.messages().filter((m) => m.startsWith("line ")).sort();
    assert.deepEqual(tcp, Array.from({ length: 2000 }, (_, i) => `line ${i} ${pad}`).sort());
  } finally {
    await h.stop();
  }
});

Deno.test("idle TCP connections are closed after --idle-timeout", async () => {
  const h = await startHarness(["--idle-timeout", "200ms"]);
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: h.relay.tcp!.port });
    await writeAll(conn, encoder.encode("<13>before idle\n"));
    const n = await conn.read(new Uint8Array(16)); // blocks until the relay closes it
    assert.equal(n, null);
    conn.close();
    await h.stub.waitForCount(1);
    assert.equal(h.relay.metrics.get(M.connectionsClosed, { input: "tcp", reason: "idle" }), 1);
  } finally {
    await h.stop();
  }
});

Deno.test("IPv6: the relay listens on [::1]", async () => {
  const h = await startHarness(["--tcp", "[::1]:0", "--udp", "off"]);
  try {
    const conn = await Deno.connect({ hostname: "::1", port: h.relay.tcp!.port });
    await writeAll(conn, encoder.encode("<13>over ipv6\n"));
    conn.close();
    await h.stub.waitForCount(1);
    assert.equal((h.stub.received[0].event.relay as Record<string, string>).peer, "::1");
  } finally {
    await h.stop();
  }
});

Deno.test("dead letters: events Loggly refuses with 400 go to the --dead-letter file with the answer", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/dead.ndjson`;
  const other = "11111111-2222-4333-8444-555555555555";
  const h = await startHarness(["--dead-letter", path, "--tag", "dl", "--accept-token", other]);
  try {
    // Loggly's answer may quote the URL, token included: the file must not keep it.
    h.stub.fail({ status: 400, times: 1, body: `invalid event for /bulk/${h.stub.token}/` });
    await sendTcp(h.relay.tcp!.port, "<13>refused one\n");
    await h.stub.waitFor(() => h.relay.metrics.get(M.deadLettered) === 1, 5000, "dead letter");
    h.stub.fail({ status: 400, times: 1, body: "invalid" });
    await sendTcp(h.relay.tcp!.port, `<13>1 - h a - - [${other}@41058 tag="x"] refused two\n`);
    await h.stub.waitFor(() => h.relay.metrics.get(M.deadLettered) === 2, 5000, "dead letter");
    const [line, second] = (await Deno.readTextFile(path)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    const entry = line;
    assert.equal(entry.status, 400);
    assert.equal(entry.answer, "invalid event for /bulk/[REDACTED]/");
    assert.ok(!(await Deno.readTextFile(path)).includes(h.stub.token));
    assert.ok(!(await Deno.readTextFile(path)).includes(other));
    assert.equal(entry.event.message, "refused one");
    assert.equal(entry.tags, "dl");
    assert.equal(entry.account, undefined, "the relay's own account");
    assert.deepEqual([second.tags, second.account, second.event.message], [
      "dl,x",
      "…5555",
      "refused two",
    ]);
  } finally {
    await h.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--syslog-timezone: RFC 3164 stamps are read in the given zone", async () => {
  const h = await startHarness(["--syslog-timezone", "Asia/Tokyo"]);
  try {
    await sendUdp(h.relay.udp!.port, "<13>Jul  4 09:00:00 host app: in Tokyo");
    await h.stub.waitForCount(1);
    assert.match(String(h.stub.received[0].event.timestamp), /^\d{4}-07-04T00:00:00\.000Z$/);
  } finally {
    await h.stop();
  }
});

Deno.test("spool: while Loggly is healthy, one connection's events arrive in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-order-" });
  const h = await startHarness(["--spool", dir, "--concurrency", "1", "--batch-max-events", "100"]);
  try {
    const lines = Array.from({ length: 3000 }, (_, i) => `<13>ordered ${i}\n`);
    await sendTcp(h.relay.tcp!.port, ...lines);
    await h.stub.waitForCount(3000);
    assert.deepEqual(h.stub.messages(), Array.from({ length: 3000 }, (_, i) => `ordered ${i}`));
  } finally {
    await h.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool full (--spool-max-bytes): TCP pauses, HTTP 503, UDP drops, all counted; nothing accepted lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spool-full-" });
  const h = await startHarness([
    "--spool",
    dir,
    "--spool-max-bytes",
    "1MiB",
    "--http",
    "127.0.0.1:0",
  ]);
  try {
    await h.stub.stop();
    const pad = "q".repeat(1000);
    const sending = sendTcp(
      h.relay.tcp!.port,
      ...Array.from({ length: 3000 }, (_, i) => `<13>big ${i} ${pad}\n`),
    );
    await h.stub.waitFor(
      () => h.relay.metrics.get(M.paused, { input: "tcp" }) > 0,
      5000,
      "a pause",
    );
    for (let i = 0; i < 5; i++) await sendUdp(h.relay.udp!.port, `<13>udp ${i}`);
    const answer = await fetch(`http://127.0.0.1:${h.relay.http!.port}/v1/events`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "refused while full",
    });
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get("retry-after"), "5");
    await answer.body?.cancel();
    assert.equal(h.relay.metrics.get(M.dropped, { input: "http", reason: "queue full" }), 1);
    await h.stub.waitFor(
      () => h.relay.metrics.get(M.dropped, { input: "udp", reason: "queue full" }) === 5,
      5000,
      "UDP drops",
    );
    h.stub.start();
    await sending;
    await h.stub.waitFor(() =>
      h.stub.messages().filter((m) => m.startsWith("big ")).length >= 3000
    );
    assert.equal(new Set(h.stub.messages().filter((m) => m.startsWith("big "))).size, 3000);
  } finally {
    await h.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a JSON body nested too deeply to serialise is sent as text; the relay stays up", async () => {
  const h = await startHarness();
  try {
    const deep = '<14>{"a":' + "[".repeat(20000) + "]".repeat(20000) + "}";
    await sendTcp(h.relay.tcp!.port, deep); // no LF: framed at close
    await sendTcp(h.relay.tcp!.port, "<13>after deep\n");
    await h.stub.waitFor(() => h.stub.messages().includes("after deep"));
    assert.ok(h.stub.received.some((r) => String(r.event.message).startsWith('{"a":[[[')));
  } finally {
    await h.stop();
  }
});
