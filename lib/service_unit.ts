/**
 * `loggly-relay install-service`: a hardened systemd unit for the relay as configured. Pure: the
 * caller writes the text and prints the steps.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { credentialName } from "./credentials.ts";
import { optionFor, OPTIONS } from "./options.ts";
import type { Settings } from "./settings.ts";
import { ConfigError } from "./units.ts";
import { mallocEnvAssignments } from "./runtime_flags.ts";

/** Where the unit is installed. */
export const UNIT_PATH = "/etc/systemd/system/loggly-relay.service";
/** Where the token is kept for `LoadCredential=` when no --token-file names another file. */
export const DEFAULT_TOKEN_PATH = "/etc/loggly-relay/token";
/** The binary's place when it is not the one running (a source checkout). */
export const DEFAULT_BINARY = "/usr/local/bin/loggly-relay";

/** What the unit is made from. */
export interface UnitOptions {
  /** The relay executable. */
  binary: string;
  /** The relay's arguments (no token among them). */
  args: readonly string[];
  /** The file systemd loads as the credential `loggly-token`. */
  tokenPath: string;
  /** Other files systemd loads as credentials, as [credential, path] (see credentialFiles). */
  credentials: readonly (readonly [string, string])[];
  config: Config;
}

/** True when an input listens on a port below 1024, which needs CAP_NET_BIND_SERVICE. */
export function needsLowPorts(config: Config): boolean {
  const ports = [
    config.inputs.udp,
    config.inputs.tcp,
    config.inputs.tls?.address,
    config.http?.listen,
  ]
    .flatMap((address) => address ? [address.port] : []);
  return ports.some((port) => port > 0 && port < 1024);
}

/** The unit file. */
export function systemdUnit(o: UnitOptions): string {
  const command = [o.binary, ...o.args].map(quote).join(" ");
  const lowPorts = needsLowPorts(o.config);
  const check = [o.binary, "check-config", ...o.args].map(quote).join(" ");
  // By hand, as root, the token is read from its file (the service has it as a credential).
  const byHand = [o.binary, "check-config", ...o.args, "--token-file", o.tokenPath].map(quote)
    .join(" ");
  return `# Written by loggly-relay install-service. Check a changed configuration with
#   sudo ${byHand}
[Unit]
Description=loggly-relay: syslog and HTTP events to Loggly
Documentation=man:systemd.exec(5)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
# A configuration that does not pass check-config is not started (the reason is in the journal).
ExecStartPre=${check}
ExecStart=${command}
# SIGHUP reads the configuration again and applies what changed (see the README).
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2s
# Time to flush what is queued on stop (--shutdown-timeout) and a little more.
TimeoutStopSec=${Math.ceil(o.config.delivery.shutdownTimeoutMs / 1000) + 5}s
# glibc malloc settings the relay is measured with (steadier memory over days).
Environment=${mallocEnvAssignments()}
# The token: read by systemd (as root) from the file, given to the relay in
# $CREDENTIALS_DIRECTORY/loggly-token; never in the environment or on the command line.
LoadCredential=loggly-token:${o.tokenPath}${
    o.credentials.length === 0
      ? ""
      : "\n# Other files the service's own user may not read where they are kept (certbot's keys\n" +
        "# are root's): the relay reads $CREDENTIALS_DIRECTORY/NAME in their place (NAME holds a\n" +
        "# digest of the path: a path changed later is read as it is). systemd copies\n" +
        "# them at start: a restart reads renewed ones, a reload does not.\n" +
        o.credentials.map(([name, path]) => `LoadCredential=${name}:${path}`).join("\n")
  }
# A user of its own, made when the service starts; state (the spool) in /var/lib/loggly-relay.
DynamicUser=yes
StateDirectory=loggly-relay
StateDirectoryMode=0700
${
    lowPorts
      ? "# A port below 1024 is configured: the one capability that binding it needs.\n" +
        "AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE"
      : "# No port below 1024 is configured: no capabilities at all.\nCapabilityBoundingSet="
  }
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
UMask=0077
# Not MemoryDenyWriteExecute=yes: V8's compiler writes the machine code it then runs. No
# SystemCallFilter= either: which system calls Deno's runtime makes is not ours to pin down, and
# a call the filter misses kills the relay.

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The files of the options marked `credential` in the option table, as [credential, path], from
 * the settings given to install-service: the unit loads each, and the relay reads it from
 * `$CREDENTIALS_DIRECTORY` in place of the path (lib/config.ts).
 */
export function credentialFiles(
  settings: { text(flag: string): string | null },
  cwd: string,
): [string, string][] {
  return OPTIONS.flatMap((option) => {
    const value = option.credential === undefined ? null : settings.text(option.flag);
    if (value === null) return [];
    const path = absolute(value, cwd);
    return [[credentialName(option.credential!, path), path] as [string, string]];
  });
}

/** An ExecStart= word: quoted when it holds spaces or quotes; systemd's specifiers escaped. */
export function quote(word: string): string {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", () => "$$");
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)
    ? escaped
    : `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** An option as `parseArgs` read it from the command line (`tokens: true`). */
export interface OptionToken {
  /** The long flag, without `--`. */
  readonly name: string;
  readonly value: string | undefined;
}

/** install-service's own flags and the token: the unit loads the token as a credential. */
const NOT_CARRIED = new Set(["print", "binary", "token", "token-file", "help", "version"]);

/**
 * The install command line's options that the service runs with, each as `--flag` or
 * `--flag value`: not install-service's own, not the token (a credential instead), paths made
 * absolute against `cwd` (the service does not start where install-service ran). Other tokens
 * on that line would be copied into a file every local user may read: refused.
 */
export function serviceArgs(options: readonly OptionToken[], cwd: string): string[] {
  const out: string[] = [];
  for (const { name, value } of options) {
    if (NOT_CARRIED.has(name)) continue;
    const option = optionFor(name);
    if (option.secret) {
      throw new ConfigError(
        `--${name} on the install-service command line would be copied into the unit file, ` +
          `which every local user can read: put it in a root-only file and name that with ` +
          `--${name}-file (the unit loads the file as a credential)`,
      );
    }
    if (value === undefined) out.push(`--${name}`);
    else out.push(`--${name}`, option.path ? absolute(value, cwd) : value);
  }
  return out;
}

/** Folders the unit hides from the service (PrivateTmp=, ProtectHome=). */
const HIDDEN_FOLDERS: readonly string[] = ["/tmp/", "/var/tmp/", "/home/", "/root/", "/run/user/"];

/**
 * Why the unit could not work with these settings, or null: a file or folder the service itself
 * opens (not one systemd loads as a credential, as root) in a folder the sandbox hides.
 */
export function hiddenPath(settings: Settings, cwd: string): string | null {
  // The unit carries flags, not install-service's environment: the service would not see it.
  // (The token is not carried either way: the unit loads it as a credential.)
  const fromEnv = settings.all().find((s) =>
    s.origin.from === "env" && !s.option.secret && s.option.flag !== "token-file"
  );
  if (fromEnv !== undefined) {
    return `${settings.label(fromEnv.option.flag)} is set in the environment, which the ` +
      "service does not get: give it as a flag or in the config file";
  }
  for (const option of OPTIONS) {
    if (!option.path) continue;
    const value = settings.text(option.flag);
    if (value === null) continue;
    // Flags are written into the unit made absolute; the file is read by the service as it is,
    // from /.
    if (!value.startsWith("/") && settings.get(option.flag).origin.from !== "flag") {
      return `${settings.label(option.flag)} "${value}" is a relative path: the service starts ` +
        "in /, not here; write the absolute path";
    }
    // A credential (the token file too) is loaded by systemd, as root, before the sandbox.
    if (option.credential !== undefined || option.flag === "token-file") continue;
    const path = absolute(value, cwd);
    const folder = hiddenFolder(path);
    if (folder !== null) {
      return `${settings.label(option.flag)} ${path} is under ${folder}, which the service does ` +
        "not see (PrivateTmp=, ProtectHome=): use a path under /etc/loggly-relay, " +
        "/var/lib/loggly-relay or /usr/local";
    }
  }
  return null;
}

/** The folder the unit's sandbox hides `path` in (absolute), or null. */
export function hiddenFolder(path: string): string | null {
  return HIDDEN_FOLDERS.find((f) => `${path}/`.startsWith(f)) ?? null;
}

/** `path` made absolute against `cwd`, with `.` and `..` resolved. */
export function absolute(path: string, cwd: string): string {
  if (path.startsWith("/")) return path;
  const parts = `${cwd}/${path}`.split("/");
  const out: string[] = [];
  for (const part of parts) {
    if (part === "..") out.pop();
    else if (part !== "" && part !== ".") out.push(part);
  }
  return `/${out.join("/")}`;
}

/** The steps after the unit is written, as commands to run. */
export function nextSteps(
  o: { tokenPath: string; tokenExists: boolean; written: boolean },
): string[] {
  const steps: string[] = [];
  if (!o.written) {
    steps.push(`loggly-relay install-service --print | sudo tee ${UNIT_PATH} >/dev/null`);
  }
  if (!o.tokenExists) {
    const dir = o.tokenPath.slice(0, o.tokenPath.lastIndexOf("/")) || "/";
    steps.push(
      `sudo install -d -m 0755 ${dir}`,
      `sudo sh -c 'umask 077; cat > ${o.tokenPath}'   # paste your customer token, then Ctrl-D`,
    );
  }
  steps.push(
    "sudo systemctl daemon-reload",
    "sudo systemctl enable --now loggly-relay",
    "journalctl -u loggly-relay -f",
  );
  return steps;
}
