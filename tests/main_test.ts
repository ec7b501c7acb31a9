/**
 * The executable as a user runs it: `deno run main.ts` in a subprocess, for exit codes, usage
 * errors, signals and what reaches stderr (never the token).
 */
import assert from "node:assert/strict";
import { run, sendTcp, sendUdp } from "./helpers.ts";
import { MAIN, PERMISSIONS, RelayProcess, waitUntil } from "./relay_process.ts";
import { LogglyStub, TEST_TOKEN } from "./loggly_stub.ts";

function relay(args: string[], env: Record<string, string> = {}) {
  return run(Deno.execPath(), ["run", ...PERMISSIONS, MAIN, ...args], { env });
}

Deno.test("--help and --version exit 0", async () => {
  const help = await relay(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: loggly-relay --token TOKEN/);
  assert.match(help.stdout, /--dead-letter FILE/);
  const version = await relay(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^loggly-relay \d+\.\d+\.\d+/);
});

Deno.test("usage errors exit 2 with a message naming the problem, and where the help is", async () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /Unknown flag '--bogus'/],
    [[], /No Loggly token/],
    [["--token", TEST_TOKEN, "--udp", "1.2.3.4:99999"], /--udp "1.2.3.4:99999" has a bad port/],
    [["--token", TEST_TOKEN, "--linger", "soon"], /--linger "soon" is not a duration/],
    [["--token", TEST_TOKEN, "--tag", "a b"], /--tag "a b" is not a valid Loggly tag/],
    [["--token", TEST_TOKEN, "extra"], /extra/],
    [["-k"], /-k/],
  ];
  for (const [args, message] of cases) {
    const result = await relay(args);
    assert.equal(result.code, 2, `exit code for ${args.join(" ")}`);
    assert.match(result.stderr, message);
    assert.match(result.stderr, /See loggly-relay --help/);
  }
});

Deno.test("a malformed token is refused without being echoed", async () => {
  const secret = "my-secret-token-1234567890";
  const result = await relay(["--token", secret]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /36-character UUID/);
  assert.ok(!result.stderr.includes(secret));
});

Deno.test("a port in use exits 1 naming the address", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (blocker.addr as Deno.NetAddr).port;
  try {
    const result = await relay([
      "--token",
      TEST_TOKEN,
      "--udp",
      "off",
      "--tcp",
      `127.0.0.1:${port}`,
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`Cannot listen for tcp on 127\\.0\\.0\\.1:${port}`));
  } finally {
    blocker.close();
  }
});

Deno.test("SIGTERM: stops inputs, flushes queued events, exits 0; the token never reaches stderr", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  // Linger far longer than the test: only the shutdown flush can deliver these events.
  const p = new RelayProcess(["--loggly-url", stub.url, "--linger", "1h", "-vv"], {
    LOGGLY_TOKEN: TEST_TOKEN,
  });
  try {
    const { udp, tcp } = await p.ready();
    await sendTcp(tcp, "<13>one\n<13>two\n");
    await sendUdp(udp, "<13>three");
    // Give the relay time to read them (the shutdown flush must find them queued).
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stub.received.length, 0);
    assert.equal(await p.stop("SIGTERM"), 0);
    assert.deepEqual(stub.messages().sort(), ["one", "three", "two"]);
    // Without --allow-all the kernel's UDP drops cannot be read: the line says so.
    assert.match(
      p.stderr,
      /every received event was delivered \(3 delivered\); UDP datagrams the kernel dropped/,
    );
    assert.ok(!p.stderr.includes(TEST_TOKEN), "token in stderr");
  } finally {
    await stub.stop();
  }
});

Deno.test("Loggly unreachable: errors are logged with the URL redacted, shutdown reports the loss, exit 3", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  await stub.stop();
  const p = stoppingRelay(stub, ["-vv"]);
  const { tcp } = await p.ready();
  await sendTcp(tcp, "<13>lost in the outage\n");
  await waitUntil(() => p.stderr.includes("retry 2"));
  assert.equal(await p.stop("SIGINT"), 3);
  assert.match(p.stderr, /Stopped with 1 events not delivered to Loggly \(0 delivered\)/);
  // The cause is named (the sender's errors carry no URL; one that did would be redacted).
  assert.match(p.stderr, /Connection refused/);
  assert.ok(!p.stderr.includes(TEST_TOKEN), "token in stderr");
});

Deno.test("403 from Loggly is logged as a token problem, without the token; exit 3", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  stub.fail({ status: 403, times: 1000 });
  const p = new RelayProcess([
    "--token",
    TEST_TOKEN,
    "--loggly-url",
    stub.url,
    "--linger",
    "10ms",
    "--retry-max-delay",
    "50ms",
    "--shutdown-timeout",
    "100ms",
  ]);
  try {
    const { tcp } = await p.ready();
    await sendTcp(tcp, "<13>refused token\n");
    await waitUntil(() => p.stderr.includes("token was refused"));
    assert.equal(await p.stop(), 3);
    assert.ok(!p.stderr.includes(TEST_TOKEN));
    // Retried every 50 ms: the stop may catch the event in a request or between two.
    assert.match(p.stderr, /Stopped with 1 events (not delivered|in requests aborted)/);
  } finally {
    await stub.stop();
  }
});

Deno.test("syslog2loggly compatibility: -f FILE with apikey= and port=, -D, -v", async () => {
  const dir = await Deno.makeTempDir();
  const stub = new LogglyStub(TEST_TOKEN).start();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await Deno.writeTextFile(
    `${dir}/syslog2loggly.conf`,
    `# syslog2loggly configuration\napikey=${TEST_TOKEN}\nport=${port}\n`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...PERMISSIONS,
      MAIN,
      "-f",
      `${dir}/syslog2loggly.conf`,
      "-D",
      "-v",
      "--loggly-url",
      stub.url,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    let sent = false;
    for (let i = 0; i < 100 && !sent; i++) {
      try {
        await sendUdp(port, "<13>via old config");
        await stub.waitForCount(1, 100);
        sent = true;
      } catch { /* not listening yet */ }
    }
    assert.ok(sent, "no event arrived through the old config's port");
  } finally {
    child.kill("SIGTERM");
    const output = await child.output();
    await stub.stop();
    await Deno.remove(dir, { recursive: true });
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0);
    assert.match(stderr, /-D is accepted/);
    assert.ok(!stderr.includes(TEST_TOKEN));
  }
});

Deno.test("syslog2loggly drop-in: without a token, /etc/syslog2loggly.conf is read", async () => {
  // The real path: this needs root (CI is), and puts back whatever file was there before.
  const path = "/etc/syslog2loggly.conf";
  const before = await Deno.readTextFile(path).catch(() => null);
  const stub = new LogglyStub(TEST_TOKEN).start();
  await Deno.writeTextFile(path, `apikey="${TEST_TOKEN}"\nhost=ignored.example\n`);
  const p = new RelayProcess(["--loggly-url", stub.url], {});
  try {
    const { udp } = await p.ready();
    await sendUdp(udp, "<13>via the default file");
    await stub.waitForCount(1);
    assert.equal(stub.messages()[0], "via the default file");
    assert.match(p.stderr, /reading syslog2loggly's \/etc\/syslog2loggly\.conf/);
    assert.match(p.stderr, /syslog2loggly\.conf line 2 is not used/);
  } finally {
    await p.stop();
    await stub.stop();
    if (before === null) await Deno.remove(path);
    else await Deno.writeTextFile(path, before);
  }
  assert.ok(!p.stderr.includes(TEST_TOKEN));
});

Deno.test("--dry-run prints the JSON events to stdout and needs no token", async () => {
  const p = new RelayProcess(["--dry-run"]);
  const { tcp } = await p.ready();
  await sendTcp(tcp, "<13>Nov 26 21:30:46 web-01 sshd[1234]: dry run event\n");
  await waitUntil(() => p.stdout.includes("dry run event"));
  assert.equal(await p.stop(), 0);
  const event = JSON.parse(p.stdout.trim().split("\n")[0]);
  assert.equal(event.message, "dry run event");
  assert.equal(event.syslog.appName, "sshd");
});

Deno.test("running out of file descriptors pauses accepting; the TCP listener recovers", async () => {
  const p = new RelayProcess(["--dry-run"], {}, 100);
  const { tcp } = await p.ready();
  const conns: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 150; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: tcp }));
    }
    await waitUntil(() => p.stderr.includes("Accepting a TCP connection failed"));
  } finally {
    for (const conn of conns) conn.close();
  }
  await waitUntil(async () => {
    await sendTcp(tcp, "<13>after the storm\n").catch(() => {});
    return p.stdout.includes("after the storm");
  }, 15_000);
  assert.equal(await p.stop(), 0);
});

/** The relay's /metrics, as text (open on loopback). */
async function scrape(p: RelayProcess): Promise<string> {
  await waitUntil(() => p.ports.http !== undefined);
  const response = await fetch(`http://127.0.0.1:${p.ports.http}/metrics`);
  return await response.text();
}

/** A metric's value in /metrics text (NaN when absent). */
function metric(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

/** The relay's flags for the shutdown tests: quick, with /metrics on loopback. */
function stoppingRelay(stub: LogglyStub, extra: string[] = []): RelayProcess {
  return new RelayProcess([
    "--token",
    TEST_TOKEN,
    "--loggly-url",
    stub.url,
    "--linger",
    "10ms",
    "--retry-max-delay",
    "50ms",
    "--shutdown-timeout",
    "300ms",
    "--http",
    "127.0.0.1:0",
    ...extra,
  ]);
}

Deno.test("SIGTERM with Loggly down and no spool: exit 3, every undelivered event counted", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  await stub.stop(); // connection refused for the whole test
  const p = stoppingRelay(stub);
  try {
    const { tcp } = await p.ready();
    await sendTcp(tcp, Array.from({ length: 50 }, (_, i) => `<13>lost ${i}\n`).join(""));
    await waitUntil(async () => metric(await scrape(p), "loggly_relay_queue_events") === 50);
    await waitUntil(() => p.stderr.includes("Loggly is failing"));
    assert.equal(await p.stop("SIGTERM"), 3);
    assert.match(p.stderr, /Stopped with 50 events not delivered to Loggly \(0 delivered\)/);
    assert.ok(!p.stderr.includes(TEST_TOKEN), "token in stderr");
  } finally {
    await p.stop().catch(() => {});
  }
});

Deno.test("SIGTERM with requests in flight at the timeout: those are told apart, exit 3", async () => {
  const stub = new LogglyStub(TEST_TOKEN).start();
  stub.hold = true; // Loggly reads the requests and does not answer
  // One event per request, one request at a time: the first is in flight, two wait for it.
  const p = stoppingRelay(stub, ["--concurrency", "1", "--batch-max-events", "1"]);
  try {
    const { tcp } = await p.ready();
    await sendTcp(tcp, "<13>one\n<13>two\n<13>three\n");
    await waitUntil(async () => metric(await scrape(p), "loggly_relay_queue_events") === 3);
    await waitUntil(() => stub.openRequests === 1);
    assert.equal(await p.stop("SIGTERM"), 3);
    assert.match(
      p.stderr,
      /Stopped with 2 events not delivered to Loggly and 1 in requests aborted at the shutdown timeout, which Loggly may or may not have received \(0 delivered\)/,
    );
  } finally {
    await p.stop().catch(() => {});
    stub.hold = false;
    stub.release();
    await stub.stop();
  }
});

Deno.test("SIGTERM with Loggly down and a spool: the events are kept, exit 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "main-spool-" });
  const stub = new LogglyStub(TEST_TOKEN).start();
  await stub.stop();
  const p = stoppingRelay(stub, ["--spool", dir]);
  try {
    const { tcp } = await p.ready();
    await sendTcp(tcp, "<13>kept 1\n<13>kept 2\n");
    await waitUntil(async () => metric(await scrape(p), "loggly_relay_queue_events") === 2);
    assert.equal(await p.stop("SIGTERM"), 0);
    assert.match(p.stderr, /Stopped with 2 events kept in the spool/);
  } finally {
    await p.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
