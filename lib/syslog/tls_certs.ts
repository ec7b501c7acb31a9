/**
 * The TLS input's certificate files: read and checked at start and on reload (SIGHUP), and the
 * check of a client's certificate against --tls-client-ca. `node:tls` reports
 * `authorized: false` even for a valid client certificate here, so the chain, dates and key
 * usage are checked by the relay itself (`X509Certificate`).
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { unreadable } from "../access.ts";
import { indexOfBytes } from "../net_io.ts";

/** Certificate files of the TLS input. */
export interface TlsInputFiles {
  cert: string;
  key: string;
  /** When set, clients must present a certificate issued by a CA in this file. */
  clientCa: string | null;
}

/** A certificate file that cannot be used: names the file and what to do. */
export class CertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CertificateError";
  }
}

/** The certificate, key and client CAs, read and checked. */
export interface Material {
  cert: string;
  key: string;
  clientCas: X509Certificate[];
}

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";

/** The flags that name the files, for messages (the HTTPS input has its own). */
export interface MaterialFlags {
  cert: string;
  key: string;
}

/** Reads and checks the certificate, key and client CA files. */
export function readMaterial(
  files: TlsInputFiles,
  now: number,
  flags: MaterialFlags = { cert: "--tls-cert", key: "--tls-key" },
): Material {
  const cert = readPem(flags.cert, files.cert);
  const key = readPem(flags.key, files.key);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new CertificateError(
      `${flags.cert} ${files.cert} is not a PEM certificate: give the certificate chain file`,
    );
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new CertificateError(
      `${flags.key} ${files.key} is not a PEM private key: give the key file`,
    );
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new CertificateError(
      `${flags.key} ${files.key} does not belong to ${flags.cert} ${files.cert}: give the matching pair`,
    );
  }
  const expired = datesProblem(leaf, now);
  if (expired) throw new CertificateError(`${flags.cert} ${files.cert} ${expired}: renew it`);
  const clientCas = files.clientCa === null
    ? []
    : splitPem(readPem("--tls-client-ca", files.clientCa)).map((pem) => {
      try {
        return new X509Certificate(pem);
      } catch {
        throw new CertificateError(
          `--tls-client-ca ${files.clientCa} holds something that is not a certificate`,
        );
      }
    });
  if (files.clientCa !== null && clientCas.length === 0) {
    throw new CertificateError(
      `--tls-client-ca ${files.clientCa} holds no certificate: give the CA's PEM file`,
    );
  }
  return { cert, key, clientCas };
}

/** Why a client certificate is refused, or null when it is accepted. */
export function checkClient(
  // deno-lint-ignore no-explicit-any
  peer: any,
  cas: readonly X509Certificate[],
  now: number,
): string | null {
  if (!peer?.raw) return "it presented no certificate (--tls-client-ca requires one)";
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(peer.raw);
  } catch {
    return "its certificate cannot be read";
  }
  const dates = datesProblem(cert, now);
  if (dates) return `its certificate ${dates}`;
  if (!allowsClientAuth(cert)) return "its certificate is not for client authentication";
  // Walk the chain it sent (leaf, intermediates) until a certificate our CA file issued.
  let current = cert;
  let issuer = peer.issuerCertificate;
  for (let depth = 0; depth < 8; depth++) {
    const ca = cas.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (ca) return datesProblem(ca, now) === null ? null : "the CA that issued it has expired";
    if (!issuer?.raw || issuer === peer) break;
    let next: X509Certificate;
    try {
      next = new X509Certificate(issuer.raw);
    } catch {
      break;
    }
    if (!current.checkIssued(next) || !current.verify(next.publicKey) || datesProblem(next, now)) {
      break;
    }
    current = next;
    issuer = issuer.issuerCertificate === issuer ? null : issuer.issuerCertificate;
  }
  return "its certificate was not issued by a CA in --tls-client-ca";
}

function datesProblem(cert: X509Certificate, now: number): string | null {
  if (now < Date.parse(cert.validFrom)) return `is not valid before ${cert.validFrom}`;
  if (now > Date.parse(cert.validTo)) return `expired on ${cert.validTo}`;
  return null;
}

/**
 * Extended key usage, read from the DER (this runtime's `X509Certificate#keyUsage` is empty): a
 * certificate without the extension may be used for anything; with it, it must name clientAuth.
 */
function allowsClientAuth(cert: X509Certificate): boolean {
  const der = new Uint8Array(cert.raw);
  const at = indexOfBytes(der, [0x06, 0x03, 0x55, 0x1d, 0x25]); // OID 2.5.29.37, extKeyUsage
  if (at < 0) return true;
  const region = der.subarray(at, at + 128);
  return indexOfBytes(region, oidBytes(CLIENT_AUTH)) >= 0 ||
    indexOfBytes(region, oidBytes(ANY_EXTENDED_KEY_USAGE)) >= 0;
}

function oidBytes(oid: string): number[] {
  const parts = oid.split(".").map(Number);
  const body = [parts[0] * 40 + parts[1]];
  for (const part of parts.slice(2)) {
    const bytes = [part & 0x7f];
    for (let v = part >> 7; v > 0; v >>= 7) bytes.unshift((v & 0x7f) | 0x80);
    body.push(...bytes);
  }
  return [0x06, body.length, ...body];
}

function readPem(flag: string, path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new CertificateError(unreadable(flag, path, error));
  }
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
