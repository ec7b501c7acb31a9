/**
 * The option table and what is derived from it: flags, help text, defaults, config file keys,
 * environment variables, and their order of precedence.
 */
import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { type Config, ConfigError, type ConfigSources, parseCommand } from "../lib/config.ts";
import { dumpConfig } from "../lib/dump_config.ts";
import { DEFAULT_CONFIG_PATH, envName, fileKey, OPTIONS } from "../lib/options.ts";
import { usage } from "../lib/usage.ts";
import { configSources as sources } from "./helpers.ts";

const TOKEN = "0b6d4f7e-1a2b-4c3d-9e8f-123456789abc";
const TOKEN_2 = "11111111-2222-4333-8444-555555555555";

function resolve(args: string[], src: ConfigSources = sources()) {
  const command = parseCommand(args, src);
  if (command.kind !== "run" && command.kind !== "check-config") {
    throw new Error(`Expected a run command, got ${command.kind}`);
  }
  return command;
}

function configOf(args: string[], src?: ConfigSources): Config {
  return resolve(args, src).config;
}

function errorOf(args: string[], src?: ConfigSources): string {
  try {
    parseCommand(args, src ?? sources());
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
    return error.message;
  }
  throw new Error(`No error for ${args.join(" ")}`);
}

Deno.test("option table: flags, short flags, file keys and variables are each unique", () => {
  const unique = (values: string[]) =>
    assert.equal(new Set(values).size, values.length, `${values}`);
  unique(OPTIONS.map((o) => o.flag));
  unique(OPTIONS.flatMap((o) => o.short ? [o.short] : []));
  unique(OPTIONS.filter((o) => o.section).map((o) => `${o.section}.${fileKey(o)}`));
  unique(OPTIONS.map(envName));
  for (const option of OPTIONS) {
    assert.match(fileKey(option), /^[a-z][a-z0-9_]*$/, option.flag);
  }
});

Deno.test("help: every option exactly once, with its default", () => {
  const text = usage();
  for (const option of OPTIONS) {
    const lines = text.split("\n").filter((l) => new RegExp(`--${option.flag}\\b(?!-)`).test(l));
    const own = lines.filter((l) =>
      new RegExp(`^  (-${option.short}, |    )--${option.flag}( |$)`).test(l)
    );
    assert.equal(own.length, 1, `--${option.flag} has one line of its own`);
    const kind = option.kind.type;
    if (option.default !== null && kind !== "switch" && kind !== "level") {
      const all = text.split("\n");
      const at = all.indexOf(own[0]);
      let end = at + 1;
      while (all[end]?.startsWith(" ".repeat(29))) end++;
      const block = all.slice(at, end).map((l) => l.trim()).join(" ");
      assert.ok(block.includes(`(default ${option.default})`), `--${option.flag} default shown`);
    }
  }
  for (const line of text.split("\n")) assert.ok(line.length <= 100, `too long: ${line}`);
});

Deno.test("dump-config: valid TOML; set as it stands, every default gives the default config", () => {
  const dump = dumpConfig();
  assert.deepEqual(JSON.parse(JSON.stringify(parse(dump))), {
    loggly: {},
    inputs: {},
    delivery: {},
    http: {},
    spool: {},
    log: {},
  });
  // Uncomment the keys that have a default: the same config as no file at all.
  const withDefault = new Set(
    OPTIONS.filter((o) => o.section && o.default !== null).map(fileKey),
  );
  const uncommented = dump.split("\n").map((line) => {
    const key = /^# ([a-z_]+) = /.exec(line)?.[1];
    return key !== undefined && withDefault.has(key) ? line.slice(2) : line;
  }).join("\n");
  assert.ok(uncommented.includes("\nqueue_max_events = 20000\n"));
  const src = sources({}, { "/c.toml": uncommented });
  assert.deepEqual(
    configOf(["--token", TOKEN, "--config", "/c.toml"], src),
    configOf(["--token", TOKEN]),
  );
  for (const line of dump.split("\n")) assert.ok(line.length <= 100, `too long: ${line}`);
});

Deno.test("precedence: flag > environment > config file > default, for every kind", () => {
  const file = `
[delivery]
queue_max_events = 300
linger = "3s"
concurrency = 3
[inputs]
tcp = "127.0.0.1:3000"
[loggly]
tags = ["from-file"]
dry_run = true
[log]
verbosity = 1
format = "json"
`;
  const files = { "/etc/r.toml": file };
  const base = ["--token", TOKEN, "--config", "/etc/r.toml"];
  const fromFile = configOf(base, sources({}, files));
  assert.equal(fromFile.delivery.queueMaxEvents, 300);
  assert.equal(fromFile.delivery.lingerMs, 3000);
  assert.deepEqual(fromFile.inputs.tcp, { hostname: "127.0.0.1", port: 3000 });
  assert.deepEqual(fromFile.loggly.tags, ["from-file"]);
  assert.equal(fromFile.loggly.dryRun, true);
  assert.deepEqual(fromFile.log, { verbosity: 1, format: "json", statusIntervalMs: 60_000 });
  assert.equal(fromFile.delivery.batchMaxEvents, 1000, "what the file leaves out is the default");

  const env = {
    LOGGLY_RELAY_QUEUE_MAX_EVENTS: "200",
    LOGGLY_RELAY_LINGER: "2s",
    LOGGLY_RELAY_TCP: "127.0.0.1:2000",
    LOGGLY_RELAY_TAG: "a, b",
    LOGGLY_RELAY_DRY_RUN: "false",
    LOGGLY_RELAY_VERBOSE: "2",
  };
  const fromEnv = configOf(base, sources(env, files));
  assert.equal(fromEnv.delivery.queueMaxEvents, 200);
  assert.equal(fromEnv.delivery.lingerMs, 2000);
  assert.deepEqual(fromEnv.inputs.tcp, { hostname: "127.0.0.1", port: 2000 });
  assert.deepEqual(fromEnv.loggly.tags, ["a", "b"]);
  assert.equal(fromEnv.loggly.dryRun, false);
  assert.equal(fromEnv.log.verbosity, 2);
  assert.equal(
    fromEnv.delivery.concurrency,
    3,
    "the file still gives what the environment does not",
  );

  const fromFlags = configOf(
    [
      ...base,
      "--queue-max-events",
      "100",
      "--linger",
      "1s",
      "--tcp",
      "127.0.0.1:1000",
      "--tag",
      "c",
    ],
    sources(env, files),
  );
  assert.equal(fromFlags.delivery.queueMaxEvents, 100);
  assert.equal(fromFlags.delivery.lingerMs, 1000);
  assert.deepEqual(fromFlags.inputs.tcp, { hostname: "127.0.0.1", port: 1000 });
  assert.deepEqual(fromFlags.loggly.tags, ["c"]);

  const { settings } = resolve([...base, "--linger", "1s"], sources(env, files));
  assert.equal(settings.label("linger"), "--linger");
  assert.equal(settings.label("queue-max-events"), "LOGGLY_RELAY_QUEUE_MAX_EVENTS");
  assert.equal(settings.label("concurrency"), "delivery.concurrency in /etc/r.toml line 5");
  assert.equal(settings.label("spool-sync"), "the default of --spool-sync");
});

Deno.test("environment: an empty variable is unset; a bad value names the variable", () => {
  assert.equal(
    configOf(["--token", TOKEN], sources({ LOGGLY_RELAY_LINGER: "" })).delivery.lingerMs,
    1000,
  );
  assert.match(
    errorOf(["--token", TOKEN], sources({ LOGGLY_RELAY_CONCURRENCY: "many" })),
    /^LOGGLY_RELAY_CONCURRENCY "many" must be a whole number from 1 to 64/,
  );
  assert.match(
    errorOf(["--token", TOKEN], sources({ LOGGLY_RELAY_DRY_RUN: "perhaps" })),
    /LOGGLY_RELAY_DRY_RUN "perhaps" is not a switch: use true or false/,
  );
  assert.equal(configOf([], sources({ LOGGLY_RELAY_TOKEN: TOKEN })).loggly.token, TOKEN);
});

Deno.test("config file: the default path is read when it exists, LOGGLY_RELAY_CONFIG names another", () => {
  const file = '[delivery]\nconcurrency = 7\n[loggly]\ntoken = "' + TOKEN + '"\n';
  const atDefault = resolve([], sources({}, { [DEFAULT_CONFIG_PATH]: file }));
  assert.equal(atDefault.config.delivery.concurrency, 7);
  assert.equal(atDefault.file, DEFAULT_CONFIG_PATH);
  assert.equal(resolve(["--token", TOKEN]).file, null, "none there: none read");
  const named = sources({ LOGGLY_RELAY_CONFIG: "/x.toml" }, { "/x.toml": file });
  assert.equal(configOf([], named).delivery.concurrency, 7);
  assert.match(errorOf(["--config", "/missing.toml"]), /--config.*\/missing\.toml/);
});

Deno.test("config file: unknown keys and tables name the line and the nearest valid key", () => {
  const check = (text: string, expected: RegExp) =>
    assert.match(
      errorOf(["--token", TOKEN, "--config", "/c.toml"], sources({}, { "/c.toml": text })),
      expected,
    );
  check(
    "[delivery]\nconcurency = 3\n",
    /^\/c\.toml line 2: unknown key "concurency" in \[delivery\]: did you mean "delivery\.concurrency"\?/,
  );
  check(
    '# comment\n\n[inputs]\nudp = "off"\ntls_certificate = "/x"\n',
    /line 5: unknown key "tls_certificate" in \[inputs\]: did you mean "inputs\.tls_cert"\?/,
  );
  check(
    "[delivry]\nlinger = 1\n",
    /line 1: "delivry" is not a table of settings: did you mean "delivery"\?/,
  );
  check('token = "x"\n', /line 1: "token" belongs in a table: write it under \[loggly\]/);
  check(
    "[delivery]\nzzzzzzzzzz = 1\n",
    /unknown key "zzzzzzzzzz" in \[delivery\]: see --dump-config/,
  );
  check(
    '[loggly]\nlinger = "2s"\n',
    /line 2: "linger" belongs in \[delivery\], not \[loggly\]: move it there/,
  );
  check(
    "\n[[inputs]]\nudp = 1\n",
    /line 2: \[\[inputs\]\] is a list of tables: write \[inputs\] once/,
  );
  // Where a scan cannot point at the key itself, the line that opened its table.
  check("\n[inputs.tcpp]\nport = 1\n", /^\/c\.toml line 2: unknown key "tcpp" in \[inputs\]/);
  check(
    "\n[inputs.tls]\ncert = 1\n",
    /^inputs\.tls in \/c\.toml line 2 is a table: expected a string/,
  );
  check('\ninputs = { udpp = "off" }\n', /^\/c\.toml line 2: unknown key "udpp" in \[inputs\]/);
  check('[ "delivery" ]\n\nconcurency = 3\n', /^\/c\.toml line 3: unknown key "concurency"/);
});

Deno.test("config file: an empty list as --dump-config shows it is the default, not a setting", () => {
  const text = "[http]\ntokens = []\n[spool]\n";
  assert.equal(
    configOf(["--token", TOKEN, "--config", "/c.toml"], sources({}, { "/c.toml": text })).http,
    null,
  );
});

Deno.test("messages: an empty token file, a date, a retry delay from the file", () => {
  assert.match(
    errorOf(["--token-file", "/t"], sources({}, { "/t": "\n" })),
    /The token from --token-file \/t is empty: put your customer token there/,
  );
  assert.match(
    errorOf(
      ["--token", TOKEN, "--config", "/c.toml"],
      sources({}, { "/c.toml": "[delivery]\nlinger = 2026-11-30\n" }),
    ),
    /delivery\.linger in \/c\.toml line 2 is a date: expected a number of seconds/,
  );
  assert.match(
    errorOf(
      ["--token", TOKEN, "--config", "/c.toml", "--retry-max-delay", "1s"],
      sources({}, { "/c.toml": '[delivery]\nretry_initial_delay = "5s"\n' }),
    ),
    /delivery\.retry_initial_delay in \/c\.toml line 2 \(5000ms\) must be at least 1ms and no longer than --retry-max-delay \(1000ms\)/,
  );
});

Deno.test("config file: a value of the wrong type names the form expected; bad TOML its line", () => {
  const check = (text: string, expected: RegExp) =>
    assert.match(
      errorOf(["--token", TOKEN, "--config", "/c.toml"], sources({}, { "/c.toml": text })),
      expected,
    );
  check(
    '[loggly]\ntags = "prod"\n',
    /loggly\.tags in \/c\.toml line 2 is a string: expected a list of strings/,
  );
  check(
    "[delivery]\nconcurrency = true\n",
    /delivery\.concurrency in \/c\.toml line 2 is a boolean: expected a whole number/,
  );
  check("[loggly]\ndry_run = 1\n", /loggly\.dry_run .* is a number: expected true or false/);
  check(
    "[inputs]\ntcp = [1]\n",
    /inputs\.tcp .* is a list: expected a string like "0\.0\.0\.0:5140", or "off"/,
  );
  check(
    '[delivery]\nlinger = "soon"\n',
    /delivery\.linger in \/c\.toml line 2 "soon" is not a duration/,
  );
  check(
    "[delivery]\nconcurrency = 0\n",
    /delivery\.concurrency in \/c\.toml line 2 "0" must be a whole number from 1 to 64/,
  );
  check("[delivery]\nlinger = = 3\n", /^\/c\.toml line 2 is not valid TOML/);
  check('[spool]\nsync = "os"\n', /spool\.sync in \/c\.toml line 2 needs --spool DIR/);
  // Numbers where units are usual: seconds and bytes.
  const src = sources({}, { "/c.toml": "[delivery]\nlinger = 0.25\nqueue_max_bytes = 8000000\n" });
  const config = configOf(["--token", TOKEN, "--config", "/c.toml"], src);
  assert.equal(config.delivery.lingerMs, 250);
  assert.equal(config.delivery.queueMaxBytes, 8_000_000);
});

Deno.test("token: flag > environment > systemd credential > config file; token_file in the file", () => {
  const creds = { CREDENTIALS_DIRECTORY: "/run/credentials/loggly-relay.service" };
  const credential = "/run/credentials/loggly-relay.service/loggly-token";
  const files = {
    [credential]: `${TOKEN_2}\n`,
    "/c.toml": '[loggly]\ntoken_file = "/etc/loggly-relay/token"\n',
    "/etc/loggly-relay/token": ` ${TOKEN} \n`,
  };
  const withFile = ["--config", "/c.toml"];
  assert.equal(configOf(withFile, sources({}, files)).loggly.token, TOKEN);
  const fromCredential = resolve(withFile, sources(creds, files));
  assert.equal(fromCredential.config.loggly.token, TOKEN_2);
  assert.deepEqual(fromCredential.tokenOrigin, { from: "credential", path: credential });
  assert.equal(
    configOf(withFile, sources({ ...creds, LOGGLY_TOKEN: TOKEN }, files)).loggly.token,
    TOKEN,
  );
  assert.equal(
    configOf(["--token", TOKEN, ...withFile], sources(creds, files)).loggly.token,
    TOKEN,
  );
  // A credentials folder without the token (another credential only) is no token.
  assert.match(errorOf([], sources(creds, {})), /No Loggly token/);
  // A bad token from the credential names where it came from, not what it is.
  const bad = errorOf([], sources(creds, { [credential]: "not-a-token-secret" }));
  assert.match(
    bad,
    /The token from the systemd credential .*loggly-token is not a Loggly customer token/,
  );
  assert.ok(!bad.includes("not-a-token-secret"));
});

Deno.test("check-config is a command of its own; a stray word is an error that names the commands", () => {
  assert.equal(parseCommand(["check-config", "--token", TOKEN], sources()).kind, "check-config");
  assert.equal(parseCommand(["--dump-config"], sources()).kind, "dump-config");
  assert.match(
    errorOf(["--token", TOKEN, "chek-config"]),
    /Unexpected argument "chek-config".*check-config/,
  );
  assert.match(errorOf(["check-config", "again", "--token", TOKEN]), /Unexpected argument "again"/);
  assert.ok(!errorOf([TOKEN]).includes(TOKEN), "a token without its flag is not echoed");
});

Deno.test("README: its list of flags is the help text's, as printed", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Flags, environment and config file"));
  const start = section.indexOf("```\n") + 4;
  const block = section.slice(start, section.indexOf("\n```", start));
  const help = usage();
  const options = help.slice(help.indexOf("\nLoggly\n") + 1, help.indexOf("\n\nDUR is"));
  assert.equal(block, options, "README's list differs from --help: paste `loggly-relay --help`");
});
