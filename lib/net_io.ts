/**
 * Small pieces every socket owner needs: writing all of a buffer, finding a byte sequence, and
 * closing what may be closed already.
 *
 * @module
 */

/** Writes all of `bytes` to `conn` (a write may take only part of them). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Closes a connection or listener that may be closed already. */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // already closed
  }
}

/** Index of the byte sequence `needle` in `haystack` within [`from`, `to`), or -1. */
export function indexOfBytes(
  haystack: Uint8Array,
  needle: readonly number[],
  from = 0,
  to: number = haystack.length,
): number {
  outer: for (let i = from; i + needle.length <= to; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
