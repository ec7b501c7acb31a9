/**
 * `loggly-relay check-config`: validates without binding a port or sending anything. The
 * settings were parsed already (a bad one never gets here); this reads the files they name,
 * checks TLS certificates (chain order, key match, days to expiry) and whether this build may
 * touch each path, and prints the effective settings with where each came from, tokens redacted.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { accessReason } from "./access.ts";
import type { Config, Resolved, TokenOrigin } from "./config.ts";
import { fileKey } from "./options.ts";
import { REDACTED, redactTokenLike } from "./redact.ts";
import { describeOrigin, type Setting } from "./settings.ts";
import { formatAddress, type ListenAddress, parseDuration } from "./units.ts";

/** One finding: an error makes check-config fail; a warning does not. */
export interface Finding {
  readonly level: "ok" | "warning" | "error";
  readonly message: string;
}

/** What check-config reads from outside. */
export interface CheckDeps {
  readTextFile: (path: string) => string;
  /** True when this build may read (or write) the path. */
  mayAccess: (path: string, write: boolean) => boolean;
  now: () => number;
}

/** Certificates that expire within this many days are warned about. */
export const EXPIRY_WARNING_DAYS = 21;

/** The report: the effective settings, then the findings; `ok` is false on any error. */
export function checkConfig(
  resolved: Resolved,
  deps: CheckDeps,
): { ok: boolean; lines: string[]; findings: Finding[] } {
  const findings: Finding[] = [];
  const { config } = resolved;
  const tlsPairs: [string, string, string][] = [];
  if (config.inputs.tls) tlsPairs.push(["--tls", config.inputs.tls.cert, config.inputs.tls.key]);
  if (config.http?.tls) tlsPairs.push(["--http", config.http.tls.cert, config.http.tls.key]);
  for (const [input, cert, key] of tlsPairs) {
    findings.push(...checkTlsPair(input, cert, key, deps));
  }
  if (config.inputs.tls?.clientCa) {
    findings.push(...checkCertificates("--tls-client-ca", config.inputs.tls.clientCa, deps));
  }
  const paths: [string, string | null | undefined, boolean][] = [
    ["--token-file", resolved.settings.text("token-file"), false],
    ["--accept-token-file", resolved.settings.text("accept-token-file"), false],
    ["--spool", config.spool?.dir, true],
    ["--dead-letter", config.delivery.deadLetterPath, true],
  ];
  for (const [flag, path, write] of paths) {
    if (path && !deps.mayAccess(path, write)) {
      findings.push({
        level: "error",
        message: `${flag} ${path}: this build may not ${write ? "write" : "read"} it; ` +
          "use a path under the folders in the README's permissions table",
      });
    }
  }
  const lines = [
    `# effective settings${resolved.file ? ` (config file ${resolved.file})` : ""}`,
    `loggly.token = ${config.loggly.token === null ? "(none: dry run)" : REDACTED}  # ${
      tokenSource(resolved.tokenOrigin)
    }`,
    ...resolved.settings.all().filter((s) => s.option.section !== null && s.option.flag !== "token")
      .map((setting) => settingLine(setting, resolved)),
  ].map(redactTokenLike);
  for (const notice of resolved.notices) findings.push({ level: "warning", message: notice });
  const ok = !findings.some((f) => f.level === "error");
  return { ok, lines, findings };
}

/** The value in force, as the config file would say it; undefined when its part is off. */
const EFFECTIVE: Record<string, (c: Config) => unknown> = {
  "accept-token": (c) => c.loggly.acceptTokens,
  "loggly-url": (c) => c.loggly.url,
  tag: (c) => c.loggly.tags,
  "dry-run": (c) => c.loggly.dryRun,
  udp: (c) => c.inputs.udp,
  tcp: (c) => c.inputs.tcp,
  "udp-recv-buffer": (c) => c.inputs.udpRecvBufferBytes,
  tls: (c) => c.inputs.tls?.address ?? null,
  "tls-cert": (c) => c.inputs.tls?.cert,
  "tls-key": (c) => c.inputs.tls?.key,
  "tls-client-ca": (c) => c.inputs.tls?.clientCa,
  "tls-max-version": (c) => c.inputs.tls?.maxVersion,
  "max-message-bytes": (c) => c.inputs.maxMessageBytes,
  "idle-timeout": (c) => c.inputs.idleTimeoutMs,
  "message-timeout": (c) => c.inputs.messageTimeoutMs,
  "handshake-timeout": (c) => c.inputs.handshakeTimeoutMs,
  "max-connections": (c) => c.inputs.maxConnections,
  "max-connections-per-peer": (c) => c.inputs.maxConnectionsPerPeer,
  "syslog-timezone": (c) => c.inputs.syslogTimeZone,
  "batch-max-events": (c) => c.delivery.batchMaxEvents,
  "batch-max-bytes": (c) => c.delivery.batchMaxBytes,
  linger: (c) => c.delivery.lingerMs,
  concurrency: (c) => c.delivery.concurrency,
  "queue-max-events": (c) => c.delivery.queueMaxEvents,
  "queue-max-bytes": (c) => c.delivery.queueMaxBytes,
  "retry-initial-delay": (c) => c.delivery.retryInitialDelayMs,
  "retry-max-delay": (c) => c.delivery.retryMaxDelayMs,
  "dead-letter": (c) => c.delivery.deadLetterPath,
  "shutdown-timeout": (c) => c.delivery.shutdownTimeoutMs,
  http: (c) => c.http?.listen ?? null,
  "http-tls-cert": (c) => c.http?.tls?.cert,
  "http-tls-key": (c) => c.http?.tls?.key,
  "http-token": (c) => c.http?.tokens,
  "http-max-body-bytes": (c) => c.http?.maxBodyBytes,
  "health-failing-after": (c) => c.http?.healthFailingAfterMs,
  spool: (c) => c.spool?.dir ?? null,
  "spool-sync": (c) => c.spool?.sync,
  "spool-max-bytes": (c) => c.spool?.maxBytes,
  verbose: (c) => c.log.verbosity,
  "log-format": (c) => c.log.format,
  "status-interval": (c) => c.log.statusIntervalMs,
};

/** One line: `section.key = value  # where it came from`, secrets redacted. */
function settingLine(setting: Setting, resolved: Resolved): string {
  const { option } = setting;
  const effective = EFFECTIVE[option.flag]?.(resolved.config);
  // Options not kept in Config (token_file, port) and those of a part that is off: as given.
  const value = effective === undefined ? setting.raw : effective;
  let shown: string;
  if (value === null) shown = "(unset)";
  else if (option.secret) {
    shown = JSON.stringify(Array.isArray(value) ? value.map(() => REDACTED) : REDACTED);
  } else if (effective === undefined) shown = JSON.stringify(value);
  else if (option.kind.type === "duration") shown = JSON.stringify(formatDuration(value as number));
  else if (option.kind.type === "address") {
    shown = JSON.stringify(formatAddress(value as ListenAddress));
  } else shown = JSON.stringify(value);
  let source = describeOrigin(option, setting.origin);
  const { settings } = resolved;
  const portGiven = settings.given("port");
  if ((option.flag === "udp" || option.flag === "tcp") && value !== null && portGiven) {
    if (!settings.given(option.flag) || settings.outranks("port", option.flag)) {
      source += `, port from ${settings.label("port")}`;
    }
  }
  if (option.flag === "retry-initial-delay" && !settings.given(option.flag)) {
    if (resolved.config.delivery.retryInitialDelayMs !== parseDuration("", String(setting.raw))) {
      source += ", shortened to --retry-max-delay";
    }
  }
  return `${option.section}.${fileKey(option)} = ${shown}  # ${source}`;
}

/** Milliseconds as the config file says them: "10s", "500ms", "5m". */
function formatDuration(ms: number): string {
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function tokenSource(origin: TokenOrigin | null): string {
  if (origin === null) return "no token";
  switch (origin.from) {
    case "credential":
      return `the systemd credential ${origin.path}`;
    case "legacy":
      return `apikey= in ${origin.path}`;
    case "flag":
      return "a flag";
    case "env":
      return origin.name;
    case "file":
      return `${origin.path}${origin.line === null ? "" : ` line ${origin.line}`}`;
    case "default":
      return "the default";
  }
}

/** Reads a PEM file of certificates; each is parsed. */
export function readCertificates(
  path: string,
  deps: Pick<CheckDeps, "readTextFile">,
): X509Certificate[] {
  const text = deps.readTextFile(path);
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks === null) throw new Error("no PEM certificate in it");
  return blocks.map((pem) => new X509Certificate(pem));
}

function checkCertificates(flag: string, path: string, deps: CheckDeps): Finding[] {
  let chain: X509Certificate[];
  try {
    chain = readCertificates(path, deps);
  } catch (error) {
    return [{ level: "error", message: `${flag} ${path}: ${why(error)}` }];
  }
  return chain.map((cert) => expiry(flag, path, cert, deps.now()));
}

function checkTlsPair(
  input: string,
  certPath: string,
  keyPath: string,
  deps: CheckDeps,
): Finding[] {
  const flag = input === "--tls" ? "--tls-cert" : "--http-tls-cert";
  const keyFlag = input === "--tls" ? "--tls-key" : "--http-tls-key";
  let chain: X509Certificate[];
  try {
    chain = readCertificates(certPath, deps);
  } catch (error) {
    return [{ level: "error", message: `${flag} ${certPath}: ${why(error)}` }];
  }
  const findings: Finding[] = [expiry(flag, certPath, chain[0], deps.now())];
  for (let i = 1; i < chain.length; i++) {
    if (!chain[i - 1].verify(chain[i].publicKey)) {
      findings.push({
        level: "error",
        message: `${flag} ${certPath}: certificate ${i + 1} did not issue certificate ${i}: ` +
          "put the server's certificate first, then each issuer in order",
      });
    }
  }
  try {
    const key = createPrivateKey(deps.readTextFile(keyPath));
    findings.push(
      chain[0].checkPrivateKey(key)
        ? { level: "ok", message: `${keyFlag} ${keyPath} matches the certificate` }
        : {
          level: "error",
          message: `${keyFlag} ${keyPath} does not match the certificate in ${certPath}: ` +
            "give the key the certificate was issued for",
        },
    );
  } catch (error) {
    findings.push({ level: "error", message: `${keyFlag} ${keyPath}: ${why(error)}` });
  }
  return findings;
}

function expiry(flag: string, path: string, cert: X509Certificate, now: number): Finding {
  const left = Date.parse(cert.validTo) - now;
  const days = Math.floor(Math.abs(left) / 86_400_000);
  const subject = cert.subject.replaceAll("\n", ", ");
  if (left < 0) {
    return {
      level: "error",
      message: `${flag} ${path}: "${subject}" expired ${days} days ago (${cert.validTo})`,
    };
  }
  return {
    level: days < EXPIRY_WARNING_DAYS ? "warning" : "ok",
    message: `${flag} ${path}: "${subject}" expires in ${days} days (${cert.validTo})`,
  };
}

function why(error: unknown): string {
  if (
    error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotCapable
  ) {
    return `cannot read it (${accessReason(error, "read")})`;
  }
  return error instanceof Error ? error.message : String(error);
}
