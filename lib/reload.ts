/**
 * What a new configuration changes in a running relay (SIGHUP): which inputs must be bound
 * again (their address or TLS settings changed, or they are turned on or off), which take new
 * limits in place, which other parts change in place, and which wait for a restart. Pure: both
 * configurations are given.
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
  /** Inputs that stay bound and take new limits (HTTP: tokens too) in place. */
  readonly configure: InputName[];
  /**
   * Parts applied in place: "tags", "time zone", "tokens", "http tokens", "limits", "delivery",
   * "log".
   */
  readonly inPlace: string[];
  /** Settings that keep their old value until the relay restarts, by name. */
  readonly restart: string[];
}

/** Where an input listens and its TLS settings: when any of it changes, it is bound again. */
export function inputBinding(name: InputName, config: Config): unknown {
  switch (name) {
    case "udp":
      return config.inputs.udp;
    case "tcp":
      return config.inputs.tcp;
    case "tls":
      return config.inputs.tls; // address, certificate, key, client CA, highest version
    case "http":
      return config.http && [config.http.listen, config.http.tls];
  }
}

/** The limits of a bound input, which it takes in place; null when the input is off. */
export function inputLimits(name: InputName, config: Config): unknown {
  const { inputs, http } = config;
  const stream = [
    inputs.maxMessageBytes,
    inputs.idleTimeoutMs,
    inputs.messageTimeoutMs,
    inputs.maxConnections,
    inputs.maxConnectionsPerPeer,
  ];
  switch (name) {
    case "udp":
      return inputs.udp && [inputs.maxMessageBytes, inputs.udpRecvBufferBytes];
    case "tcp":
      return inputs.tcp && stream;
    case "tls":
      return inputs.tls && [stream, inputs.handshakeTimeoutMs];
    case "http":
      return http &&
        [http.maxBodyBytes, http.healthFailingAfterMs, http.tls && inputs.handshakeTimeoutMs];
  }
}

/**
 * The plan for going from `current` to `next`. What only a restart applies is compared with
 * `started`, the configuration the relay started with (by default `current`): a reload that
 * kept such a setting as it was must warn again at the next reload, not only once.
 */
export function planReload(current: Config, next: Config, started: Config = current): ReloadPlan {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const rebind = INPUT_NAMES.filter((name) =>
    !same(inputBinding(name, current), inputBinding(name, next))
  );
  const stay = INPUT_NAMES.filter((name) =>
    !rebind.includes(name) && inputBinding(name, next) !== null
  );
  const limits = stay.filter((name) => !same(inputLimits(name, current), inputLimits(name, next)));
  const tokens = current.loggly.token !== next.loggly.token ||
    !same(current.loggly.acceptTokens, next.loggly.acceptTokens);
  // The HTTP app checks tokens in its paths: the relay's, --http-token and --accept-token.
  const httpTokens = stay.includes("http") && !same(current.http?.tokens, next.http?.tokens);
  const configure = stay.filter((name) =>
    limits.includes(name) || (name === "http" && (tokens || httpTokens))
  );
  const inPlace: string[] = [];
  const restart: string[] = [];
  if (!same(current.loggly.tags, next.loggly.tags)) inPlace.push("tags");
  if (current.inputs.syslogTimeZone !== next.inputs.syslogTimeZone) inPlace.push("time zone");
  if (tokens) inPlace.push("tokens");
  if (httpTokens) inPlace.push("http tokens");
  if (limits.length > 0) inPlace.push("limits");
  if (current.loggly.url !== next.loggly.url || !same(current.delivery, next.delivery)) {
    inPlace.push("delivery");
  }
  if (!same(current.log, next.log)) inPlace.push("log");
  if (started.loggly.dryRun !== next.loggly.dryRun) restart.push("--dry-run");
  if (!same(started.spool, next.spool)) restart.push("--spool settings");
  const spoolMemory = (c: Config) => [c.delivery.queueMaxBytes, c.delivery.batchMaxBytes];
  if (
    started.spool !== null && next.spool !== null && !same(spoolMemory(started), spoolMemory(next))
  ) {
    restart.push("the spool's memory bound (--queue-max-bytes, --batch-max-bytes)");
  }
  return { rebind, configure, inPlace, restart };
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
