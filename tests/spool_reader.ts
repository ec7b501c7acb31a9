/**
 * Reads what a relay's spool holds, from a copy of its files: opening the original would run
 * SQLite's recovery on it and hide what the relay itself must recover.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";

/** The events in the spool at `dir`, in order, parsed. */
export async function spooledEvents(dir: string): Promise<Record<string, unknown>[]> {
  const copy = await Deno.makeTempDir({ prefix: "spool-copy-" });
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile) await Deno.copyFile(`${dir}/${entry.name}`, `${copy}/${entry.name}`);
    }
    const db = new DatabaseSync(`${copy}/spool.db`);
    try {
      const rows = db.prepare("SELECT body FROM events ORDER BY id").all() as {
        body: Uint8Array;
      }[];
      return rows.map((row) => JSON.parse(new TextDecoder().decode(row.body)));
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
}
