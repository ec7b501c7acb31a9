/**
 * The option table: every setting of the relay, described once. The command line (`parseArgs`),
 * the help text, the defaults, the config file's keys and the environment variables are all
 * derived from it (lib/settings.ts, lib/usage.ts, lib/config.ts).
 *
 * @module
 */
import { PLACE_WAIT_MS } from "./syslog/guard.ts";

/** The parts of the configuration: a table in the config file, a field of `Config`. */
export type Section = "loggly" | "inputs" | "delivery" | "spool" | "http" | "log";

/** How a value is written, checked and read. */
export type Kind =
  | { readonly type: "text" }
  | { readonly type: "list" }
  | { readonly type: "switch" }
  | { readonly type: "level" }
  | { readonly type: "size"; readonly min: number; readonly max: number }
  | { readonly type: "duration" }
  | { readonly type: "count"; readonly min: number; readonly max: number }
  | { readonly type: "choice"; readonly values: readonly string[] }
  | { readonly type: "address"; readonly host: string; readonly port?: number };

/** One setting. */
export interface OptionSpec {
  /** The long flag, without `--`. */
  readonly flag: string;
  readonly short?: string;
  /** Its table in the config file and part of `Config`; null for command-line-only options. */
  readonly section: Section | null;
  /** Its key in the config file, snake_case (the flag's words when not given). */
  readonly key?: string;
  readonly kind: Kind;
  /** The default as a user would write it; null: unset (off). */
  readonly default: string | null;
  /** The value's placeholder in the help text. */
  readonly arg?: string;
  readonly help: string;
  /** Also read from this variable (besides LOGGLY_RELAY_<FLAG>). */
  readonly alsoEnv?: string;
  /** A token: redacted wherever shown, never written into a unit file. */
  readonly secret?: boolean;
  /** A file or folder: made absolute when written into a unit file. */
  readonly path?: boolean;
  /**
   * A file the systemd unit loads as this credential (`LoadCredential=`): under systemd, the
   * relay reads `$CREDENTIALS_DIRECTORY/<credential>` in its place, as its user may not read
   * the original (certbot's keys are root's).
   */
  readonly credential?: string;
}

const TEXT: Kind = { type: "text" };
const LIST: Kind = { type: "list" };
const SWITCH: Kind = { type: "switch" };
const DURATION: Kind = { type: "duration" };
const size = (min: number, max: number): Kind => ({ type: "size", min, max });
const count = (min: number, max: number): Kind => ({ type: "count", min, max });
const choice = (...values: string[]): Kind => ({ type: "choice", values });

/** Loggly's limit for one bulk request. */
export const LOGGLY_MAX_REQUEST_BYTES = 5_000_000;
/** syslog2loggly's port, kept as the default. */
export const DEFAULT_PORT = 5140;
/** RFC 5425's port for syslog over TLS. */
export const DEFAULT_TLS_PORT = 6514;
/** Where the config file is read from when `--config` is not given, if it exists. */
export const DEFAULT_CONFIG_PATH = "/etc/loggly-relay/config.toml";

/** Every option, in the order of the help text and of `--dump-config`. */
export const OPTIONS: readonly OptionSpec[] = [
  // Loggly
  {
    flag: "token",
    secret: true,
    short: "k",
    section: "loggly",
    kind: TEXT,
    default: null,
    arg: "TOKEN",
    alsoEnv: "LOGGLY_TOKEN",
    help: "Loggly customer token (Source Setup > Customer Tokens in Loggly)",
  },
  {
    flag: "token-file",
    path: true,
    section: "loggly",
    kind: TEXT,
    default: null,
    arg: "FILE",
    help: "read the token from FILE; under systemd, the credential loggly-token is read " +
      "when no token is given otherwise",
  },
  {
    flag: "accept-token",
    secret: true,
    section: "loggly",
    key: "accept_tokens",
    kind: LIST,
    default: null,
    arg: "TOKEN",
    help: "also forward events that name this other Loggly account's token (repeatable); " +
      "others are refused and counted",
  },
  {
    flag: "accept-token-file",
    path: true,
    credential: "accept-tokens",
    section: "loggly",
    kind: TEXT,
    default: null,
    arg: "FILE",
    help: "tokens to accept, one a line",
  },
  {
    flag: "loggly-url",
    section: "loggly",
    key: "url",
    kind: TEXT,
    default: "https://logs-01.loggly.com",
    arg: "URL",
    help: "Loggly base URL",
  },
  {
    flag: "tag",
    section: "loggly",
    key: "tags",
    kind: LIST,
    default: null,
    arg: "TAG",
    help: "tag every event (repeatable; letters, digits, - . _)",
  },
  {
    flag: "dry-run",
    section: "loggly",
    kind: SWITCH,
    default: "false",
    help: "print the JSON events to stdout instead of sending them",
  },
  // Inputs
  {
    flag: "udp",
    section: "inputs",
    kind: { type: "address", host: "0.0.0.0" },
    default: `0.0.0.0:${DEFAULT_PORT}`,
    arg: "HOST:PORT",
    help: 'syslog over UDP ("off" to disable)',
  },
  {
    flag: "tcp",
    section: "inputs",
    kind: { type: "address", host: "0.0.0.0" },
    default: `0.0.0.0:${DEFAULT_PORT}`,
    arg: "HOST:PORT",
    help: 'syslog over TCP ("off" to disable)',
  },
  {
    flag: "port",
    short: "p",
    section: "inputs",
    kind: count(0, 65535),
    default: null,
    arg: "PORT",
    help: "port of both UDP and TCP where --udp and --tcp name none (syslog2loggly's flag)",
  },
  {
    flag: "udp-recv-buffer",
    section: "inputs",
    kind: size(4096, 2 ** 31 - 1),
    default: "8MiB",
    arg: "SIZE",
    help: "the relay's own buffer of UDP datagrams read but not yet parsed (more are dropped " +
      "and counted); the kernel's is extra",
  },
  {
    flag: "tls",
    section: "inputs",
    kind: { type: "address", host: "0.0.0.0", port: DEFAULT_TLS_PORT },
    default: null,
    arg: "HOST:PORT",
    help: `syslog over TLS, RFC 5425 (port ${DEFAULT_TLS_PORT} if omitted)`,
  },
  {
    flag: "tls-cert",
    path: true,
    credential: "tls-cert",
    section: "inputs",
    kind: TEXT,
    default: null,
    arg: "FILE",
    help: "PEM certificate chain for --tls (read again on SIGHUP)",
  },
  {
    flag: "tls-key",
    path: true,
    credential: "tls-key",
    section: "inputs",
    kind: TEXT,
    default: null,
    arg: "FILE",
    help: "PEM private key for --tls",
  },
  {
    flag: "tls-client-ca",
    path: true,
    credential: "tls-client-ca",
    section: "inputs",
    kind: TEXT,
    default: null,
    arg: "FILE",
    help: "require client certificates issued by a CA in FILE",
  },
  {
    flag: "tls-max-version",
    section: "inputs",
    kind: choice("1.2", "1.3"),
    default: "1.2",
    arg: "V",
    help: "1.2 or 1.3; 1.3 can lose the last messages of senders that close at once (see README)",
  },
  {
    flag: "max-message-bytes",
    section: "inputs",
    kind: size(16, 64 * 1024 * 1024),
    default: "64KiB",
    arg: "SIZE",
    help: "longer messages are truncated and marked",
  },
  {
    flag: "idle-timeout",
    section: "inputs",
    kind: DURATION,
    default: "10m",
    arg: "DUR",
    help: "close TCP/TLS connections idle this long (0 = never)",
  },
  {
    flag: "message-timeout",
    section: "inputs",
    kind: DURATION,
    default: "60s",
    arg: "DUR",
    help: "close a connection that takes longer to finish a message",
  },
  {
    flag: "handshake-timeout",
    section: "inputs",
    kind: DURATION,
    default: "5s",
    arg: "DUR",
    help: "close a TLS connection (syslog or HTTPS) that has not finished its handshake this " +
      "long after it got a place (0 = never)",
  },
  {
    flag: "max-connections",
    section: "inputs",
    kind: count(1, 1_000_000),
    default: "1000",
    arg: "N",
    help: "connections per input, waiting ones included (TCP, TLS)",
  },
  {
    flag: "max-connections-per-peer",
    section: "inputs",
    kind: count(1, 1_000_000),
    default: "100",
    arg: "N",
    help: "connections read at once per sender address and input; more wait unread, up to " +
      `${PLACE_WAIT_MS / 1000}s, for one to end`,
  },
  {
    flag: "syslog-timezone",
    section: "inputs",
    kind: TEXT,
    default: "UTC",
    arg: "TZ",
    help: "zone of RFC 3164 stamps, which carry none (an IANA name)",
  },
  // Delivery
  {
    flag: "batch-max-events",
    section: "delivery",
    kind: count(1, 1_000_000),
    default: "1000",
    arg: "N",
    help: "events per request",
  },
  {
    flag: "batch-max-bytes",
    section: "delivery",
    kind: size(1024, LOGGLY_MAX_REQUEST_BYTES),
    default: "5MB",
    arg: "SIZE",
    help: "bytes per request (at most Loggly's 5MB)",
  },
  {
    flag: "linger",
    section: "delivery",
    kind: DURATION,
    default: "1s",
    arg: "DUR",
    help: "send a partial batch after this long",
  },
  {
    flag: "concurrency",
    section: "delivery",
    kind: count(1, 64),
    default: "4",
    arg: "N",
    help: "requests in flight",
  },
  {
    flag: "queue-max-events",
    section: "delivery",
    kind: count(1, 100_000_000),
    default: "20000",
    arg: "N",
    help: "events held in memory before back-pressure",
  },
  {
    flag: "queue-max-bytes",
    section: "delivery",
    kind: size(1024, 2 ** 40),
    default: "16MiB",
    arg: "SIZE",
    help: "bytes held in memory before back-pressure (at least --batch-max-bytes)",
  },
  {
    flag: "retry-initial-delay",
    section: "delivery",
    kind: DURATION,
    default: "500ms",
    arg: "DUR",
    help: "first retry delay (never longer than --retry-max-delay); retries while Loggly fails " +
      "are at most 5s apart, see README",
  },
  {
    flag: "retry-max-delay",
    section: "delivery",
    kind: DURATION,
    default: "60s",
    arg: "DUR",
    help: "retry delay after 401/403/404 (a bad token or URL)",
  },
  {
    flag: "dead-letter",
    path: true,
    section: "delivery",
    kind: TEXT,
    default: null,
    arg: "FILE",
    help: "append events Loggly refused (4xx) here as NDJSON",
  },
  {
    flag: "shutdown-timeout",
    section: "delivery",
    kind: DURATION,
    default: "10s",
    arg: "DUR",
    help: "time to flush on SIGINT/SIGTERM",
  },
  // HTTP input
  {
    flag: "http",
    section: "http",
    key: "listen",
    kind: { type: "address", host: "127.0.0.1" },
    default: null,
    arg: "HOST:PORT",
    help: "Loggly-compatible /inputs and /bulk, /v1/events, /healthz, /metrics, and the status " +
      "page at / (a bare port listens on 127.0.0.1); with status: the relay to ask",
  },
  {
    flag: "http-tls-cert",
    path: true,
    credential: "http-tls-cert",
    section: "http",
    key: "tls_cert",
    kind: TEXT,
    default: null,
    arg: "FILE",
    help: "serve HTTPS with this PEM certificate chain ...",
  },
  {
    flag: "http-tls-key",
    path: true,
    credential: "http-tls-key",
    section: "http",
    key: "tls_key",
    kind: TEXT,
    default: null,
    arg: "FILE",
    help: "... and this PEM key",
  },
  {
    flag: "http-token",
    secret: true,
    section: "http",
    key: "tokens",
    kind: LIST,
    default: null,
    arg: "TOKEN",
    help: "also accept TOKEN in Loggly paths; required as a bearer token on /v1/events (and on " +
      "/healthz, /metrics, /status.json beyond loopback) when given",
  },
  {
    flag: "http-token-file",
    path: true,
    credential: "http-tokens",
    section: "http",
    key: "tokens_file",
    kind: TEXT,
    default: null,
    arg: "FILE",
    help: "--http-token values from FILE, one a line",
  },
  {
    flag: "http-max-body-bytes",
    section: "http",
    key: "max_body_bytes",
    kind: size(1024, 64 * 1024 * 1024),
    default: "5MB",
    arg: "SIZE",
    help: "largest request body, after gzip",
  },
  {
    flag: "health-failing-after",
    section: "http",
    kind: DURATION,
    default: "5m",
    arg: "DUR",
    help: "/healthz answers 503 once every delivery failed this long",
  },
  // Durable spool
  {
    flag: "spool",
    path: true,
    section: "spool",
    key: "dir",
    kind: TEXT,
    default: null,
    arg: "DIR",
    help: "keep events on disk until Loggly accepts them (SQLite, WAL)",
  },
  {
    flag: "spool-sync",
    section: "spool",
    key: "sync",
    kind: choice("always", "interval", "os"),
    default: "interval",
    arg: "POLICY",
    help: "always, interval or os: what a power cut can lose",
  },
  {
    flag: "spool-max-bytes",
    section: "spool",
    key: "max_bytes",
    kind: size(1024 * 1024, 2 ** 50),
    default: "1GiB",
    arg: "SIZE",
    help: "events held on disk before back-pressure",
  },
  // The relay's own logs
  {
    flag: "verbose",
    short: "v",
    section: "log",
    key: "verbosity",
    kind: { type: "level" },
    default: "0",
    help: "-v: a line per request to Loggly; -vv: also a line per event, at most 10 a second " +
      "(a number in the file or environment)",
  },
  {
    flag: "log-format",
    section: "log",
    key: "format",
    kind: choice("text", "json"),
    default: "text",
    arg: "FORMAT",
    help: "text or json",
  },
  {
    flag: "status-interval",
    section: "log",
    kind: DURATION,
    default: "60s",
    arg: "DUR",
    help: "log a status line this often: events in per input, sent, retried, dropped by reason, " +
      "queue depth, Loggly's last answer (0 = never)",
  },
  // Command line only
  {
    flag: "config",
    path: true,
    section: null,
    kind: TEXT,
    default: null,
    arg: "FILE",
    help: `read settings from this TOML file (default ${DEFAULT_CONFIG_PATH} when it exists)`,
  },
  {
    flag: "syslog2loggly-config",
    path: true,
    short: "f",
    section: null,
    kind: TEXT,
    default: null,
    arg: "FILE",
    help: "read a syslog2loggly config file (apikey=..., port=...); without a token, " +
      "/etc/syslog2loggly.conf is read when it exists",
  },
  {
    flag: "print",
    section: null,
    kind: SWITCH,
    default: null,
    help: "with install-service: print the unit instead of writing it",
  },
  {
    flag: "binary",
    path: true,
    section: null,
    kind: TEXT,
    default: null,
    arg: "PATH",
    help: "with install-service: the executable the unit runs (default this one, when compiled; " +
      "else /usr/local/bin/loggly-relay)",
  },
  {
    flag: "once",
    section: null,
    kind: SWITCH,
    default: null,
    help: "with status: print the status once and exit",
  },
  {
    flag: "json",
    section: null,
    kind: SWITCH,
    default: null,
    help: "with status: print the relay's status.json once, for scripts",
  },
  {
    flag: "daemon",
    short: "D",
    section: null,
    kind: SWITCH,
    default: null,
    help: "accepted for syslog2loggly; runs in the foreground (see README)",
  },
  {
    flag: "help",
    short: "h",
    section: null,
    kind: SWITCH,
    default: null,
    help: "show this help",
  },
  { flag: "version", section: null, kind: SWITCH, default: null, help: "show the version" },
];

/** The help text's heading of each section. */
export const SECTION_TITLES: Readonly<Record<Section | "command", string>> = {
  loggly: "Loggly",
  inputs: "Inputs",
  delivery: "Delivery",
  http: "HTTP input (off by default)",
  spool: "Durable spool (off: events are held in memory only)",
  log: "The relay's own logs (stderr)",
  command: "Command line only",
};

/** The option's key in its config file table. */
export function fileKey(option: OptionSpec): string {
  return option.key ?? option.flag.replaceAll("-", "_");
}

/** The environment variable that sets the option: `LOGGLY_RELAY_` and the flag. */
export function envName(option: OptionSpec): string {
  return `LOGGLY_RELAY_${option.flag.replaceAll("-", "_").toUpperCase()}`;
}

/** The option with this flag; throws for a flag not in the table (a programming error). */
export function optionFor(flag: string): OptionSpec {
  const option = OPTIONS.find((o) => o.flag === flag);
  if (option === undefined) throw new Error(`No option --${flag} in the option table`);
  return option;
}
