/**
 * The names of the systemd credentials that stand in for files the service's user may not read.
 * A name carries a digest of the path it was loaded from, so that a path changed in the config
 * file after install-service is read as configured (and fails plainly if it cannot be), never
 * answered by the old file's credential.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** `tls-key-1a2b3c4d5e6f`: the credential `base` of the file at `path` (absolute). */
export function credentialName(base: string, path: string): string {
  return `${base}-${createHash("sha256").update(path).digest("hex").slice(0, 12)}`;
}
