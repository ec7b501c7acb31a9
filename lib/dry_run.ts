import type { Drain, Undelivered } from "./loggly/sender.ts";
import { type EventQueue, receiptOf } from "./queue/queue.ts";
import { Notifier } from "./signal.ts";

/** --dry-run: writes each event's JSON line to `out` instead of sending it. */
export class DryRunDrain implements Drain {
  readonly #queue: EventQueue;
  readonly #out: WritableStreamDefaultWriter<Uint8Array>;
  readonly #wake = new Notifier();
  #stopping = false;
  #loop: Promise<void> | null = null;

  constructor(queue: EventQueue, out: WritableStream<Uint8Array>) {
    this.#queue = queue;
    this.#out = out.getWriter();
    queue.onAvailable(() => this.#wake.notify());
  }

  readonly failingSince = null;
  readonly lastAnswer = null;

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(timeoutMs: number): Promise<Undelivered> {
    this.#stopping = true;
    this.#wake.notify();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
    await Promise.race([this.#loop, timeout]); // stdout may be blocked by a stalled reader
    clearTimeout(timer);
    return { unsent: this.#queue.heldEvents, inFlight: 0 }; // nothing is ever in flight
  }

  async #run(): Promise<void> {
    while (true) {
      const records = this.#queue.take(1000);
      // One write of copied bytes: taken views may be reused once the inputs push again.
      const receipt = receiptOf(records);
      const out = new Uint8Array(receipt.bytes + records.length);
      let at = 0;
      for (const record of records) {
        out.set(record.bytes, at);
        at += record.bytes.length;
        out[at++] = 10;
      }
      if (out.length > 0) await this.#out.write(out);
      this.#queue.ack(receipt);
      if (records.length > 0) continue;
      if (this.#stopping) return;
      await this.#wake.wait(null);
    }
  }
}
