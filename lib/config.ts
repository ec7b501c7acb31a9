/**
 * The command line, the environment, the config file and the defaults (lib/settings.ts, in that
 * order of precedence) made into one validated, frozen {@link Config}, each part for the
 * component that uses it. Pure: file reads and the environment are passed in.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { unreadable } from "./access.ts";
import { credentialName } from "./credentials.ts";
import { type ConfigFile, parseConfigFile } from "./config_file.ts";
import { isLoopback } from "./http/server.ts";
import { hiddenPath, serviceArgs } from "./service_unit.ts";
import {
  DEFAULT_CONFIG_PATH,
  DEFAULT_PORT,
  DEFAULT_TLS_PORT,
  LOGGLY_MAX_REQUEST_BYTES,
  optionFor,
  OPTIONS,
} from "./options.ts";
import type { SpoolSync } from "./queue/spool.ts";
import { type FlagValues, type Origin, Settings } from "./settings.ts";
import { isValidTimeZone } from "./syslog/parse.ts";
import type { TlsVersion } from "./syslog/tls.ts";
import {
  ConfigError,
  formatAddress,
  isValidTag,
  type ListenAddress,
  MAX_TAG_LENGTH,
  MAX_TAGS,
  parseInteger,
} from "./units.ts";

export { ConfigError, DEFAULT_PORT, DEFAULT_TLS_PORT, LOGGLY_MAX_REQUEST_BYTES };

/** Longest --http-token: what the status page's redaction is sized for (lib/status). */
export const MAX_HTTP_TOKEN_LENGTH = 128;
/** Loggly's limit for one event. */
export const LOGGLY_MAX_EVENT_BYTES = 1_000_000;
/** syslog2loggly's configuration file, read when no token is given otherwise. */
export const LEGACY_CONFIG_PATH = "/etc/syslog2loggly.conf";
/** The systemd credential (`LoadCredential=loggly-token:...`) the token is read from. */
export const TOKEN_CREDENTIAL = "loggly-token";

/** The Loggly account and what every event carries. */
export interface LogglyConfig {
  /** Null only with dry-run, which sends nothing. */
  readonly token: string | null;
  /** Other Loggly accounts whose events the relay forwards. */
  readonly acceptTokens: readonly string[];
  /** Base URL without a trailing slash. */
  readonly url: string;
  readonly tags: readonly string[];
  readonly dryRun: boolean;
}

/** Syslog over TLS. */
export interface TlsInputConfig {
  readonly address: ListenAddress;
  readonly cert: string;
  readonly key: string;
  readonly clientCa: string | null;
  /** Highest TLS version (1.2 by default, see lib/syslog/tls.ts). */
  readonly maxVersion: TlsVersion;
}

/** The syslog inputs; an input is null when off. */
export interface InputsConfig {
  readonly udp: ListenAddress | null;
  readonly tcp: ListenAddress | null;
  readonly tls: TlsInputConfig | null;
  /** The relay's own UDP receive buffer: datagrams read but not yet parsed; beyond it, dropped. */
  readonly udpRecvBufferBytes: number;
  readonly maxMessageBytes: number;
  readonly idleTimeoutMs: number;
  readonly messageTimeoutMs: number;
  /** A TLS connection (syslog or HTTPS) must finish its handshake this long after accept (0: never). */
  readonly handshakeTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerPeer: number;
  readonly syslogTimeZone: string;
}

/** Queue, batches, retries and shutdown. */
export interface DeliveryConfig {
  readonly batchMaxEvents: number;
  readonly batchMaxBytes: number;
  readonly lingerMs: number;
  readonly concurrency: number;
  readonly queueMaxEvents: number;
  readonly queueMaxBytes: number;
  readonly retryInitialDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly deadLetterPath: string | null;
  readonly shutdownTimeoutMs: number;
}

/** The HTTP input. */
export interface HttpConfig {
  readonly listen: ListenAddress;
  /** HTTPS files; null for plain HTTP. */
  readonly tls: { readonly cert: string; readonly key: string } | null;
  readonly tokens: readonly string[];
  readonly maxBodyBytes: number;
  /** /healthz turns 503 when every delivery has failed for this long. */
  readonly healthFailingAfterMs: number;
}

/** The durable queue. */
export interface SpoolConfig {
  readonly dir: string;
  readonly sync: SpoolSync;
  readonly maxBytes: number;
}

/** The relay's own logs. */
export interface LogConfig {
  /** 0: info; 1 (-v): a line per batch; 2 (-vv): a line per event, at most 10 a second. */
  readonly verbosity: number;
  readonly format: "text" | "json";
  /** How often the status line is logged; 0: never. */
  readonly statusIntervalMs: number;
}

/** Everything the relay needs to run, validated; each component gets its part. */
export interface Config {
  readonly loggly: LogglyConfig;
  readonly inputs: InputsConfig;
  readonly delivery: DeliveryConfig;
  /** Null: events are held in memory only. */
  readonly spool: SpoolConfig | null;
  /** Null: no HTTP input (the default). */
  readonly http: HttpConfig | null;
  readonly log: LogConfig;
}

/** Where the token came from, for check-config (never the token itself). */
export type TokenOrigin = Origin | { readonly from: "credential"; readonly path: string } | {
  readonly from: "legacy";
  readonly path: string;
};

/** A validated configuration, the notices it gave and where each value came from. */
export interface Resolved {
  readonly config: Config;
  readonly notices: string[];
  readonly settings: Settings;
  readonly tokenOrigin: TokenOrigin | null;
  /** The config file read, if any. */
  readonly file: string | null;
}

/** What the command line asks for. */
export type Command =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "dump-config" }
  | ({ kind: "run" } & Resolved)
  | ({ kind: "check-config" } & Resolved)
  | ({ kind: "install-service"; readonly serviceArgs: string[] } & Resolved)
  | ({ kind: "status"; readonly target: StatusTarget } & Resolved)
  | ({ kind: "test-send" } & Resolved);

/** Where `loggly-relay status` reads the running relay's status. */
export interface StatusTarget {
  /** `http://HOST:PORT` (or https://), without a trailing slash. */
  readonly url: string;
  /** A bearer token for it (the first --http-token), if any. */
  readonly token: string | null;
  /** Over HTTPS: the certificate file it serves (the one `status` trusts). */
  readonly certificate: string | null;
}

/** What parseCommand reads from outside the arguments. */
export interface ConfigSources {
  env: (name: string) => string | undefined;
  readTextFile: (path: string) => string;
  /** The working directory, against which install-service makes paths absolute. */
  cwd: () => string;
}

/** The subcommands; without one, the relay runs. */
export const SUBCOMMANDS: readonly string[] = [
  "check-config",
  "install-service",
  "status",
  "test-send",
];

/** Flags that belong to one command only. */
const COMMAND_FLAGS: Readonly<Record<string, string>> = {
  print: "install-service",
  binary: "install-service",
  once: "status",
  json: "status",
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The `parseArgs` options, from the option table. */
function argsOptions() {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = { "dump-config": { type: "boolean" } };
  for (const option of OPTIONS) {
    const boolean = option.kind.type === "switch" || option.kind.type === "level";
    options[option.flag] = {
      type: boolean ? "boolean" : "string",
      ...(option.short ? { short: option.short } : {}),
      ...(option.kind.type === "list" || option.kind.type === "level" ? { multiple: true } : {}),
    };
  }
  return options;
}

/** Parses the command line (without the program name) into what to do. */
export function parseCommand(args: string[], sources: ConfigSources): Command {
  let values: FlagValues;
  let positionals: string[];
  let tokens: ReturnType<typeof parseArgs>["tokens"];
  try {
    ({ values, positionals, tokens } = parseArgs({
      args,
      options: argsOptions(),
      strict: true,
      allowPositionals: true,
      tokens: true,
    }));
  } catch (error) {
    throw new ConfigError(argsErrorMessage(error));
  }
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (values["dump-config"]) return { kind: "dump-config" };
  const [subcommand, ...rest] = positionals;
  if (subcommand !== undefined && !SUBCOMMANDS.includes(subcommand) || rest.length > 0) {
    const stray = rest.length > 0 ? rest[0] : subcommand;
    throw new ConfigError(
      `Unexpected argument "${stray}": flags start with -- ` +
        `(the commands are ${SUBCOMMANDS.join(", ")})`,
    );
  }
  for (const [flag, command] of Object.entries(COMMAND_FLAGS)) {
    if (values[flag] !== undefined && subcommand !== command) {
      throw new ConfigError(`--${flag} goes with ${command}: loggly-relay ${command} --${flag}`);
    }
  }
  if (subcommand === "install-service") {
    const options = tokens!.flatMap((t) =>
      t.kind === "option" ? [{ name: t.name, value: t.value }] : []
    );
    // The token and token files are the unit's credentials, not read here: they may not exist yet.
    if (values.config === undefined && nonEmpty(sources.env("LOGGLY_RELAY_CONFIG")) !== undefined) {
      throw new ConfigError(
        "LOGGLY_RELAY_CONFIG is set in the environment, which the service does not get: " +
          "give --config FILE",
      );
    }
    const resolved = resolveConfig(values, sources, "install");
    const hidden = hiddenPath(resolved.settings, sources.cwd());
    if (hidden !== null) throw new ConfigError(hidden);
    return {
      kind: "install-service",
      serviceArgs: serviceArgs(options, sources.cwd()),
      ...resolved,
    };
  }
  if (subcommand === "status") {
    const resolved = resolveConfig(values, sources, "status");
    return { kind: "status", target: statusTarget(resolved.config), ...resolved };
  }
  const resolved = resolveConfig(values, sources, "run");
  if (subcommand === "check-config") return { kind: "check-config", ...resolved };
  if (subcommand === "test-send") {
    if (resolved.config.loggly.token === null) {
      throw new ConfigError("test-send needs a token: give --token TOKEN or --token-file FILE");
    }
    return { kind: "test-send", ...resolved };
  }
  return { kind: "run", ...resolved };
}

/** The flags, the environment, the config file and the defaults made into a Config. */
/**
 * What a command reads of the secrets: all to run; `status` only the HTTP tokens (its bearer);
 * `install-service` none (the unit loads them as credentials, whose files may not exist yet).
 */
type Reading = "run" | "status" | "install";

function resolveConfig(values: FlagValues, sources: ConfigSources, reading: Reading): Resolved {
  const needToken = reading === "run";
  const notices: string[] = [];
  const env = (name: string) => sources.env(name);
  const configPath = (values.config as string | undefined) ??
    nonEmpty(env("LOGGLY_RELAY_CONFIG"));
  const file = readConfigFile(configPath, sources);
  const s = new Settings(values, env, file);
  if (s.switch("daemon")) {
    notices.push(
      "-D is accepted for syslog2loggly compatibility, but the relay stays in the foreground: " +
        "run it as a service with systemd or your init system instead (see the README)",
    );
  }
  const dryRun = s.switch("dry-run");
  const legacy = readLegacyConfig(s, sources, notices);
  const { token, origin: tokenOrigin } = needToken
    ? readToken(s, sources, legacy)
    : { token: null, origin: null };
  if (token === null && !dryRun && needToken) {
    throw new ConfigError(
      "No Loggly token: give --token TOKEN, --token-file FILE or the LOGGLY_TOKEN variable, " +
        "or token_file in the config file (your customer token is under Source Setup > " +
        "Customer Tokens in Loggly)",
    );
  }
  const config: Config = {
    loggly: {
      token,
      acceptTokens: (reading === "run" ? readAcceptTokens(s, sources) : [])
        .filter((t) => t.toLowerCase() !== token?.toLowerCase()),
      url: parseLogglyUrl(s.label("loggly-url"), s.text("loggly-url")!),
      tags: readTags(s),
      dryRun,
    },
    inputs: inputsPart(s, legacy, sources),
    delivery: deliveryPart(s),
    spool: spoolPart(s),
    http: httpPart(s, sources, reading),
    log: {
      verbosity: s.level("verbose"),
      format: s.choice("log-format") as LogConfig["format"],
      statusIntervalMs: s.duration("status-interval"),
    },
  };
  const { inputs, http, loggly } = config;
  if (loggly.url.startsWith("http://") && !isLoopbackUrl(loggly.url)) {
    notices.push(
      `${s.label("loggly-url")} uses http://: the token and the events travel unencrypted`,
    );
  }
  if (!inputs.udp && !inputs.tcp && !inputs.tls && !http) {
    throw new ConfigError(
      "Every input is off (--udp off, --tcp off, no --tls, no --http): the relay would receive " +
        "nothing",
    );
  }
  if (
    http && !isLoopback(http.listen.hostname) && http.tokens.length === 0 && reading !== "install"
  ) {
    notices.push(
      "--http listens beyond this host and no --http-token is given: /healthz, /metrics and " +
        "/status.json answer 403 to everyone (give --http-token to read them over the network)",
    );
  }
  if (http && !isLoopback(http.listen.hostname) && !http.tls) {
    notices.push(
      "--http listens beyond this host without TLS: tokens travel in clear; give " +
        "--http-tls-cert and --http-tls-key",
    );
  }
  return {
    config: deepFreeze(config),
    notices,
    settings: s,
    tokenOrigin,
    file: file?.path ?? null,
  };
}

/** The running relay's status endpoint, from its HTTP input's address. */
function statusTarget(config: Config): StatusTarget {
  if (config.http === null) {
    throw new ConfigError(
      "The status is served on the relay's HTTP port, and no --http is configured: give " +
        "--http HOST:PORT (the address the running relay listens on)",
    );
  }
  const { hostname, port } = config.http.listen;
  // A relay listening on every address answers on loopback too.
  const host = hostname === "0.0.0.0" ? "127.0.0.1" : hostname === "::" ? "::1" : hostname;
  const scheme = config.http.tls ? "https" : "http";
  return {
    url: `${scheme}://${formatAddress({ hostname: host, port })}`,
    token: config.http.tokens[0] ?? null,
    certificate: config.http.tls?.cert ?? null,
  };
}

function inputsPart(s: Settings, legacy: LegacyConfig, sources: ConfigSources): InputsConfig {
  // -p (or port= of a syslog2loggly file) is the port of UDP and TCP where they name none.
  const legacyPort = legacy.port === undefined
    ? null
    : parseInteger(`port= in ${legacy.path}`, legacy.port, 0, 65535);
  const port = s.count("port") ?? legacyPort ?? DEFAULT_PORT;
  const listen = (flag: "udp" | "tcp"): ListenAddress | null => {
    if (!s.given(flag)) return { hostname: "0.0.0.0", port };
    const address = s.address(flag, port);
    // -p from a source above the one that set the address wins over its port (not over off).
    return address !== null && s.given("port") && s.outranks("port", flag)
      ? { ...address, port }
      : address;
  };
  const timeZone = s.text("syslog-timezone")!;
  if (!isValidTimeZone(timeZone)) {
    throw new ConfigError(
      `${s.label("syslog-timezone")} "${timeZone}" is not a known time zone: use an IANA name ` +
        "such as UTC or Europe/Berlin",
    );
  }
  return {
    udp: listen("udp"),
    tcp: listen("tcp"),
    tls: tlsInputPart(s, sources),
    udpRecvBufferBytes: s.size("udp-recv-buffer"),
    maxMessageBytes: s.size("max-message-bytes"),
    idleTimeoutMs: s.duration("idle-timeout"),
    messageTimeoutMs: s.duration("message-timeout"),
    handshakeTimeoutMs: s.duration("handshake-timeout"),
    maxConnections: s.count("max-connections")!,
    maxConnectionsPerPeer: s.count("max-connections-per-peer")!,
    syslogTimeZone: timeZone,
  };
}

function tlsInputPart(s: Settings, sources: ConfigSources): TlsInputConfig | null {
  const address = s.address("tls", DEFAULT_TLS_PORT);
  const [cert, key, clientCa] = ["tls-cert", "tls-key", "tls-client-ca"].map((flag) =>
    fileOf(s, flag, sources)
  );
  if (address === null) {
    const stray = ["tls-cert", "tls-key", "tls-client-ca", "tls-max-version"].find((f) =>
      s.changed(f)
    );
    if (stray !== undefined) {
      throw new ConfigError(
        `${s.label(stray)} needs --tls HOST:PORT (tls in [inputs]): syslog over TLS is off`,
      );
    }
    return null;
  }
  if (cert === null || key === null) {
    throw new ConfigError("--tls needs --tls-cert FILE and --tls-key FILE (PEM)");
  }
  const maxVersion = s.choice("tls-max-version") as TlsVersion;
  return { address, cert, key, clientCa, maxVersion };
}

function deliveryPart(s: Settings): DeliveryConfig {
  const batchMaxBytes = s.size("batch-max-bytes");
  const queueMaxBytes = s.size("queue-max-bytes");
  if (queueMaxBytes < batchMaxBytes) {
    throw new ConfigError(
      `${s.label("queue-max-bytes")} (${queueMaxBytes} bytes) must hold at least one batch: ` +
        `make it at least --batch-max-bytes (${batchMaxBytes})`,
    );
  }
  const retryMaxDelayMs = s.duration("retry-max-delay");
  // Without a value of its own, the first delay follows a shorter maximum down.
  const retryInitialDelayMs = s.given("retry-initial-delay")
    ? s.duration("retry-initial-delay")
    : Math.min(s.duration("retry-initial-delay"), retryMaxDelayMs);
  if (retryInitialDelayMs < 1 || retryMaxDelayMs < retryInitialDelayMs) {
    throw new ConfigError(
      `${s.label("retry-initial-delay")} (${retryInitialDelayMs}ms) must be at least 1ms and no ` +
        `longer than ${s.label("retry-max-delay")} (${retryMaxDelayMs}ms)`,
    );
  }
  return {
    batchMaxEvents: s.count("batch-max-events")!,
    batchMaxBytes,
    lingerMs: s.duration("linger"),
    concurrency: s.count("concurrency")!,
    queueMaxEvents: s.count("queue-max-events")!,
    queueMaxBytes,
    retryInitialDelayMs,
    retryMaxDelayMs,
    deadLetterPath: s.text("dead-letter"),
    shutdownTimeoutMs: s.duration("shutdown-timeout"),
  };
}

function spoolPart(s: Settings): SpoolConfig | null {
  const dir = s.text("spool");
  if (dir === null) {
    const stray = ["spool-sync", "spool-max-bytes"].find((f) => s.changed(f));
    if (stray !== undefined) {
      throw new ConfigError(`${s.label(stray)} needs --spool DIR (dir in [spool])`);
    }
    return null;
  }
  return { dir, sync: s.choice("spool-sync") as SpoolSync, maxBytes: s.size("spool-max-bytes") };
}

function httpPart(s: Settings, sources: ConfigSources, reading: Reading): HttpConfig | null {
  const listen = s.address("http");
  const [cert, key] = [fileOf(s, "http-tls-cert", sources), fileOf(s, "http-tls-key", sources)];
  if ((cert === null) !== (key === null)) {
    throw new ConfigError("--http-tls-cert and --http-tls-key go together: give both, or neither");
  }
  const tokens = [...s.list("http-token")];
  const tokensFile = fileOf(s, "http-token-file", sources);
  if (tokensFile !== null && reading !== "install") {
    try {
      tokens.push(...readLines(s.label("http-token-file"), tokensFile, sources).map(([t]) => t));
    } catch (error) {
      // status needs a token only beyond loopback, and says so when it is asked for one.
      if (reading !== "status") throw error;
    }
  }
  if (listen === null) {
    const stray = [
      "http-tls-cert",
      "http-tls-key",
      "http-token",
      "http-token-file",
      "http-max-body-bytes",
    ].find((f) => s.changed(f));
    if (stray !== undefined) {
      throw new ConfigError(`${s.label(stray)} needs --http HOST:PORT (listen in [http])`);
    }
    return null;
  }
  for (const token of tokens) {
    if (token.length < 16 || token.length > MAX_HTTP_TOKEN_LENGTH) {
      throw new ConfigError(
        `An --http-token is ${token.length} characters long: use 16 to ` +
          `${MAX_HTTP_TOKEN_LENGTH} (a UUID is fine)`,
      );
    }
  }
  return {
    listen,
    tls: cert === null || key === null ? null : { cert, key },
    tokens,
    maxBodyBytes: s.size("http-max-body-bytes"),
    healthFailingAfterMs: s.duration("health-failing-after"),
  };
}

function readTags(s: Settings): string[] {
  const tags = s.list("tag");
  for (const tag of tags) {
    if (!isValidTag(tag)) {
      throw new ConfigError(
        `${s.label("tag")} "${tag}" is not a valid Loggly tag: use only letters, digits, "-", ` +
          '"." and "_"',
      );
    }
    if (tag.length > MAX_TAG_LENGTH) {
      throw new ConfigError(
        `${s.label("tag")} "${tag.slice(0, 20)}..." is ${tag.length} characters long: ` +
          `use at most ${MAX_TAG_LENGTH}`,
      );
    }
  }
  const distinct = new Set(tags).size;
  if (distinct > MAX_TAGS) {
    throw new ConfigError(`${distinct} --tag values given: use at most ${MAX_TAGS}`);
  }
  return tags;
}

function argsErrorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // node's messages are precise but verbose; keep their first sentence. (A stray token that lost
  // its flag, `--token= UUID`, is redacted by ConfigError.)
  return text.split(". To specify")[0].replace(/^Unknown option/, "Unknown flag");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === "" ? undefined : value;
}

/** The config file of --config (or LOGGLY_RELAY_CONFIG), else the default one if it exists. */
function readConfigFile(path: string | undefined, sources: ConfigSources): ConfigFile | null {
  if (path !== undefined) return parseConfigFile(path, readFile("--config", path, sources));
  let text: string;
  try {
    text = sources.readTextFile(DEFAULT_CONFIG_PATH);
  } catch (error) {
    // Absent, or outside what this build may read: as if there were none.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
      return null;
    }
    throw new ConfigError(unreadable("the config file", DEFAULT_CONFIG_PATH, error));
  }
  return parseConfigFile(DEFAULT_CONFIG_PATH, text);
}

const ORIGIN_RANK = { flag: 0, env: 1, credential: 2, file: 3, default: 4, legacy: 5 };

/**
 * The token, from (first found) a flag, the environment, a systemd credential, the config file
 * or syslog2loggly's file; `--token` before `--token-file` from the same source.
 */
function readToken(
  s: Settings,
  sources: ConfigSources,
  legacy: LegacyConfig,
): { token: string | null; origin: TokenOrigin | null } {
  const candidates: { rank: number; read: () => [string, string]; origin: TokenOrigin }[] = [];
  const direct = s.get("token");
  if (s.given("token")) {
    candidates.push({
      rank: ORIGIN_RANK[direct.origin.from],
      read: () => [s.text("token")!, s.label("token")],
      origin: direct.origin,
    });
  }
  const fromFile = s.get("token-file");
  if (s.given("token-file")) {
    const path = s.text("token-file")!;
    const label = `${s.label("token-file")} ${path}`;
    candidates.push({
      rank: ORIGIN_RANK[fromFile.origin.from] + 0.5,
      read: () => [readFile(s.label("token-file"), path, sources).trim(), label],
      origin: fromFile.origin,
    });
  }
  const credentials = nonEmpty(sources.env("CREDENTIALS_DIRECTORY"));
  if (credentials !== undefined) {
    const path = `${credentials}/${TOKEN_CREDENTIAL}`;
    let text: string | null = null;
    try {
      text = sources.readTextFile(path);
    } catch {
      // no such credential: the unit did not load one
    }
    if (text !== null) {
      candidates.push({
        rank: ORIGIN_RANK.credential,
        read: () => [text!.trim(), `the systemd credential ${path}`],
        origin: { from: "credential", path },
      });
    }
  }
  if (legacy.apikey !== undefined && legacy.apikey !== "") {
    candidates.push({
      rank: ORIGIN_RANK.legacy,
      read: () => [legacy.apikey!, `apikey= in ${legacy.path}`],
      origin: { from: "legacy", path: legacy.path },
    });
  }
  candidates.sort((a, b) => a.rank - b.rank);
  const first = candidates[0];
  if (first === undefined) return { token: null, origin: null };
  const [token, label] = first.read();
  if (token === "") {
    throw new ConfigError(
      `The token from ${label} is empty: put your customer token there (Source Setup > ` +
        "Customer Tokens in Loggly)",
    );
  }
  return { token: checkToken(token, label), origin: first.origin };
}

/** `token` if it is a Loggly customer token; else an error naming `origin`, never the token. */
function checkToken(token: string, origin: string): string {
  if (!UUID.test(token)) {
    // Never echo the token, even a wrong one: it may be a real secret pasted into the wrong place.
    throw new ConfigError(
      `The token from ${origin} is not a Loggly customer token: expected a 36-character UUID ` +
        `(8-4-4-4-12 hex digits), got ${token.length} characters`,
    );
  }
  return token;
}

/** The accepted tokens and those of the accept-token file. */
function readAcceptTokens(s: Settings, sources: ConfigSources): string[] {
  const tokens = s.list("accept-token").map((t) => checkToken(t.trim(), s.label("accept-token")));
  const file = fileOf(s, "accept-token-file", sources);
  if (file !== null) {
    const label = s.label("accept-token-file");
    for (const [token, line] of readLines(label, file, sources)) {
      tokens.push(checkToken(token, `${label} ${file} line ${line}`));
    }
  }
  return [...new Set(tokens)];
}

/** The lines of a file of tokens, one a line, `#` comments and blank lines skipped. */
function readLines(label: string, path: string, sources: ConfigSources): [string, number][] {
  const out: [string, number][] = [];
  readFile(label, path, sources).split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line !== "") out.push([line, index + 1]);
  });
  return out;
}

/**
 * The file that option `flag` names; under systemd, the credential the unit loaded in its place
 * (lib/service_unit.ts), when there is one: the service's user may not read the original.
 */
function fileOf(s: Settings, flag: string, sources: ConfigSources): string | null {
  const path = s.text(flag);
  const name = optionFor(flag).credential;
  const dir = nonEmpty(sources.env("CREDENTIALS_DIRECTORY"));
  if (path === null || name === undefined || dir === undefined) return path;
  const loaded = `${dir}/${credentialName(name, path)}`;
  try {
    sources.readTextFile(loaded);
    return loaded;
  } catch {
    return path; // the unit loaded no such credential
  }
}

function readFile(label: string, path: string, sources: ConfigSources): string {
  try {
    return sources.readTextFile(path);
  } catch (error) {
    throw new ConfigError(unreadable(label, path, error));
  }
}

/** What syslog2loggly's configuration file gave, and which file that was. */
interface LegacyConfig {
  path: string;
  apikey?: string;
  port?: string;
}

/**
 * Reads syslog2loggly's `key=value` file: the one of `-f`, or else /etc/syslog2loggly.conf when
 * it exists and no token is given otherwise, as syslog2loggly itself did. `apikey` and `port` are
 * read; `#` starts a comment, values may be quoted, and other keys are warned about and skipped
 * (syslog2loggly ignored them too).
 */
function readLegacyConfig(
  s: Settings,
  sources: ConfigSources,
  notices: string[],
): LegacyConfig {
  let path = s.text("syslog2loggly-config");
  let text: string;
  if (path !== null) {
    text = readFile("-f", path, sources);
  } else {
    if (s.given("token") || s.given("token-file")) return { path: "-f" };
    if (nonEmpty(sources.env("CREDENTIALS_DIRECTORY")) !== undefined) return { path: "-f" };
    path = LEGACY_CONFIG_PATH;
    try {
      text = sources.readTextFile(path);
    } catch (error) {
      // Absent, or outside what this build may read (Windows builds): as if there were none.
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
        return { path: "-f" };
      }
      throw new ConfigError(unreadable("syslog2loggly's file", path, error));
    }
    notices.push(`No token given: reading syslog2loggly's ${path}, as syslog2loggly did`);
  }
  const out: LegacyConfig = { path };
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const eq = line.indexOf("=");
    const key = eq < 0 ? "" : line.slice(0, eq).trim().toLowerCase();
    if (key !== "apikey" && key !== "port") {
      notices.push(
        `${path} line ${index + 1} is not used: only apikey=TOKEN and port=PORT are read`,
      );
      return;
    }
    out[key] = line.slice(eq + 1).trim().replace(/^(["'])(.*)\1$/, "$2");
  });
  return out;
}

function parseLogglyUrl(label: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${label} "${value}" is not a URL: use e.g. https://logs-01.loggly.com`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(`${label} "${value}" must start with https:// (or http:// for tests)`);
  }
  if (/\/(inputs|bulk)(\/|$)/i.test(url.pathname)) {
    throw new ConfigError(
      `${label} "${value}" names an input path: give the base URL only, e.g. ` +
        "https://logs-01.loggly.com; the relay adds /bulk/ and the token (--token) itself",
    );
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(
      `${label} "${value}" must be a base URL without query, fragment or credentials`,
    );
  }
  return url.href.replace(/\/+$/, "");
}

function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host.startsWith("127.") || host === "[::1]";
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
