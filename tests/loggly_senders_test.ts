/**
 * Loggly's own published syslog setups, run by the real daemons and pointed at the relay
 * (unchanged apart from host, port and CA): rsyslog 8 with Loggly's template over TLS (the gtls
 * driver, x509/name), in the legacy and the RainerScript form, and syslog-ng's bundled loggly()
 * destination over TCP and TLS. util-linux logger(1) feeds each daemon RFC 3164 lines, so that
 * rsyslog writes protocol version 0. The daemons come from tests/tools/install_syslog_daemons.sh,
 * which .ci/run runs first.
 */
import assert from "node:assert/strict";
import { M } from "../lib/metrics.ts";
import { type Harness, startHarness } from "./helpers.ts";
import { TEST_TOKEN } from "./loggly_stub.ts";
import { makeTestCertificates, type TestCertificates, tlsArgs } from "./tls_fixture.ts";

const INSTALL_SCRIPT = "tests/tools/install_syslog_daemons.sh";
/** Where the install script unpacks rsyslog (its package conflicts with syslog-ng's). */
const RSYSLOG_DIR = "/var/cache/loggly-relay-tests/rsyslog";
const LOGGLY_SCL = "/usr/share/syslog-ng/include/scl/loggly/loggly.conf";
/** A well-formed token that is not the relay's. */
const FOREIGN_TOKEN = "5f0c2a9e-7b3d-4e1f-8a6c-0d9e8b7a6c5f";
/** A name in the relay's test certificate (subjectAltName DNS:localhost). */
const RELAY_CERT_NAME = "localhost";
const READY_TIMEOUT_MS = 5_000;
const DELIVERY_TIMEOUT_MS = 8_000;

type Fields = Record<string, Record<string, unknown>>;

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The path of `name`: in one of `dirs` first, then on PATH; fails naming the install script. */
function findProgram(name: string, dirs: string[] = []): string {
  const path = Deno.env.get("PATH") ?? "";
  for (const dir of [...dirs, ...path.split(":").filter((d) => d !== "")]) {
    if (isFile(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  throw new Error(
    `${name} not found (in ${[...dirs, "PATH"].join(", ")}): run ${INSTALL_SCRIPT} (.ci/run does)`,
  );
}

function rsyslogd(): string {
  return findProgram("rsyslogd", [RSYSLOG_DIR]);
}

function syslogNg(): string {
  const program = findProgram("syslog-ng");
  if (!isFile(LOGGLY_SCL)) {
    throw new Error(`${LOGGLY_SCL} is missing (syslog-ng-scl): run ${INSTALL_SCRIPT}`);
  }
  return program;
}

/** The host names a sender on this machine may write: the full one and its first label. */
async function hostNames(): Promise<string[]> {
  // uname(1), not /proc (which Deno opens only with --allow-all) nor Deno.hostname (--allow-sys).
  const uname = await new Deno.Command("uname", { args: ["-n"], stdin: "null" }).output();
  const full = new TextDecoder().decode(uname.stdout).trim();
  return [...new Set([full, full.split(".")[0]])];
}

/** A daemon running in the foreground; `stop` ends it (SIGTERM) and returns what it printed. */
class Daemon {
  readonly #child: Deno.ChildProcess;
  readonly #output: Promise<string>;
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(program: string, args: string[]) {
    this.#child = new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const text = (stream: ReadableStream<Uint8Array>) => new Response(stream).text();
    this.#output = Promise.all([text(this.#child.stdout), text(this.#child.stderr)])
      .then(([out, err]) => out + err);
    this.status = this.#child.status.finally(() => this.#exited = true);
  }

  get exited(): boolean {
    return this.#exited;
  }

  async stop(): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (!this.#exited) {
      this.#child.kill("SIGTERM");
      timer = setTimeout(() => {
        if (!this.#exited) this.#child.kill("SIGKILL");
      }, 5_000);
    }
    await this.status;
    clearTimeout(timer);
    return await this.#output;
  }
}

/** Waits until `ready` gives a value, failing early (with the daemon's output) if it exits. */
async function waitReady<T>(daemon: Daemon, what: string, ready: () => T | undefined): Promise<T> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const value = ready();
    if (value !== undefined) return value;
    if (daemon.exited || Date.now() > deadline) {
      const how = daemon.exited ? `exited with ${(await daemon.status).code}` : "timed out";
      throw new Error(`${what} did not get ready (${how}):\n${await daemon.stop()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A line logger sent, and the pid it wrote (`-i`). */
interface Sent {
  message: string;
  pid: number;
}

/** Runs logger(1) with `args`, then `message`; returns its pid (what `-i` writes). */
async function logger(args: string[], message: string): Promise<Sent> {
  const child = new Deno.Command("logger", {
    args: [...args, message],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = await child.output();
  assert.equal(output.code, 0, `logger: ${new TextDecoder().decode(output.stderr)}`);
  return { message, pid: child.pid };
}

/** Loggly's template text (as in its rsyslog setups), with the token and one tag="…" per tag. */
function logglyTemplate(token: string, tags: string[]): string {
  const sd = `[${token}@41058 ${tags.map((tag) => `tag=\\"${tag}\\"`).join(" ")}]`;
  return `<%pri%>%protocol-version% %timestamp:::date-rfc3339% %HOSTNAME% %app-name% %procid% ` +
    `%msgid% ${sd} %msg%\\n`;
}

/** Where rsyslog is to send, and with what. */
interface RsyslogSetup {
  dir: string;
  port: number;
  caFile: string;
  token: string;
  tags: string[];
}

/** An imtcp input on an ephemeral loopback port, written to in.port; nothing else is loaded. */
function rsyslogInput(dir: string): string {
  return [
    'module(load="imtcp")',
    `input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${dir}/in.port")`,
  ].join("\n");
}

/**
 * Loggly's rsyslog TLS setup in the legacy directives its instructions use: the template, a
 * disk-assisted queue, and the gtls driver with x509/name.
 */
function rsyslogLegacyConfig(s: RsyslogSetup): string {
  return `${rsyslogInput(s.dir)}

# Loggly's rsyslog TLS configuration, pointed at the relay.
$template LogglyFormat,"${logglyTemplate(s.token, s.tags)}"

# Setup disk assisted queues
$WorkDirectory ${s.dir}
$ActionQueueFileName fwdRule1
$ActionQueueMaxDiskSpace 1g
$ActionQueueSaveOnShutdown on
$ActionQueueType LinkedList
$ActionResumeRetryCount -1

#RsyslogGnuTLS
$DefaultNetstreamDriverCAFile ${s.caFile}
$ActionSendStreamDriver gtls
$ActionSendStreamDriverMode 1
$ActionSendStreamDriverAuthMode x509/name
$ActionSendStreamDriverPermittedPeer ${RELAY_CERT_NAME}

*.* @@127.0.0.1:${s.port};LogglyFormat
`;
}

/** The same in RainerScript: Loggly's template() form, and an omfwd action with those TLS settings. */
function rsyslogRainerScriptConfig(s: RsyslogSetup): string {
  return `global(workDirectory="${s.dir}" defaultNetstreamDriverCAFile="${s.caFile}")
${rsyslogInput(s.dir)}

template(name="LogglyFormat" type="string"
 string="${logglyTemplate(s.token, s.tags)}")

action(type="omfwd" protocol="tcp" target="127.0.0.1" port="${s.port}" template="LogglyFormat"
       StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
       StreamDriverPermittedPeers="${RELAY_CERT_NAME}")
`;
}

/** Starts rsyslogd with `config` in `dir`; returns it and the port of its TCP input. */
async function startRsyslog(dir: string, config: string): Promise<[Daemon, number]> {
  const program = rsyslogd();
  await Deno.writeTextFile(`${dir}/rsyslog.conf`, config);
  const daemon = new Daemon(program, ["-n", "-f", `${dir}/rsyslog.conf`, "-i", `${dir}/pid`]);
  const port = await waitReady(daemon, "rsyslogd", () => {
    try {
      const port = Number(Deno.readTextFileSync(`${dir}/in.port`).trim());
      return port > 0 ? port : undefined;
    } catch {
      return undefined;
    }
  });
  return [daemon, port];
}

/** Starts syslog-ng with a unix-dgram source at `dir`/log and `destination`; all files in `dir`. */
async function startSyslogNg(dir: string, destination: string): Promise<[Daemon, string]> {
  const program = syslogNg();
  const socket = `${dir}/log`;
  await Deno.writeTextFile(
    `${dir}/syslog-ng.conf`,
    `@version: current
@include "scl.conf"

source s_local { unix-dgram("${socket}" flags(expect-hostname)); };
destination d_loggly { ${destination} };
log { source(s_local); destination(d_loggly); };
`,
  );
  const daemon = new Daemon(program, [
    "--foreground",
    "--stderr",
    "--no-caps",
    `--cfgfile=${dir}/syslog-ng.conf`,
    `--pidfile=${dir}/syslog-ng.pid`,
    `--persist-file=${dir}/syslog-ng.persist`,
    `--control=${dir}/syslog-ng.ctl`,
  ]);
  await waitReady(daemon, "syslog-ng", () => {
    try {
      return Deno.statSync(socket).isSocket ? true : undefined;
    } catch {
      return undefined;
    }
  });
  return [daemon, socket];
}

/** syslog-ng's loggly() as its SCL file shows it, pointed at the relay; TLS when `caFile`. */
function logglyDestination(token: string, tag: string, port: number, caFile?: string): string {
  const tls = caFile === undefined
    ? ""
    : ` transport(tls) tls(peer-verify(required-trusted) ca-file("${caFile}"))`;
  return `loggly(token("${token}") tag("${tag}") host("127.0.0.1") port(${port})${tls});`;
}

/** A relay (TLS too when `certs`), a temporary directory, and cleanup in the right order. */
async function withRelay(
  certs: TestCertificates | null,
  body: (h: Harness, dir: string, daemons: Daemon[]) => Promise<void>,
): Promise<void> {
  const h = await startHarness(certs ? tlsArgs(certs) : []);
  const dir = await Deno.makeTempDir({ prefix: "loggly-senders-" });
  const daemons: Daemon[] = [];
  try {
    await body(h, dir, daemons);
  } finally {
    for (const daemon of daemons) await daemon.stop();
    await h.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Waits for `count` events, naming the daemon's output on a timeout. */
async function waitForEvents(h: Harness, count: number, daemon: Daemon): Promise<void> {
  try {
    await h.stub.waitForCount(count, DELIVERY_TIMEOUT_MS);
  } catch (error) {
    throw new Error(`${(error as Error).message}\ndaemon output:\n${await daemon.stop()}`);
  }
}

/** What the relay must make of one line a Loggly setup forwarded (the relay's contract). */
function assertLogglyEvent(
  h: Harness,
  sent: Sent[],
  expected: { tags: string[]; hosts: string[]; input: "tcp" | "tls" },
): void {
  assert.deepEqual(h.stub.violations, []);
  const received = h.stub.received;
  assert.deepEqual(
    received.map((r) => r.event.message).toSorted(),
    sent.map((s) => s.message).toSorted(),
    "messages: without the header or the [TOKEN@41058 …] element, no leading space",
  );
  for (const { tags, event } of received) {
    const line = sent.find((s) => s.message === event.message)!;
    const e = event as Fields;
    const what = JSON.stringify(event);
    assert.deepEqual(tags.toSorted(), expected.tags.toSorted(), `tags of ${what}`);
    assert.equal(e.syslog.appName, "myapp", what);
    assert.equal(e.syslog.procId, String(line.pid), what);
    assert.ok(expected.hosts.includes(String(e.syslog.host)), `host of ${what}`);
    assert.equal(e.syslog.facility, "local3", what);
    assert.equal(e.syslog.severity, "warning", what);
    assert.equal(e.syslog.msgId, undefined, what);
    const at = Date.parse(String(event.timestamp));
    assert.ok(Math.abs(Date.now() - at) < 60_000, `timestamp of ${what}`);
    const sd = Object.keys((e.syslog.structuredData ?? {}) as object);
    assert.deepEqual(sd.filter((id) => id.endsWith("@41058")), [], `structured data of ${what}`);
    assert.ok(!what.includes(TEST_TOKEN), `the token appears in ${what}`);
    assert.equal(e.relay.input, expected.input, what);
  }
}

/** logger arguments for RFC 3164 over TCP to `port` (LF framing), as local3.warning with pid. */
function loggerTcp3164(port: number): string[] {
  return ["-n", "127.0.0.1", "-P", String(port), "-T", "--rfc3164", "-t", "myapp", "-i"]
    .concat(["-p", "local3.warning"]);
}

/** logger arguments for RFC 3164 to syslog-ng's unix-dgram source at `socket`. */
function loggerSocket3164(socket: string): string[] {
  return ["-u", socket, "--rfc3164", "-t", "myapp", "-i", "-p", "local3.warning"];
}

const RSYSLOG_FORMS = [
  ["legacy directives", rsyslogLegacyConfig],
  ["RainerScript", rsyslogRainerScriptConfig],
] as const;

for (const [form, config] of RSYSLOG_FORMS) {
  Deno.test(`rsyslog with Loggly's TLS setup (${form}): RFC 3164 and 5424 lines arrive as events`, async () => {
    await using certs = await makeTestCertificates();
    await withRelay(certs, async (h, dir, daemons) => {
      const setup = { dir, port: h.relay.tls!.port, caFile: certs.caCert, token: TEST_TOKEN };
      const [daemon, port] = await startRsyslog(dir, config({ ...setup, tags: ["web", "prod"] }));
      daemons.push(daemon);
      const sent = [
        await logger(loggerTcp3164(port), "hello rsyslog"),
        await logger(loggerTcp3164(port), "second line"),
        await logger(loggerTcp3164(port), "third line"),
      ];
      // Protocol version 1 too: logger's RFC 5424 line, which rsyslog rewrites with the template.
      const args5424 = loggerTcp3164(port).map((a) => a === "--rfc3164" ? "--rfc5424" : a);
      sent.push(await logger(args5424, "hello 5424"));
      await waitForEvents(h, sent.length, daemon);
      assertLogglyEvent(h, sent, {
        tags: ["web", "prod"],
        hosts: await hostNames(),
        input: "tls",
      });
    });
  });
}

for (const transport of ["tcp", "tls"] as const) {
  Deno.test(`syslog-ng's loggly() over ${transport.toUpperCase()}: RFC 3164 lines arrive as events`, async () => {
    await using certs = await makeTestCertificates();
    await withRelay(certs, async (h, dir, daemons) => {
      const destination = transport === "tls"
        ? logglyDestination(TEST_TOKEN, "web", h.relay.tls!.port, certs.caCert)
        : logglyDestination(TEST_TOKEN, "web", h.relay.tcp!.port);
      const [daemon, socket] = await startSyslogNg(dir, destination);
      daemons.push(daemon);
      const sent = [
        await logger(loggerSocket3164(socket), "hello syslog-ng"),
        await logger(loggerSocket3164(socket), "second line"),
        await logger(loggerSocket3164(socket), "third line"),
      ];
      await waitForEvents(h, sent.length, daemon);
      assertLogglyEvent(h, sent, { tags: ["web"], hosts: await hostNames(), input: transport });
    });
  });
}

/** Sends `send` lines, then checks that none arrived and that the relay counted each. */
async function assertForeignTokenDropped(
  h: Harness,
  input: "tcp" | "tls",
  send: () => Promise<unknown>[],
): Promise<void> {
  const lines = await Promise.all(send());
  const dropped = () => h.relay.metrics.get(M.dropped, { input, reason: "foreign token" });
  await h.stub.waitFor(
    () => dropped() >= lines.length || h.stub.received.length > 0,
    DELIVERY_TIMEOUT_MS,
    `${lines.length} events dropped for a foreign token`,
  );
  // A delivery of a dropped line after its count would be a bug too; give it a moment to show.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(h.stub.received.map((r) => r.event), [], "nothing is delivered");
  assert.equal(dropped(), lines.length);
}

Deno.test("rsyslog with Loggly's TLS setup and another account's token: dropped and counted", async () => {
  await using certs = await makeTestCertificates();
  await withRelay(certs, async (h, dir, daemons) => {
    const [daemon, port] = await startRsyslog(
      dir,
      rsyslogRainerScriptConfig({
        dir,
        port: h.relay.tls!.port,
        caFile: certs.caCert,
        token: FOREIGN_TOKEN,
        tags: ["web"],
      }),
    );
    daemons.push(daemon);
    await assertForeignTokenDropped(h, "tls", () => [
      logger(loggerTcp3164(port), "not ours 1"),
      logger(loggerTcp3164(port), "not ours 2"),
      logger(loggerTcp3164(port), "not ours 3"),
    ]);
  });
});

Deno.test("syslog-ng's loggly() with another account's token over TCP: dropped and counted", async () => {
  await withRelay(null, async (h, dir, daemons) => {
    const destination = logglyDestination(FOREIGN_TOKEN, "web", h.relay.tcp!.port);
    const [daemon, socket] = await startSyslogNg(dir, destination);
    daemons.push(daemon);
    await assertForeignTokenDropped(h, "tcp", () => [
      logger(loggerSocket3164(socket), "not ours 1"),
      logger(loggerSocket3164(socket), "not ours 2"),
      logger(loggerSocket3164(socket), "not ours 3"),
    ]);
  });
});
