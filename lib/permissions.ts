/**
 * The permissions baked into the compiled binary (`deno task compile`): the narrowest set the
 * relay needs, shared by the compile script, the smoke test and the error messages, so that what
 * is documented, built and tested is one list.
 *
 * @module
 */

/** What a build of the relay may touch. */
export interface PermissionScope {
  /** Files and folders it may read: token and config files, certificates, the spool. */
  read: string[];
  /** Folders it may write: the spool and the dead-letter file. */
  write: string[];
  /** Hosts it may listen on or connect to (any port): listen addresses and Loggly's host. */
  net: string[];
  /** Environment variables it may read. */
  env: string[];
}

/** Loggly's bulk endpoint host (the default --loggly-url). */
export const LOGGLY_HOST = "logs-01.loggly.com";

/** Addresses a release build may listen on: every interface, and loopback. */
export const LISTEN_HOSTS: readonly string[] = [
  "0.0.0.0",
  "[::]",
  "127.0.0.1",
  "[::1]",
  "localhost",
];

/**
 * Where certificates and credentials are commonly kept, read-only: the system's TLS folders
 * (Debian `/etc/ssl`, Red Hat `/etc/pki`), certbot's `/etc/letsencrypt` (its `live/` links point
 * into `archive/` beside it), and systemd's credentials (`LoadCredential=` under
 * `/run/credentials/UNIT`).
 */
export const CERTIFICATE_FOLDERS: readonly string[] = [
  "/etc/ssl",
  "/etc/pki",
  "/etc/letsencrypt",
  "/run/credentials",
];

/** The folders of a release build: configuration (read) and state (read and write). */
export function releaseFolders(target: string): { config: string[]; state: string } {
  if (target.includes("windows")) {
    return { config: ["C:\\ProgramData\\loggly-relay"], state: "C:\\ProgramData\\loggly-relay" };
  }
  return {
    config: ["/etc/loggly-relay", "/etc/syslog2loggly.conf", ...CERTIFICATE_FOLDERS],
    state: "/var/lib/loggly-relay",
  };
}

/** The variables a release build reads: the token, every option's, and systemd's credentials. */
export const RELEASE_ENV: readonly string[] = [
  "LOGGLY_TOKEN",
  "LOGGLY_RELAY_*",
  "CREDENTIALS_DIRECTORY",
];

/** The scope of a release build for `target` (a `deno compile --target` triple). */
export function releaseScope(target: string, logglyHost: string = LOGGLY_HOST): PermissionScope {
  const { config, state } = releaseFolders(target);
  return {
    read: [...new Set([...config, state])],
    write: [state],
    net: [...LISTEN_HOSTS, logglyHost],
    env: [...RELEASE_ENV],
  };
}

/**
 * The `deno run` / `deno compile` flags for a scope: the permissions (nothing else is granted)
 * and the one unstable API the relay uses, Deno.listenDatagram for UDP.
 */
export function permissionFlags(scope: PermissionScope): string[] {
  const flag = (name: string, values: string[]) =>
    values.length === 0 ? [] : [`--allow-${name}=${values.join(",")}`];
  return [
    "--unstable-net",
    "--no-prompt",
    "--deny-import", // every module is embedded or local: no code from the network, ever
    ...flag("read", scope.read),
    ...flag("write", scope.write),
    ...flag("net", scope.net),
    ...flag("env", scope.env),
  ];
}
