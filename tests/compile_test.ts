/**
 * The compile script (.ci/compile.ts, `deno task compile`). `deno compile` cannot fetch its
 * base binary here, so the script's own work is tested: the permissions it bakes in, its
 * arguments, and, with a stand-in `deno`, the sizes, checksums and messages it prints.
 */
import assert from "node:assert/strict";
import { mallocEnvAssignments, v8FlagsArg } from "../lib/runtime_flags.ts";
import { readerUrl } from "../lib/syslog/udp_reader.ts";
import { run } from "./helpers.ts";
import {
  compileArgs,
  CompileUsageError,
  denortFor,
  outputPath,
  parseCompileArgs,
  TARGETS,
} from "../.ci/compile.ts";

const SCRIPT = new URL("../.ci/compile.ts", import.meta.url).pathname;

function options(args: string[] = []) {
  const parsed = parseCompileArgs(args);
  assert.notEqual(parsed, "help");
  return parsed as Exclude<typeof parsed, "help">;
}

Deno.test("compile: every target gets the narrow permissions and nothing more", () => {
  const o = options();
  assert.deepEqual(o.targets, [...TARGETS]);
  for (const target of TARGETS) {
    const args = compileArgs(o, target);
    const windows = target.includes("windows");
    const state = windows ? "C:\\ProgramData\\loggly-relay" : "/var/lib/loggly-relay";
    const read = windows ? [state] : [
      "/etc/loggly-relay",
      "/etc/syslog2loggly.conf",
      "/etc/ssl",
      "/etc/pki",
      "/etc/letsencrypt",
      "/run/credentials",
      state,
    ];
    assert.deepEqual(args.filter((a) => a.startsWith("--allow-") || a === "--no-prompt"), [
      "--no-prompt",
      `--allow-read=${read.join(",")}`,
      `--allow-write=${state}`,
      "--allow-net=0.0.0.0,[::],127.0.0.1,[::1],localhost,logs-01.loggly.com",
      "--allow-env=LOGGLY_TOKEN,LOGGLY_RELAY_*,CREDENTIALS_DIRECTORY",
    ]);
    assert.ok(!args.some((a) => /^(-A|--allow-all|--allow-(run|ffi|sys))/.test(a)));
    // The one unstable API: Deno.listenDatagram, for UDP.
    assert.deepEqual(args.filter((a) => a.startsWith("--unstable")), ["--unstable-net"]);
    assert.deepEqual(args.slice(0, 5), [
      "compile",
      "--target",
      target,
      "--output",
      outputPath("dist", target),
    ]);
    assert.ok(args.includes("--exclude-unused-npm"));
    assert.ok(args.includes("--deny-import"));
    assert.equal(args.at(-1), "main.ts");
  }
  assert.equal(
    outputPath("dist", "x86_64-pc-windows-msvc"),
    "dist/loggly-relay-x86_64-pc-windows-msvc.exe",
  );
});

Deno.test("compile: every Worker runs from a data: URL, so the binary needs no --include", async () => {
  // A worker started from a module file would need `--include` here, and read access to that file
  // under `deno run` with the release permissions, which they do not grant.
  const lib = new URL("../lib/", import.meta.url);
  const starts: string[] = [];
  const walk = async (dir: URL) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir));
      else if (entry.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(new URL(entry.name, dir));
        for (const m of text.matchAll(/new Worker\(\s*([^\s(,]+)/g)) starts.push(m[1]);
      }
    }
  };
  await walk(lib);
  assert.ok(starts.length > 0);
  assert.deepEqual(starts.filter((start) => start !== "readerUrl"), []);
  const url = readerUrl({
    hostname: "127.0.0.1",
    port: 0,
    maxMessageBytes: 1024,
    chunkBytes: 2048,
    maxChunks: 2,
    flushMs: 2,
  });
  assert.match(url, /^data:text\/javascript,/);
  assert.ok(
    !compileArgs(options(), "x86_64-unknown-linux-gnu").some((a) => a.startsWith("--include")),
  );
});

Deno.test("compile: --loggly-url, --listen, --read and --write widen only what they name", () => {
  const o = options([
    "--target",
    "aarch64-unknown-linux-gnu",
    "--loggly-url",
    "https://proxy.example:8443/x",
    "--listen",
    "10.0.0.5",
    "--read",
    "/opt/certs",
    "--write",
    "/srv/spool",
  ]);
  const args = compileArgs(o, "aarch64-unknown-linux-gnu");
  assert.ok(
    args.includes("--allow-net=0.0.0.0,[::],127.0.0.1,[::1],localhost,proxy.example:8443,10.0.0.5"),
  );
  assert.ok(
    args.includes(
      "--allow-read=/etc/loggly-relay,/etc/syslog2loggly.conf,/etc/ssl,/etc/pki,/etc/letsencrypt," +
        "/run/credentials,/var/lib/loggly-relay,/opt/certs,/srv/spool",
    ),
  );
  assert.ok(args.includes("--allow-write=/var/lib/loggly-relay,/srv/spool"));
});

Deno.test("compile: bad arguments are clear errors", () => {
  for (
    const [args, pattern] of [
      [["--target", "mips"], /--target "mips" is not one of/],
      [["--read", "/a,/b"], /without commas/],
      [["--loggly-url", "nope"], /--loggly-url "nope" is not a URL/],
      [["--bogus"], /bogus/],
    ] as const
  ) {
    assert.throws(
      () => parseCompileArgs([...args]),
      (e: Error) => e instanceof CompileUsageError && pattern.test(e.message),
    );
  }
  assert.equal(parseCompileArgs(["--help"]), "help");
});

Deno.test("compile: DENORT_DIR gives each target its base binary; DENORT_BIN only one", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(
    denortFor("x86_64-apple-darwin", 5, env({ DENORT_DIR: "/d" })),
    "/d/denort-x86_64-apple-darwin",
  );
  assert.equal(
    denortFor("x86_64-pc-windows-msvc", 5, env({ DENORT_DIR: "/d" })),
    "/d/denort-x86_64-pc-windows-msvc.exe",
  );
  assert.equal(denortFor("x86_64-apple-darwin", 1, env({ DENORT_BIN: "/b" })), "/b");
  assert.equal(denortFor("x86_64-apple-darwin", 1, env({})), undefined);
  assert.throws(
    () => denortFor("x86_64-apple-darwin", 2, env({ DENORT_BIN: "/b" })),
    CompileUsageError,
  );
});

/** Runs the script with `fake` (a shell script body) standing in for deno. */
async function runWithFakeDeno(fake: string, args: string[]) {
  const dir = await Deno.makeTempDir();
  const deno = `${dir}/deno`;
  await Deno.writeTextFile(deno, `#!/bin/sh\n${fake}\n`, { mode: 0o755 });
  const out = await run(
    Deno.execPath(),
    ["run", "-A", SCRIPT, "--deno", deno, "--out", `${dir}/dist`, ...args],
    { env: { DENORT_BIN: "", DENORT_DIR: "" } },
  );
  return { dir, ...out };
}

Deno.test("compile: prints the size and SHA-256 of each file and writes SHA256SUMS", async () => {
  // The stand-in writes "binary for TARGET" to the --output path, as deno compile would a binary.
  const fake = `while [ "$1" != "--output" ]; do [ "$1" = "--target" ] && t=$2; shift; done
printf 'binary for %s' "$t" > "$2"`;
  const r = await runWithFakeDeno(fake, []);
  try {
    assert.equal(r.code, 0, r.stderr);
    const sums = await Deno.readTextFile(`${r.dir}/dist/SHA256SUMS`);
    const lines = sums.trim().split("\n");
    assert.equal(lines.length, TARGETS.length);
    for (const target of TARGETS) {
      const name = outputPath("", target).slice(1);
      const bytes = new TextEncoder().encode(`binary for ${target}`);
      const hex = Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
      assert.ok(lines.includes(`${hex}  ${name}`), `${name} in\n${sums}`);
      assert.match(r.stdout, new RegExp(`0\\.0 MiB  ${hex}  ${name}`));
    }
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("compile: an unreachable dl.deno.land is explained, with DENORT_BIN", async () => {
  // What deno compile 2.9.6 printed here, where dl.deno.land does not resolve.
  const stderr = [
    "error: Writing deno compile executable to temporary file 'x.tmp'",
    "Caused by:",
    "    0: Setting up base binary.",
    "    1: error sending request for url (https://dl.deno.land/release/v2.9.6/" +
    "denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error",
  ];
  const fake = stderr.map((line) => `echo "${line}" >&2`).join("\n") + "\nexit 1";
  const r = await runWithFakeDeno(fake, ["--target", "x86_64-unknown-linux-gnu"]);
  try {
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /could not download its base binary \(denort\) for x86_64-unknown-linux-gnu/,
    );
    assert.match(
      r.stderr,
      /DENORT_BIN=\/path\/to\/denort deno task compile --target x86_64-unknown-linux-gnu/,
    );
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("compile, deno task start and the benchmark run the relay with the same V8 flags", async () => {
  const flag = v8FlagsArg();
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  for (const target of TARGETS) assert.ok(compileArgs(options(), target).includes(flag), target);
  const tasks = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)))
    .tasks as Record<string, string>;
  assert.ok(tasks.start.split(" ").includes(flag), tasks.start);
  // The malloc settings cannot be baked in: the start task and the README's unit set them.
  assert.ok(tasks.start.startsWith(`${mallocEnvAssignments()} deno run `), tasks.start);
  assert.ok(readme.includes(`Environment=${mallocEnvAssignments()}\n`), "README unit");
  // Every benchmark that starts a relay of its own (the others go through tcp_throughput.ts).
  for (const file of ["tcp_throughput.ts", "soak.ts", "udp_rates.ts"]) {
    const bench = await Deno.readTextFile(new URL(`./bench/${file}`, import.meta.url));
    assert.match(bench, /v8FlagsArg\(\)/, file);
    assert.match(bench, /\{ \.\.\.MALLOC_ENV \}/, file);
  }
});
