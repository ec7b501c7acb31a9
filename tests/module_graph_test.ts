/**
 * The module graph is compile-ready: everything main.ts loads is a local file, an npm package
 * from the lockfile or a Node built-in, known before it runs. Nothing is imported from a URL or
 * loaded dynamically at run time, which `deno compile` could not embed.
 */
import assert from "node:assert/strict";
import { run } from "./helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function deno(args: string[]): Promise<string> {
  const out = await run(Deno.execPath(), args, { cwd: ROOT });
  assert.equal(out.code, 0, out.stderr);
  return out.stdout;
}

Deno.test("module graph: every module of main.ts is local, npm: or node:", async () => {
  const info = JSON.parse(await deno(["info", "--json", "main.ts"]));
  const specifiers: string[] = info.modules.map((m: { specifier: string }) => m.specifier);
  assert.ok(specifiers.length > 20, "the graph was read");
  const remote = specifiers.filter((s) => !/^(file|npm|node):/.test(s));
  assert.deepEqual(remote, []);
  assert.ok(specifiers.some((s) => s.startsWith("npm:/hono@")));
  for (const testOnly of ["node-loggly-bulk", "winston-loggly-bulk", "winston"]) {
    assert.ok(
      !specifiers.some((s) => s.startsWith(`npm:/${testOnly}@`)),
      `${testOnly}, a test dependency, is not in the graph`,
    );
  }
});

Deno.test("module graph: deno bundle main.ts succeeds and leaves only Node built-ins outside", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await deno(["bundle", "--platform", "deno", "--output", `${dir}/relay.js`, "main.ts"]);
    const code = await Deno.readTextFile(`${dir}/relay.js`);
    const external = new Set(
      [...code.matchAll(
        /\bfrom\s*"([^"]+)"|\bimport\s*"([^"]+)"|\bimport\s*\(\s*([^)]*)\)|\brequire\s*\(\s*([^)]*)\)/g,
      )]
        .map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]),
    );
    for (const name of external) assert.match(name, /^"?node:[a-z_/]+"?$/, `imports ${name}`);
    assert.ok(external.has("node:sqlite") && external.has("node:tls"), [...external].join(", "));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("module graph: no dynamic import() and no URL imports in the relay's own code", async () => {
  const files = ["main.ts"];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(`${ROOT}${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (path.endsWith(".ts")) files.push(path);
    }
  };
  await walk("lib");
  assert.ok(files.length > 30);
  for (const file of files) {
    const text = await Deno.readTextFile(`${ROOT}${file}`);
    assert.doesNotMatch(text, /\bimport\s*\(/, `${file} imports dynamically`);
    assert.doesNotMatch(text, /\bfrom\s*["'](https?|jsr):/, `${file} imports a URL`);
  }
});
