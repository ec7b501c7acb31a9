/**
 * `loggly-relay install-service`: the unit for the configuration given, checked by systemd's own
 * `systemd-analyze verify`, and the command as a user runs it.
 */
import assert from "node:assert/strict";
import { type Config, parseCommand } from "../lib/config.ts";
import { permissionFlags, releaseScope } from "../lib/permissions.ts";
import { credentialName } from "../lib/credentials.ts";
import {
  credentialFiles,
  needsLowPorts,
  nextSteps,
  quote,
  systemdUnit,
} from "../lib/service_unit.ts";
import { configSources, run } from "./helpers.ts";
import { TEST_TOKEN } from "./loggly_stub.ts";
import { DENO_RUN, MAIN } from "./relay_process.ts";

function resolvedOf(...args: string[]) {
  const command = parseCommand(["--token", TEST_TOKEN, ...args], configSources());
  if (command.kind !== "run") throw new Error(command.kind);
  return command;
}

function configOf(...args: string[]): Config {
  return resolvedOf(...args).config;
}

function unitFor(...args: string[]): string {
  const resolved = parseCommand(["install-service", ...args], configSources());
  if (resolved.kind !== "install-service") throw new Error(resolved.kind);
  return systemdUnit({
    binary: Deno.execPath(),
    args,
    tokenPath: "/etc/loggly-relay/token",
    credentials: credentialFiles(resolved.settings, "/"),
    config: resolved.config,
  });
}

Deno.test("install-service: CAP_NET_BIND_SERVICE only for a port below 1024", () => {
  const high = unitFor();
  assert.ok(!high.includes("AmbientCapabilities"));
  assert.match(high, /^CapabilityBoundingSet=$/m);
  assert.equal(needsLowPorts(configOf("--udp", "0.0.0.0:514")), true);
  assert.equal(needsLowPorts(configOf("--tcp", "127.0.0.1:0")), false, "0 is any free port");
  for (
    const low of [["-p", "514"], [
      "--tls",
      ":6514",
      "--tls-cert",
      "c",
      "--tls-key",
      "k",
      "--http",
      "443",
    ]]
  ) {
    const unit = unitFor(...low);
    assert.match(unit, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m, low.join(" "));
    assert.match(unit, /^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
  }
});

Deno.test("install-service: hardened, the token as a credential, state in StateDirectory", () => {
  const unit = unitFor("--spool", "/var/lib/loggly-relay/spool");
  for (
    const line of [
      "DynamicUser=yes",
      "StateDirectory=loggly-relay",
      "LoadCredential=loggly-token:/etc/loggly-relay/token",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "NoNewPrivileges=yes",
      "PrivateTmp=yes",
      "Restart=on-failure",
      "ExecReload=/bin/kill -HUP $MAINPID",
      "Environment=MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=65536",
      `ExecStart=${Deno.execPath()} --spool /var/lib/loggly-relay/spool`,
      `ExecStartPre=${Deno.execPath()} check-config --spool /var/lib/loggly-relay/spool`,
      "TimeoutStopSec=15s",
      "WantedBy=multi-user.target",
    ]
  ) assert.ok(unit.split("\n").includes(line), `missing ${line}`);
  assert.ok(!unit.includes(TEST_TOKEN));
  assert.ok(!/^Environment=.*TOKEN/m.test(unit), "the token is never in the environment");
});

/** What install-service would run the service with, from its command line, run in `cwd`. */
function serviceArgsOf(args: string[], cwd = "/"): string[] {
  const command = parseCommand(["install-service", ...args], {
    ...configSources({}, { "relay/config.toml": "" }),
    cwd: () => cwd,
  });
  if (command.kind !== "install-service") throw new Error(command.kind);
  return command.serviceArgs;
}

Deno.test("install-service: the service keeps the flags given, not install-service's own or the token", () => {
  assert.deepEqual(
    serviceArgsOf([
      "--print",
      "--binary",
      "/opt/relay",
      "-vk",
      TEST_TOKEN,
      "--token-file=/etc/t",
      "--udp",
      "0.0.0.0:514",
      `-k${TEST_TOKEN}`,
      "--tag=prod",
      "--config",
      "relay/config.toml",
    ], "/srv"),
    ["--verbose", "--udp", "0.0.0.0:514", "--tag", "prod", "--config", "/srv/relay/config.toml"],
  );
  assert.deepEqual(serviceArgsOf(["--spool", "../var/./spool"], "/srv/relay"), [
    "--spool",
    "/srv/var/spool",
  ]);
  assert.equal(quote("/usr/local/bin/loggly-relay"), "/usr/local/bin/loggly-relay");
  assert.equal(quote("/opt/my relay"), '"/opt/my relay"');
  assert.equal(quote("100%"), "100%%");
  assert.equal(quote('a"b$c'), '"a\\"b$$c"');
});

Deno.test("install-service: no token needed yet; other tokens on its command line are refused", () => {
  assert.deepEqual(serviceArgsOf([]), []);
  for (
    const [args, key] of [
      [["--http", "8080", "--http-token", "a-long-http-bearer-token"], "--http-token"],
      [["--accept-token", TEST_TOKEN], "--accept-token"],
    ] as const
  ) {
    assert.throws(() => serviceArgsOf([...args]), (error: Error) => {
      assert.match(error.message, /copied into the unit file, which every local user can read/);
      assert.ok(error.message.includes(`${key}-file`), error.message);
      assert.ok(!error.message.includes(TEST_TOKEN));
      return true;
    });
  }
});

Deno.test("install-service: TLS and token files are loaded as credentials", () => {
  const unit = unitFor(
    "--tls",
    "0.0.0.0:6514",
    "--tls-cert",
    "/etc/letsencrypt/live/example.org/fullchain.pem",
    "--tls-key",
    "/etc/letsencrypt/live/example.org/privkey.pem",
    "--accept-token-file",
    "/etc/loggly-relay/accept",
  );
  const lines = unit.split("\n");
  for (
    const [name, path] of [
      ["tls-cert", "/etc/letsencrypt/live/example.org/fullchain.pem"],
      ["tls-key", "/etc/letsencrypt/live/example.org/privkey.pem"],
      ["accept-tokens", "/etc/loggly-relay/accept"],
    ]
  ) {
    const line = `LoadCredential=${credentialName(name, path)}:${path}`;
    assert.ok(lines.includes(line), `missing ${line}`);
    assert.match(line, new RegExp(`^LoadCredential=${name}-[0-9a-f]{12}:`));
  }
  // The paths stay as configured: the relay finds the credentials itself (lib/config.ts).
  assert.ok(!unit.includes("%d/"), "no credential path in the command");
  assert.ok(
    lines.some((l) =>
      l.includes("check-config") && l.includes("--token-file /etc/loggly-relay/token")
    ),
    "the check by hand reads the token file",
  );
});

Deno.test("install-service: a path the sandbox hides from the service is refused", () => {
  assert.throws(
    () => serviceArgsOf(["--spool", "spool"], "/home/me"),
    /--spool \/home\/me\/spool is under \/home\/, which the service does not see/,
  );
  assert.throws(() => serviceArgsOf(["--dead-letter", "/tmp/dead"]), /is under \/tmp\//);
  // Credentials are read by systemd, as root, before the sandbox: any folder will do.
  assert.deepEqual(serviceArgsOf(["--accept-token-file", "/root/accept"]), [
    "--accept-token-file",
    "/root/accept",
  ]);
  assert.deepEqual(serviceArgsOf(["--token-file", "/root/token"]), []);
  // The environment of install-service does not reach the service: refused, not dropped.
  const envs: Record<string, string>[] = [{ LOGGLY_RELAY_CONFIG: "/c.toml" }, {
    LOGGLY_RELAY_HTTP: "8080",
  }];
  for (const env of envs) {
    assert.throws(
      () => parseCommand(["install-service"], configSources(env, { "/c.toml": "" })),
      /is set in the environment, which the service does not get/,
    );
  }
  // A relative path in the config file cannot be rewritten: the service would read it from /.
  const file = { "/c.toml": '[inputs]\ntls = "6514"\ntls_cert = "c.pem"\ntls_key = "/k.pem"\n' };
  assert.throws(
    () => parseCommand(["install-service", "--config", "/c.toml"], configSources({}, file)),
    /inputs\.tls_cert in \/c\.toml line 3 "c\.pem" is a relative path: the service starts in \//,
  );
});

Deno.test("under systemd, a loaded credential stands in for its file; the file decides what is on", () => {
  const env = { CREDENTIALS_DIRECTORY: "/run/credentials/loggly-relay.service" };
  const dir = "/run/credentials/loggly-relay.service";
  const loaded = {
    [`${dir}/${credentialName("tls-key", "/etc/le/key.pem")}`]: "key",
    [`${dir}/${credentialName("http-tokens", "/etc/loggly-relay/http-tokens")}`]:
      "# bearer tokens\nfirst-http-token-abcdef\n",
    "/c.toml":
      '[inputs]\ntls = "6514"\ntls_cert = "/etc/le/full.pem"\ntls_key = "/etc/le/key.pem"\n' +
      '[http]\nlisten = "8080"\ntokens_file = "/etc/loggly-relay/http-tokens"\n',
  };
  const run = (files: Record<string, string>) => {
    const command = parseCommand(
      ["--token", TEST_TOKEN, "--config", "/c.toml"],
      configSources(env, files),
    );
    if (command.kind !== "run") throw new Error(command.kind);
    return command.config;
  };
  const config = run(loaded);
  assert.equal(config.inputs.tls?.key, `${dir}/${credentialName("tls-key", "/etc/le/key.pem")}`);
  assert.equal(config.inputs.tls?.cert, "/etc/le/full.pem", "no credential: the file itself");
  assert.deepEqual(config.http?.tokens, ["first-http-token-abcdef"]);
  // TLS taken out of the file: off, whatever credentials the unit still loads.
  const off = run({ ...loaded, "/c.toml": '[http]\nlisten = "8080"\n' });
  assert.equal(off.inputs.tls, null);
  // A path changed after install-service is read as it is, not answered by the old credential.
  const moved = run({
    ...loaded,
    "/c.toml": '[inputs]\ntls = "6514"\ntls_cert = "/etc/le/full.pem"\n' +
      'tls_key = "/etc/le2/key.pem"\n',
  });
  assert.equal(moved.inputs.tls?.key, "/etc/le2/key.pem");
});

Deno.test("install-service: systemd-analyze verify finds nothing to say about the unit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tls = ["--tls", "6514", "--tls-cert", "/etc/ssl/c.pem", "--tls-key", "/etc/ssl/k.pem"];
    for (
      const args of [[], ["--udp", "0.0.0.0:514", "--spool", "/var/lib/loggly-relay/a b%"], tls]
    ) {
      const path = `${dir}/loggly-relay.service`;
      await Deno.writeTextFile(path, unitFor(...args));
      const { code, stdout, stderr } = await run("systemd-analyze", ["verify", path]);
      assert.equal(code, 0, stderr);
      assert.equal(stdout + stderr, "", "no warnings either");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install-service: the steps after, with the token file only when it is missing", () => {
  const steps = nextSteps({
    tokenPath: "/etc/loggly-relay/token",
    tokenExists: false,
    written: true,
  });
  assert.ok(steps.includes("sudo install -d -m 0755 /etc/loggly-relay"));
  assert.ok(
    steps.some((s) => s.startsWith("sudo sh -c 'umask 077; cat > /etc/loggly-relay/token'")),
  );
  assert.ok(steps.includes("sudo systemctl enable --now loggly-relay"));
  const rest = nextSteps({
    tokenPath: "/etc/loggly-relay/token",
    tokenExists: true,
    written: false,
  });
  assert.match(
    rest[0],
    /install-service --print \| sudo tee \/etc\/systemd\/system\/loggly-relay\.service/,
  );
  assert.ok(!rest.some((s) => s.includes("umask")));
});

Deno.test("install-service as a command: --print shows it; a release build says how to install it", async () => {
  const printed = await run(DENO_RUN[0], [
    ...DENO_RUN.slice(1),
    "install-service",
    "--print",
    "--token",
    TEST_TOKEN,
  ]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /^\[Service\]$/m);
  assert.ok(!printed.stdout.includes(TEST_TOKEN));
  // A release build may not write /etc/systemd/system: it says so and prints the way instead.
  const release = await run(Deno.execPath(), [
    "run",
    ...permissionFlags(releaseScope(Deno.build.target)),
    MAIN,
    "install-service",
  ], { env: { LOGGLY_TOKEN: TEST_TOKEN } });
  assert.equal(release.code, 1, release.stdout + release.stderr);
  assert.match(release.stderr, /Cannot write \/etc\/systemd\/system\/loggly-relay\.service/);
  assert.match(release.stdout, /install-service --print \| sudo tee/);
  assert.match(release.stdout, /sudo systemctl enable --now loggly-relay/);
  const hidden = await run(DENO_RUN[0], [
    ...DENO_RUN.slice(1),
    "install-service",
    "--print",
    "--binary",
    "/home/me/Downloads/loggly-relay",
  ]);
  assert.equal(hidden.code, 2);
  assert.match(hidden.stderr, /--binary \/home\/me\/Downloads\/loggly-relay is under \/home\//);
  assert.match(
    await run(DENO_RUN[0], [...DENO_RUN.slice(1), "--print", "--token", TEST_TOKEN]).then((r) =>
      r.stderr
    ),
    /--print goes with install-service: loggly-relay install-service --print/,
  );
});

Deno.test("README: its unit is the one install-service writes for a config file", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Running it as a service"));
  const start = section.indexOf("```ini\n") + 7;
  const shown = section.slice(start, section.indexOf("\n```", start));
  const unit = systemdUnit({
    binary: "/usr/local/bin/loggly-relay",
    args: ["--config", "/etc/loggly-relay/config.toml"],
    tokenPath: "/etc/loggly-relay/token",
    credentials: [],
    config: configOf(),
  });
  assert.equal(shown, unit.trimEnd(), "README's unit differs: paste install-service --print");
});
