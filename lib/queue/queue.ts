/**
 * What the inputs put into the queue and the sender takes out: an encoded event, the tags
 * (sorted, comma-joined) of the request that must carry it, and the account it goes to.
 *
 * @module
 */
import { addId, type IdRuns } from "./id_runs.ts";

/** One event ready to send. */
export interface QueuedRecord {
  /** The event's JSON, UTF-8, one line. */
  readonly bytes: Uint8Array;
  /** Sorted, comma-joined Loggly tags ("" for none); events with different tags go in different requests. */
  readonly tags: string;
  /** An accepted Loggly token other than the relay's own (`--accept-token`); absent for the own. */
  readonly token?: string;
  /** The record's place in a durable queue; absent in memory. */
  readonly id?: number;
}

/** What a queue needs to release delivered events: how many, their bytes, and their ids. */
export interface Receipt {
  readonly events: number;
  /** The events' bytes (without separators). */
  readonly bytes: number;
  /** Their places in a durable queue, as runs (see id_runs.ts); absent in memory. */
  readonly idRuns?: readonly number[];
}

/** The receipt for `records` taken from a queue. */
export function receiptOf(records: readonly QueuedRecord[]): Receipt {
  let bytes = 0;
  for (const record of records) bytes += record.bytes.length;
  if (records.length === 0 || records[0].id === undefined) return { events: records.length, bytes };
  const idRuns: IdRuns = [];
  for (const record of records) addId(idRuns, record.id!);
  return { events: records.length, bytes, idRuns };
}

/**
 * The queue between inputs and sender. A record counts against the bounds from `push` until
 * `ack`: taking it out to send does not free its place, so an unsent event is never lost to
 * back-pressure (at-least-once).
 */
export interface EventQueue {
  /**
   * Adds a record unless the queue is full; false means it was not taken (the caller counts the
   * drop). Like `push`, it copies the bytes.
   */
  offer(record: QueuedRecord): boolean;
  /**
   * Adds a record even past the bounds (for inputs that then wait on `whenNotFull`). The bytes
   * are copied: the caller may reuse its buffer right after.
   */
  push(record: QueuedRecord): void;
  /** True when held events or bytes reached a bound. */
  readonly full: boolean;
  /** Resolves once the queue is below its bounds. */
  whenNotFull(): Promise<void>;
  /**
   * Takes up to `max` records to send (they stay held until acked). Their bytes may be views of
   * the queue's memory, valid only until the queue is next pushed to or taken from: copy them.
   */
  take(max: number): QueuedRecord[];
  /** Records waiting to be taken. */
  readonly pending: number;
  /** Calls `listener` whenever records become available to take. */
  onAvailable(listener: () => void): void;
  /** Releases events that were delivered (or dead-lettered). */
  ack(receipt: Receipt): void;
  /** Events held: waiting plus taken but not acked. */
  readonly heldEvents: number;
  /** Bytes held. */
  readonly heldBytes: number;
  /** Resolves once every record pushed so far is as durable as the queue makes it. */
  flushed(): Promise<void>;
  /** Makes what is held durable (if the queue is) and releases its resources. */
  close(): Promise<void>;
}
