/**
 * lib/syslog/udp_kernel.ts: the /proc/net/udp address of a bound socket, its drop counter in a
 * captured table, and net.core.rmem_default.
 */
import assert from "node:assert/strict";
import { parseRmemDefault, procAddress, socketDrops } from "../lib/syslog/udp_kernel.ts";

Deno.test("procAddress: IPv4 words in host byte order, the port in big-endian hex", () => {
  assert.equal(procAddress({ hostname: "127.0.0.1", port: 5140 }), "0100007F:1414");
  assert.equal(procAddress({ hostname: "0.0.0.0", port: 514 }), "00000000:0202");
  assert.equal(procAddress({ hostname: "192.168.1.20", port: 65535 }), "1401A8C0:FFFF");
});

Deno.test("procAddress: IPv6, shortened, bracketed, IPv4-mapped and written out in full", () => {
  assert.equal(procAddress({ hostname: "::", port: 5140 }), `${"0".repeat(32)}:1414`);
  assert.equal(procAddress({ hostname: "::1", port: 5140 }), `${"0".repeat(24)}01000000:1414`);
  assert.equal(procAddress({ hostname: "[::1]", port: 5140 }), `${"0".repeat(24)}01000000:1414`);
  const mapped = "0000000000000000FFFF00000100007F:1414";
  assert.equal(procAddress({ hostname: "::ffff:127.0.0.1", port: 5140 }), mapped);
  assert.equal(procAddress({ hostname: "::ffff:7f00:1", port: 5140 }), mapped);
  assert.equal(
    procAddress({ hostname: "2001:db8:0:0:0:0:0:1", port: 6514 }),
    "B80D0120000000000000000001000000:1972",
  );
  assert.equal(
    procAddress({ hostname: "2001:db8::1", port: 6514 }),
    "B80D0120000000000000000001000000:1972",
  );
});

Deno.test("procAddress: a host name or a malformed address has none", () => {
  for (
    const hostname of [
      "localhost",
      "logs.example.com",
      "256.0.0.1",
      "1.2.3",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "::ffff:300.0.0.1",
      "fe80::1%eth0",
      "",
    ]
  ) {
    assert.equal(procAddress({ hostname, port: 5140 }), null, hostname);
  }
});

/** /proc/net/udp as Linux 6.x writes it: the relay on 127.0.0.1:5140 (twice, SO_REUSEPORT). */
const UDP =
  `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
 8624: 0100007F:1414 00000000:0000 07 00000000:00003700 00:00000000 00000000     0        0 75567 2 00000000b3e2614b 7531      
 8625: 0100007F:1414 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 75568 2 00000000b3e2614c 9         
12851: 0100007F:DE7A 0100007F:8DF7 01 00000000:00000000 00:00000000 00000000     0        0 75919 2 00000000a7162ed1 0         
 1300: 00000000:0202 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 16422 2 0000000000000000 0         
`;

/** /proc/net/udp6 with the relay on [::1]:5140 and one on [::]:6514. */
const UDP6 =
  `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 1021: 00000000000000000000000001000000:1414 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 80101 2 0000000011aa22bb 42
 2210: 00000000000000000000000000000000:1972 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 80102 2 0000000011aa22cc 0
`;

Deno.test("socketDrops: the drops column of the socket(s) bound to the address, summed", () => {
  assert.equal(socketDrops(UDP, procAddress({ hostname: "127.0.0.1", port: 5140 })!), 7540);
  assert.equal(socketDrops(UDP, procAddress({ hostname: "0.0.0.0", port: 514 })!), 0);
  assert.equal(socketDrops(UDP6, procAddress({ hostname: "::1", port: 5140 })!), 42);
  assert.equal(socketDrops(UDP6, procAddress({ hostname: "::", port: 6514 })!), 0);
});

Deno.test("socketDrops: null when no socket is bound there (a remote address does not count)", () => {
  assert.equal(socketDrops(UDP, procAddress({ hostname: "127.0.0.1", port: 5141 })!), null);
  assert.equal(socketDrops(UDP, "0100007F:8DF7"), null); // only the remote end of a socket
  assert.equal(socketDrops(UDP6, procAddress({ hostname: "127.0.0.1", port: 5140 })!), null);
  assert.equal(socketDrops("", "0100007F:1414"), null);
});

Deno.test("parseRmemDefault: the number in the sysctl file; null for anything else", () => {
  assert.equal(parseRmemDefault("212992\n"), 212992);
  assert.equal(parseRmemDefault("8388608"), 8388608);
  for (const text of ["", "\n", "0", "-1", "lots", "1.5", "212992 4096"]) {
    assert.equal(parseRmemDefault(text), null, JSON.stringify(text));
  }
});
