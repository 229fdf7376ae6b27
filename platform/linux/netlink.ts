// Notice address and route changes: an rtnetlink socket (netlink(7), rtnetlink(7)) subscribed to the
// IPv4/IPv6 address and route multicast groups. The kernel queues a message on it whenever an address
// is added or removed or a route changes; we never parse them (any message means "look again"): the
// caller then asks for the source address towards the gateway (route.ts) and compares.
//
// Why a non-blocking socket drained from a timer rather than a worker blocked in poll() (as for the
// TUN): the events are rare and a 1 s reaction time is plenty. One drain is one recv(2) through FFI
// returning EAGAIN: 0.76 µs, against 2.1 ms (wall, a process spawn) for each `ip route get` that polling
// sourceAddressFor would cost (measured 2026-11 on the shared 2-core machine, 10^5 drains and 50 spawns).
// So the spawn runs only after the kernel said something changed.

import { dlopen, FFIType, read } from "bun:ffi";

// <linux/netlink.h>, <linux/rtnetlink.h>, <sys/socket.h> (x86_64 / aarch64).
const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const RTMGRP_LINK = 0x1;
const RTMGRP_IPV4_IFADDR = 0x10;
const RTMGRP_IPV4_ROUTE = 0x40;
const RTMGRP_IPV6_IFADDR = 0x100;
const RTMGRP_IPV6_ROUTE = 0x400;
const EINTR = 4;
const ENOBUFS = 105;

const lib = dlopen("libc.so.6", {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
});
const c = lib.symbols;

/** errno of the last failed call on this thread (read right after it). */
function errno(): number {
  const p = c.__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}

export class NetlinkError extends Error {}

/** A subscription to the kernel's address and route change notifications. */
export class RouteChangeWatcher {
  private readonly buf = new Uint8Array(16384);
  private closed = false;

  private constructor(private readonly fd: number) {}

  /** Opens the socket; throws NetlinkError (with errno) when the kernel refuses. */
  static open(): RouteChangeWatcher {
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw new NetlinkError(`socket(AF_NETLINK): errno ${errno()}`);
    // struct sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad; __u32 nl_pid; __u32 nl_groups; }
    const sa = new Uint8Array(12);
    const v = new DataView(sa.buffer);
    v.setUint16(0, AF_NETLINK, true);
    v.setUint32(4, 0, true); // the kernel assigns the port id
    v.setUint32(8, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE, true);
    if (c.bind(fd, sa, sa.length) < 0) {
      const e = errno();
      c.close(fd);
      throw new NetlinkError(`bind(AF_NETLINK): errno ${e}`);
    }
    return new RouteChangeWatcher(fd);
  }

  /**
   * Reads everything queued; returns how many datagrams arrived since the last call (0: nothing changed).
   * An overflowed queue (ENOBUFS: more changes than it holds) counts as a change too.
   */
  drain(): number {
    if (this.closed) return 0;
    let n = 0;
    for (;;) {
      const r = Number(c.recv(this.fd, this.buf, this.buf.length, 0));
      if (r > 0) {
        n++;
        continue;
      }
      if (r === 0) return n;
      const e = errno();
      if (e === EINTR) continue;
      if (e === ENOBUFS) {
        n++;
        continue;
      }
      return n; // EAGAIN: drained (any other error: nothing more to read now either)
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    c.close(this.fd);
  }
}
