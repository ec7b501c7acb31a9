/**
 * Runs tests/smoke.ts the two ways the release uses it: against `deno run` with the release
 * permissions (what CI can run here), and against an executable given with --binary (here a
 * wrapper script standing in for the compiled binary, which cannot be built on this machine).
 */
import assert from "node:assert/strict";
import { permissionFlags, releaseScope } from "../lib/permissions.ts";
import { run } from "./helpers.ts";
import { MAIN } from "./relay_process.ts";

const SMOKE = new URL("./smoke.ts", import.meta.url).pathname;

async function smoke(args: string[]): Promise<string> {
  const out = await run(Deno.execPath(), ["run", "-A", SMOKE, ...args]);
  const text = out.stdout + out.stderr;
  assert.equal(out.code, 0, text);
  return text;
}

Deno.test("smoke: deno run main.ts with the release permissions passes every check", async () => {
  const text = await smoke([]);
  assert.match(text, /smoke: 6 passed, 0 failed/);
  assert.match(text, /--allow-read=\/etc\/loggly-relay,/); // really the narrowed permissions
  assert.doesNotMatch(text, /--allow-all|\s-A\s/);
});

Deno.test("smoke: --binary runs any executable", async () => {
  const dir = await Deno.makeTempDir();
  const binary = `${dir}/loggly-relay`;
  const flags = permissionFlags(releaseScope(Deno.build.target)).map((f) => `'${f}'`).join(" ");
  try {
    await Deno.writeTextFile(
      binary,
      `#!/bin/sh\nexec '${Deno.execPath()}' run ${flags} '${MAIN}' "$@"\n`,
      { mode: 0o755 },
    );
    const text = await smoke(["--binary", binary]);
    assert.match(text, new RegExp(`smoke: ${binary}\n`));
    assert.match(text, /smoke: 6 passed, 0 failed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
