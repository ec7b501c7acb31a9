/**
 * `loggly-relay check-config`: the checks on their own (TLS files, paths, the report), and the
 * command as a user runs it: no port bound, nothing sent, the token never printed, exit 0 or 1.
 */
import assert from "node:assert/strict";
import { checkConfig, type CheckDeps } from "../lib/check_config.ts";
import { parseCommand } from "../lib/config.ts";
import { DENO_RUN } from "./relay_process.ts";
import { makeCertificate, makeTestCertificates } from "./tls_fixture.ts";

const TOKEN = "0b6d4f7e-1a2b-4c3d-9e8f-123456789abc";
const DAY = 86_400_000;

function resolved(args: string[], env: Record<string, string> = {}) {
  const command = parseCommand(["check-config", "--token", TOKEN, ...args], {
    env: (name) => env[name],
    readTextFile: (path) => Deno.readTextFileSync(path),
    cwd: () => "/",
  });
  if (command.kind !== "check-config") throw new Error(command.kind);
  return command;
}

function deps(extra: Partial<CheckDeps> = {}): CheckDeps {
  return {
    readTextFile: (path) => Deno.readTextFileSync(path),
    mayAccess: () => true,
    now: Date.now,
    ...extra,
  };
}

Deno.test("check-config: a good TLS pair passes, with the days to expiry and the key match", async () => {
  await using certs = await makeTestCertificates();
  const tls = ["--tls", "127.0.0.1:6514", "--tls-cert", certs.cert, "--tls-key", certs.key];
  const report = checkConfig(resolved(tls), deps());
  assert.ok(report.ok, JSON.stringify(report.findings));
  const messages = report.findings.map((f) => `${f.level}: ${f.message}`);
  // The test certificates last a day: a warning, not an error.
  assert.ok(
    messages.some((m) => /^warning: --tls-cert .* expires in 0 days/.test(m)),
    `${messages}`,
  );
  assert.ok(messages.includes(`ok: --tls-key ${certs.key} matches the certificate`));
});

Deno.test("check-config: an expired certificate, a key of another certificate, a file that is not PEM", async () => {
  await using certs = await makeTestCertificates();
  const other = await makeCertificate(certs, "other", { usage: "serverAuth" });
  const later = deps({ now: () => Date.now() + 3 * DAY });
  const expired = checkConfig(
    resolved(["--tls", ":6514", "--tls-cert", certs.cert, "--tls-key", certs.key]),
    later,
  );
  assert.equal(expired.ok, false);
  assert.ok(
    expired.findings.some((f) => f.level === "error" && /expired 2 days ago/.test(f.message)),
  );

  const mismatch = checkConfig(
    resolved([
      "--http",
      "127.0.0.1:8443",
      "--http-tls-cert",
      certs.cert,
      "--http-tls-key",
      other.key,
    ]),
    deps(),
  );
  assert.equal(mismatch.ok, false);
  assert.ok(
    mismatch.findings.some((f) =>
      f.level === "error" && f.message.startsWith(`--http-tls-key ${other.key} does not match`)
    ),
  );

  const notPem = checkConfig(
    resolved(["--tls", ":6514", "--tls-cert", certs.key, "--tls-key", certs.key]),
    deps(),
  );
  assert.ok(
    notPem.findings.some((f) => f.level === "error" && /no PEM certificate/.test(f.message)),
  );
  const missing = checkConfig(
    resolved(["--tls", ":6514", "--tls-cert", "/nonexistent.pem", "--tls-key", certs.key]),
    deps(),
  );
  assert.ok(missing.findings.some((f) => /\/nonexistent\.pem: cannot read it/.test(f.message)));
});

Deno.test("check-config: a chain out of order is an error that says the order", async () => {
  await using certs = await makeTestCertificates();
  const pem = Deno.readTextFileSync(certs.cert);
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
  assert.equal(blocks.length, 2, "the fixture's chain is leaf, then CA");
  const reversed = `${certs.dir}/reversed.pem`;
  Deno.writeTextFileSync(reversed, `${blocks[1]}\n${blocks[0]}\n`);
  const report = checkConfig(
    resolved(["--tls", ":6514", "--tls-cert", reversed, "--tls-key", certs.key]),
    deps(),
  );
  assert.equal(report.ok, false);
  assert.ok(report.findings.some((f) => /put the server's certificate first/.test(f.message)));
});

Deno.test("check-config: a path this build may not touch is an error naming the flag", () => {
  const report = checkConfig(
    resolved(["--spool", "/home/me/spool", "--dead-letter", "/var/lib/loggly-relay/dead.ndjson"]),
    deps({ mayAccess: (path) => path.startsWith("/var/lib/loggly-relay") }),
  );
  assert.equal(report.ok, false);
  const errors = report.findings.filter((f) => f.level === "error").map((f) => f.message);
  assert.deepEqual(errors.length, 1);
  assert.match(errors[0], /^--spool \/home\/me\/spool: this build may not write it/);
});

Deno.test("check-config: the effective settings with their sources, no token anywhere", () => {
  const other = "11111111-2222-4333-8444-555555555555";
  const report = checkConfig(
    resolved(
      ["--accept-token", other, "--http", "127.0.0.1:8080", "--http-token", "x".repeat(20)],
      {
        LOGGLY_RELAY_LINGER: "2s",
      },
    ),
    deps(),
  );
  const text = report.lines.join("\n");
  assert.ok(!text.includes(TOKEN) && !text.includes(other) && !text.includes("x".repeat(20)));
  assert.ok(report.lines.includes("loggly.token = [REDACTED]  # a flag"), text);
  assert.ok(report.lines.includes('delivery.linger = "2s"  # LOGGLY_RELAY_LINGER'), text);
  assert.ok(report.lines.includes('loggly.accept_tokens = ["[REDACTED]"]  # --accept-token'), text);
  assert.ok(
    report.lines.includes("delivery.concurrency = 4  # the default of --concurrency"),
    text,
  );
  assert.ok(report.lines.includes('http.listen = "127.0.0.1:8080"  # --http'), text);
});

Deno.test("check-config: the values in force, not as written: -p, a bare port, a derived delay", async () => {
  const file = await Deno.makeTempFile({ suffix: ".toml" });
  try {
    await Deno.writeTextFile(file, '[inputs]\nudp = "127.0.0.1:5140"\n');
    const report = checkConfig(
      resolved(["--config", file, "-p", "514", "--http", "8080", "--retry-max-delay", "200ms"]),
      deps(),
    );
    const text = report.lines.join("\n");
    assert.ok(
      report.lines.includes(
        `inputs.udp = "127.0.0.1:514"  # inputs.udp in ${file} line 2, port from --port`,
      ),
      text,
    );
    assert.ok(
      report.lines.includes('inputs.tcp = "0.0.0.0:514"  # the default of --tcp, port from --port'),
      text,
    );
    assert.ok(report.lines.includes('http.listen = "127.0.0.1:8080"  # --http'), text);
    assert.ok(
      report.lines.includes(
        'delivery.retry_initial_delay = "200ms"  # the default of --retry-initial-delay, ' +
          "shortened to --retry-max-delay",
      ),
      text,
    );
    assert.ok(report.lines.includes('delivery.linger = "1s"  # the default of --linger'), text);
  } finally {
    await Deno.remove(file);
  }
});

async function relay(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(DENO_RUN[0], {
    args: [...DENO_RUN.slice(1), ...args],
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("check-config as a command: binds nothing, prints no token, exits 0 or 1", async () => {
  // A port in use: a relay would fail to start on it; check-config does not bind it.
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  const dir = await Deno.makeTempDir();
  try {
    const config = `${dir}/config.toml`;
    await Deno.writeTextFile(config, `[inputs]\ntcp = "127.0.0.1:${port}"\nudp = "off"\n`);
    const good = await relay(["check-config", "--config", config], { LOGGLY_TOKEN: TOKEN });
    assert.equal(good.code, 0, good.stderr + good.stdout);
    assert.match(good.stdout, /^# effective settings \(config file .*config\.toml\)/);
    assert.match(
      good.stdout,
      new RegExp(`inputs.tcp = "127.0.0.1:${port}"  # inputs.tcp in .* line 2`),
    );
    assert.match(good.stdout, /loggly\.token = \[REDACTED\] {2}# LOGGLY_TOKEN/);
    assert.match(good.stdout, /The configuration is valid\./);
    assert.ok(!good.stdout.includes(TOKEN) && !good.stderr.includes(TOKEN));

    await Deno.writeTextFile(config, `[inputs]\ntcp_port = ${port}\n`);
    const bad = await relay(["check-config", "--config", config], { LOGGLY_TOKEN: TOKEN });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /line 2: unknown key "tcp_port" in \[inputs\]/);

    const dump = await relay(["--dump-config"]);
    assert.equal(dump.code, 0);
    await Deno.writeTextFile(config, dump.stdout);
    const dumped = await relay(["check-config", "--config", config], { LOGGLY_TOKEN: TOKEN });
    assert.equal(dumped.code, 0, "the dumped file is valid as it is");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
