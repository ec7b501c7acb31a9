/**
 * loggly-relay: receive syslog and forward it to Loggly. Wiring only: read the command line,
 * start the relay, stop it on SIGINT/SIGTERM, and exit with a meaningful code
 * (0 done, 1 runtime failure, 2 bad usage).
 *
 * @module
 */
import { ConfigError, parseCommand } from "./lib/config.ts";
import { logger, setupLogging, stopLogging } from "./lib/log.ts";
import { makeRedactor } from "./lib/redact.ts";
import { startRelay } from "./lib/relay.ts";
import { shutdownReport } from "./lib/shutdown.ts";
import { USAGE } from "./lib/usage.ts";
import { VERSION } from "./lib/version.ts";

async function main(args: string[]): Promise<number> {
  let command;
  try {
    command = parseCommand(args, {
      env: (name) => Deno.env.get(name),
      readTextFile: (path) => Deno.readTextFileSync(path),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`loggly-relay: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (command.kind === "help") {
    console.log(USAGE);
    return 0;
  }
  if (command.kind === "version") {
    console.log(`loggly-relay ${VERSION}`);
    return 0;
  }
  const { config, notices } = command;
  await setupLogging({
    verbosity: config.verbosity,
    format: config.logFormat,
    redact: makeRedactor([config.token, ...config.acceptTokens]),
  });
  const log = logger("main");
  for (const notice of notices) log.warn(notice);
  try {
    const relay = await startRelay(config);
    if (config.dryRun) log.info("Dry run: printing events to stdout instead of sending them");
    else log.info("Forwarding to {url}", { url: config.logglyUrl });
    Deno.addSignalListener("SIGHUP", () => {
      try {
        relay.reload();
        log.info("SIGHUP: certificates read again; established connections stay up");
      } catch (error) {
        log.error("SIGHUP: {error}; keeping the certificates in use", { error });
      }
    });
    const signal = await new Promise<string>((resolve) => {
      for (const name of ["SIGINT", "SIGTERM"] as const) {
        Deno.addSignalListener(name, () => resolve(name));
      }
    });
    log.info("{signal}: stopping inputs and flushing for up to {ms} ms", {
      signal,
      ms: config.shutdownTimeoutMs,
    });
    const unsent = await relay.stop();
    const state = { unsent, durable: relay.durable, dryRun: config.dryRun };
    for (const line of shutdownReport(relay.metrics, state)) log[line.level](line.message);
    return 0;
  } catch (error) {
    log.error("{message}", { message: error instanceof Error ? error.message : String(error) });
    return 1;
  } finally {
    await stopLogging();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
