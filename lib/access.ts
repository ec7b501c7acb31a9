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
  if (!(error instanceof Deno.errors.NotCapable)) {
    return error instanceof Error ? error.message : String(error);
  }
  const { config, state } = releaseFolders(Deno.build.os === "windows" ? "windows" : "unix");
  if (kind === "net") {
    return `this build of loggly-relay may not use that address (release builds listen on ` +
      `0.0.0.0, [::] or loopback and send to ${LOGGLY_HOST}; see "Permissions" in the README)`;
  }
  const allowed = kind === "read" ? [...config, state].join(", ") : state;
  return `this build of loggly-relay may not ${kind} there: release builds may ${kind} only ` +
    `${allowed} (see "Permissions" in the README)`;
}

/** `FLAG "PATH" cannot be read (reason): check the path`, for a file named on the command line. */
export function unreadable(flag: string, path: string, error: unknown): string {
  return `${flag} "${path}" cannot be read (${accessReason(error, "read")}): check the path`;
}

/** A file named on the command line that this build may not write. */
export class AccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AccessError";
  }
}

/** Throws {@link AccessError} at start when the --loggly-url host may not be reached. */
export function assertReachable(url: string): void {
  const host = new URL(url).host;
  if (Deno.permissions.querySync({ name: "net", host }).state === "granted") return;
  throw new AccessError(
    `--loggly-url ${new URL(url).origin} cannot be reached (${
      accessReason(new Deno.errors.NotCapable(), "net")
    }): build the relay with "deno task compile --loggly-url URL" for another host`,
  );
}

/** Throws {@link AccessError} at start when `path` may not be written, rather than at first use. */
export function assertWritable(flag: string, path: string): void {
  if (Deno.permissions.querySync({ name: "write", path }).state === "granted") return;
  throw new AccessError(
    `${flag} "${path}" cannot be written (${
      accessReason(new Deno.errors.NotCapable(), "write")
    }): pick a path there`,
  );
}
