/**
 * A relay serving its HTTP input over HTTPS with a throwaway CA, and the clients the HTTPS tests
 * share: curl trusting that CA, and the environment a proxy-aware client needs on loopback.
 *
 * @module
 */
import { type Harness, run, startHarness } from "./helpers.ts";
import { makeCertificate, makeTestCertificates, type TestCertificates } from "./tls_fixture.ts";

/** A relay serving HTTPS on an ephemeral loopback port, with its certificates. */
export interface HttpsRelay {
  h: Harness;
  certs: TestCertificates;
  port: number;
  /** https://127.0.0.1:PORT */
  base: string;
  /** fetch that trusts the test CA. */
  client: Deno.HttpClient;
  stop(): Promise<void>;
}

/** How the relay's certificate differs from the test default. */
export interface HttpsRelayOptions {
  /**
   * subjectAltName of the relay's certificate, issued by the test CA (default: the test server
   * certificate, for 127.0.0.1, ::1 and localhost).
   */
  san?: string;
}

/** Starts a relay whose HTTP input serves HTTPS on 127.0.0.1, with `extra` relay arguments. */
export async function startHttpsRelay(
  extra: string[] = [],
  options: HttpsRelayOptions = {},
): Promise<HttpsRelay> {
  const certs = await makeTestCertificates();
  try {
    const served = options.san
      ? await makeCertificate(certs, "relay", { usage: "serverAuth", san: options.san })
      : certs;
    const h = await startHarness([
      "--http",
      "127.0.0.1:0",
      "--http-tls-cert",
      served.cert,
      "--http-tls-key",
      served.key,
      ...extra,
    ]);
    const port = h.relay.http!.port;
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.caCert)] });
    return {
      h,
      certs,
      port,
      base: `https://127.0.0.1:${port}`,
      client,
      async stop() {
        client.close();
        await h.stop();
        await certs.remove();
      },
    };
  } catch (error) {
    await certs.remove();
    throw error;
  }
}

/** curl over HTTPS, trusting the test CA; returns the status and the answer's body. */
export async function curl(
  ca: string | null,
  args: string[],
): Promise<{ code: number; status: number; body: string; stderr: string }> {
  const result = await run("curl", [
    "-sS",
    "--max-time",
    "10",
    "--noproxy",
    "*",
    ...(ca ? ["--cacert", ca] : []),
    "-w",
    "\n%{http_code}",
    ...args,
  ]);
  const at = result.stdout.lastIndexOf("\n");
  return {
    code: result.code,
    status: Number(result.stdout.slice(at + 1)),
    body: result.stdout.slice(0, at),
    stderr: result.stderr,
  };
}

/** Events the stand-in received whose `run` field is `run`. */
export function eventsOf(h: Harness, run: string) {
  return h.stub.received.filter((r) => r.event.run === run);
}

/** Adds 127.0.0.1 to every no-proxy variable a proxy-aware client reads. */
export function noProxyEnv(): Record<string, string> {
  const names = ["no_proxy", "NO_PROXY", "npm_config_no_proxy"];
  const existing = names.map((n) => Deno.env.get(n)).filter((v) => v);
  const value = [...existing, "127.0.0.1", "localhost"].join(",");
  return Object.fromEntries(names.map((n) => [n, value]));
}
