/**
 * Flags, environment and the optional syslog2loggly config file, merged into one validated,
 * frozen {@link Config}. Pure: file reads and the environment are passed in.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { unreadable } from "./access.ts";
import { REDACTED } from "./redact.ts";
import { isLoopback } from "./http/server.ts";
import type { SpoolSync } from "./queue/spool.ts";
import type { TlsVersion } from "./syslog/tls.ts";
import { isValidTimeZone } from "./syslog/parse.ts";
import {
  ConfigError,
  isValidTag,
  type ListenAddress,
  MAX_TAG_LENGTH,
  MAX_TAGS,
  parseDuration,
  parseInteger,
  parseListenAddress,
  parseSize,
} from "./units.ts";

export { ConfigError };

/** Loggly's limit for one bulk request. */
export const LOGGLY_MAX_REQUEST_BYTES = 5_000_000;
/** Loggly's limit for one event. */
export const LOGGLY_MAX_EVENT_BYTES = 1_000_000;
/** syslog2loggly's port, kept as the default. */
export const DEFAULT_PORT = 5140;
/** RFC 5425's port for syslog over TLS. */
export const DEFAULT_TLS_PORT = 6514;
/** syslog2loggly's configuration file, read when no token is given otherwise. */
export const LEGACY_CONFIG_PATH = "/etc/syslog2loggly.conf";

/** Everything the relay needs to run, validated. */
export interface Config {
  /** Null only with --dry-run, which sends nothing. */
  readonly token: string | null;
  /** Other Loggly accounts whose events the relay forwards (--accept-token). */
  readonly acceptTokens: readonly string[];
  /** The relay's own UDP receive buffer: datagrams read but not yet parsed; beyond it, dropped. */
  readonly udpRecvBufferBytes: number;
  readonly udp: ListenAddress | null;
  readonly tcp: ListenAddress | null;
  /** Base URL without a trailing slash. */
  readonly logglyUrl: string;
  readonly tags: readonly string[];
  readonly verbosity: number;
  readonly logFormat: "text" | "json";
  readonly dryRun: boolean;
  readonly syslogTimeZone: string;
  readonly maxMessageBytes: number;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerPeer: number;
  readonly messageTimeoutMs: number;
  /** A TLS connection (syslog or HTTPS) must finish its handshake this long after accept (0: never). */
  readonly handshakeTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly deadLetterPath: string | null;
  readonly queueMaxEvents: number;
  readonly queueMaxBytes: number;
  readonly batchMaxEvents: number;
  readonly batchMaxBytes: number;
  readonly lingerMs: number;
  readonly concurrency: number;
  readonly retryInitialDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** Directory of the durable queue; null keeps events in memory only. */
  readonly spoolDir: string | null;
  readonly spoolSync: SpoolSync;
  readonly spoolMaxBytes: number;
  /** Syslog over TLS (RFC 5425); null when off (the default). */
  readonly tls: ListenAddress | null;
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  readonly tlsClientCa: string | null;
  /** Highest TLS version of the syslog TLS input (1.2 by default, see lib/syslog/tls.ts). */
  readonly tlsMaxVersion: TlsVersion;
  /** The HTTP input; null when off (the default). */
  readonly http: ListenAddress | null;
  readonly httpTlsCert: string | null;
  readonly httpTlsKey: string | null;
  readonly httpTokens: readonly string[];
  readonly httpMaxBodyBytes: number;
  /** /healthz turns 503 when every delivery has failed for this long. */
  readonly healthFailingAfterMs: number;
}

/** What the command line asks for. */
export type Command =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "run"; config: Config; notices: string[] };

/** What parseCommand reads from outside the arguments. */
export interface ConfigSources {
  env: (name: string) => string | undefined;
  readTextFile: (path: string) => string;
}

const OPTIONS = {
  token: { type: "string", short: "k" },
  "token-file": { type: "string" },
  "accept-token": { type: "string", multiple: true },
  "accept-token-file": { type: "string" },
  "loggly-url": { type: "string" },
  tag: { type: "string", multiple: true },
  "dry-run": { type: "boolean" },
  udp: { type: "string" },
  tcp: { type: "string" },
  port: { type: "string", short: "p" },
  "udp-recv-buffer": { type: "string" },
  "max-message-bytes": { type: "string" },
  "idle-timeout": { type: "string" },
  "max-connections": { type: "string" },
  "max-connections-per-peer": { type: "string" },
  "message-timeout": { type: "string" },
  "handshake-timeout": { type: "string" },
  "syslog-timezone": { type: "string" },
  "batch-max-events": { type: "string" },
  "batch-max-bytes": { type: "string" },
  linger: { type: "string" },
  concurrency: { type: "string" },
  "queue-max-events": { type: "string" },
  "queue-max-bytes": { type: "string" },
  "retry-initial-delay": { type: "string" },
  "retry-max-delay": { type: "string" },
  "dead-letter": { type: "string" },
  tls: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-client-ca": { type: "string" },
  "tls-max-version": { type: "string" },
  http: { type: "string" },
  "http-tls-cert": { type: "string" },
  "http-tls-key": { type: "string" },
  "http-token": { type: "string", multiple: true },
  "http-max-body-bytes": { type: "string" },
  "health-failing-after": { type: "string" },
  spool: { type: "string" },
  "spool-sync": { type: "string" },
  "spool-max-bytes": { type: "string" },
  "shutdown-timeout": { type: "string" },
  verbose: { type: "boolean", short: "v", multiple: true },
  "log-format": { type: "string" },
  config: { type: "string", short: "f" },
  daemon: { type: "boolean", short: "D" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses the command line (without the program name) into what to do. */
export function parseCommand(args: string[], sources: ConfigSources): Command {
  let values;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError(argsErrorMessage(error));
  }
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };

  const notices: string[] = [];
  const file = readLegacyConfig(values, sources, notices);
  if (values.daemon) {
    notices.push(
      "-D is accepted for syslog2loggly compatibility, but the relay stays in the foreground: " +
        "run it as a service with systemd or your init system instead (see the README)",
    );
  }

  const dryRun = values["dry-run"] ?? false;
  const token = readToken(values.token, values["token-file"], sources, file);
  if (token === null && !dryRun) {
    throw new ConfigError(
      "No Loggly token: give --token TOKEN, --token-file FILE or the LOGGLY_TOKEN variable " +
        "(your customer token is under Source Setup > Customer Tokens in Loggly)",
    );
  }

  const portFlag = values.port ?? file.port;
  const port = portFlag === undefined
    ? DEFAULT_PORT
    : parseInteger(values.port === undefined ? `port= in ${file.path}` : "-p", portFlag, 0, 65535);
  const listen = (flag: string, value: string | undefined) =>
    value === undefined
      ? { hostname: "0.0.0.0", port }
      : parseListenAddress(flag, value, "0.0.0.0", port);

  const tags = values.tag ?? [];
  for (const tag of tags) {
    if (!isValidTag(tag)) {
      throw new ConfigError(
        `--tag "${tag}" is not a valid Loggly tag: use only letters, digits, "-", "." and "_"`,
      );
    }
    if (tag.length > MAX_TAG_LENGTH) {
      throw new ConfigError(
        `--tag "${tag.slice(0, 20)}..." is ${tag.length} characters long: ` +
          `use at most ${MAX_TAG_LENGTH}`,
      );
    }
  }
  if (new Set(tags).size > MAX_TAGS) {
    throw new ConfigError(`${new Set(tags).size} --tag values given: use at most ${MAX_TAGS}`);
  }

  const timeZone = values["syslog-timezone"] ?? "UTC";
  if (!isValidTimeZone(timeZone)) {
    throw new ConfigError(
      `--syslog-timezone "${timeZone}" is not a known time zone: use an IANA name such as UTC or Europe/Berlin`,
    );
  }

  const spoolSync = values["spool-sync"] ?? "interval";
  if (spoolSync !== "always" && spoolSync !== "interval" && spoolSync !== "os") {
    throw new ConfigError(`--spool-sync "${spoolSync}" is not known: use always, interval or os`);
  }
  if (values.spool === undefined && (values["spool-sync"] ?? values["spool-max-bytes"])) {
    throw new ConfigError("--spool-sync and --spool-max-bytes need --spool DIR");
  }

  if (
    values.tls !== undefined &&
    (values["tls-cert"] === undefined || values["tls-key"] === undefined)
  ) {
    throw new ConfigError("--tls needs --tls-cert FILE and --tls-key FILE (PEM)");
  }
  if (
    values.tls === undefined &&
    (values["tls-cert"] ?? values["tls-key"] ?? values["tls-client-ca"] ??
      values["tls-max-version"])
  ) {
    throw new ConfigError(
      "--tls-cert, --tls-key, --tls-client-ca and --tls-max-version need --tls HOST:PORT",
    );
  }
  const tlsMaxVersion = values["tls-max-version"] ?? "1.2";
  if (tlsMaxVersion !== "1.2" && tlsMaxVersion !== "1.3") {
    throw new ConfigError(`--tls-max-version "${tlsMaxVersion}" is not known: use 1.2 or 1.3`);
  }
  if ((values["http-tls-cert"] === undefined) !== (values["http-tls-key"] === undefined)) {
    throw new ConfigError("--http-tls-cert and --http-tls-key go together: give both, or neither");
  }
  if (values.http === undefined && (values["http-tls-cert"] ?? values["http-token"])) {
    throw new ConfigError("--http-tls-cert, --http-tls-key and --http-token need --http HOST:PORT");
  }
  for (const token of values["http-token"] ?? []) {
    if (token.length < 16) {
      throw new ConfigError(
        `An --http-token is ${token.length} characters long: use at least 16 (a UUID is fine)`,
      );
    }
  }

  const logFormat = values["log-format"] ?? "text";
  if (logFormat !== "text" && logFormat !== "json") {
    throw new ConfigError(`--log-format "${logFormat}" is not known: use text or json`);
  }

  const size = (flag: keyof typeof OPTIONS, fallback: number, min: number, max: number) => {
    const raw = values[flag] as string | undefined;
    if (raw === undefined) return fallback;
    const n = parseSize(`--${flag}`, raw);
    if (n < min || n > max) {
      throw new ConfigError(`--${flag} "${raw}" must be from ${min} to ${max} bytes`);
    }
    return n;
  };
  const count = (flag: keyof typeof OPTIONS, fallback: number, max: number) => {
    const raw = values[flag] as string | undefined;
    return raw === undefined ? fallback : parseInteger(`--${flag}`, raw, 1, max);
  };
  const duration = (flag: keyof typeof OPTIONS, fallback: number) => {
    const raw = values[flag] as string | undefined;
    return raw === undefined ? fallback : parseDuration(`--${flag}`, raw);
  };

  const batchMaxBytes = size(
    "batch-max-bytes",
    LOGGLY_MAX_REQUEST_BYTES,
    1024,
    LOGGLY_MAX_REQUEST_BYTES,
  );
  const retryMaxDelayMs = duration("retry-max-delay", 60_000);
  // Without its own flag, the first delay follows a shorter maximum down.
  const retryInitialDelayMs = duration("retry-initial-delay", Math.min(500, retryMaxDelayMs));
  if (retryInitialDelayMs < 1 || retryMaxDelayMs < retryInitialDelayMs) {
    throw new ConfigError(
      `--retry-initial-delay (${retryInitialDelayMs}ms) must be at least 1ms and no longer than ` +
        `--retry-max-delay (${retryMaxDelayMs}ms)`,
    );
  }

  const acceptTokens = readAcceptTokens(
    values["accept-token"],
    values["accept-token-file"],
    sources,
  )
    .filter((t) => t.toLowerCase() !== token?.toLowerCase());

  const config: Config = {
    token,
    acceptTokens,
    udpRecvBufferBytes: size("udp-recv-buffer", 8 * 1024 * 1024, 4096, 2 ** 31 - 1),
    udp: listen("--udp", values.udp),
    tcp: listen("--tcp", values.tcp),
    logglyUrl: parseLogglyUrl(values["loggly-url"] ?? "https://logs-01.loggly.com"),
    tags,
    verbosity: values.verbose?.length ?? 0,
    logFormat,
    dryRun,
    syslogTimeZone: timeZone,
    maxMessageBytes: size("max-message-bytes", 64 * 1024, 16, 64 * 1024 * 1024),
    idleTimeoutMs: duration("idle-timeout", 600_000),
    maxConnections: count("max-connections", 1000, 1_000_000),
    maxConnectionsPerPeer: count("max-connections-per-peer", 100, 1_000_000),
    messageTimeoutMs: duration("message-timeout", 60_000),
    handshakeTimeoutMs: duration("handshake-timeout", 5_000),
    shutdownTimeoutMs: duration("shutdown-timeout", 10_000),
    deadLetterPath: values["dead-letter"] ?? null,
    // Sized for the memory target of a minimal host (see the README): an outage longer than
    // this buffers is --spool's job.
    queueMaxEvents: count("queue-max-events", 20_000, 100_000_000),
    queueMaxBytes: size("queue-max-bytes", 16 * 1024 * 1024, batchMaxBytes, 2 ** 40),
    batchMaxEvents: count("batch-max-events", 1000, 1_000_000),
    batchMaxBytes,
    lingerMs: duration("linger", 1000),
    concurrency: count("concurrency", 4, 64),
    retryInitialDelayMs,
    retryMaxDelayMs,
    spoolDir: values.spool ?? null,
    spoolSync,
    spoolMaxBytes: size("spool-max-bytes", 1024 ** 3, 1024 * 1024, 2 ** 50),
    tls: values.tls === undefined
      ? null
      : parseListenAddress("--tls", values.tls, "0.0.0.0", DEFAULT_TLS_PORT),
    tlsCert: values["tls-cert"] ?? null,
    tlsKey: values["tls-key"] ?? null,
    tlsClientCa: values["tls-client-ca"] ?? null,
    tlsMaxVersion,
    http: values.http === undefined ? null : parseListenAddress("--http", values.http, "127.0.0.1"),
    httpTlsCert: values["http-tls-cert"] ?? null,
    httpTlsKey: values["http-tls-key"] ?? null,
    httpTokens: values["http-token"] ?? [],
    httpMaxBodyBytes: size("http-max-body-bytes", 5_000_000, 1024, 64 * 1024 * 1024),
    healthFailingAfterMs: duration("health-failing-after", 300_000),
  };
  if (config.logglyUrl.startsWith("http://") && !isLoopbackUrl(config.logglyUrl)) {
    notices.push("--loggly-url uses http://: the token and the events travel unencrypted");
  }
  if (!config.udp && !config.tcp && !config.tls && !config.http) {
    throw new ConfigError("Both --udp and --tcp are off: the relay would receive nothing");
  }
  if (config.http && !isLoopback(config.http.hostname) && !config.httpTlsCert) {
    notices.push(
      "--http listens beyond this host without TLS: tokens travel in clear; give " +
        "--http-tls-cert and --http-tls-key",
    );
  }
  return { kind: "run", config: Object.freeze(config), notices };
}

function argsErrorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // node's messages are precise but verbose; keep their first sentence. A stray argument may be
  // a token that lost its flag (`--token= UUID`): never echo one.
  return text.split(". To specify")[0].replace(/^Unknown option/, "Unknown flag")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, REDACTED);
}

function readToken(
  flag: string | undefined,
  file: string | undefined,
  sources: ConfigSources,
  legacy: LegacyConfig,
): string | null {
  let token: string | undefined;
  let origin: string;
  if (flag !== undefined) {
    [token, origin] = [flag, "--token"];
  } else if (file !== undefined) {
    [token, origin] = [readFile("--token-file", file, sources).trim(), `--token-file ${file}`];
  } else if ((sources.env("LOGGLY_TOKEN") ?? "") !== "") {
    [token, origin] = [sources.env("LOGGLY_TOKEN"), "LOGGLY_TOKEN"];
  } else {
    [token, origin] = [legacy.apikey, `apikey= in ${legacy.path}`];
  }
  if (token === undefined || token === "") return null;
  return checkToken(token, origin);
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

/** The --accept-token values and the tokens of --accept-token-file (one a line, # comments). */
function readAcceptTokens(
  flags: string[] | undefined,
  file: string | undefined,
  sources: ConfigSources,
): string[] {
  const tokens = (flags ?? []).map((t) => checkToken(t.trim(), "--accept-token"));
  if (file !== undefined) {
    readFile("--accept-token-file", file, sources).split(/\r?\n/).forEach((raw, index) => {
      const line = raw.replace(/#.*/, "").trim();
      if (line !== "") {
        tokens.push(checkToken(line, `--accept-token-file ${file} line ${index + 1}`));
      }
    });
  }
  return [...new Set(tokens)];
}

function readFile(flag: string, path: string, sources: ConfigSources): string {
  try {
    return sources.readTextFile(path);
  } catch (error) {
    throw new ConfigError(unreadable(flag, path, error));
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
  values: { config?: string; token?: string; "token-file"?: string },
  sources: ConfigSources,
  notices: string[],
): LegacyConfig {
  let path = values.config;
  let text: string;
  if (path !== undefined) {
    text = readFile("-f", path, sources);
  } else {
    if (values.token !== undefined || values["token-file"] !== undefined) return { path: "-f" };
    if ((sources.env("LOGGLY_TOKEN") ?? "") !== "") return { path: "-f" };
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

function parseLogglyUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      `--loggly-url "${value}" is not a URL: use e.g. https://logs-01.loggly.com`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(
      `--loggly-url "${value}" must start with https:// (or http:// for tests)`,
    );
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(
      `--loggly-url "${value}" must be a base URL without query, fragment or credentials`,
    );
  }
  return url.href.replace(/\/+$/, "");
}

function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host.startsWith("127.") || host === "[::1]";
}
