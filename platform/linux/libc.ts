// The few libc calls roam needs on Linux, through bun:ffi. Shared by the main thread (TUN open, write)
// and the TUN reader worker (poll, read): each thread opens its own handle.
//
// Every wrapper returns the raw result; on failure (-1) the caller reads `errno()` right away, on the
// same thread, before any other libc call can overwrite it.

import { dlopen, FFIType, ptr, read } from "bun:ffi";

// <fcntl.h>, <poll.h>, <sys/eventfd.h>, <errno.h>, <linux/if_tun.h> for x86_64 / aarch64.
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
export const EFD_NONBLOCK = O_NONBLOCK;
export const EFD_CLOEXEC = O_CLOEXEC;
export const EINTR = 4;
export const EAGAIN = 11;
export const EBADF = 9;
export const EIO = 5;
export const EINVAL = 22;
export const ENOPROTOOPT = 92;
export const EMSGSIZE = 90;
/** _IOW('T', 202, int): attach the fd to a TUN/TAP interface (linux/if_tun.h). */
export const TUNSETIFF = 0x400454ca;
export const IFF_TUN = 0x0001;
export const IFF_NO_PI = 0x1000;
// <sys/socket.h>, <netinet/in.h> (x86_64 / aarch64 values and struct layouts).
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = O_NONBLOCK;
export const SOCK_CLOEXEC = O_CLOEXEC;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
/** Like SO_SNDBUF/SO_RCVBUF but beyond net.core.[wr]mem_max; needs CAP_NET_ADMIN. */
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const IPPROTO_IPV6 = 41;
export const IPV6_V6ONLY = 26;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const POLLOUT = 0x4;
export const EADDRINUSE = 98;
/** struct sockaddr_in6 (28 octets) holds a struct sockaddr_in (16) too. */
export const SOCKADDR_SIZE = 28;
/** struct iovec { void *iov_base; size_t iov_len; } */
export const IOVEC_SIZE = 16;
/**
 * struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; } with struct msghdr { void *msg_name;
 * socklen_t msg_namelen; struct iovec *msg_iov; size_t msg_iovlen; void *msg_control; size_t
 * msg_controllen; int msg_flags; }: 56 + 4 + padding = 64 octets. Field offsets below.
 */
export const MMSGHDR_SIZE = 64;
export const MSG_NAME = 0;
export const MSG_NAMELEN = 8;
export const MSG_IOV = 16;
export const MSG_IOVLEN = 24;
export const MSG_FLAGS = 48;
export const MSG_LEN = 56;
/** struct ifreq: char ifr_name[IFNAMSIZ=16], then a union whose first member is short ifr_flags. */
export const IFREQ_SIZE = 40;
export const IFNAMSIZ = 16;

const lib = dlopen("libc.so.6", {
  open: { args: [FFIType.cstring, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  eventfd: { args: [FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  getsockname: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  recvmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  sendmmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
  recvfrom: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i64_fast },
  setns: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
});
const c = lib.symbols;

/** errno of the last failed libc call on this thread. */
export function errno(): number {
  const p = c.__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}

export function strerror(e: number): string {
  return String(c.strerror(e) ?? `errno ${e}`);
}

/** "open /dev/net/tun: Permission denied (errno 13)" style text for the last failure. */
export function describeErrno(what: string, e: number = errno()): string {
  return `${what}: ${strerror(e)} (errno ${e})`;
}

export function open(path: string, flags: number, mode = 0): number {
  // A NUL-terminated copy: bun:ffi passes JS strings as cstring, but be explicit about the terminator.
  return c.open(Buffer.from(`${path}\0`, "utf8"), flags, mode);
}

export function close(fd: number): number {
  return c.close(fd);
}

export function ioctl(fd: number, request: number, arg: Uint8Array): number {
  return c.ioctl(fd, request, arg);
}

export function fcntl(fd: number, cmd: number, arg: number): number {
  return c.fcntl(fd, cmd, arg);
}

/** read(2) into `buf` at byte `off` (off counted inside the view). Returns bytes read or -1. */
export function readAt(fd: number, buf: Uint8Array, off: number, len: number): number {
  return Number(c.read(fd, ptr(buf, off), len));
}

/** read(2) into raw memory at `address` (from `ptr()`), for loops that computed the base pointer once. */
export function readRaw(fd: number, address: number, len: number): number {
  return Number(c.read(fd, address as ReturnType<typeof ptr>, len));
}

/** write(2) from `buf` at byte `off`. Returns bytes written or -1. */
export function writeAt(fd: number, buf: Uint8Array, off: number, len: number): number {
  return Number(c.write(fd, ptr(buf, off), len));
}

/** poll(2) over `fds`, an array of struct pollfd { int fd; short events; short revents; } (8 bytes each). */
export function poll(fds: Uint8Array, count: number, timeoutMs: number): number {
  return c.poll(fds, count, timeoutMs);
}

/** Whether `fd` has something to read (or end of file) right now, without waiting. */
export function readableNow(fd: number): boolean {
  const p = new Uint8Array(8);
  new DataView(p.buffer).setInt32(0, fd, true);
  p[4] = POLLIN;
  return c.poll(p, 1, 0) > 0;
}

export function eventfd(initval: number, flags: number): number {
  return c.eventfd(initval, flags);
}

/** Sets O_NONBLOCK on fd; returns false (errno set) on failure. */
export function setNonBlocking(fd: number): boolean {
  const flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0) return false;
  return fcntl(fd, F_SETFL, flags | O_NONBLOCK) >= 0;
}

export function socket(domain: number, type: number, protocol: number): number {
  return c.socket(domain, type, protocol);
}

export function bind(fd: number, addr: Uint8Array, len: number): number {
  return c.bind(fd, addr, len);
}

export function connect(fd: number, addr: Uint8Array, len: number): number {
  return c.connect(fd, addr, len);
}

/** getsockname(2) into `addr` (SOCKADDR_SIZE octets). */
export function getsockname(fd: number, addr: Uint8Array): number {
  const len = new Uint32Array([addr.length]);
  return c.getsockname(fd, addr, len);
}

/** setsockopt(2) with an int value. */
export function setsockoptInt(fd: number, level: number, name: number, value: number): number {
  return c.setsockopt(fd, level, name, new Int32Array([value]), 4);
}

/** setsockopt(2) with a struct value (e.g. struct timeval for SO_RCVTIMEO). */
export function setsockoptBytes(fd: number, level: number, name: number, value: Uint8Array): number {
  return c.setsockopt(fd, level, name, value, value.length);
}

/** getsockopt(2) of an int value, or -1. */
export function getsockoptInt(fd: number, level: number, name: number): number {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  return c.getsockopt(fd, level, name, v, len) < 0 ? -1 : v[0]!;
}

/** recvmmsg(2) into `vlen` prepared struct mmsghdr at `msgvec` (no timeout). Returns messages or -1. */
export function recvmmsg(fd: number, msgvec: Uint8Array, vlen: number, flags: number): number {
  return c.recvmmsg(fd, msgvec, vlen, flags, null);
}

/** send(2) of all of `buf`. Returns bytes sent or -1. */
export function send(fd: number, buf: Uint8Array, flags: number): number {
  return Number(c.send(fd, buf, buf.length, flags));
}

/** recvfrom(2) into `buf`, the sender's address into `addr` (its capacity in `addrLen[0]`). Returns the length or -1. */
export function recvfrom(fd: number, buf: Uint8Array, flags: number, addr: Uint8Array, addrLen: Uint32Array): number {
  return Number(c.recvfrom(fd, buf, buf.length, flags, addr, addrLen));
}

/** setns(2): moves the calling thread into the namespace `fd` refers to (nstype 0: any kind). */
export function setns(fd: number, nstype: number): number {
  return c.setns(fd, nstype);
}

/** sendmmsg(2) of `vlen` prepared struct mmsghdr at `msgvec`. Returns messages sent or -1. */
export function sendmmsg(fd: number, msgvec: Uint8Array, vlen: number, flags: number): number {
  return c.sendmmsg(fd, msgvec, vlen, flags);
}
