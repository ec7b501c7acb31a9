/**
 * The certificates the relay serves (syslog over TLS, HTTPS), read for the status page's expiry
 * line: at start and at each reload, never per request.
 *
 * @module
 */
import { readCertificates } from "../check_config.ts";
import type { Config } from "../config.ts";
import type { CertificateInfo } from "./report.ts";

/** The first certificate of each TLS input's file; one that cannot be read is left out. */
export function servedCertificates(
  config: Config,
  readTextFile: (path: string) => string,
): CertificateInfo[] {
  const files: [string, string | undefined][] = [
    ["syslog TLS", config.inputs.tls?.cert],
    ["HTTPS", config.http?.tls?.cert],
  ];
  const out: CertificateInfo[] = [];
  for (const [input, path] of files) {
    if (path === undefined) continue;
    try {
      const [leaf] = readCertificates(path, { readTextFile });
      out.push({
        input,
        path,
        subject: leaf.subject.replaceAll("\n", ", "),
        expires: Date.parse(leaf.validTo),
      });
    } catch {
      // The input could not have been bound with it either: its error is logged there.
    }
  }
  return out;
}
