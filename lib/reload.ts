/**
 * What a new configuration changes in a running relay (SIGHUP): which inputs must be bound
 * again (their address, TLS or connection settings changed), which parts change in place, and
 * which wait for a restart. Pure: both configurations are given.
 *
 * @module
 */
import type { Config } from "./config.ts";

/** An input the relay binds. */
export type InputName = "udp" | "tcp" | "tls" | "http";

/** The inputs, in the order they are bound. */
export const INPUT_NAMES: readonly InputName[] = ["udp", "tcp", "tls", "http"];

/** What a reload does. */
export interface ReloadPlan {
  /** Inputs to close and bind again (or to start, or to stop). */
  readonly rebind: InputName[];
  /** Parts applied in place: "tags", "time zone", "tokens", "delivery", "queue", "log". */
  readonly inPlace: string[];
  /** Settings that keep their old value until the relay restarts, by name. */
  readonly restart: string[];
}

/** Everything an input is made from: when any of it changes, the input is bound again. */
export function inputSettings(name: InputName, config: Config): unknown {
  const { inputs, loggly } = config;
  const stream = {
    maxMessageBytes: inputs.maxMessageBytes,
    idleTimeoutMs: inputs.idleTimeoutMs,
    messageTimeoutMs: inputs.messageTimeoutMs,
    maxConnections: inputs.maxConnections,
    maxConnectionsPerPeer: inputs.maxConnectionsPerPeer,
  };
  switch (name) {
    case "udp":
      return inputs.udp && [inputs.udp, inputs.maxMessageBytes, inputs.udpRecvBufferBytes];
    case "tcp":
      return inputs.tcp && [inputs.tcp, stream];
    case "tls":
      return inputs.tls && [inputs.tls, stream, inputs.handshakeTimeoutMs];
    case "http":
      // The HTTP app checks tokens in its paths: the relay's and the accepted accounts' too.
      return config.http &&
        [config.http, inputs.handshakeTimeoutMs, loggly.token, loggly.acceptTokens];
  }
}

/** The plan for going from `current` to `next`. */
export function planReload(current: Config, next: Config): ReloadPlan {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const rebind = INPUT_NAMES.filter((name) =>
    !same(inputSettings(name, current), inputSettings(name, next))
  );
  const inPlace: string[] = [];
  const restart: string[] = [];
  if (!same(current.loggly.tags, next.loggly.tags)) inPlace.push("tags");
  if (current.inputs.syslogTimeZone !== next.inputs.syslogTimeZone) inPlace.push("time zone");
  if (
    current.loggly.token !== next.loggly.token ||
    !same(current.loggly.acceptTokens, next.loggly.acceptTokens)
  ) inPlace.push("tokens");
  if (current.loggly.url !== next.loggly.url || !same(current.delivery, next.delivery)) {
    inPlace.push("delivery");
  }
  if (!same(current.log, next.log)) inPlace.push("log");
  if (current.loggly.dryRun !== next.loggly.dryRun) restart.push("--dry-run");
  if (!same(current.spool, next.spool)) restart.push("--spool settings");
  const spoolMemory = (c: Config) => [c.delivery.queueMaxBytes, c.delivery.batchMaxBytes];
  if (
    current.spool !== null && next.spool !== null && !same(spoolMemory(current), spoolMemory(next))
  ) {
    restart.push("the spool's memory bound (--queue-max-bytes, --batch-max-bytes)");
  }
  return { rebind, inPlace, restart };
}

/**
 * Why a new reading of the configuration must not be applied, or null. A config file read at
 * start (the default one, found by its presence) that is gone would otherwise turn every
 * setting back to its default without a word.
 */
export function reloadRefusal(currentFile: string | null, nextFile: string | null): string | null {
  if (currentFile === null || nextFile !== null) return null;
  return `the config file ${currentFile} is gone: put it back, or restart the relay to run ` +
    "without it";
}
