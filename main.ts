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
import { ConfigError, parseCommand } from "./lib/config.ts";
import { logger, setupLogging, stopLogging } from "./lib/log.ts";
import { makeRedactor } from "./lib/redact.ts";
import { startRelay } from "./lib/relay.ts";
import { EXIT, exitCode, shutdownReport } from "./lib/shutdown.ts";
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
    return EXIT.usage;
  }
  if (command.kind === "help") {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (command.kind === "version") {
    console.log(`loggly-relay ${VERSION}`);
    return EXIT.ok;
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
    const left = await relay.shutdown();
    const state = { ...left, durable: relay.durable, dryRun: config.dryRun };
    for (const line of shutdownReport(relay.metrics, state)) log[line.level](line.message);
    return exitCode(state);
  } catch (error) {
    log.error("{message}", { message: error instanceof Error ? error.message : String(error) });
    return EXIT.failure;
  } finally {
    await stopLogging();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
