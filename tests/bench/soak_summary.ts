/**
 * The soak summary the benchmark suite prints: read from a CSV that soak.ts wrote (by default the
 * newest tests/bench/results/soak-*.csv), not measured anew, since a soak takes half an hour.
 *
 * @module
 */
import { fmt, fmtInt, MiB } from "./tcp_throughput.ts";
import { readCsv, stats } from "./soak.ts";

/** Where soak CSVs are kept with the repository. */
export const RESULTS_DIR: string = new URL("./results/", import.meta.url).pathname;

/** The newest soak-*.csv in `dir` (by modification time), or null if there is none. */
export async function newestSoakCsv(dir: string): Promise<string | null> {
  let best: { path: string; mtime: number } | null = null;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !/^soak-.*\.csv$/.test(entry.name)) continue;
      const path = `${dir.replace(/\/$/, "")}/${entry.name}`;
      const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
      if (!best || mtime > best.mtime) best = { path, mtime };
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return best?.path ?? null;
}

/** The summary lines of one soak CSV. */
export function soakSummary(path: string, text: string): string[] {
  const samples = readCsv(text);
  const run = samples.filter((s) => s.phase === "run");
  const last = samples.at(-1);
  if (!last || run.length === 0) return [`Soak summary: ${path} holds no samples of a run`];
  const settled = run.filter((s) => s.t >= 60);
  const window = settled.length >= 2 ? settled : run;
  const rss = stats(window.map((s) => s.rss));
  const idle = samples.find((s) => s.phase === "idle");
  const cpu = last.cpu - (idle?.cpu ?? 0);
  const missing = last.offered - last.delivered;
  return [
    `Soak summary, from ${path}:`,
    `  sending for ${fmt(run.at(-1)!.t / 60, 1)} min`,
    `  RSS ${settled.length >= 2 ? "after the first minute" : "(under 2 min of samples: all)"}: ` +
    `min ${fmt(rss.min / MiB)} MiB, max ${fmt(rss.max / MiB)} MiB, spread ` +
    `${fmt((rss.max - rss.min) / MiB)} MiB (${fmt(100 * (rss.max - rss.min) / rss.min)}% of min)`,
    `  events delivered ${fmtInt(last.delivered)} of ${fmtInt(last.offered)} sent` +
    (missing === 0 ? " (all)" : missing > 0 ? ` (${fmtInt(missing)} MISSING)` : " (duplicates?)"),
    `  CPU ${fmt(cpu / last.delivered * 1e6, 2)} µs/event (${fmt(cpu, 1)} CPU s over the soak)`,
  ];
}

/** Prints the summary of `csv`, or of the newest soak CSV in RESULTS_DIR, or says there is none. */
export async function printSoakSummary(csv: string | null): Promise<void> {
  const path = csv ?? await newestSoakCsv(RESULTS_DIR);
  if (path === null) {
    const elsewhere = await newestSoakCsv(Deno.env.get("TMPDIR") ?? "/tmp");
    console.log(
      `Soak summary: none; there is no soak-*.csv in ${RESULTS_DIR} (run deno task bench:soak ` +
        "--csv tests/bench/results/soak-<date>.csv" +
        (elsewhere ? `, or pass --soak-csv ${elsewhere}, the newest in the temp dir` : "") +
        ")",
    );
    return;
  }
  console.log(soakSummary(path, await Deno.readTextFile(path)).join("\n"));
}
