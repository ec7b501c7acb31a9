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
import type { Resolved, TokenOrigin } from "./config.ts";
import { fileKey } from "./options.ts";
import { REDACTED } from "./redact.ts";
import { describeOrigin, type Setting } from "./settings.ts";

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
      .map(settingLine),
  ];
  for (const notice of resolved.notices) findings.push({ level: "warning", message: notice });
  const ok = !findings.some((f) => f.level === "error");
  return { ok, lines, findings };
}

function settingLine(setting: Setting): string {
  const { option } = setting;
  const secret = option.flag === "accept-token" || option.flag === "http-token";
  const raw = setting.raw;
  const shown = raw === null
    ? "(unset)"
    : JSON.stringify(secret ? (Array.isArray(raw) ? raw.map(() => REDACTED) : REDACTED) : raw);
  return `${option.section}.${fileKey(option)} = ${shown}  # ${
    describeOrigin(option, setting.origin)
  }`;
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
function readCertificates(path: string, deps: CheckDeps): X509Certificate[] {
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
