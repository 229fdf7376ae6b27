// sourceAddressFor (connect(2) + getsockname(2)) against `ip route get`, and the sockaddr codec of the
// recvmmsg UDP backend.
import { expect, test } from "bun:test";
import { AF_INET, AF_INET6, SOCKADDR_SIZE } from "../../../platform/linux/libc.ts";
import { sourceAddressFor } from "../../../platform/linux/route.ts";
import { encodeSockaddr, sockaddrAddress } from "../../../platform/linux/udp-mmsg.ts";

function ipRouteGet(dest: string): string | null {
  const r = Bun.spawnSync(["ip", "-j", "route", "get", dest], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) return null;
  const src = (JSON.parse(r.stdout.toString()) as { prefsrc?: string }[])[0]?.prefsrc;
  return src ?? null;
}

test("the source address the kernel picks, as `ip route get` reports it", () => {
  expect(sourceAddressFor("127.0.0.1")).toBe("127.0.0.1");
  for (const dest of ["127.0.0.1", "127.1.2.3", "192.0.2.1", "198.51.100.7"]) expect(sourceAddressFor(dest)).toBe(ipRouteGet(dest));
  expect(sourceAddressFor("not an address")).toBeNull();
});

test("sockaddr_in and sockaddr_in6 round trips, IPv4-mapped on an IPv6 socket", () => {
  const b = new Uint8Array(SOCKADDR_SIZE);
  expect(encodeSockaddr(b, AF_INET, "192.0.2.1", 4500)).toBe(16);
  expect([...b.subarray(0, 8)]).toEqual([2, 0, 0x11, 0x94, 192, 0, 2, 1]);
  expect(sockaddrAddress(b, 0)).toBe("192.0.2.1");
  expect(encodeSockaddr(b, AF_INET6, "2001:db8::1", 500)).toBe(28);
  expect(sockaddrAddress(b, 0)).toBe("2001:db8::1");
  expect(encodeSockaddr(b, AF_INET6, "192.0.2.1", 500)).toBe(28);
  expect(sockaddrAddress(b, 0)).toBe("::ffff:192.0.2.1");
  expect(encodeSockaddr(b, AF_INET, "2001:db8::1", 500)).toBe(0);
  expect(encodeSockaddr(b, AF_INET6, "nonsense", 500)).toBe(0);
});
