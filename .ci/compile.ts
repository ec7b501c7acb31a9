/**
 * `deno task compile`: builds dist/loggly-relay-<target> for every platform with `deno compile`,
 * with the narrowest permissions baked in (lib/permissions.ts), then prints the size and SHA-256
 * of each file and writes dist/SHA256SUMS.
 *
 * `deno compile` needs a `denort` base binary per target, downloaded from dl.deno.land. Where that
 * host cannot be reached, point DENORT_BIN at a local denort (one --target per run) or DENORT_DIR
 * at a folder of `denort-<target>[.exe]` files.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { LOGGLY_HOST, permissionFlags, releaseScope } from "../lib/permissions.ts";
import { v8FlagsArg } from "../lib/runtime_flags.ts";

/** Every platform a release ships for (`deno compile --target` triples). */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** A bad argument to the compile script. */
export class CompileUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompileUsageError";
  }
}

/** What to build and with which permissions. */
export interface CompileOptions {
  targets: string[];
  outDir: string;
  logglyHost: string;
  /** Extra addresses the binary may listen on, beyond 0.0.0.0, [::] and loopback. */
  listen: string[];
  /** Extra paths the binary may read. */
  read: string[];
  /** Extra paths the binary may read and write. */
  write: string[];
  deno: string;
}

const USAGE = `Usage: deno task compile [options]

  --target TRIPLE    build only this target (repeatable; default all: ${TARGETS.join(", ")})
  --out DIR          output folder (default dist)
  --loggly-url URL   the Loggly endpoint the binary may reach (default https://${LOGGLY_HOST})
  --listen HOST      also allow listening on HOST (repeatable)
  --read PATH        also allow reading PATH (repeatable)
  --write PATH       also allow reading and writing PATH (repeatable)
  --deno PATH        the deno executable to compile with (default: the running one)

Environment: DENORT_BIN=/path/to/denort (with one --target) or DENORT_DIR=folder holding
denort-<target> files, where dl.deno.land cannot be reached.`;

/** Reads the script's arguments; throws {@link CompileUsageError}. */
export function parseCompileArgs(args: string[]): CompileOptions | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: "string", multiple: true },
        out: { type: "string" },
        "loggly-url": { type: "string" },
        listen: { type: "string", multiple: true },
        read: { type: "string", multiple: true },
        write: { type: "string", multiple: true },
        deno: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new CompileUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return "help";
  const targets = values.target ?? [...TARGETS];
  for (const target of targets) {
    if (!TARGETS.includes(target)) {
      throw new CompileUsageError(`--target "${target}" is not one of ${TARGETS.join(", ")}`);
    }
  }
  let logglyHost = LOGGLY_HOST;
  if (values["loggly-url"] !== undefined) {
    try {
      logglyHost = new URL(values["loggly-url"]).host;
    } catch {
      throw new CompileUsageError(`--loggly-url "${values["loggly-url"]}" is not a URL`);
    }
  }
  const lists = [values.listen ?? [], values.read ?? [], values.write ?? []];
  for (const value of lists.flat()) {
    if (value === "" || value.includes(",")) {
      throw new CompileUsageError(`"${value}" cannot be allowed: a path or host without commas`);
    }
  }
  return {
    targets,
    outDir: values.out ?? "dist",
    logglyHost,
    listen: lists[0],
    read: lists[1],
    write: lists[2],
    deno: values.deno ?? Deno.execPath(),
  };
}

/** The output file of `target` in `outDir`. */
export function outputPath(outDir: string, target: string): string {
  return `${outDir}/loggly-relay-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/** The `deno compile` arguments for one target. */
export function compileArgs(options: CompileOptions, target: string): string[] {
  const scope = releaseScope(target, options.logglyHost);
  scope.read.push(...options.read, ...options.write);
  scope.write.push(...options.write);
  scope.net.push(...options.listen);
  return [
    "compile",
    "--target",
    target,
    "--output",
    outputPath(options.outDir, target),
    "--exclude-unused-npm", // the test-only npm packages stay out of the binary
    ...permissionFlags(scope),
    v8FlagsArg(),
    // No --include: the one Worker (the UDP reader) runs from a data: URL made from code in
    // lib/syslog/udp_reader.ts, which main.ts imports, so it is embedded like every module.
    "main.ts",
  ];
}

/** The DENORT_BIN to use for `target`, from DENORT_DIR or DENORT_BIN; undefined for a download. */
export function denortFor(
  target: string,
  targets: number,
  env: (name: string) => string | undefined,
): string | undefined {
  const dir = env("DENORT_DIR");
  if (dir) return `${dir}/denort-${target}${target.includes("windows") ? ".exe" : ""}`;
  const bin = env("DENORT_BIN");
  if (bin && targets > 1) {
    throw new CompileUsageError(
      "DENORT_BIN names one base binary, for one target: add --target, or use DENORT_DIR",
    );
  }
  return bin || undefined;
}

/** What to tell the user when `deno compile` failed with `stderr`. */
export function explainFailure(target: string, stderr: string, denort: string | undefined): string {
  if (denort !== undefined && /denort|base binary|Failed to read header/i.test(stderr)) {
    return `deno compile could not use the base binary ${denort} for ${target}: it must be the ` +
      `denort of this Deno version for that target (denort-${target}.zip from dl.deno.land).`;
  }
  if (/dl\.deno\.land|Setting up base binary/.test(stderr)) {
    return `deno compile could not download its base binary (denort) for ${target} from ` +
      `dl.deno.land: this machine cannot reach it. On a machine that can, fetch ` +
      `https://dl.deno.land/release/v${Deno.version.deno}/denort-${target}.zip, unzip it here, ` +
      `and run again with DENORT_BIN=/path/to/denort deno task compile --target ${target} ` +
      `(or DENORT_DIR=folder holding denort-<target> files, for several targets).`;
  }
  return `deno compile failed for ${target}.`;
}

/** `sha256sum`-style line for a file's bytes. */
export async function sumLine(bytes: Uint8Array<ArrayBuffer>, name: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex}  ${name}`;
}

async function main(args: string[]): Promise<number> {
  let options;
  try {
    options = parseCompileArgs(args);
  } catch (error) {
    if (!(error instanceof CompileUsageError)) throw error;
    console.error(`compile: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  Deno.mkdirSync(options.outDir, { recursive: true });
  for (const target of options.targets) {
    let denort;
    try {
      denort = denortFor(target, options.targets.length, (name) => Deno.env.get(name));
    } catch (error) {
      console.error(`compile: ${(error as Error).message}`);
      return 2;
    }
    const env: Record<string, string> = denort === undefined ? {} : { DENORT_BIN: denort };
    const result = await new Deno.Command(options.deno, {
      args: compileArgs(options, target),
      env,
      stdout: "inherit",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    Deno.stderr.writeSync(result.stderr);
    if (!result.success) {
      console.error(`\ncompile: ${explainFailure(target, stderr, denort)}`);
      return 1;
    }
    const path = outputPath(options.outDir, target);
    const bytes = Deno.readFileSync(path);
    const line = await sumLine(bytes, path.slice(path.lastIndexOf("/") + 1));
    console.log(`${(bytes.length / 2 ** 20).toFixed(1).padStart(7)} MiB  ${line}`);
  }
  // Every binary in the folder, so that one-target-per-run builds (DENORT_BIN) add up.
  const names = [...Deno.readDirSync(options.outDir)]
    .filter((e) => e.isFile && e.name.startsWith("loggly-relay-")).map((e) => e.name).sort();
  const sums = await Promise.all(
    names.map((name) => sumLine(Deno.readFileSync(`${options.outDir}/${name}`), name)),
  );
  Deno.writeTextFileSync(`${options.outDir}/SHA256SUMS`, sums.join("\n") + "\n");
  console.log(`Wrote ${options.outDir}/SHA256SUMS (${sums.length} files)`);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
