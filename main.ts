/**
 * loggly-relay: receive syslog and forward it to Loggly. Wiring only: read the command line,
 * start the relay, stop it on SIGINT/SIGTERM, and exit with a meaningful code: 0 stopped with
 * every accepted event delivered or kept in the spool, 1 runtime failure, 2 bad usage, 3 stopped
 * with events lost (not delivered, or in requests the shutdown timeout aborted, and no spool
 * keeping them; or the spool could not write them). Events dropped before they were queued are
 * reported at shutdown and do not change the code.
 *
 * @module
 */
import { checkConfig } from "./lib/check_config.ts";
import { accessReason, readEnv } from "./lib/access.ts";
import {
  type Config,
  ConfigError,
  type ConfigSources,
  parseCommand,
  type Resolved,
  type StatusTarget,
} from "./lib/config.ts";
import { dumpConfig } from "./lib/dump_config.ts";
import { type Logger, logger, setupLogging, stopLogging } from "./lib/log.ts";
import { makeRedactor } from "./lib/redact.ts";
import { type Relay, secretsOf, startRelay } from "./lib/relay.ts";
import {
  absolute,
  credentialFiles,
  DEFAULT_BINARY,
  DEFAULT_TOKEN_PATH,
  hiddenFolder,
  nextSteps,
  systemdUnit,
  UNIT_PATH,
} from "./lib/service_unit.ts";
import { reloadRefusal } from "./lib/reload.ts";
import { EXIT, exitCode, shutdownReport } from "./lib/shutdown.ts";
import type { Settings } from "./lib/settings.ts";
import type { StatusReport } from "./lib/status/report.ts";
import { fetchStatus } from "./lib/status/client.ts";
import { renderReport } from "./lib/status/terminal.ts";
import { describeError } from "./lib/loggly/sender.ts";
import { testSend } from "./lib/test_send.ts";
import { usage } from "./lib/usage.ts";
import { VERSION } from "./lib/version.ts";

async function main(args: string[]): Promise<number> {
  let command;
  try {
    command = parseCommand(args, SOURCES);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`loggly-relay: ${error.message}\n\nSee loggly-relay --help.`);
    // check-config answers "is this configuration valid?": no is 1, as for any finding.
    return args.includes("check-config") ? EXIT.failure : EXIT.usage;
  }
  if (command.kind === "help") {
    console.log(usage());
    return EXIT.ok;
  }
  if (command.kind === "version") {
    console.log(`loggly-relay ${VERSION}`);
    return EXIT.ok;
  }
  if (command.kind === "dump-config") {
    console.log(dumpConfig());
    return EXIT.ok;
  }
  if (command.kind === "check-config") {
    const report = checkConfig(command, {
      readTextFile: (path) => Deno.readTextFileSync(path),
      mayAccess: (path, write) =>
        Deno.permissions.querySync({ name: write ? "write" : "read", path }).state === "granted",
      now: Date.now,
    });
    console.log(report.lines.join("\n"));
    for (const finding of report.findings) console.log(`${finding.level}: ${finding.message}`);
    console.log(report.ok ? "The configuration is valid." : "The configuration has errors.");
    return report.ok ? EXIT.ok : EXIT.failure;
  }
  if (command.kind === "install-service") return installService(command);
  if (command.kind === "status") return await showStatus(command.target, command.settings);
  if (command.kind === "test-send") {
    const result = await testSend({
      url: command.config.loggly.url,
      token: command.config.loggly.token!,
      tags: command.config.loggly.tags,
      fetch,
      now: () => new Date(),
      hostname: hostname(),
      version: VERSION,
      timeoutMs: 15_000,
    });
    console.log(result.message);
    return result.outcome === "accepted" ? EXIT.ok : EXIT.failure;
  }
  const { config, notices } = command;
  await setupLogging({
    verbosity: config.log.verbosity,
    format: config.log.format,
    redact: makeRedactor(secretsOf(config)),
  });
  const log = logger("main");
  for (const notice of notices) log.warn(notice);
  // SIGHUP is listened for before anything starts: its default action would end the process.
  let relay: Relay | null = null;
  let stopping = false;
  let active: InForce = { config, file: command.file };
  let reloading = Promise.resolve();
  const onHangup = () => {
    // One reload at a time, in the order the signals came; none while starting or stopping.
    reloading = reloading.then(async () => {
      if (relay === null || stopping) {
        log.warn("SIGHUP while the relay is {state}: not reloading", {
          state: stopping ? "stopping" : "starting",
        });
        return;
      }
      active = await reloadConfig(relay, active, args, log);
    }).catch((error) => log.error("SIGHUP: the reload failed: {error}", { error }));
  };
  Deno.addSignalListener("SIGHUP", onHangup);
  try {
    relay = await startRelay(config, {
      configSource: () => active.file ?? "flags and environment (no config file)",
    });
    if (config.loggly.dryRun) {
      log.info("Dry run: printing events to stdout instead of sending them");
    } else log.info("Forwarding to {url}", { url: config.loggly.url });
    const signal = await new Promise<string>((resolve) => {
      for (const name of ["SIGINT", "SIGTERM"] as const) {
        Deno.addSignalListener(name, () => resolve(name));
      }
    });
    stopping = true;
    await reloading;
    log.info("{signal}: stopping inputs and flushing for up to {ms} ms", {
      signal,
      ms: active.config.delivery.shutdownTimeoutMs,
    });
    const left = await relay.shutdown();
    const state = { ...left, durable: relay.durable, dryRun: config.loggly.dryRun };
    for (const line of shutdownReport(relay.metrics, state)) log[line.level](line.message);
    return exitCode(state);
  } catch (error) {
    log.error("{message}", { message: error instanceof Error ? error.message : String(error) });
    return EXIT.failure;
  } finally {
    await stopLogging();
  }
}

/**
 * SIGHUP: reads the command line's sources again (environment, config file, token files) and
 * applies what changed; a configuration that does not parse, or an input that cannot be bound,
 * is refused with the reason and the one in use stays. Returns the configuration in force.
 */
async function reloadConfig(
  relay: Relay,
  active: InForce,
  args: string[],
  log: Logger,
): Promise<InForce> {
  let next: Config;
  let notices: string[];
  let file: string | null;
  try {
    const command = parseCommand(args, SOURCES);
    if (command.kind !== "run") return active;
    const refusal = reloadRefusal(active.file, command.file);
    if (refusal !== null) throw new ConfigError(refusal);
    ({ config: next, notices, file } = command);
  } catch (error) {
    log.error("SIGHUP: the new configuration is refused ({error}); keeping the one in use", {
      error: error instanceof Error ? error.message : String(error),
    });
    return active;
  }
  let plan;
  try {
    plan = await relay.reload(next);
  } catch (error) {
    log.error("SIGHUP: the new configuration is refused ({error}); keeping the one in use", {
      error: error instanceof Error ? error.message : String(error),
    });
    return active;
  }
  // The new tokens are redacted from here on, at the new verbosity and format.
  await setupLogging({
    verbosity: next.log.verbosity,
    format: next.log.format,
    redact: makeRedactor(secretsOf(next)),
  });
  for (const notice of notices) log.warn(notice);
  const changed = [...plan.rebind.map((input) => `${input} input bound again`), ...plan.inPlace];
  const certificates = next.inputs.tls || next.http?.tls ? "; TLS certificates read again" : "";
  log.info("SIGHUP: configuration read again; {changes}{certificates}", {
    changes: changed.length === 0 ? "nothing changed" : `applied: ${changed.join(", ")}`,
    certificates,
  });
  if (plan.restart.length > 0) {
    log.warn("SIGHUP: {settings} changed, which only a restart applies; kept as they were", {
      settings: plan.restart.join(", "),
    });
  }
  return { config: next, file };
}

/** The configuration in force and the config file it was read from. */
interface InForce {
  readonly config: Config;
  readonly file: string | null;
}

/** Writes the systemd unit (or prints it, with --print) and the steps that follow. */
function installService(resolved: Resolved & { serviceArgs: string[] }): number {
  const execPath = Deno.execPath();
  const compiled = !/^deno(\.exe)?$/.test(execPath.split(/[\\/]/).pop()!);
  const tokenPath = absolute(
    resolved.settings.text("token-file") ?? DEFAULT_TOKEN_PATH,
    Deno.cwd(),
  );
  const binary = absolute(
    resolved.settings.text("binary") ?? (compiled ? execPath : DEFAULT_BINARY),
    Deno.cwd(),
  );
  if (hiddenFolder(binary) !== null) {
    console.error(
      `loggly-relay: the service could not run ${binary}: ${hiddenFolder(binary)} is hidden ` +
        "from it (ProtectHome=, PrivateTmp=). Copy the binary to /usr/local/bin first, or give " +
        "--binary PATH.",
    );
    return EXIT.usage;
  }
  const unit = systemdUnit({
    binary,
    args: resolved.serviceArgs,
    tokenPath,
    credentials: credentialFiles(resolved.settings, Deno.cwd()),
    config: resolved.config,
  });
  if (resolved.settings.switch("print")) {
    console.log(unit);
    return EXIT.ok;
  }
  let written = true;
  try {
    Deno.writeTextFileSync(UNIT_PATH, unit);
    console.log(`Wrote ${UNIT_PATH}.`);
  } catch (error) {
    written = false;
    console.error(`Cannot write ${UNIT_PATH} (${accessReason(error, "write")}).`);
  }
  let tokenExists = true;
  try {
    Deno.statSync(tokenPath);
  } catch {
    tokenExists = false;
  }
  console.log(`${written ? "Next" : "Instead"}, as root:`);
  for (const step of nextSteps({ tokenPath, tokenExists, written })) console.log(`  ${step}`);
  return written ? EXIT.ok : EXIT.failure;
}

/**
 * `loggly-relay status`: the running relay's status.json, as one screen every second until
 * Ctrl-C, once (`--once`), or as JSON (`--json`). 1 when the relay does not answer.
 */
async function showStatus(target: StatusTarget, settings: Settings): Promise<number> {
  const json = settings.switch("json");
  const once = json || settings.switch("once");
  const address = target.url.replace(/^https?:\/\//, "");
  const headers: Record<string, string> = target.token === null
    ? {}
    : { authorization: `Bearer ${target.token}` };
  let certificatePem: string | null = null;
  if (target.certificate !== null) {
    try {
      certificatePem = Deno.readTextFileSync(target.certificate);
    } catch (error) {
      console.error(
        `Cannot read --http-tls-cert ${target.certificate} (${accessReason(error, "read")}), ` +
          "the certificate the relay serves: run status as a user who may read it (sudo)",
      );
      return EXIT.failure;
    }
  }
  let stop = false;
  const interrupt = () => void (stop = true);
  if (!once) Deno.addSignalListener("SIGINT", interrupt);
  try {
    while (true) {
      let text: string;
      try {
        const answer = await fetchStatus({
          url: target.url,
          headers,
          certificatePem,
          timeoutMs: 5_000,
        });
        text = answer.text;
        if (answer.status === 401 || answer.status === 403) {
          console.error(
            `The relay at ${address} asks for a token (HTTP ${answer.status}): give one of its ` +
              "--http-token values with --http-token (or run status as a user who may read " +
              "its --http-token-file)",
          );
          return EXIT.failure;
        }
        if (answer.status !== 200) throw new Error(`HTTP ${answer.status}`);
      } catch (error) {
        const why = describeError(error);
        console.error(`No relay answers at ${address} (${why}): is it running, with --http?`);
        if (once) return EXIT.failure;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        if (stop) return EXIT.ok;
        continue;
      }
      if (json) {
        try {
          JSON.parse(text);
        } catch {
          console.error(`The relay at ${address} sent an answer cut short or not JSON`);
          return EXIT.failure;
        }
        console.log(text);
        return EXIT.ok;
      }
      let report: StatusReport;
      try {
        report = JSON.parse(text) as StatusReport;
      } catch {
        console.error(`The relay at ${address} sent an answer cut short or not JSON`);
        if (once) return EXIT.failure;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        if (stop) return EXIT.ok;
        continue;
      }
      const screen = renderReport(report, address);
      if (once) {
        console.log(screen);
        return EXIT.ok;
      }
      // Home and clear, then the screen: one screen that refreshes in place.
      console.log(`\x1b[H\x1b[2J${screen}\n\n(refreshed every second; Ctrl-C to stop)`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (stop) return EXIT.ok;
    }
  } finally {
    if (!once) Deno.removeSignalListener("SIGINT", interrupt);
  }
}

/** This host's name for the test event; release builds may not ask (no --allow-sys). */
function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "this host";
  }
}

/** Where parseCommand reads the environment and files: this process's. */
const SOURCES: ConfigSources = {
  env: readEnv,
  readTextFile: (path) => Deno.readTextFileSync(path),
  cwd: () => Deno.cwd(),
};

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
