/**
 * What the Linux kernel knows of a UDP socket that the relay cannot see from inside: how many
 * datagrams it dropped because the socket's receive buffer was full (`/proc/net/udp`, column
 * `drops`), and how large that buffer is (`net.core.rmem_default`, since Deno cannot set
 * SO_RCVBUF). Parsing is pure; reading the files is left to the caller (Deno 2.9 allows it only
 * with --allow-all).
 *
 * @module
 */
import type { ListenAddress } from "../units.ts";

/**
 * The local-address column of `/proc/net/udp` or `/proc/net/udp6` for a bound address: the
 * address as the kernel stores it (32-bit words in host byte order, little-endian on every
 * platform Deno runs on), a colon, the port in big-endian hex. Null for a host name that is not
 * an IP address.
 */
export function procAddress(address: ListenAddress): string | null {
  const bytes = ipBytes(address.hostname);
  if (bytes === null) return null;
  let hex = "";
  for (let word = 0; word < bytes.length; word += 4) {
    for (let k = 3; k >= 0; k--) hex += bytes[word + k].toString(16).padStart(2, "0");
  }
  return `${hex.toUpperCase()}:${address.port.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The 4 or 16 bytes of an IPv4 or IPv6 address (brackets allowed); null otherwise. */
function ipBytes(hostname: string): number[] | null {
  let host = hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host.includes(":")) return ipv4Bytes(host);
  if (host.includes("%")) return null;
  // An IPv4-mapped address may end in dotted form (::ffff:127.0.0.1): make it two groups.
  const dotted = /^(.*:)(\d+(?:\.\d+){3})$/.exec(host);
  if (dotted) {
    const v4 = ipv4Bytes(dotted[2]);
    if (v4 === null) return null;
    const group = (high: number, low: number) => ((high << 8) | low).toString(16);
    host = `${dotted[1]}${group(v4[0], v4[1])}:${group(v4[2], v4[3])}`;
  }
  const [head, tail, ...more] = host.split("::");
  if (more.length > 0) return null;
  const groups = (part: string | undefined) => part ? part.split(":") : [];
  const left = groups(head);
  const right = groups(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const all = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...right];
  const bytes: number[] = [];
  for (const group of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    const value = parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  return bytes;
}

/** The 4 bytes of a dotted IPv4 address; null otherwise. */
function ipv4Bytes(host: string): number[] | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4 === null) return null;
  const bytes = v4.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

/**
 * The summed `drops` of the sockets bound to `local` (a {@link procAddress}) in the text of
 * `/proc/net/udp` or `/proc/net/udp6`; null when no such socket is listed.
 */
export function socketDrops(table: string, local: string): number | null {
  let total: number | null = null;
  for (const line of table.split("\n")) {
    const fields = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (fields.length < 13 || fields[1] !== local) continue;
    const drops = Number(fields[12]);
    if (Number.isSafeInteger(drops)) total = (total ?? 0) + drops;
  }
  return total;
}

/** The receive buffer a new UDP socket gets, from the text of net.core.rmem_default. */
export function parseRmemDefault(text: string): number | null {
  const value = Number(text.trim());
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}
