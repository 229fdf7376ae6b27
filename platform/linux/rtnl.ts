// A synchronous rtnetlink client (rtnetlink(7), netlink(7)): the TUN's MTU and link state, its addresses
// and its routes, each one request on a NETLINK_ROUTE socket answered within microseconds, instead of an
// `ip` process per change (~7 ms each from Bun). The messages themselves are built and parsed in
// rtnl-msg.ts; this file owns the socket.
//
// Every request carries NLM_F_ACK and a sequence number; we read until the NLMSG_ERROR for that sequence
// (error 0 is the ACK). Answers to an earlier request that timed out carry an older sequence number and
// are skipped. The receive is blocking but bounded by SO_RCVTIMEO, so a kernel that never answers fails
// the request (ETIMEDOUT) instead of hanging roam.

import * as libc from "./libc.ts";
import {
  addressRequest,
  describeFailure,
  EADDRNOTAVAIL,
  EINVAL,
  ENODEV,
  ESRCH,
  ETIMEDOUT,
  getLinkRequest,
  type LinkInfo,
  NLMSG_ERROR,
  type NlMessage,
  parseError,
  parseLink,
  parsePrefix,
  type Prefix,
  routeRequest,
  setLinkRequest,
  splitMessages,
} from "./rtnl-msg.ts";

export type { LinkInfo } from "./rtnl-msg.ts";

// <linux/netlink.h>, <sys/socket.h>, <sched.h> (x86_64 / aarch64).
const AF_NETLINK = 16;
const SOCK_RAW = 3;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const SO_RCVTIMEO = 20;
const CLONE_NEWNET = 0x40000000;
const O_RDONLY = 0;
const EPROTO = 71;

/** A refused or failed request: which operation (in `ip` words), errno, and the kernel's text. */
export class RtnlError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
    readonly detail?: string,
  ) {
    super(describeFailure(op, errno, libc.strerror(errno), detail));
    this.name = "RtnlError";
  }
}

/**
 * The failures that mean "the thing to remove is not there any more": the device vanished (ENODEV), the
 * route (ESRCH) or address (EADDRNOTAVAIL) is already gone. Undo counts them as done.
 */
export function isGone(e: unknown): boolean {
  return e instanceof RtnlError && (e.errno === ENODEV || e.errno === ESRCH || e.errno === EADDRNOTAVAIL);
}

/** What netcfg and the journal's undo ask of rtnetlink (tests without root pass a recording fake). */
export interface LinkOps {
  link(dev: string): LinkInfo;
  setMtu(dev: string, mtu: number): void;
  setUp(dev: string, up: boolean): void;
  addAddress(dev: string, cidr: string): void;
  delAddress(dev: string, cidr: string): void;
  addRoute(dev: string, cidr: string, metric?: number): void;
  delRoute(dev: string, cidr: string, metric?: number): void;
  /**
   * Runs `fn` with `dev` looked up once (RTM_GETLINK) for every call it makes on `dev`: its index for the
   * changes, its MTU and state for link(). Optional: a recording fake need not have it.
   */
  pinned?<T>(dev: string, fn: () => T): T;
}

export class Rtnl implements LinkOps {
  private seq = 0;
  private closed = false;
  /** Answers land here; 64 KiB holds any single answer to our requests (an RTM_NEWLINK is ~1-2 KiB). */
  private readonly buf = new Uint8Array(65536);
  /** struct sockaddr_nl of the sender: only the kernel (nl_pid 0) may answer. */
  private readonly from = new Uint8Array(12);
  private readonly fromLen = new Uint32Array(1);

  /** The device of the pinned() call that runs, as last seen or set: no RTM_GETLINK per change. */
  private pin: (LinkInfo & { name: string }) | null = null;

  private constructor(private readonly fd: number) {}

  /** A socket in this thread's network namespace. `timeoutMs` bounds the wait for each answer. */
  static open(timeoutMs = 5000): Rtnl {
    const fd = libc.socket(AF_NETLINK, SOCK_RAW | libc.SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) throw new RtnlError("socket(AF_NETLINK, NETLINK_ROUTE)", libc.errno());
    // struct timeval { time_t tv_sec; suseconds_t tv_usec; } (2 x 64 bits).
    const tv = new BigInt64Array([BigInt(Math.floor(timeoutMs / 1000)), BigInt((timeoutMs % 1000) * 1000)]);
    if (libc.setsockoptBytes(fd, libc.SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(tv.buffer)) < 0) {
      const e = libc.errno();
      libc.close(fd);
      throw new RtnlError("setsockopt(SO_RCVTIMEO)", e);
    }
    // Optional (Linux >= 4.12): the kernel's own explanation in errors (ip prints it as "Error: ..."),
    // and errors that echo only our header, not the whole request. Older kernels simply refuse them.
    libc.setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
    libc.setsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
    return new Rtnl(fd);
  }

  /**
   * A socket in the named network namespace (/var/run/netns/NAME, as `ip netns add` makes): this thread
   * enters it with setns(2), creates the socket, and returns to its own namespace; the socket stays bound
   * to the namespace it was created in (network_namespaces(7)). Needs CAP_SYS_ADMIN. For tests.
   */
  static openIn(ns: string, timeoutMs = 5000): Rtnl {
    if (!/^[A-Za-z0-9_.-]+$/.test(ns) || ns === "." || ns === "..") throw new RtnlError(`netns "${ns}"`, EINVAL, "not a namespace name");
    const target = libc.open(`/var/run/netns/${ns}`, O_RDONLY | libc.O_CLOEXEC);
    if (target < 0) throw new RtnlError(`open /var/run/netns/${ns}`, libc.errno());
    const home = libc.open("/proc/thread-self/ns/net", O_RDONLY | libc.O_CLOEXEC);
    if (home < 0) {
      const e = libc.errno();
      libc.close(target);
      throw new RtnlError("open /proc/thread-self/ns/net", e);
    }
    try {
      if (libc.setns(target, CLONE_NEWNET) < 0) throw new RtnlError(`setns ${ns}`, libc.errno());
      try {
        return Rtnl.open(timeoutMs);
      } finally {
        // Staying in the test's namespace would silently move everything this thread does later.
        if (libc.setns(home, CLONE_NEWNET) < 0) throw new Error(`cannot return to this process's network namespace: errno ${libc.errno()}`);
      }
    } finally {
      libc.close(target);
      libc.close(home);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc.close(this.fd);
  }

  /** Index, MTU and administrative state (IFF_UP) of the link named `dev`. */
  link(dev: string): LinkInfo {
    if (this.pin?.name === dev) return { index: this.pin.index, mtu: this.pin.mtu, up: this.pin.up };
    return this.linkFor(`link show dev ${dev}`, dev);
  }

  /**
   * Setting up the TUN took 12 requests, half of them RTM_GETLINK for its index (~0.1 ms each on the
   * connect path, 2026-11-23); pinned, 1 + one per change. The calls in `fn` are synchronous: nothing
   * renames or replaces the device between them (it is our own TUN, held open).
   */
  pinned<T>(dev: string, fn: () => T): T {
    const outer = this.pin;
    this.pin = { ...this.linkFor(`link show dev ${dev}`, dev), name: dev };
    try {
      return fn();
    } finally {
      this.pin = outer;
    }
  }

  setMtu(dev: string, mtu: number): void {
    const op = `link set dev ${dev} mtu ${mtu}`;
    const index = this.indexOf(op, dev);
    this.request(op, (seq) => setLinkRequest(seq, index, { mtu }));
    if (this.pin?.name === dev) this.pin.mtu = mtu;
  }

  setUp(dev: string, up: boolean): void {
    const op = `link set dev ${dev} ${up ? "up" : "down"}`;
    const index = this.indexOf(op, dev);
    this.request(op, (seq) => setLinkRequest(seq, index, { up }));
    if (this.pin?.name === dev) this.pin.up = up;
  }

  addAddress(dev: string, cidr: string): void {
    this.address("add", dev, cidr);
  }

  delAddress(dev: string, cidr: string): void {
    this.address("del", dev, cidr);
  }

  addRoute(dev: string, cidr: string, metric?: number): void {
    this.route("add", dev, cidr, metric);
  }

  delRoute(dev: string, cidr: string, metric?: number): void {
    this.route("del", dev, cidr, metric);
  }

  private address(verb: "add" | "del", dev: string, cidr: string): void {
    const op = `address ${verb} ${cidr} dev ${dev}`;
    const p = prefixOf(op, cidr);
    const index = this.indexOf(op, dev);
    this.request(op, (seq) => addressRequest(seq, verb, index, p));
  }

  private route(verb: "add" | "del", dev: string, cidr: string, metric?: number): void {
    const op = `route ${verb} ${cidr} dev ${dev}${metric !== undefined ? ` metric ${metric}` : ""}`;
    const p = prefixOf(op, cidr);
    const index = this.indexOf(op, dev);
    this.request(op, (seq) => routeRequest(seq, verb, index, p, metric));
  }

  /** The pinned device's index, or RTM_GETLINK's. */
  private indexOf(op: string, dev: string): number {
    return this.pin?.name === dev ? this.pin.index : this.linkFor(op, dev).index;
  }

  /** RTM_GETLINK by name; a missing device fails `op` with ENODEV. */
  private linkFor(op: string, dev: string): LinkInfo {
    const answers = this.request(op, (seq) => getLinkRequest(seq, dev));
    for (const m of answers) {
      const l = parseLink(m);
      if (l !== null) return l;
    }
    throw new RtnlError(op, EPROTO, "the kernel acknowledged RTM_GETLINK without a usable RTM_NEWLINK");
  }

  /** Sends one request and returns the messages answering it before its ACK; throws RtnlError on a NACK. */
  private request(op: string, build: (seq: number) => Uint8Array): NlMessage[] {
    if (this.closed) throw new RtnlError(op, libc.EBADF, "the rtnetlink socket is closed");
    this.seq = (this.seq + 1) >>> 0 || 1;
    const seq = this.seq;
    const msg = build(seq);
    for (;;) {
      const r = libc.send(this.fd, msg, 0);
      if (r === msg.length) break;
      const e = r < 0 ? libc.errno() : EPROTO;
      if (e !== libc.EINTR) throw new RtnlError(op, e, r >= 0 ? `sent ${r} of ${msg.length} octets` : undefined);
    }
    const answers: NlMessage[] = [];
    for (;;) {
      this.fromLen[0] = this.from.length;
      const n = libc.recvfrom(this.fd, this.buf, libc.MSG_TRUNC, this.from, this.fromLen);
      if (n < 0) {
        const e = libc.errno();
        if (e === libc.EINTR) continue;
        if (e === libc.EAGAIN) throw new RtnlError(op, ETIMEDOUT, "no answer from the kernel");
        throw new RtnlError(op, e);
      }
      if (n > this.buf.length) throw new RtnlError(op, EPROTO, `an answer of ${n} octets did not fit in ${this.buf.length}`);
      if (new DataView(this.from.buffer).getUint32(4, true) !== 0) continue; // nl_pid: not from the kernel
      const split = splitMessages(this.buf.subarray(0, n));
      if (!split.ok) throw new RtnlError(op, EPROTO, split.reason);
      for (const m of split.messages) {
        if (m.seq !== seq) continue; // a late answer to an earlier request
        if (m.type === NLMSG_ERROR) {
          const err = parseError(m);
          if (err === null) throw new RtnlError(op, EPROTO, "truncated NLMSG_ERROR");
          if (err.errno !== 0) throw new RtnlError(op, err.errno, err.detail);
          return answers;
        }
        answers.push({ ...m, payload: m.payload.slice() }); // this.buf is reused by the next receive
      }
    }
  }
}

function prefixOf(op: string, cidr: string): Prefix {
  const p = parsePrefix(cidr);
  if (p === null) throw new RtnlError(op, EINVAL, `"${cidr}" is not an IPv4 or IPv6 address with /prefix`);
  return p;
}

let shared: Rtnl | null = null;

/** The process's own socket (this namespace), opened on first use and kept until exit (close-on-exec). */
export function sharedRtnl(): Rtnl {
  shared ??= Rtnl.open();
  return shared;
}
