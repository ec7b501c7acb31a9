import assert from "node:assert/strict";
import {
  type Command,
  type Config,
  ConfigError,
  type ConfigSources,
  LOGGLY_MAX_REQUEST_BYTES,
  parseCommand,
} from "../lib/config.ts";
import { DEFAULT_CONFIG_PATH } from "../lib/options.ts";
import { configSources as sources } from "./helpers.ts";
import { parseDuration, parseListenAddress, parseSize } from "../lib/units.ts";

const TOKEN = "0b6d4f7e-1a2b-4c3d-9e8f-123456789abc";
const TOKEN_2 = "11111111-2222-4333-8444-555555555555";
const TOKEN_3 = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
const TOKEN_4 = "99999999-8888-4777-8666-555555555555";

function command(args: string[], src: ConfigSources = sources()): Command {
  return parseCommand(args, src);
}

function run(
  args: string[],
  src: ConfigSources = sources(),
): { config: Config; notices: string[] } {
  const result = command(args, src);
  if (result.kind !== "run") throw new Error(`Expected a run command, got ${result.kind}`);
  return result;
}

/** Config with a valid token, plus `args`. */
function config(...args: string[]): Config {
  return run(["--token", TOKEN, ...args]).config;
}

/** Asserts that parsing throws a ConfigError whose message contains every one of `parts`. */
function assertConfigError(
  args: string[],
  parts: string[],
  src: ConfigSources = sources(),
): string {
  let message = "";
  assert.throws(() => command(args, src), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
    message = error.message;
    return true;
  });
  for (const part of parts) assert.ok(message.includes(part), `"${message}" lacks "${part}"`);
  return message;
}

// ---------------------------------------------------------------- defaults and kinds

Deno.test("defaults: listen on 0.0.0.0:5140 for UDP and TCP, send to Loggly in 1000/5MB batches", () => {
  const c = config();
  assert.equal(c.loggly.token, TOKEN);
  assert.deepEqual(c.inputs.udp, { hostname: "0.0.0.0", port: 5140 });
  assert.deepEqual(c.inputs.tcp, { hostname: "0.0.0.0", port: 5140 });
  assert.equal(c.loggly.url, "https://logs-01.loggly.com");
  assert.deepEqual(c.loggly.tags, []);
  assert.equal(c.log.verbosity, 0);
  assert.equal(c.log.format, "text");
  assert.equal(c.loggly.dryRun, false);
  assert.equal(c.inputs.syslogTimeZone, "UTC");
  assert.equal(c.inputs.maxMessageBytes, 64 * 1024);
  assert.equal(c.delivery.batchMaxEvents, 1000);
  assert.equal(c.delivery.batchMaxBytes, LOGGLY_MAX_REQUEST_BYTES);
  assert.equal(c.delivery.lingerMs, 1000);
  assert.equal(c.delivery.concurrency, 4);
  assert.equal(c.delivery.queueMaxEvents, 20_000);
  assert.equal(c.delivery.queueMaxBytes, 16 * 1024 * 1024);
  assert.equal(c.delivery.retryInitialDelayMs, 500);
  assert.equal(c.delivery.retryMaxDelayMs, 60_000);
  assert.equal(c.inputs.idleTimeoutMs, 600_000);
  assert.equal(c.delivery.shutdownTimeoutMs, 10_000);
  assert.equal(c.delivery.deadLetterPath, null);
});

Deno.test("defaults: no notices", () => {
  assert.deepEqual(run(["--token", TOKEN]).notices, []);
});

Deno.test("returned config is frozen", () => {
  const c = config();
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.delivery) && Object.isFrozen(c.inputs.udp));
  assert.throws(() => {
    (c.delivery as { lingerMs: number }).lingerMs = 5;
  }, TypeError);
});

Deno.test("--help and -h give the help kind, even without a token", () => {
  assert.deepEqual(command(["--help"]), { kind: "help" });
  assert.deepEqual(command(["-h"]), { kind: "help" });
});

Deno.test("--version gives the version kind, even without a token", () => {
  assert.deepEqual(command(["--version"]), { kind: "version" });
});

// ---------------------------------------------------------------- token

Deno.test("token: -k and --token are the same flag", () => {
  assert.equal(run(["-k", TOKEN]).config.loggly.token, TOKEN);
});

Deno.test("token: from LOGGLY_TOKEN when no flag is given", () => {
  assert.equal(run([], sources({ LOGGLY_TOKEN: TOKEN })).config.loggly.token, TOKEN);
});

Deno.test("token: --token-file is read and trimmed", () => {
  const src = sources({}, { "/t": `  ${TOKEN}\n` });
  assert.equal(run(["--token-file", "/t"], src).config.loggly.token, TOKEN);
});

Deno.test("token: precedence is flag > token-file > env > -f apikey", () => {
  const src = sources({ LOGGLY_TOKEN: TOKEN_3 }, { "/t": TOKEN_2, "/conf": `apikey=${TOKEN_4}` });
  const all = ["--token", TOKEN, "--token-file", "/t", "-f", "/conf"];
  assert.equal(run(all, src).config.loggly.token, TOKEN);
  assert.equal(run(all.slice(2), src).config.loggly.token, TOKEN_2);
  assert.equal(run(all.slice(4), src).config.loggly.token, TOKEN_3);
  assert.equal(
    run(all.slice(4), sources({}, { "/conf": `apikey=${TOKEN_4}` })).config.loggly.token,
    TOKEN_4,
  );
});

Deno.test("token: an unreadable --token-file is a ConfigError naming the path", () => {
  assertConfigError(["--token-file", "/missing"], ["--token-file", "/missing"]);
});

Deno.test("token: missing token is a ConfigError mentioning LOGGLY_TOKEN", () => {
  assertConfigError([], ["LOGGLY_TOKEN", "--token"]);
});

Deno.test("token: an empty LOGGLY_TOKEN counts as missing", () => {
  assertConfigError([], ["LOGGLY_TOKEN"], sources({ LOGGLY_TOKEN: "" }));
});

Deno.test("token: --dry-run needs no token", () => {
  const { config } = run(["--dry-run"]);
  assert.equal(config.loggly.dryRun, true);
  assert.equal(config.loggly.token, null);
});

Deno.test("token: a non-UUID token is refused without echoing the secret", () => {
  const secret = "s3cr3t-api-key-pasted-by-mistake";
  const message = assertConfigError(["--token", secret], ["--token", "UUID"]);
  assert.ok(!message.includes(secret), message);
  assert.ok(!message.includes("s3cr3t"), message);
});

Deno.test("token: a non-UUID token from LOGGLY_TOKEN names its origin, not its text", () => {
  const secret = "another-secret-value";
  const src = sources({ LOGGLY_TOKEN: secret });
  const message = assertConfigError([], ["LOGGLY_TOKEN"], src);
  assert.ok(!message.includes(secret), message);
});

// ---------------------------------------------------------------- listen addresses

Deno.test("listen: -p sets the port of both inputs", () => {
  const c = config("-p", "6514");
  assert.deepEqual(c.inputs.udp, { hostname: "0.0.0.0", port: 6514 });
  assert.deepEqual(c.inputs.tcp, { hostname: "0.0.0.0", port: 6514 });
});

Deno.test("listen: --udp off disables UDP only", () => {
  const c = config("--udp", "off");
  assert.equal(c.inputs.udp, null);
  assert.deepEqual(c.inputs.tcp, { hostname: "0.0.0.0", port: 5140 });
});

Deno.test("listen: --tcp [::]:6000 listens on IPv6 any", () => {
  assert.deepEqual(config("--tcp", "[::]:6000").inputs.tcp, { hostname: "::", port: 6000 });
});

Deno.test("listen: --tcp 127.0.0.1:0 asks for an ephemeral port", () => {
  assert.deepEqual(config("--tcp", "127.0.0.1:0").inputs.tcp, { hostname: "127.0.0.1", port: 0 });
});

Deno.test("listen: a bare port listens on all interfaces", () => {
  assert.deepEqual(config("--udp", "6001").inputs.udp, { hostname: "0.0.0.0", port: 6001 });
});

Deno.test("listen: a bare host takes the -p port", () => {
  assert.deepEqual(config("-p", "7000", "--tcp", "10.0.0.1").inputs.tcp, {
    hostname: "10.0.0.1",
    port: 7000,
  });
});

Deno.test("listen: -p on the command line wins over addresses from the file or environment", () => {
  const file = { "/c.toml": '[inputs]\nudp = "127.0.0.1:5140"\ntcp = "off"\n' };
  const c = run(["--token", TOKEN, "--config", "/c.toml", "-p", "514"], sources({}, file)).config;
  assert.deepEqual(c.inputs.udp, { hostname: "127.0.0.1", port: 514 }, "the host stays");
  assert.equal(c.inputs.tcp, null, "-p does not turn an input on");
  const env = { LOGGLY_RELAY_UDP: "10.0.0.1:6000" };
  assert.deepEqual(run(["--token", TOKEN, "-p", "514"], sources(env)).config.inputs.udp, {
    hostname: "10.0.0.1",
    port: 514,
  });
  // An address given on the command line keeps its own port.
  assert.deepEqual(config("-p", "514", "--udp", "127.0.0.1:6000").inputs.udp, {
    hostname: "127.0.0.1",
    port: 6000,
  });
});

Deno.test("a token typed where a path or URL belongs is never echoed in an error", () => {
  for (
    const args of [
      ["--dry-run", "--token-file", TOKEN],
      ["--loggly-url", `https://logs-01.loggly.com/inputs/${TOKEN}/tag/x/`],
      ["--loggly-url", `https://logs-01.loggly.com/bulk/${TOKEN}`],
      ["--config", `/etc/${TOKEN}`],
      ["--spool-sync", TOKEN],
    ]
  ) {
    const token = args[0] === "--dry-run" ? [] : ["--token", TOKEN_2];
    assert.throws(() => command([...token, ...args]), (error: Error) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.ok(!error.message.includes(TOKEN), error.message);
      assert.ok(!error.message.includes(TOKEN.slice(0, 8)), error.message);
      return true;
    });
  }
});

Deno.test("--loggly-url with an input path is refused: the base URL only", () => {
  assertConfigError(
    ["--token", TOKEN, "--loggly-url", "https://logs-01.loggly.com/inputs/abc/tag/http/"],
    ["--loggly-url", "names an input path", "base URL only"],
  );
  assertConfigError(
    ["--token", TOKEN, "--loggly-url", "https://logs-01.loggly.com/bulk"],
    ["names an input path"],
  );
  assert.equal(
    config("--loggly-url", "https://proxy.example/loggly/").loggly.url,
    "https://proxy.example/loggly",
  );
});

Deno.test("listen: both inputs off is a ConfigError", () => {
  assertConfigError(["--token", TOKEN, "--udp", "off", "--tcp", "off"], ["--udp", "--tcp"]);
});

Deno.test("listen: bad port, bad -p and unbracketed IPv6 are ConfigErrors naming the value", () => {
  assertConfigError(["--token", TOKEN, "--tcp", "0.0.0.0:70000"], ["--tcp", "0.0.0.0:70000"]);
  assertConfigError(["--token", TOKEN, "-p", "http"], ["-p", "http"]);
  assertConfigError(["--token", TOKEN, "--udp", "::1:514"], ["--udp", "::1:514", "[::]"]);
});

Deno.test("parseListenAddress: :PORT and [IPv6] without port", () => {
  assert.deepEqual(parseListenAddress("--x", ":514", "0.0.0.0"), {
    hostname: "0.0.0.0",
    port: 514,
  });
  assert.deepEqual(parseListenAddress("--x", "[::1]", "0.0.0.0", 5140), {
    hostname: "::1",
    port: 5140,
  });
  assert.throws(() => parseListenAddress("--x", "myhost", "0.0.0.0"), /--x "myhost" has no port/);
});

// ---------------------------------------------------------------- legacy -f file

Deno.test("-f: reads apikey and port, skipping comments and blank lines", () => {
  const text = `# syslog2loggly\n\napikey = ${TOKEN}  # mine\r\n  port=6514\n`;
  const { config } = run(["-f", "/etc/s2l.conf"], sources({}, { "/etc/s2l.conf": text }));
  assert.equal(config.loggly.token, TOKEN);
  assert.equal(config.inputs.udp?.port, 6514);
  assert.equal(config.inputs.tcp?.port, 6514);
});

Deno.test("-f: -p wins over port= in the file", () => {
  const src = sources({}, { "/c": `apikey=${TOKEN}\nport=6514` });
  assert.equal(run(["-f", "/c", "-p", "7000"], src).config.inputs.udp?.port, 7000);
});

Deno.test("-f: an unknown key is a warning naming the file and line, not an error", () => {
  const src = sources({}, { "/c": `# header\napikey=${TOKEN}\nhost=example.com\nnonsense\n` });
  const { config, notices } = run(["-f", "/c"], src);
  assert.equal(config.loggly.token, TOKEN);
  assert.deepEqual(notices, [
    "/c line 3 is not used: only apikey=TOKEN and port=PORT are read",
    "/c line 4 is not used: only apikey=TOKEN and port=PORT are read",
  ]);
});

Deno.test("-f: quoted values are read without their quotes", () => {
  const src = sources({}, { "/c": `apikey="${TOKEN}"\nport='6000'\n` });
  const { config } = run(["-f", "/c"], src);
  assert.equal(config.loggly.token, TOKEN);
  assert.equal(config.inputs.udp?.port, 6000);
});

Deno.test("without a token, /etc/syslog2loggly.conf is read when it exists, and says so", () => {
  const src = sources({}, { "/etc/syslog2loggly.conf": `apikey=${TOKEN}\nport=6001\n` });
  const { config, notices } = run([], src);
  assert.equal(config.loggly.token, TOKEN);
  assert.equal(config.inputs.tcp?.port, 6001);
  assert.match(notices[0], /reading syslog2loggly's \/etc\/syslog2loggly\.conf/);
});

Deno.test("/etc/syslog2loggly.conf is not read when a token is given another way", () => {
  const file = { "/etc/syslog2loggly.conf": `apikey=${TOKEN_2}\nport=6001\n` };
  for (const [args, env] of [[["--token", TOKEN]], [[], { LOGGLY_TOKEN: TOKEN }]] as const) {
    const { config, notices } = run([...args], sources(env, file));
    assert.equal(config.loggly.token, TOKEN);
    assert.equal(config.inputs.udp?.port, 5140);
    assert.deepEqual(notices, []);
  }
});

Deno.test("an unreadable /etc/syslog2loggly.conf is an error naming it", () => {
  const src: ConfigSources = {
    env: () => undefined,
    cwd: () => "/",
    readTextFile: (path) => {
      if (path === DEFAULT_CONFIG_PATH) throw new Deno.errors.NotFound(path);
      throw new Deno.errors.PermissionDenied("Permission denied (os error 13)");
    },
  };
  assertConfigError([], ["syslog2loggly's file", "/etc/syslog2loggly.conf"], src);
});

Deno.test("a /etc/syslog2loggly.conf this build may not read counts as absent (--dry-run starts)", () => {
  const src: ConfigSources = {
    env: () => undefined,
    cwd: () => "/",
    readTextFile: () => {
      throw new Deno.errors.NotCapable('Requires read access to "/etc/syslog2loggly.conf"');
    },
  };
  const { config, notices } = run(["--dry-run"], src);
  assert.equal(config.loggly.token, null);
  assert.deepEqual(notices, []);
});

Deno.test("-f: a bad port= is a ConfigError naming the value", () => {
  const src = sources({}, { "/c": `apikey=${TOKEN}\nport=abc\n` });
  assertConfigError(["-f", "/c"], ["port=", '"abc"'], src);
});

Deno.test("-f: a missing file is a ConfigError naming the path", () => {
  assertConfigError(["--token", TOKEN, "-f", "/nope"], ["-f", "/nope"]);
});

// ---------------------------------------------------------------- other flags

Deno.test("-D is accepted with a notice that the relay stays in the foreground", () => {
  const { notices } = run(["--token", TOKEN, "-D"]);
  assert.equal(notices.length, 1);
  assert.match(notices[0], /-D.*foreground/);
});

Deno.test("-v -v gives verbosity 2, -vvv gives 3", () => {
  assert.equal(config("-v", "-v").log.verbosity, 2);
  assert.equal(config("-vvv").log.verbosity, 3);
});

Deno.test("--tag may repeat, keeping order", () => {
  assert.deepEqual(config("--tag", "web", "--tag", "prod.eu_1-a").loggly.tags, [
    "web",
    "prod.eu_1-a",
  ]);
});

Deno.test("--tag with a bad character is a ConfigError naming the tag", () => {
  assertConfigError(["--token", TOKEN, "--tag", "ok", "--tag", "no/slash"], ["--tag", "no/slash"]);
});

Deno.test("--syslog-timezone accepts an IANA zone and refuses an unknown one", () => {
  assert.equal(config("--syslog-timezone", "Europe/Berlin").inputs.syslogTimeZone, "Europe/Berlin");
  assertConfigError(["--token", TOKEN, "--syslog-timezone", "Mars/Olympus"], [
    "--syslog-timezone",
    "Mars/Olympus",
  ]);
});

Deno.test("--log-format accepts json and refuses anything else", () => {
  assert.equal(config("--log-format", "json").log.format, "json");
  assertConfigError(["--token", TOKEN, "--log-format", "xml"], ["--log-format", "xml"]);
});

Deno.test("--dead-letter sets the path", () => {
  assert.equal(
    config("--dead-letter", "/var/lib/dl.ndjson").delivery.deadLetterPath,
    "/var/lib/dl.ndjson",
  );
});

Deno.test("durations: 500ms, 10s, 5m and a bare number of seconds", () => {
  assert.equal(config("--linger", "500ms").delivery.lingerMs, 500);
  assert.equal(config("--idle-timeout", "10s").inputs.idleTimeoutMs, 10_000);
  assert.equal(config("--shutdown-timeout", "5m").delivery.shutdownTimeoutMs, 300_000);
  assert.equal(config("--linger", "2").delivery.lingerMs, 2000);
  assert.equal(parseDuration("--x", "1h"), 3_600_000);
  assert.equal(parseDuration("--x", "1.5s"), 1500);
});

Deno.test("durations: a bad one is a ConfigError naming flag and value", () => {
  assertConfigError(["--token", TOKEN, "--linger", "soon"], ["--linger", '"soon"']);
  assertConfigError(["--token", TOKEN, "--linger=-1s"], ["--linger", '"-1s"']);
});

Deno.test("durations: --retry-initial-delay longer than --retry-max-delay is refused", () => {
  assertConfigError(
    ["--token", TOKEN, "--retry-initial-delay", "2m", "--retry-max-delay", "1m"],
    ["--retry-initial-delay", "--retry-max-delay", "120000", "60000"],
  );
});

Deno.test("sizes: 64KiB is 65536 bytes and 5MB is 5,000,000", () => {
  assert.equal(config("--max-message-bytes", "64KiB").inputs.maxMessageBytes, 65536);
  assert.equal(config("--batch-max-bytes", "5MB").delivery.batchMaxBytes, 5_000_000);
  assert.equal(parseSize("--x", "1GiB"), 1024 ** 3);
  assert.equal(parseSize("--x", "2k"), 2048);
});

Deno.test("sizes: --batch-max-bytes over Loggly's 5 MB request limit is refused", () => {
  assertConfigError(["--token", TOKEN, "--batch-max-bytes", "6MB"], ["--batch-max-bytes", "6MB"]);
});

Deno.test("sizes: a bad unit is a ConfigError naming the value", () => {
  assertConfigError(["--token", TOKEN, "--queue-max-bytes", "5 parsecs"], [
    "--queue-max-bytes",
    "5 parsecs",
  ]);
});

Deno.test("counts: --concurrency 0 is refused", () => {
  assertConfigError(["--token", TOKEN, "--concurrency", "0"], ["--concurrency", '"0"']);
});

// ---------------------------------------------------------------- --loggly-url

Deno.test("--loggly-url: a trailing slash is removed", () => {
  assert.equal(
    config("--loggly-url", "https://example.com/base/").loggly.url,
    "https://example.com/base",
  );
});

Deno.test("--loggly-url: a non-http(s) scheme is refused", () => {
  assertConfigError(["--token", TOKEN, "--loggly-url", "ftp://logs.example.com"], [
    "--loggly-url",
    "ftp://logs.example.com",
  ]);
});

Deno.test("--loggly-url: a query is refused", () => {
  assertConfigError(["--token", TOKEN, "--loggly-url", "https://example.com/?a=b"], [
    "--loggly-url",
    "https://example.com/?a=b",
  ]);
});

Deno.test("--loggly-url: not a URL is refused", () => {
  assertConfigError(["--token", TOKEN, "--loggly-url", "logs example"], ["logs example"]);
});

Deno.test("--loggly-url: http:// to a remote host gives an unencrypted notice", () => {
  const { notices } = run(["--token", TOKEN, "--loggly-url", "http://logs.example.com"]);
  assert.equal(notices.length, 1);
  assert.match(notices[0], /unencrypted/);
});

Deno.test("--loggly-url: http:// to loopback gives no notice", () => {
  for (const url of ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9"]) {
    assert.deepEqual(run(["--token", TOKEN, "--loggly-url", url]).notices, [], url);
  }
});

// ---------------------------------------------------------------- bad command lines

Deno.test("an unknown flag is a ConfigError naming it", () => {
  assertConfigError(["--token", TOKEN, "--frobnicate"], ["--frobnicate"]);
});

Deno.test("a flag missing its value is a ConfigError naming the flag", () => {
  assertConfigError(["--token"], ["--token"]);
  assertConfigError(["--token", TOKEN, "--linger"], ["--linger"]);
});

Deno.test("a positional argument is a ConfigError naming it", () => {
  assertConfigError(["--token", TOKEN, "extra"], ["extra"]);
});

Deno.test("an empty LOGGLY_TOKEN does not hide apikey= from -f", () => {
  const src = sources({ LOGGLY_TOKEN: "" }, { "/etc/s.conf": `apikey=${TOKEN}\n` });
  assert.equal(run(["-f", "/etc/s.conf"], src).config.loggly.token, TOKEN);
});

Deno.test("--loggly-url: credentials in the URL are refused (they would be logged)", () => {
  assertConfigError(["--token", TOKEN, "--loggly-url", "https://:pass@logs.example"], [
    "without query, fragment or credentials",
  ]);
});

Deno.test("a stray argument that looks like a token is not echoed", () => {
  const message = assertConfigError(["--token=", TOKEN], ["Unexpected argument"]);
  assert.ok(!message.includes(TOKEN), message);
});

Deno.test("durations longer than a timer can wait (24 days) are refused", () => {
  assertConfigError(["--token", TOKEN, "--shutdown-timeout", "1000h"], [
    "--shutdown-timeout",
    "1000h",
    "too long",
  ]);
  assert.equal(config("--retry-max-delay", "576h").delivery.retryMaxDelayMs, 576 * 3_600_000);
});

Deno.test("--tls-max-version: 1.2 by default, 1.3 on request, nothing else, and only with --tls", () => {
  const tls = ["--tls", "127.0.0.1:6514", "--tls-cert", "c.pem", "--tls-key", "k.pem"];
  assert.equal(config(...tls).inputs.tls?.maxVersion, "1.2");
  assert.equal(config(...tls, "--tls-max-version", "1.3").inputs.tls?.maxVersion, "1.3");
  assertConfigError(["--token", TOKEN, ...tls, "--tls-max-version", "1.1"], [
    '--tls-max-version "1.1" is not known: use 1.2 or 1.3',
  ]);
  assertConfigError(["--token", TOKEN, "--tls-max-version", "1.3"], [
    "--tls-max-version needs --tls HOST:PORT",
  ]);
});

// ---------------------------------------------------------------- other accounts, UDP buffer

Deno.test("--accept-token may repeat and read a file; the relay's own token is left out", () => {
  const src = sources({}, { "/t": `# accounts\n${TOKEN_3}\n\n${TOKEN_2}  # again\n` });
  const { config } = run(
    [
      "--token",
      TOKEN,
      "--accept-token",
      TOKEN_2,
      "--accept-token",
      TOKEN,
      "--accept-token-file",
      "/t",
    ],
    src,
  );
  assert.deepEqual(config.loggly.acceptTokens, [TOKEN_2, TOKEN_3]);
});

Deno.test("--accept-token that is not a token is refused without echoing it", () => {
  assertConfigError(["--token", TOKEN, "--accept-token", "s3cret-value"], ["--accept-token"]);
  const src = sources({}, { "/t": `${TOKEN_2}\nnot-a-token\n` });
  assert.throws(
    () => command(["--token", TOKEN, "--accept-token-file", "/t"], src),
    (error: unknown) =>
      error instanceof ConfigError && /\/t line 2/.test(error.message) &&
      !error.message.includes("not-a-token"),
  );
});

Deno.test("--udp-recv-buffer takes a size, 8 MiB by default", () => {
  assert.equal(config().inputs.udpRecvBufferBytes, 8 * 1024 * 1024);
  assert.equal(config("--udp-recv-buffer", "4MiB").inputs.udpRecvBufferBytes, 4 * 1024 * 1024);
  assertConfigError(["--token", TOKEN, "--udp-recv-buffer", "lots"], ["--udp-recv-buffer", "lots"]);
});

Deno.test("--tag: at most 64 distinct tags of at most 64 characters", () => {
  const tags = (n: number) => Array.from({ length: n }, (_, i) => ["--tag", `t${i}`]).flat();
  assert.equal(config(...tags(64)).loggly.tags.length, 64);
  assert.throws(() => config(...tags(65)), /65 --tag values given: use at most 64/);
  assert.equal(config("--tag", "x".repeat(64)).loggly.tags[0].length, 64);
  assert.throws(() => config("--tag", "x".repeat(65)), /65 characters long: use at most 64/);
});

Deno.test("--handshake-timeout: 5s by default, 0 turns it off", () => {
  assert.equal(config().inputs.handshakeTimeoutMs, 5_000);
  assert.equal(config("--handshake-timeout", "2s").inputs.handshakeTimeoutMs, 2_000);
  assert.equal(config("--handshake-timeout", "0").inputs.handshakeTimeoutMs, 0);
});

Deno.test("--http-token: 16 to 128 characters, so that redaction can always find it whole", () => {
  const withToken = (t: string) => config("--http", "8080", "--http-token", t).http?.tokens;
  assert.deepEqual(withToken("a".repeat(16)), ["a".repeat(16)]);
  assert.deepEqual(withToken("b".repeat(128)), ["b".repeat(128)]);
  assert.throws(() => withToken("c".repeat(15)), /15 characters long: use 16 to 128/);
  assert.throws(() => withToken("d".repeat(129)), /129 characters long: use 16 to 128/);
});
