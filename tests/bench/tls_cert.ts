/**
 * A throwaway self-signed certificate for 127.0.0.1 (openssl, EC P-256), for the TLS row of the
 * benchmark suite. It lives in a temporary directory listed in tempDirs, so that stopAll() removes
 * it also when the suite is interrupted.
 *
 * @module
 */
import { tempDirs, type TlsFiles, which } from "./tcp_throughput.ts";

/** A certificate and key, and the function that removes them. */
export interface TempCert extends TlsFiles {
  remove(): Promise<void>;
}

/** Makes a self-signed certificate valid for IP 127.0.0.1 for one day. */
export async function makeSelfSignedCert(): Promise<TempCert> {
  const openssl = which("openssl");
  if (!openssl) throw new Error("openssl not found: the TLS row needs it for a certificate");
  const dir = await Deno.makeTempDir({ prefix: "bench-tls-" });
  tempDirs.add(dir);
  const remove = async () => {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    tempDirs.delete(dir);
  };
  const cert = `${dir}/cert.pem`, key = `${dir}/key.pem`;
  try {
    const { code, stderr } = await new Deno.Command(openssl, {
      args: [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
        ...["-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
        ...["-addext", "subjectAltName=IP:127.0.0.1"],
      ],
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    if (code !== 0) {
      throw new Error(`openssl req failed:\n${new TextDecoder().decode(stderr)}`);
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return { cert, key, remove };
}
