/**
 * Syslog over UDP: one message per datagram. A reader thread (udp_reader.ts) owns the socket and
 * only reads it, so that a burst is drained from the kernel while this thread parses: it hands
 * datagrams over in batches, within the relay's own receive buffer (--udp-recv-buffer), and
 * counts what does not fit. UDP cannot be slowed down: what the relay cannot hold or queue it
 * drops and counts, and what the kernel drops before the reader gets it (a full socket receive
 * buffer) is read from /proc/net/udp and counted too.
 *
 * Deno cannot set a socket's receive buffer (SO_RCVBUF), so the socket gets the kernel's default,
 * `net.core.rmem_default`: 208 KiB on most Linux systems, a few hundred datagrams, which a burst
 * faster than the reader fills in a millisecond. The relay says so at start, with the sysctl that
 * raises it.
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
import {
  type ChunkMessage,
  forEachDatagram,
  type FromReader,
  readerUrl,
  type ToReader,
} from "./udp_reader.ts";

/** What a reload changes in place on the UDP input. */
export interface UdpLimits {
  maxMessageBytes: number;
  /** The relay's own receive buffer (--udp-recv-buffer): datagrams read but not yet parsed. */
  recvBufferBytes: number;
}

/** A UDP listener, whose limits change while it runs. */
export interface UdpListener extends Listener {
  /** Applies new limits to datagrams read once it resolves. */
  configure(limits: UdpLimits): Promise<void>;
}

/** What the UDP listener needs. */
export interface UdpOptions extends UdpLimits {
  ingest: Ingest;
  metrics: Metrics;
  log: Logger;
  /** How often the kernel's drop counter is read, in ms (default 1000). */
  dropPollMs?: number;
  /** Reads a text file; Deno.readTextFile by default (tests pass their own /proc). */
  readTextFile?: (path: string) => Promise<string>;
}

const KERNEL_DROP_REASON = "socket receive buffer full (kernel)";
const RELAY_DROP_REASON = "relay receive buffer full";
/** What to do where the relay cannot see the kernel's drops. */
const SEE_DROPS_YOURSELF = "watch `nstat -az UdpRcvbufErrors` or the d field of `ss -uamn`";
/** The largest chunk the reader fills before handing it over. */
const CHUNK_BYTES = 128 * 1024;
/** A partly filled chunk goes to an idle main thread this long after its first datagram. */
const FLUSH_MS = 2;
/** Parsing starts when no chunk came for this long (or half the buffer is held). */
const QUIET_MS = 2;
/**
 * The kernel receive buffer advised for bursts; below it, a warning at start. A sender's burst at
 * a million datagrams a second (loggen's start, a busy host's backlog) of 10,000 datagrams of
 * 200 bytes needs it: 8 MiB holds about 6,500 of them (tests/bench/udp_rates.ts, README "UDP").
 */
const KERNEL_BUFFER_ADVISED = 16 * 1024 * 1024;

/** Starts a UDP syslog listener; rejects with the reason when the address cannot be bound. */
export async function listenUdp(
  address: ListenAddress,
  options: UdpOptions,
): Promise<UdpListener> {
  const { ingest, log, maxMessageBytes } = options;
  const read = options.readTextFile ?? ((path: string) => Deno.readTextFile(path));
  const worker = new Worker(
    readerUrl({
      hostname: address.hostname,
      port: address.port,
      maxMessageBytes,
      ...chunking(options.recvBufferBytes),
      flushMs: FLUSH_MS,
    }),
    { type: "module", name: "udp-reader" },
  );
  const send = (message: ToReader, transfer: Transferable[] = []) =>
    worker.postMessage(message, transfer);
  const bound = Promise.withResolvers<Deno.NetAddr>();
  const closed = Promise.withResolvers<void>();
  let open = true;
  let lastErrorLog = -Infinity;
  /** Reloads waiting for the reader to apply their limits, in the order they were sent. */
  const configuring: (() => void)[] = [];

  // The ingest is done with a datagram's bytes when it returns: the chunk can go back at once.
  const deliver = (chunk: ChunkMessage) => {
    if (chunk.dropped > 0) ingest.dropped("udp", RELAY_DROP_REASON, chunk.dropped);
    try {
      forEachDatagram(chunk, ({ bytes, originalBytes, peer }) => {
        const truncated = originalBytes > bytes.length
          ? { originalBytes, limit: bytes.length } // --max-message-bytes, or a smaller chunk
          : undefined;
        ingest.datagram(truncated ? { bytes, truncated } : { bytes }, peer);
      });
    } finally {
      if (open) send({ type: "return", buffer: chunk.buffer }, [chunk.buffer]);
    }
  };
  // While chunks keep coming (a burst), parsing waits, so that the reader has a core to itself
  // and drains the socket; it starts once the reader pauses, or half the buffer is held.
  const held: ChunkMessage[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let { maxChunks } = chunking(options.recvBufferBytes);
  const drain = () => {
    clearTimeout(timer);
    timer = undefined;
    for (const chunk of held.splice(0)) deliver(chunk);
  };
  const hold = (chunk: ChunkMessage) => {
    held.push(chunk);
    if (held.length * 2 >= maxChunks) return drain();
    clearTimeout(timer);
    timer = setTimeout(drain, QUIET_MS);
  };
  worker.onmessage = ({ data: message }: MessageEvent<FromReader>) => {
    switch (message.type) {
      case "chunk":
        return hold(message);
      case "dropped":
        return ingest.dropped("udp", RELAY_DROP_REASON, message.count);
      case "bound":
        return bound.resolve({ transport: "udp", hostname: message.hostname, port: message.port });
      case "failed":
        return bound.reject(readerError(message.name, message.message));
      case "configured":
        return configuring.shift()?.();
      case "receive-error":
        if (Date.now() - lastErrorLog >= 10_000) {
          lastErrorLog = Date.now();
          log.error("Receiving a UDP datagram failed: {error}; going on", {
            error: message.message,
          });
        }
        return;
      case "closed":
        drain();
        open = false;
        for (const done of configuring.splice(0)) done();
        return closed.resolve();
    }
  };
  worker.onerror = (event) => {
    event.preventDefault();
    bound.reject(new Error(`the UDP reader thread failed: ${event.message}`));
    if (open) log.error("The UDP input stopped: {error}", { error: event.message });
    open = false;
    for (const done of configuring.splice(0)) done();
    closed.resolve();
  };
  let local: Deno.NetAddr;
  try {
    local = await bound.promise;
  } catch (error) {
    worker.terminate();
    throw error;
  }

  const drops = new KernelDrops(
    local,
    read,
    (n) => ingest.dropped("udp", KERNEL_DROP_REASON, n),
    log,
  );
  void drops.update().then(() => {
    options.metrics.set(M.udpKernelDropsCounted, drops.visible ? 1 : 0);
  });
  const poll = setInterval(() => drops.update(), options.dropPollMs ?? 1000);
  void checkKernelBuffer(read, log);

  return {
    address: { hostname: address.hostname, port: local.port },
    configure(limits) {
      if (!open) return Promise.resolve();
      const chunks = chunking(limits.recvBufferBytes);
      maxChunks = chunks.maxChunks;
      const done = new Promise<void>((resolve) => configuring.push(resolve));
      send({ type: "configure", maxMessageBytes: limits.maxMessageBytes, ...chunks });
      return done;
    },
    async close() {
      clearInterval(poll);
      await drops.update(); // what the kernel dropped up to now, while the socket still exists
      if (open) send({ type: "close" }); // the reader closes the socket and posts what it had
      await closed.promise;
      worker.terminate();
    },
  };
}

/**
 * How the relay's receive buffer of `bytes` is cut into chunks: two at least, of at most
 * {@link CHUNK_BYTES} (a multiple of 4), never more than `bytes` in all.
 */
export function chunking(bytes: number): { chunkBytes: number; maxChunks: number } {
  const chunkBytes = Math.min(CHUNK_BYTES, Math.floor(bytes / 8) * 4);
  return { chunkBytes, maxChunks: Math.floor(bytes / chunkBytes) };
}

/** The reader's bind error as the error class Deno would have thrown here. */
function readerError(name: string, message: string): Error {
  const known = (Deno.errors as unknown as Record<string, ErrorConstructor | undefined>)[name];
  const error = known ? new known(message) : new Error(message);
  if (!known) error.name = name;
  return error;
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

/** Warns once when the kernel gives the socket less than the advised receive buffer. */
async function checkKernelBuffer(
  read: (path: string) => Promise<string>,
  log: Logger,
): Promise<void> {
  let actual: number | null = null;
  try {
    actual = parseRmemDefault(await read("/proc/sys/net/core/rmem_default"));
  } catch {
    // Not Linux, or no access to /proc: the warning below then says the size is not known.
  }
  if (actual !== null && actual >= KERNEL_BUFFER_ADVISED) {
    log.debug("UDP socket receive buffer: {size} (net.core.rmem_default)", {
      size: formatSize(actual),
    });
    return;
  }
  const have = actual === null
    ? "the kernel's default, net.core.rmem_default (not readable here; 208 KiB on most systems)"
    : `${formatSize(actual)} (net.core.rmem_default)`;
  log.warn(
    "The UDP socket's receive buffer in the kernel is {have}: what a burst sends faster than the " +
      "relay reads is dropped there, before it reaches the relay's own buffer " +
      "(--udp-recv-buffer). Deno cannot set it per socket; to raise it: " +
      "sysctl -w net.core.rmem_default={bytes} (keep it in /etc/sysctl.d/), then restart the relay",
    { have, bytes: KERNEL_BUFFER_ADVISED },
  );
}
