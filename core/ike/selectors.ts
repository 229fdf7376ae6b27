// Traffic selectors as the session uses them (RFC 7296 §2.9, RFC 4301 §4.4.1):
// checking the responder's narrowing, turning ranges into routes, and the inbound policy check
// on decrypted packets (RFC 4301 §5.2: a packet whose addresses fall outside the SA's selectors is dropped).

/** One selector: an address range, an IP protocol (0 = any) and a port range. */
export interface Selector {
  family: 4 | 6;
  start: Uint8Array; // 4 or 16 bytes
  end: Uint8Array;
  protocol: number;
  startPort: number;
  endPort: number;
}

function cmp(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** `inner` lies entirely within `outer` (same family, address, protocol and port ranges). */
export function selectorWithin(inner: Selector, outer: Selector): boolean {
  if (inner.family !== outer.family) return false;
  if (cmp(inner.start, outer.start) < 0 || cmp(inner.end, outer.end) > 0) return false;
  if (outer.protocol !== 0 && inner.protocol !== outer.protocol) return false;
  return inner.startPort >= outer.startPort && inner.endPort <= outer.endPort;
}

/**
 * RFC 7296 §2.9: the responder may narrow, never widen. Every selector it returns must lie within one
 * we proposed; and an empty answer is no answer.
 */
export function checkNarrowing(proposed: Selector[], returned: Selector[]): { ok: true } | { ok: false; reason: string } {
  if (returned.length === 0) return { ok: false, reason: "the gateway returned no traffic selectors" };
  for (const r of returned) {
    if (cmp(r.start, r.end) > 0 || r.startPort > r.endPort) {
      return { ok: false, reason: `the gateway returned an empty selector ${formatSelector(r)}` };
    }
    if (!proposed.some((p) => selectorWithin(r, p))) {
      return { ok: false, reason: `the gateway widened the traffic selectors: ${formatSelector(r)} is outside what was proposed` };
    }
  }
  return { ok: true };
}

function addrToString(a: Uint8Array): string {
  if (a.length === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((a[i]! << 8) | a[i + 1]!).toString(16));
  // RFC 5952 §4.2.3: compress the longest run of two or more zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

export function formatSelector(s: Selector): string {
  const cidrs = rangeToCidrs(s.start, s.end);
  const addr = cidrs.length === 1 ? cidrs[0]! : `${addrToString(s.start)}-${addrToString(s.end)}`;
  const proto = s.protocol === 0 ? "" : `[${s.protocol}`;
  const ports = s.startPort === 0 && s.endPort === 65535 ? "" : s.startPort === s.endPort ? `/${s.startPort}` : `/${s.startPort}-${s.endPort}`;
  return proto || ports ? `${addr}${proto || "["}${ports}]` : addr;
}

/** The smallest list of CIDR blocks that covers exactly the range start..end (inclusive). */
export function rangeToCidrs(start: Uint8Array, end: Uint8Array): string[] {
  const bits = start.length * 8;
  let lo = bytesToBig(start);
  const hi = bytesToBig(end);
  const out: string[] = [];
  if (lo > hi) return out;
  while (lo <= hi) {
    // Largest block aligned at lo that does not pass hi.
    let size = 0;
    while (size < bits) {
      const next = size + 1;
      const mask = (1n << BigInt(next)) - 1n;
      if ((lo & mask) !== 0n || lo + mask > hi) break;
      size = next;
    }
    out.push(`${addrToString(bigToBytes(lo, start.length))}/${bits - size}`);
    lo += 1n << BigInt(size);
  }
  return out;
}

function bytesToBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function bigToBytes(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * A compiled policy for the inbound check on the ESP hot path: no allocation per packet.
 * A packet passes when its source lies in one remote selector and its destination in one local selector.
 */
export class InboundPolicy {
  private readonly v4Local: Uint32Array;
  private readonly v4Remote: Uint32Array;
  private readonly local6: Selector[];
  private readonly remote6: Selector[];
  private readonly local4: Selector[];
  private readonly remote4: Selector[];

  constructor(local: Selector[], remote: Selector[]) {
    this.local4 = local.filter((s) => s.family === 4);
    this.remote4 = remote.filter((s) => s.family === 4);
    this.v4Local = compile4(local);
    this.v4Remote = compile4(remote);
    this.local6 = local.filter((s) => s.family === 6);
    this.remote6 = remote.filter((s) => s.family === 6);
  }

  /** `pkt[off..off+len)` is a decrypted inner IP packet. */
  allows(pkt: Uint8Array, off: number, len: number): boolean {
    if (len < 1) return false;
    const version = pkt[off]! >> 4;
    if (version === 4) {
      if (len < 20) return false;
      const src = u32(pkt, off + 12);
      const dst = u32(pkt, off + 16);
      const proto = pkt[off + 9]!;
      const ihl = (pkt[off]! & 0x0f) * 4;
      const fragOff = ((pkt[off + 6]! & 0x1f) << 8) | pkt[off + 7]!;
      const l4 = fragOff === 0 && len >= ihl + 4 ? off + ihl : -1;
      return this.match4(this.v4Remote, this.remote4, src, proto, pkt, l4, true) && this.match4(this.v4Local, this.local4, dst, proto, pkt, l4, false);
    }
    if (version === 6) {
      if (len < 40) return false;
      const proto = pkt[off + 6]!;
      const l4 = len >= 44 ? off + 40 : -1;
      return match6(this.remote6, pkt, off + 8, proto, l4, true) && match6(this.local6, pkt, off + 24, proto, l4, false);
    }
    return false;
  }

  private match4(ranges: Uint32Array, sels: Selector[], addr: number, proto: number, pkt: Uint8Array, l4: number, isSrc: boolean): boolean {
    for (let i = 0; i < sels.length; i++) {
      if (addr < ranges[i * 2]! || addr > ranges[i * 2 + 1]!) continue;
      if (portsMatch(sels[i]!, proto, pkt, l4, isSrc)) return true;
    }
    return false;
  }
}

function compile4(sels: Selector[]): Uint32Array {
  const v4 = sels.filter((s) => s.family === 4);
  const out = new Uint32Array(v4.length * 2);
  v4.forEach((s, i) => {
    out[i * 2] = u32(s.start, 0);
    out[i * 2 + 1] = u32(s.end, 0);
  });
  return out;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function match6(sels: Selector[], pkt: Uint8Array, addrOff: number, proto: number, l4: number, isSrc: boolean): boolean {
  for (const s of sels) {
    if (cmpAt(pkt, addrOff, s.start) < 0 || cmpAt(pkt, addrOff, s.end) > 0) continue;
    if (portsMatch(s, proto, pkt, l4, isSrc)) return true;
  }
  return false;
}

function cmpAt(pkt: Uint8Array, off: number, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) {
    const d = pkt[off + i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

const PORTED = new Set([6, 17, 132, 136]); // TCP, UDP, SCTP, UDP-Lite

function portsMatch(s: Selector, proto: number, pkt: Uint8Array, l4: number, isSrc: boolean): boolean {
  if (s.protocol !== 0 && s.protocol !== proto) return false;
  if (s.startPort === 0 && s.endPort === 65535) return true;
  // A restricted port range needs the transport header: a non-first fragment or a portless protocol cannot match.
  if (l4 < 0 || !PORTED.has(proto)) return false;
  const port = isSrc ? (pkt[l4]! << 8) | pkt[l4 + 1]! : (pkt[l4 + 2]! << 8) | pkt[l4 + 3]!;
  return port >= s.startPort && port <= s.endPort;
}

/** Parses "198.51.100.0/24" or "2001:db8::/32" into a selector with any protocol and port. */
export function selectorFromCidr(cidr: string, parseAddr: (s: string) => Uint8Array | null): Selector | null {
  const slash = cidr.indexOf("/");
  const addrText = slash < 0 ? cidr : cidr.slice(0, slash);
  const addr = parseAddr(addrText);
  if (!addr) return null;
  const bits = addr.length * 8;
  const prefix = slash < 0 ? bits : Number(cidr.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits || (slash >= 0 && !/^\d+$/.test(cidr.slice(slash + 1)))) return null;
  const start = new Uint8Array(addr.length);
  const end = new Uint8Array(addr.length);
  for (let i = 0; i < addr.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    start[i] = addr[i]! & mask;
    end[i] = (addr[i]! & mask) | (~mask & 0xff);
  }
  return { family: addr.length === 4 ? 4 : 6, start, end, protocol: 0, startPort: 0, endPort: 65535 };
}

export { addrToString };

/**
 * The address ranges of `from` with every range of `minus` taken out (same family only; protocol and
 * ports are not considered): for split-tunnel exclusions applied to the routes of the remote selectors.
 */
export function subtractRanges(from: Selector[], minus: Selector[]): Selector[] {
  let out = from.map((s) => ({ ...s }));
  for (const m of minus) {
    const next: Selector[] = [];
    for (const s of out) {
      if (s.family !== m.family || cmp(m.end, s.start) < 0 || cmp(m.start, s.end) > 0) {
        next.push(s); // no overlap
        continue;
      }
      if (cmp(m.start, s.start) > 0) next.push({ ...s, end: step(m.start, -1) });
      if (cmp(m.end, s.end) < 0) next.push({ ...s, start: step(m.end, 1) });
    }
    out = next;
  }
  return out;
}

/** The address one above (+1) or below (-1) `a`; only called where that address exists. */
function step(a: Uint8Array, d: 1 | -1): Uint8Array {
  const out = new Uint8Array(a);
  for (let i = out.length - 1; i >= 0; i--) {
    const v = out[i]! + d;
    out[i] = v & 0xff;
    if (v >= 0 && v <= 0xff) break;
  }
  return out;
}
