/**
 * Error text for files and addresses the relay may not touch. A compiled binary has its
 * permissions fixed at build time (see lib/permissions.ts), and Deno's own message ("run again
 * with the --allow-read flag") cannot be followed there, so it is replaced with what to do.
 *
 * @module
 */

import { LOGGLY_HOST, releaseFolders } from "./permissions.ts";

/** The reason an access failed, in words a user can act on. */
export function accessReason(error: unknown, kind: "read" | "write" | "net"): string {
  if (error instanceof Deno.errors.NotCapable) return deniedReason(kind);
  return error instanceof Error ? error.message : String(error);
}

/** Why this build may not read, write or use an address: its permissions are fixed. */
function deniedReason(kind: "read" | "write" | "net"): string {
  const { config, state } = releaseFolders(Deno.build.os === "windows" ? "windows" : "unix");
  if (kind === "net") {
    return `this build of loggly-relay may not use that address (release builds listen on ` +
      `0.0.0.0, [::] or loopback and send to ${LOGGLY_HOST}; see "Permissions" in the README)`;
  }
  const allowed = kind === "read" ? [...config, state].join(", ") : state;
  return `this build of loggly-relay may not ${kind} there: release builds may ${kind} only ` +
    `${allowed} (see "Permissions" in the README)`;
}

/** True when this run may use what `descriptor` names (asking never prompts). */
export function granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/** `FLAG "PATH" cannot be read (reason): check the path`, for a file named on the command line. */
export function unreadable(flag: string, path: string, error: unknown): string {
  return `${flag} "${path}" cannot be read (${accessReason(error, "read")}): check the path`;
}

/** A file or host named on the command line that this build may not use. */
export class AccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AccessError";
  }
}

/** Throws {@link AccessError} at start when the --loggly-url host may not be reached. */
export function assertReachable(url: string): void {
  const { host, origin } = new URL(url);
  if (granted({ name: "net", host })) return;
  throw new AccessError(
    `--loggly-url ${origin} cannot be reached (${deniedReason("net")}): build the relay with ` +
      `"deno task compile --loggly-url URL" for another host`,
  );
}

/** Throws {@link AccessError} at start when `path` may not be written, rather than at first use. */
export function assertWritable(flag: string, path: string): void {
  if (granted({ name: "write", path })) return;
  throw new AccessError(
    `${flag} "${path}" cannot be written (${deniedReason("write")}): pick a path there`,
  );
}

/** An environment variable; undefined when unset or when this build may not read it. */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}
