/**
 * `loggly-relay install-service`: a hardened systemd unit for the relay as configured. Pure: the
 * caller writes the text and prints the steps.
 *
 * @module
 */
import type { Config } from "./config.ts";
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
  return `# Written by loggly-relay install-service. Check a changed configuration with
#   ${check}
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
LoadCredential=loggly-token:${o.tokenPath}
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

/** An ExecStart= word: quoted when it holds spaces or quotes; systemd's specifiers escaped. */
export function quote(word: string): string {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", () => "$$");
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)
    ? escaped
    : `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** Flags the service does not take from the install command line, and whether each has a value. */
const NOT_CARRIED: Record<string, boolean> = {
  "--print": false,
  "--binary": true,
  "--token": true,
  "-k": true,
  "--token-file": true,
};

/**
 * The install command line's arguments that the service runs with: all but the subcommand,
 * install-service's own flags and the token (the unit loads it as a credential instead).
 */
export function serviceArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "install-service") continue;
    const name = arg.startsWith("--") ? arg.split("=")[0] : arg.slice(0, 2);
    if (name in NOT_CARRIED) {
      const inline = arg.includes("=") || (name === "-k" && arg.length > 2);
      if (NOT_CARRIED[name] && !inline) i++; // its value follows
      continue;
    }
    out.push(arg);
  }
  return out;
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
