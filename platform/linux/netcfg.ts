// MTU, link state, virtual IP and split-tunnel routes of the TUN, through rtnetlink (rtnl.ts), every change
// journaled (journal.ts) so that it can be reverted — by this process, or after a crash by another.
//
// The virtual IP comes from the configuration payload (INTERNAL_IP4_ADDRESS / INTERNAL_IP6_ADDRESS,
// RFC 7296 §3.15.1) and is installed as a host address (/32, /128); the routes are the gateway's traffic
// selectors TSr as CIDR subnets (RFC 7296 §2.9), each pointing into the TUN.

import type { NetConfig } from "../types.ts";
import type { Journal } from "./journal.ts";
import { type LinkOps, RtnlError } from "./rtnl.ts";

export class NetConfigError extends Error {
  /** `errno`: the kernel's refusal, when the kernel refused (see rtnl.ts); undefined for bad input. */
  constructor(
    message: string,
    readonly errno?: number,
  ) {
    super(message);
    this.name = "NetConfigError";
  }
}

/** A Linux interface name: 1..15 bytes, no '/', no whitespace, not starting with '-'. */
export function isValidDevName(dev: string): boolean {
  return /^[A-Za-z0-9_.:@+][A-Za-z0-9_.:@+%-]{0,14}$/.test(dev) && dev !== "." && dev !== "..";
}

function isIpv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

function isIpv6(s: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || s.length < 2) return false;
  const halves = s.split("::");
  if (halves.length > 2) return false;
  const groups = (h: string): string[] | null => {
    if (h === "") return [];
    const g = h.split(":");
    return g.every((x) => /^[0-9A-Fa-f]{1,4}$/.test(x) || isIpv4(x)) ? g : null;
  };
  const a = groups(halves[0]!);
  const b = halves.length === 2 ? groups(halves[1]!) : [];
  if (a === null || b === null) return false;
  const count = (g: string[]): number => g.reduce((n, x) => n + (x.includes(".") ? 2 : 1), 0);
  const n = count(a) + count(b);
  return halves.length === 2 ? n < 8 : n === 8;
}

/** Parses "a.b.c.d/n" or "x::y/n". Returns the family, or null when malformed. */
export function parseCidr(cidr: string): { family: 4 | 6; address: string; prefix: number } | null {
  const slash = cidr.indexOf("/");
  if (slash < 0) return null;
  const address = cidr.slice(0, slash);
  const bits = cidr.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bits)) return null;
  const prefix = Number(bits);
  if (isIpv4(address) && prefix <= 32) return { family: 4, address, prefix };
  if (isIpv6(address) && prefix <= 128) return { family: 6, address, prefix };
  return null;
}

export interface NetConfigOptions {
  /** Defaults to the journal's, so that changes and their undo act on the same namespace. */
  rtnl?: LinkOps;
  /**
   * Every device configured here is this process's own TUN, which the kernel removes (with its addresses
   * and routes) when the process ends: the undo entries stay out of the state file (RecordOptions.volatile).
   */
  ownTunOnly?: boolean;
}

export class LinuxNetConfig implements NetConfig {
  private readonly rtnl: LinkOps;
  private readonly record: { volatile: boolean };

  constructor(
    readonly journal: Journal,
    opts: NetConfigOptions = {},
  ) {
    this.rtnl = opts.rtnl ?? journal.rtnl;
    this.record = { volatile: opts.ownTunOnly === true };
  }

  /** Runs `fn` with `dev` looked up once for all it does on `dev` (LinkOps.pinned), when the socket can. */
  pinned<T>(dev: string, fn: () => T): T {
    checkDev(dev);
    const rtnl = this.rtnl;
    if (rtnl.pinned === undefined) return fn();
    // The changes in fn report their own failures; a NetConfigError here is the lookup's (ENODEV).
    return this.nl(() => rtnl.pinned!(dev, fn));
  }

  /** MTU and administrative state (RTM_GETLINK). */
  link(dev: string): { mtu: number; up: boolean } {
    checkDev(dev);
    const { mtu, up } = this.nl(() => this.rtnl.link(dev));
    return { mtu, up };
  }

  setMtu(dev: string, mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new NetConfigError(`MTU ${mtu}: expected an integer 68..65535`);
    const before = this.link(dev);
    if (before.mtu === mtu) return;
    this.journal.guard({ kind: "link-mtu", dev, mtu: before.mtu }, () => this.nl(() => this.rtnl.setMtu(dev, mtu)), this.record);
  }

  linkUp(dev: string): void {
    if (this.link(dev).up) return;
    this.journal.guard({ kind: "link-down", dev }, () => this.nl(() => this.rtnl.setUp(dev, true)), this.record);
  }

  /** IPv6 addresses skip duplicate address detection (IFA_F_NODAD): usable at once, as with `nodad`. */
  addAddress(dev: string, cidr: string): void {
    checkDev(dev);
    if (parseCidr(cidr) === null) throw new NetConfigError(`address "${cidr}": expected an IPv4 or IPv6 address with /prefix`);
    this.journal.guard({ kind: "addr-del", dev, cidr }, () => this.nl(() => this.rtnl.addAddress(dev, cidr)), this.record);
  }

  addRoute(dev: string, cidr: string, opts: { metric?: number } = {}): void {
    checkDev(dev);
    if (parseCidr(cidr) === null) throw new NetConfigError(`route "${cidr}": expected an IPv4 or IPv6 subnet with /prefix`);
    const metric = opts.metric;
    if (metric !== undefined && (!Number.isInteger(metric) || metric < 0 || metric > 0xffffffff)) {
      throw new NetConfigError(`route metric ${metric}: expected an integer 0..4294967295`);
    }
    this.journal.guard(
      { kind: "route-del", dev, cidr, ...(metric !== undefined ? { metric } : {}) },
      () => this.nl(() => this.rtnl.addRoute(dev, cidr, metric)),
      this.record,
    );
  }

  /** Runs an rtnetlink call; the kernel's refusal becomes a NetConfigError with the same one-line message. */
  private nl<T>(call: () => T): T {
    try {
      return call();
    } catch (e) {
      if (e instanceof RtnlError) throw new NetConfigError(e.message, e.errno);
      throw e;
    }
  }
}

function checkDev(dev: string): void {
  if (!isValidDevName(dev)) throw new NetConfigError(`interface name "${dev}": expected 1..15 characters [A-Za-z0-9_.:@+%-], not starting with '-'`);
}

/** What the configuration payload and the traffic selectors ask for (core's TunnelConfig shape). */
export interface TunnelAddressing {
  ip4: string[];
  ip6: string[];
  routes: string[];
}

/**
 * Applies a tunnel's addressing to `dev`: MTU, link up, virtual IPs as /32 and /128, one route per
 * traffic selector subnet. A bare virtual IP gets its host prefix; a CIDR is taken as given.
 */
export function applyAddressing(net: LinuxNetConfig, dev: string, cfg: TunnelAddressing, mtu?: number): void {
  net.pinned(dev, () => {
    setLink(net, dev, mtu);
    for (const a of cfg.ip4) net.addAddress(dev, a.includes("/") ? a : `${a}/32`);
    for (const a of cfg.ip6) net.addAddress(dev, a.includes("/") ? a : `${a}/128`);
    for (const r of cfg.routes) net.addRoute(dev, r);
  });
}

/** The MTU and link state applyAddressing would set, ahead of it (which then finds them done). */
export function prepareLink(net: LinuxNetConfig, dev: string, mtu?: number): void {
  net.pinned(dev, () => setLink(net, dev, mtu));
}

function setLink(net: LinuxNetConfig, dev: string, mtu: number | undefined): void {
  if (mtu !== undefined) net.setMtu(dev, mtu);
  net.linkUp(dev);
}
