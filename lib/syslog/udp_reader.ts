/**
 * The UDP reader thread: a Worker that owns the syslog UDP socket and does nothing but read it,
 * so that the kernel's socket buffer is drained at full speed during a burst while the main
 * thread parses. Datagrams are copied into chunks (transferable ArrayBuffers) that go to the main
 * thread in batches and come back to be filled again.
 *
 * The chunks are the relay's own receive buffer (--udp-recv-buffer): no more than `maxChunks` of
 * `chunkBytes` ever exist, so what was read but not yet parsed stays within that. When every
 * chunk is full or with the main thread, the reader drops datagrams and reports how many.
 *
 * The worker runs {@link readerMain} from its own source text, as a `data:` URL. A worker
 * started from a module file needs read access to that file under `deno run`, which release
 * permissions do not grant, and `deno compile` and `deno bundle` would need to be told of a
 * second entry point. So readerMain is self-contained: it uses no import and no module-level
 * name (types aside), and gets its settings and the one layout constant as arguments.
 *
 * A chunk holds datagram bytes from its start, back to back, and from its end backwards, per
 * datagram, {@link WORDS_PER_DATAGRAM} uint32: the bytes kept, the datagram's length, and the
 * index of its sender in the chunk's `peers`.
 *
 * @module
 */

/** Uint32 words at the end of a chunk per datagram: bytes kept, original length, peer index. */
const WORDS_PER_DATAGRAM = 3;

/** What the reader is started with. */
export interface ReaderSettings {
  hostname: string;
  port: number;
  /** Bytes kept of a datagram (--max-message-bytes); the rest is cut. */
  maxMessageBytes: number;
  /** Size of one chunk, a multiple of 4. */
  chunkBytes: number;
  /** Chunks that may exist at once. */
  maxChunks: number;
  /** A partly filled chunk is posted this long after its first datagram, if the main thread is idle. */
  flushMs: number;
}

/** What a reload changes in a running reader. */
export type ReaderLimits = Pick<ReaderSettings, "maxMessageBytes" | "chunkBytes" | "maxChunks">;

/** Messages to the reader. */
export type ToReader =
  /** A chunk the main thread is done with. */
  | { type: "return"; buffer: ArrayBuffer }
  /** New limits, for datagrams read from now on; answered with "configured". */
  | ({ type: "configure" } & ReaderLimits)
  | { type: "close" };

/** Datagrams read, and those dropped since the last message. */
export interface ChunkMessage {
  type: "chunk";
  buffer: ArrayBuffer;
  count: number;
  peers: string[];
  dropped: number;
}

/** Messages from the reader. */
export type FromReader =
  | { type: "bound"; hostname: string; port: number }
  | { type: "failed"; name: string; message: string }
  | ChunkMessage
  /** Datagrams dropped while no chunk was posted to say so. */
  | { type: "dropped"; count: number }
  | { type: "receive-error"; message: string }
  /** The limits of a "configure" are in force. */
  | { type: "configured" }
  /** The socket is closed and everything read was posted. */
  | { type: "closed" };

/** One datagram of a chunk. */
export interface Datagram {
  bytes: Uint8Array;
  /** Its length on the wire; more than `bytes.length` when it was cut. */
  originalBytes: number;
  peer: string;
}

/** Calls `visit` for each datagram of a chunk, in the order they arrived. */
export function forEachDatagram(chunk: ChunkMessage, visit: (datagram: Datagram) => void): void {
  const words = new Uint32Array(chunk.buffer);
  let offset = 0;
  let at = words.length - WORDS_PER_DATAGRAM;
  for (let i = 0; i < chunk.count; i++, at -= WORDS_PER_DATAGRAM) {
    const kept = words[at];
    visit({
      bytes: new Uint8Array(chunk.buffer, offset, kept),
      originalBytes: words[at + 1],
      peer: chunk.peers[words[at + 2]],
    });
    offset += kept;
  }
}

/** Where to start a reader from: `new Worker(readerUrl(settings), { type: "module" })`. */
export function readerUrl(settings: ReaderSettings): string {
  // The loop runs in the module's own evaluation (top-level await): Deno 2.9 reads a socket in a
  // worker much faster than from a loop started by a message (half the kernel drops at 600k
  // datagrams/s in our measurements).
  const args = `${JSON.stringify(settings)}, ${WORDS_PER_DATAGRAM}`;
  const source = `await (${readerMain.toString()})(${args});`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

/** The worker's global scope, as far as the reader uses it. */
interface ReaderScope {
  onmessage: ((event: MessageEvent<ToReader>) => void) | null;
  postMessage(message: FromReader, transfer?: Transferable[]): void;
}

/** A chunk being filled. */
interface Filling {
  buffer: ArrayBuffer;
  bytes: Uint8Array;
  words: Uint32Array;
  /** Bytes used from the start. */
  used: number;
  count: number;
  peers: string[];
  peerIndex: Map<string, number>;
  /** Index of the last datagram's peer. */
  lastPeer: number;
}

/** The worker's code; runs from its source text, so it may use nothing from outside. */
async function readerMain(settings: ReaderSettings, wordsPerDatagram: number): Promise<void> {
  const scope = globalThis as unknown as ReaderScope;
  /** Free chunks kept for reuse after a burst; the others are released. */
  const keepFree = 4;
  const receiveErrorLogMs = 10_000;
  const receiveErrorPauseMs = 10;
  let closing = false;
  const free: ArrayBuffer[] = [];
  let allocated = 0;
  let inFlight = 0;
  let current: Filling | null = null;
  let dropped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The flush time passed while the main thread was busy: post on the next return. */
  let due = false;

  let socket: Deno.DatagramConn;
  try {
    socket = Deno.listenDatagram({
      hostname: settings.hostname,
      port: settings.port,
      transport: "udp",
    });
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    scope.postMessage({ type: "failed", name, message });
    return;
  }
  scope.onmessage = (event) => {
    const message = event.data;
    if (message.type === "return") giveBack(message.buffer);
    else if (message.type === "configure") configure(message);
    else {
      closing = true;
      socket.close();
    }
  };
  const { hostname, port } = socket.addr as Deno.NetAddr;
  scope.postMessage({ type: "bound", hostname, port });

  const scratch = new Uint8Array(65_535); // the largest UDP payload: nothing is cut here
  let lastErrorPost = -Infinity;
  while (!closing) {
    let data: Uint8Array;
    let remote: Deno.Addr;
    try {
      [data, remote] = await socket.receive(scratch);
    } catch (error) {
      if (closing || error instanceof Deno.errors.BadResource) break;
      if (Date.now() - lastErrorPost >= receiveErrorLogMs) {
        lastErrorPost = Date.now();
        scope.postMessage({ type: "receive-error", message: String(error) });
      }
      await new Promise((resolve) => setTimeout(resolve, receiveErrorPauseMs));
      continue;
    }
    add(data, (remote as Deno.NetAddr).hostname);
  }
  flush();
  scope.postMessage({ type: "closed" });

  function add(data: Uint8Array, peer: string): void {
    // Cut to --max-message-bytes, or to a chunk where --udp-recv-buffer is smaller than that:
    // marked as cut either way (the main thread sees the original length), never dropped.
    const room = settings.chunkBytes - 4 * wordsPerDatagram;
    const kept = Math.min(data.length, settings.maxMessageBytes, room);
    const needed = kept + 4 * wordsPerDatagram;
    if (current !== null && !fits(current, needed)) flush();
    current ??= take();
    if (current === null) return drop(); // every chunk is full or with the main thread
    const chunk = current;
    chunk.bytes.set(data.subarray(0, kept), chunk.used);
    chunk.used += kept;
    // Most datagrams come from the sender of the one before: compare before looking up.
    let index = chunk.lastPeer;
    if (peer !== chunk.peers[index]) {
      index = chunk.peerIndex.get(peer) ?? chunk.peers.push(peer) - 1;
      chunk.peerIndex.set(peer, index);
      chunk.lastPeer = index;
    }
    const at = chunk.words.length - wordsPerDatagram * (chunk.count + 1);
    chunk.words[at] = kept;
    chunk.words[at + 1] = data.length;
    chunk.words[at + 2] = index;
    chunk.count++;
    pending();
  }

  function drop(): void {
    dropped++;
    pending();
  }

  function fits(chunk: Filling, needed: number): boolean {
    return chunk.used + needed <= chunk.buffer.byteLength - 4 * wordsPerDatagram * chunk.count;
  }

  /** A free chunk, a new one while fewer than maxChunks exist, or null. */
  function take(): Filling | null {
    let buffer = free.pop();
    if (buffer === undefined && allocated < settings.maxChunks) {
      allocated++;
      buffer = new ArrayBuffer(settings.chunkBytes);
    }
    if (buffer === undefined) return null;
    return {
      buffer,
      bytes: new Uint8Array(buffer),
      words: new Uint32Array(buffer),
      used: 0,
      count: 0,
      peers: [],
      peerIndex: new Map(),
      lastPeer: 0,
    };
  }

  /** Something waits to be posted: post it within flushMs. */
  function pending(): void {
    timer ??= setTimeout(flushDue, settings.flushMs);
  }

  function flushDue(): void {
    timer = undefined;
    if (inFlight === 0) flush();
    else due = true; // the main thread is busy: post when it gives a chunk back
  }

  /** Hands the chunk being filled (or else the drop count) to the main thread. */
  function flush(): void {
    due = false;
    clearTimeout(timer);
    timer = undefined;
    if (current !== null && current.count > 0) {
      const { buffer, count, peers } = current;
      current = null;
      inFlight++;
      scope.postMessage({ type: "chunk", buffer, count, peers, dropped }, [buffer]);
    } else if (dropped > 0) {
      scope.postMessage({ type: "dropped", count: dropped });
    }
    dropped = 0;
  }

  function giveBack(buffer: ArrayBuffer): void {
    inFlight--;
    // A chunk of another size (the limits changed) or beyond a lowered maxChunks is released.
    const reuse = buffer.byteLength === settings.chunkBytes && allocated <= settings.maxChunks;
    if (free.length < keepFree && reuse) free.push(buffer);
    else allocated--;
    if (due) flush();
  }

  function configure(limits: ReaderLimits): void {
    if (limits.chunkBytes !== settings.chunkBytes) {
      // Chunks of the old size go: the one being filled to the main thread, free ones away.
      flush();
      allocated -= free.length;
      free.length = 0;
    }
    settings.maxMessageBytes = limits.maxMessageBytes;
    settings.chunkBytes = limits.chunkBytes;
    settings.maxChunks = limits.maxChunks;
    scope.postMessage({ type: "configured" });
  }
}
