/**
 * The HTTP sender of the benchmark suite, run as a process of its own (as loggen is), so that it
 * does not share the benchmark process with the sink:
 *
 *   deno run --allow-net=127.0.0.1 tests/bench/http_writer.ts --url URL --events N [--size B]
 *     [--batch N] [--clients C]
 *
 * POSTs `--events` newline-separated JSON events of `--size` bytes to URL (the relay's
 * `/bulk/TOKEN/tag/TAG/`), `--batch` per request, with `--clients` requests in flight. A 503 (the
 * relay's queue is full) is retried after 20 ms rather than after its Retry-After, and counted.
 * Prints "sending" just before the first request, and a summary line at the end; exits 1 on any
 * other answer than 200 or 503.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** What to send. */
export interface WriterOptions {
  url: string;
  events: number;
  size: number;
  batch: number;
  clients: number;
}

/** How it went. */
export interface WriterSummary {
  events: number;
  requests: number;
  /** Requests answered 503 and sent again. */
  retried: number;
  seconds: number;
}

/** The first line this process prints once it starts sending. */
export const SENDING = "sending";
const RETRY_MS = 20;

/** `count` JSON lines of `size` bytes each (LF included), numbered from 0. */
function body(count: number, size: number): Uint8Array<ArrayBuffer> {
  const lines: string[] = [];
  for (let seq = 0; seq < count; seq++) {
    const head = `{"source":"bench-http","seq":${seq},"pad":"`;
    lines.push(head + "x".repeat(Math.max(0, size - head.length - 3)) + '"}\n');
  }
  return new TextEncoder().encode(lines.join(""));
}

/** Sends every event; resolves with the summary, rejects on an unexpected answer. */
export async function sendBulk(o: WriterOptions): Promise<WriterSummary> {
  const full = body(o.batch, o.size);
  const batches = Math.ceil(o.events / o.batch);
  const rest = o.events - (batches - 1) * o.batch;
  const last = rest === o.batch ? full : body(rest, o.size);
  let next = 0, requests = 0, retried = 0;
  const started = performance.now();
  console.log(SENDING);
  const client = async () => {
    for (let k = next++; k < batches; k = next++) {
      for (;;) {
        const response = await fetch(o.url, {
          method: "POST",
          headers: { "content-type": "text/plain" },
          body: k === batches - 1 ? last : full,
          signal: AbortSignal.timeout(60_000),
        });
        const text = await response.text();
        requests++;
        if (response.status === 200) break;
        if (response.status !== 503) {
          throw new Error(`POST answered ${response.status}: ${text.slice(0, 300)}`);
        }
        retried++;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, client));
  return { events: o.events, requests, retried, seconds: (performance.now() - started) / 1000 };
}

function parse(args: string[]): WriterOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      url: { type: "string" },
      events: { type: "string" },
      size: { type: "string", default: "200" },
      batch: { type: "string", default: "1000" },
      clients: { type: "string", default: "4" },
    },
  });
  const int = (name: string, value: string | undefined) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer >= 1`);
    return n;
  };
  if (!values.url) throw new Error("--url is required");
  return {
    url: values.url,
    events: int("events", values.events),
    size: int("size", values.size),
    batch: int("batch", values.batch),
    clients: int("clients", values.clients),
  };
}

if (import.meta.main) {
  try {
    const s = await sendBulk(parse(Deno.args));
    console.log(
      `sent ${s.events} events in ${s.requests} requests (${s.retried} retried after 503) ` +
        `in ${s.seconds.toFixed(3)} s`,
    );
  } catch (error) {
    console.error(`http_writer: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
