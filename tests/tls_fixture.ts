/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1 and localhost, made at
 * test time with the `openssl` CLI in a temporary directory (nothing secret is checked in).
 *
 * @module
 */
import tls from "node:tls";

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

/** A client key and certificate, signed by `ca` (the test CA, or another for a stranger). */
export interface ClientCertificate {
  cert: string;
  key: string;
}

/**
 * Makes a certificate for `name` in `certs.dir`, issued by the CA whose files are `caPem` and
 * `caKey` (the test CA by default), with the given extended key usage.
 */
export async function makeCertificate(
  certs: TestCertificates,
  name: string,
  options: {
    usage?: "clientAuth" | "serverAuth";
    caPem?: string;
    caKey?: string;
    /** subjectAltName, e.g. "IP:127.0.0.1, DNS:localhost". */
    san?: string;
  } = {},
): Promise<ClientCertificate> {
  const at = (file: string) => `${certs.dir}/${file}`;
  await Deno.writeTextFile(
    at(`${name}.ext`),
    `basicConstraints = critical, CA:FALSE\nextendedKeyUsage = ${options.usage ?? "clientAuth"}\n` +
      (options.san ? `subjectAltName = ${options.san}\n` : ""),
  );
  const ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
  await openssl(["genpkey", ...ec, "-out", at(`${name}.key`)]);
  await openssl([
    "req",
    "-new",
    "-key",
    at(`${name}.key`),
    "-subj",
    `/CN=${name}`,
    "-out",
    at(`${name}.csr`),
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    at(`${name}.csr`),
    "-CA",
    options.caPem ?? certs.caCert,
    "-CAkey",
    options.caKey ?? at("ca.key"),
    "-CAcreateserial",
    "-sha256",
    "-days",
    "1",
    "-extfile",
    at(`${name}.ext`),
    "-out",
    at(`${name}.pem`),
  ]);
  return { cert: at(`${name}.pem`), key: at(`${name}.key`) };
}

/** Makes a second, unrelated CA in `certs.dir` (for certificates the relay must not trust). */
export async function makeStrangerCa(
  certs: TestCertificates,
): Promise<{ pem: string; key: string }> {
  const at = (file: string) => `${certs.dir}/${file}`;
  const ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
  await openssl(["genpkey", ...ec, "-out", at("stranger-ca.key")]);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    at("stranger-ca.key"),
    "-days",
    "1",
    "-subj",
    "/CN=stranger CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-out",
    at("stranger-ca.pem"),
  ]);
  return { pem: at("stranger-ca.pem"), key: at("stranger-ca.key") };
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

/** Relay arguments for a TLS input on an ephemeral loopback port with `certs`, then `extra`. */
export function tlsArgs(certs: TestCertificates, ...extra: string[]): string[] {
  return ["--tls", "127.0.0.1:0", "--tls-cert", certs.cert, "--tls-key", certs.key, ...extra];
}

/** A TLS connection to 127.0.0.1:`port` that trusts `ca` (PEM text) as the relay's CA. */
export function connectTls(port: number, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port, ca, servername: "localhost" },
      () => resolve(socket),
    );
    socket.once("error", reject);
  });
}
