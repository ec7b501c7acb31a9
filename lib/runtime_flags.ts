/**
 * V8 settings every way of running the relay uses: `deno task start`, `deno compile` (baked into
 * the binary) and the benchmarks, so that what is measured is what ships.
 *
 * A semi-space of at most 4 MiB: V8's default lets the young generation grow to 16 MiB per
 * semi-space, and at full load the relay's garbage filled it, holding ~50 MiB more than the
 * events need (measured with tests/bench/tcp_throughput.ts, see the README), at no cost in
 * events/s or CPU per event.
 *
 * @module
 */

/** The V8 flags, as V8 takes them. */
export const V8_FLAGS: readonly string[] = ["--max-semi-space-size=4"];

/** The same as one `deno run` / `deno compile` argument. */
export function v8FlagsArg(): string {
  return `--v8-flags=${V8_FLAGS.join(",")}`;
}
