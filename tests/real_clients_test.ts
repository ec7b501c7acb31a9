/**
 * Real syslog clients against a relay on real ports: util-linux logger(1) in RFC 3164 and
 * RFC 5424 (octet counting), and Python's logging.handlers.SysLogHandler over UDP and TCP.
 */
import assert from "node:assert/strict";
import { run, startHarness } from "./helpers.ts";

type Fields = Record<string, Record<string, unknown>>;

async function logger(args: string[]): Promise<void> {
  const result = await run("logger", args);
  assert.equal(result.code, 0, `logger failed: ${result.stderr}`);
}

Deno.test("logger --rfc3164 over UDP", async () => {
  const h = await startHarness();
  try {
    const port = String(h.relay.udp!.port);
    await logger([
      "-n",
      "127.0.0.1",
      "-P",
      port,
      "-d",
      "--rfc3164",
      "-t",
      "myapp",
      "-p",
      "local3.warning",
      "hello 3164",
    ]);
    await h.stub.waitForCount(1);
    const event = h.stub.received[0].event as Fields;
    assert.equal(event.message, "hello 3164");
    assert.equal(event.syslog.appName, "myapp");
    assert.equal(event.syslog.facility, "local3");
    assert.equal(event.syslog.severity, "warning");
    assert.equal(event.relay.input, "udp");
  } finally {
    await h.stop();
  }
});

Deno.test("logger --rfc5424 --octet-count over TCP, with structured data and msgid", async () => {
  const h = await startHarness();
  try {
    const port = String(h.relay.tcp!.port);
    await logger([
      "-n",
      "127.0.0.1",
      "-P",
      port,
      "-T",
      "--octet-count",
      "--rfc5424",
      "-t",
      "web",
      "--msgid",
      "ID47",
      "--sd-id",
      "origin@32473",
      "--sd-param",
      'ip="10.0.0.5"',
      "-i",
      "hello 5424",
    ]);
    await h.stub.waitForCount(1);
    const event = h.stub.received[0].event as Fields;
    assert.equal(event.message, "hello 5424");
    assert.equal(event.syslog.appName, "web");
    assert.equal(event.syslog.msgId, "ID47");
    assert.match(String(event.syslog.procId), /^\d+$/);
    const sd = event.syslog.structuredData as Record<string, Record<string, string>>;
    assert.equal(sd["origin@32473"].ip, "10.0.0.5");
    assert.equal(sd.timeQuality.tzKnown, "1");
    assert.equal(event.relay.input, "tcp");
  } finally {
    await h.stop();
  }
});

Deno.test("logger over TCP without octet counting (LF framing), many lines from stdin", async () => {
  const h = await startHarness();
  try {
    const port = String(h.relay.tcp!.port);
    const lines = Array.from({ length: 100 }, (_, i) => `stdin line ${i}`).join("\n") + "\n";
    const result = await run("logger", [
      "-n",
      "127.0.0.1",
      "-P",
      port,
      "-T",
      "--rfc3164",
      "-t",
      "batch",
    ], {
      stdin: lines,
    });
    assert.equal(result.code, 0, result.stderr);
    await h.stub.waitForCount(100);
    assert.deepEqual(h.stub.messages(), Array.from({ length: 100 }, (_, i) => `stdin line ${i}`));
  } finally {
    await h.stop();
  }
});

const PYTHON = `
import logging, logging.handlers, socket, sys
port, kind = int(sys.argv[1]), sys.argv[2]
handler = logging.handlers.SysLogHandler(
    address=("127.0.0.1", port),
    facility=logging.handlers.SysLogHandler.LOG_LOCAL0,
    socktype=socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
handler.setFormatter(logging.Formatter("pyapp: %(message)s"))
log = logging.getLogger("t")
log.addHandler(handler)
log.setLevel(logging.INFO)
log.error('{"user": "alice", "action": "login"}')
log.info("plain %s", kind)
handler.close()
`;

for (const kind of ["udp", "tcp"] as const) {
  Deno.test(`Python SysLogHandler over ${kind.toUpperCase()}: plain and JSON bodies`, async () => {
    const h = await startHarness();
    try {
      const port = String(h.relay[kind]!.port);
      const result = await run("python3", ["-c", PYTHON, port, kind]);
      assert.equal(result.code, 0, result.stderr);
      await h.stub.waitForCount(2);
      const [json, plain] = h.stub.received.map((r) => r.event as Fields);
      assert.equal(plain.message, `plain ${kind}`);
      assert.equal(plain.syslog.appName, "pyapp");
      assert.equal(plain.syslog.facility, "local0");
      assert.equal(plain.syslog.severity, "info");
      assert.equal(json.syslog.severity, "err");
      assert.deepEqual(json.json, { user: "alice", action: "login" });
      assert.equal(json.relay.input, kind);
    } finally {
      await h.stop();
    }
  });
}
