/**
 * Events Loggly refused for good (4xx other than 401/403/413/429) are appended to a file as
 * NDJSON, one object per event with Loggly's answer, so that nothing is discarded silently.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { M, type Metrics } from "../metrics.ts";
import type { DeadLetter } from "./sender.ts";

const encoder = new TextEncoder();

/** Returns a {@link DeadLetter} that appends to `path`, or, with no path, only counts and logs. */
export function makeDeadLetter(path: string | null, metrics: Metrics, log: Logger): DeadLetter {
  return async (records, status, answer) => {
    if (path === null) {
      metrics.inc(
        M.dropped,
        { input: "any", reason: `refused by Loggly (${status})` },
        records.length,
      );
      log.error(
        "Dropped {events} events Loggly refused with {status}; give --dead-letter FILE to keep them",
        { events: records.length, status },
      );
      return;
    }
    const head = `{"time":${JSON.stringify(new Date().toISOString())},"status":${status},` +
      `"answer":${JSON.stringify(answer.slice(0, 2000))},"event":`;
    const lines = records.map((r) => head + new TextDecoder().decode(r.bytes) + "}\n").join("");
    try {
      await Deno.writeFile(path, encoder.encode(lines), { append: true, create: true });
      metrics.inc(M.deadLettered, {}, records.length);
    } catch (error) {
      metrics.inc(M.dropped, { input: "any", reason: "dead-letter write failed" }, records.length);
      log.error("Cannot append {events} refused events to --dead-letter {path}: {error}", {
        events: records.length,
        path,
        error,
      });
    }
  };
}
