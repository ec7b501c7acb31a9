/**
 * Events Loggly refused for good (400, or 413 for a single event) are appended to a file as
 * NDJSON, one object per event with Loggly's answer and the request's tags (and account, for an
 * --accept-token), so that nothing is discarded silently.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { M, type Metrics } from "../metrics.ts";
import { eventsOf } from "./batcher.ts";
import { redactToken } from "../tokens.ts";
import type { DeadLetter } from "./sender.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Returns a {@link DeadLetter} that appends to `path`, or, with no path, only counts and logs.
 * Loggly's answer may quote the request URL: `redact` hides the token in it.
 */
export function makeDeadLetter(
  path: string | null,
  metrics: Metrics,
  log: Logger,
  redact: (text: string) => string,
): DeadLetter {
  return async (batch, status, rawAnswer) => {
    const answer = redact(rawAnswer.slice(0, 2000));
    const events = batch.count;
    if (path === null) {
      metrics.inc(M.dropped, { input: "any", reason: `refused by Loggly (${status})` }, events);
      log.error(
        "Loggly refused {events} events with {status} ({answer}); they are dropped: give " +
          "--dead-letter FILE to keep them",
        { events, status, answer },
      );
      return;
    }
    const head = `{"time":${JSON.stringify(new Date().toISOString())},"status":${status},` +
      `"answer":${JSON.stringify(answer)}`;
    // Tags, and the account (by its last characters) when it was an --accept-token, so that a
    // replay goes where the event was meant to.
    const route = `,"tags":${JSON.stringify(batch.tags)}` +
      (batch.token === undefined ? "" : `,"account":${JSON.stringify(redactToken(batch.token))}`);
    let lines = "";
    for (const event of eventsOf(batch)) {
      lines += `${head}${route},"event":${decoder.decode(event)}}\n`;
    }
    try {
      await Deno.writeFile(path, encoder.encode(lines), { append: true, create: true });
      metrics.inc(M.deadLettered, {}, events);
      log.warn("Loggly refused {events} events with {status} ({answer}); appended to {path}", {
        events,
        status,
        answer,
        path,
      });
    } catch (error) {
      metrics.inc(M.dropped, { input: "any", reason: "dead-letter write failed" }, events);
      log.error("Cannot append {events} refused events to --dead-letter {path}: {error}", {
        events,
        path,
        error,
      });
    }
  };
}
