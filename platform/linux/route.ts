// Which local address the kernel would use to reach a host: the address the gateway sees us from before
// any NAT, needed for NAT detection (RFC 7296 §2.23). Asked the way `ip route get` would, but without
// spawning it: connect(2) a UDP socket (which only looks up the route, nothing is sent) and read the
// address the kernel chose with getsockname(2).

import { encodeSockaddr, sockaddrAddress } from "./udp-mmsg.ts";
import * as libc from "./libc.ts";

/** The preferred source address towards `dest` (an IPv4 or IPv6 address), or null when there is no route. */
export function sourceAddressFor(dest: string): string | null {
  const family = dest.includes(":") ? libc.AF_INET6 : libc.AF_INET;
  const name = new Uint8Array(libc.SOCKADDR_SIZE);
  const len = encodeSockaddr(name, family, dest, 9); // any port: connect() on UDP sends nothing
  if (len === 0) return null;
  const fd = libc.socket(family, libc.SOCK_DGRAM | libc.SOCK_CLOEXEC, 0);
  if (fd < 0) return null;
  try {
    if (libc.connect(fd, name, len) < 0) return null; // ENETUNREACH: no route
    const local = new Uint8Array(libc.SOCKADDR_SIZE);
    if (libc.getsockname(fd, local) < 0) return null;
    return sockaddrAddress(local, 0);
  } finally {
    libc.close(fd);
  }
}
