/**
 * Syslog over UDP: one message per datagram, read with `Deno.listenDatagram` (node:dgram loses
 * most datagrams above a few hundred a second under Deno). UDP cannot be slowed down: what the
 * relay cannot queue it drops and counts, and what the kernel drops before the relay can read it
 * (a full socket receive buffer) is read from /proc/net/udp and counted too.
 *
 * Deno cannot set a socket's receive buffer (SO_RCVBUF), so the socket gets the kernel's default,
 * `net.core.rmem_default`: 208 KiB on most Linux systems, a few hundred datagrams, which a burst
 * fills in a millisecond. The relay says so at start, with the sysctl that raises it.
 *
 * Deno 2.9 lets a program read /proc only with --allow-all, which release builds do not have:
 * there the kernel's counters cannot be read, and the relay says so at start (and in the
 * `loggly_relay_udp_kernel_drops_counted` gauge) rather than report what it cannot see.
 *
 * @module
 */
import type { Ingest } from "../ingest.ts";
import type { Logger } from "../log.ts";
import { M, type Metrics } from "../metrics.ts";
import type { ListenAddress } from "../units.ts";
import { formatSize } from "../units.ts";
import type { Listener } from "./listen.ts";
import { parseRmemDefault, procAddress, socketDrops } from "./udp_kernel.ts";

/** What the UDP listener needs. */
export interface UdpOptions {
  ingest: Ingest;
  metrics: Metrics;
  log: Logger;
  maxMessageBytes: number;
  /** The receive buffer the socket should have (--udp-recv-buffer); below it, a warning. */
  recvBufferBytes: number;
  /** How often the kernel's drop counter is read, in ms (default 1000). */
  dropPollMs?: number;
  /** Reads a text file; Deno.readTextFile by default (tests pass their own /proc). */
  readTextFile?: (path: string) => Promise<string>;
}

/** The largest UDP payload (IPv4); a datagram is never cut by the read buffer. */
const MAX_DATAGRAM_BYTES = 65_535;
const DROP_REASON = "socket receive buffer full (kernel)";
/** What to do where the relay cannot see the kernel's drops. */
const SEE_DROPS_YOURSELF = "watch `nstat -az UdpRcvbufErrors` or the d field of `ss -uamn`";
const RECEIVE_ERROR_PAUSE_MS = 10;

/** Starts a UDP syslog listener. */
export function listenUdp(address: ListenAddress, options: UdpOptions): Listener {
  const { ingest, log, maxMessageBytes } = options;
  const read = options.readTextFile ?? ((path: string) => Deno.readTextFile(path));
  const socket = Deno.listenDatagram({
    hostname: address.hostname,
    port: address.port,
    transport: "udp",
  });
  const bound = socket.addr as Deno.NetAddr;
  const local = { hostname: bound.hostname, port: bound.port };
  let closing = false;

  // One buffer for every datagram: the ingest is done with the bytes before the next read.
  const buffer = new Uint8Array(MAX_DATAGRAM_BYTES);
  const receiving = (async () => {
    let lastErrorLog = -Infinity;
    while (!closing) {
      let data: Uint8Array;
      let remote: Deno.Addr;
      try {
        [data, remote] = await socket.receive(buffer);
      } catch (error) {
        if (closing || error instanceof Deno.errors.BadResource) break;
        if (Date.now() - lastErrorLog >= 10_000) {
          lastErrorLog = Date.now();
          log.error("Receiving a UDP datagram failed: {error}; going on", { error });
        }
        await new Promise((resolve) => setTimeout(resolve, RECEIVE_ERROR_PAUSE_MS));
        continue;
      }
      const frame = data.length > maxMessageBytes
        ? {
          bytes: data.subarray(0, maxMessageBytes),
          truncated: { originalBytes: data.length, limit: maxMessageBytes },
        }
        : { bytes: data };
      ingest.datagram(frame, (remote as Deno.NetAddr).hostname);
    }
  })();

  const drops = new KernelDrops(local, read, (n) => ingest.dropped("udp", DROP_REASON, n), log);
  void drops.update().then(() => {
    options.metrics.set(M.udpKernelDropsCounted, drops.visible ? 1 : 0);
  });
  const poll = setInterval(() => drops.update(), options.dropPollMs ?? 1000);
  void checkBuffer(options.recvBufferBytes, read, log);

  return {
    address: { hostname: address.hostname, port: bound.port },
    async close() {
      closing = true;
      clearInterval(poll);
      await drops.update(); // what the kernel dropped up to now, while the socket still exists
      socket.close();
      await receiving;
    },
  };
}

/** Follows the kernel's drop counter of one socket and reports what it adds. */
class KernelDrops {
  readonly #local: string | null;
  readonly #read: (path: string) => Promise<string>;
  readonly #report: (n: number) => void;
  readonly #log: Logger;
  #seen = 0;
  #blind = false;
  #busy: Promise<void> | null = null;

  /** False once the counter turned out not to be readable here. */
  get visible(): boolean {
    return !this.#blind && this.#local !== null;
  }

  constructor(
    address: ListenAddress,
    read: (path: string) => Promise<string>,
    report: (n: number) => void,
    log: Logger,
  ) {
    this.#local = procAddress(address);
    this.#read = read;
    this.#report = report;
    this.#log = log;
  }

  /** Reads the counter once (never two reads at a time) and reports the increase. */
  update(): Promise<void> {
    this.#busy ??= this.#update().finally(() => this.#busy = null);
    return this.#busy;
  }

  async #update(): Promise<void> {
    if (this.#blind || this.#local === null) return;
    let total: number | null = null;
    try {
      const file = this.#local.length > 13 ? "/proc/net/udp6" : "/proc/net/udp";
      total = socketDrops(await this.#read(file), this.#local);
    } catch (error) {
      this.#blind = true;
      const why = error instanceof Deno.errors.NotCapable
        ? "Deno reads /proc only with --allow-all, which this build does not have"
        : error instanceof Error
        ? error.message
        : String(error);
      this.#log.warn(
        "Cannot read the kernel's UDP drop counter ({why}): datagrams the kernel drops before " +
          "the relay reads them are not counted; {advice}",
        { why, advice: SEE_DROPS_YOURSELF },
      );
      return;
    }
    if (total === null || total <= this.#seen) return;
    const added = total - this.#seen;
    this.#seen = total;
    this.#report(added);
  }
}

/** Warns once when the socket's receive buffer (the kernel default) is below what was asked. */
async function checkBuffer(
  wanted: number,
  read: (path: string) => Promise<string>,
  log: Logger,
): Promise<void> {
  let actual: number | null = null;
  try {
    actual = parseRmemDefault(await read("/proc/sys/net/core/rmem_default"));
  } catch {
    // Not Linux, or no access to /proc: the warning below then says the size is not known.
  }
  if (actual !== null && actual >= wanted) {
    log.debug("UDP receive buffer: {size} (net.core.rmem_default)", { size: formatSize(actual) });
    return;
  }
  const have = actual === null
    ? "the kernel's default, net.core.rmem_default (not readable here; 208 KiB on most systems)"
    : `${formatSize(actual)} (net.core.rmem_default)`;
  log.warn(
    "The UDP socket's receive buffer is {have}, below the {wanted} of --udp-recv-buffer: Deno " +
      "cannot set it per socket, so the kernel drops what a burst sends beyond it. To raise it: " +
      "sysctl -w net.core.rmem_default={bytes} (keep it in /etc/sysctl.d/), then restart the relay",
    { have, wanted: formatSize(wanted), bytes: wanted },
  );
}
