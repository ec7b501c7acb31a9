/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1 and localhost, made at
 * test time with the `openssl` CLI in a temporary directory (nothing secret is checked in).
 *
 * @module
 */

/** PEM files in `dir`; `remove()` (or `await using`) deletes them. */
export interface TestCertificates extends AsyncDisposable {
  dir: string;
  /** The CA certificate: what clients must trust. */
  caCert: string;
  /** The server certificate chain (leaf, then CA). */
  cert: string;
  /** The server's private key. */
  key: string;
  remove(): Promise<void>;
}

/** Longest any one openssl command may take. */
const OPENSSL_TIMEOUT_MS = 10_000;

/** Makes a CA and a server certificate (EC P-256, 1 day) for 127.0.0.1, ::1 and localhost. */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "relay-tls-" });
  const remove = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  const at = (name: string) => `${dir}/${name}`;
  try {
    await Deno.writeTextFile(
      at("server.ext"),
      [
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature, keyEncipherment",
        "extendedKeyUsage = serverAuth",
        "subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost",
        "",
      ].join("\n"),
    );
    const ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
    await openssl(["genpkey", ...ec, "-out", at("ca.key")]);
    await openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      at("ca.key"),
      "-sha256",
      "-days",
      "1",
      "-subj",
      "/CN=loggly-relay test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
      "-out",
      at("ca.pem"),
    ]);
    await openssl(["genpkey", ...ec, "-out", at("server.key")]);
    await openssl([
      "req",
      "-new",
      "-key",
      at("server.key"),
      "-subj",
      "/CN=127.0.0.1",
      "-out",
      at("server.csr"),
    ]);
    await openssl([
      "x509",
      "-req",
      "-in",
      at("server.csr"),
      "-CA",
      at("ca.pem"),
      "-CAkey",
      at("ca.key"),
      "-CAcreateserial",
      "-sha256",
      "-days",
      "1",
      "-extfile",
      at("server.ext"),
      "-out",
      at("server.pem"),
    ]);
    const chain = await Deno.readTextFile(at("server.pem")) + await Deno.readTextFile(at("ca.pem"));
    await Deno.writeTextFile(at("chain.pem"), chain);
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    dir,
    caCert: at("ca.pem"),
    cert: at("chain.pem"),
    key: at("server.key"),
    remove,
    [Symbol.asyncDispose]: remove,
  };
}

async function openssl(args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(OPENSSL_TIMEOUT_MS),
  }).output();
  if (output.code !== 0) {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new Error(`openssl ${args[0]} failed (exit ${output.code}): ${stderr}`);
  }
}
