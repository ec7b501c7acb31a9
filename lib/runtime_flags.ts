/**
 * V8 and malloc settings every way of running the relay uses: `deno task start`, `deno compile`
 * (V8 flags baked into the binary), the systemd unit in the README and the benchmarks, so that
 * what is measured is what ships.
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

/**
 * glibc malloc settings, for the environment of the relay's process (glibc reads them before any
 * code runs, so a binary cannot set them for itself: `deno task start` and the README's systemd
 * unit set them). At most 2 malloc arenas instead of up to 8 per core, and buffers of 64 KiB or
 * more mapped on their own, given back to the system when freed instead of left as holes in the
 * heap: in a 10-minute soak (tests/bench/soak.ts) RSS grew 0.09 MiB/min instead of 0.38, and
 * after a 1M-event burst it settled 6 to 9 MiB lower, at the same events/s and CPU per event.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "65536",
};

/** The same as shell assignments, `NAME=value ...`, as a task or a unit writes them. */
export function mallocEnvAssignments(): string {
  return Object.entries(MALLOC_ENV).map(([name, value]) => `${name}=${value}`).join(" ");
}
