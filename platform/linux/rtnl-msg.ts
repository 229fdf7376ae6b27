// rtnetlink messages as bytes: the requests roam sends to configure its TUN (link, address, route) and
// the answers it reads back, as pure functions over Uint8Array (no socket here: rtnl.ts sends them).
//
// netlink(7): every message is a struct nlmsghdr followed by its payload, each padded to 4 octets
// (NLMSG_ALIGN); rtnetlink(7): the payload is a fixed struct (ifinfomsg, ifaddrmsg, rtmsg) followed by
// attributes (struct rtattr: u16 length, u16 type, data, padded to 4). All integers are in host byte
// order, little-endian on the x86_64 and aarch64 machines roam runs on. The byte layouts below are those
// iproute2 6.1 sends for the same commands (captured with `strace -e trace=sendmsg -X raw -xx ip ...`);
// tests/unit/platform/rtnl-msg.test.ts pins them.

import { parseAddress } from "../../core/wire/addr.ts";

// <linux/netlink.h>
export const NLMSG_HDRLEN = 16;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** In an NLMSG_ERROR: the echoed request was cut to its header (NETLINK_CAP_ACK). */
export const NLM_F_CAPPED = 0x100;
/** In an NLMSG_ERROR: extended-ACK attributes follow the echoed request (NETLINK_EXT_ACK). */
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
const NLMSGERR_ATTR_MSG = 1;

// <linux/rtnetlink.h>, <linux/if_link.h>, <linux/if_addr.h>, <linux/if.h>
export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_EXT_MASK = 29;
/** Leave the counters out of the RTM_GETLINK answer: we read only index, flags and MTU. */
const RTEXT_FILTER_SKIP_STATS = 8;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
/** No duplicate address detection (`ip address add ... nodad`): the address is usable at once. */
export const IFA_F_NODAD = 0x02;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_PRIORITY = 6;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;
const RTN_UNICAST = 1;
export const IFF_UP = 0x1;
const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;

/** An IPv4 or IPv6 prefix: the address octets in network order and the prefix length. */
export interface Prefix {
  family: 4 | 6;
  address: Uint8Array;
  length: number;
}

/** "198.19.0.0/16" or "2001:db8::/48" → Prefix, or null when malformed. */
export function parsePrefix(cidr: string): Prefix | null {
  const slash = cidr.indexOf("/");
  if (slash < 0) return null;
  const bits = cidr.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bits)) return null;
  const address = parseAddress(cidr.slice(0, slash));
  if (address === null) return null;
  const family = address.length === 4 ? 4 : 6;
  const length = Number(bits);
  return length <= address.length * 8 ? { family, address, length } : null;
}

const afOf = (p: Prefix): number => (p.family === 4 ? AF_INET : AF_INET6);
const align4 = (n: number): number => (n + 3) & ~3;

type Attr = [type: number, data: Uint8Array];

const u32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
};

/** A NUL-terminated string attribute (IFLA_IFNAME). */
const cstr = (s: string): Uint8Array => new TextEncoder().encode(`${s}\0`);

/** struct nlmsghdr + fixed header + attributes, each attribute padded to 4 octets (netlink(7)). */
export function encodeMessage(type: number, flags: number, seq: number, fixed: Uint8Array, attrs: readonly Attr[]): Uint8Array {
  let len = NLMSG_HDRLEN + align4(fixed.length);
  for (const [, data] of attrs) len += align4(4 + data.length);
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint32(0, len, true); // nlmsg_len
  v.setUint16(4, type, true); // nlmsg_type
  v.setUint16(6, flags, true); // nlmsg_flags
  v.setUint32(8, seq >>> 0, true); // nlmsg_seq
  v.setUint32(12, 0, true); // nlmsg_pid: 0, the kernel fills in our port id
  out.set(fixed, NLMSG_HDRLEN);
  let off = NLMSG_HDRLEN + align4(fixed.length);
  for (const [type, data] of attrs) {
    v.setUint16(off, 4 + data.length, true); // rta_len (without padding)
    v.setUint16(off + 2, type, true); // rta_type
    out.set(data, off + 4);
    off += align4(4 + data.length);
  }
  return out;
}

/** struct ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change; } (16 octets). */
function ifinfomsg(index: number, flags: number, change: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, AF_UNSPEC);
  v.setInt32(4, index, true);
  v.setUint32(8, flags, true);
  v.setUint32(12, change, true);
  return b;
}

/** RTM_GETLINK by name (IFLA_IFNAME, index 0): answered with one RTM_NEWLINK, or ENODEV. */
export function getLinkRequest(seq: number, name: string): Uint8Array {
  return encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg(0, 0, 0), [
    [IFLA_EXT_MASK, u32(RTEXT_FILTER_SKIP_STATS)],
    [IFLA_IFNAME, cstr(name)],
  ]);
}

/**
 * RTM_NEWLINK on an existing link (no NLM_F_CREATE: change only), as `ip link set dev D mtu M` and
 * `ip link set dev D up|down`: ifi_change names the flag bits to change (IFF_UP), ifi_flags their value.
 */
export function setLinkRequest(seq: number, index: number, change: { mtu?: number; up?: boolean }): Uint8Array {
  const flags = change.up === true ? IFF_UP : 0;
  const mask = change.up !== undefined ? IFF_UP : 0;
  const attrs: Attr[] = change.mtu !== undefined ? [[IFLA_MTU, u32(change.mtu)]] : [];
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg(index, flags, mask), attrs);
}

/**
 * RTM_NEWADDR / RTM_DELADDR as `ip address add|del A/N dev D` (IPv6 add: `... nodad`). struct ifaddrmsg
 * { u8 family; u8 prefixlen; u8 flags; u8 scope; u32 index; }, then IFA_LOCAL and IFA_ADDRESS both set to
 * the address (no peer): for IPv4 IFA_LOCAL is the interface's own address, IFA_ADDRESS the peer's.
 */
export function addressRequest(seq: number, op: "add" | "del", index: number, p: Prefix): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, afOf(p));
  v.setUint8(1, p.length);
  v.setUint8(2, op === "add" && p.family === 6 ? IFA_F_NODAD : 0);
  v.setUint8(3, RT_SCOPE_UNIVERSE);
  v.setUint32(4, index, true);
  const type = op === "add" ? RTM_NEWADDR : RTM_DELADDR;
  const flags = NLM_F_REQUEST | NLM_F_ACK | (op === "add" ? NLM_F_CREATE | NLM_F_EXCL : 0);
  return encodeMessage(type, flags, seq, b, [
    [IFA_LOCAL, p.address],
    [IFA_ADDRESS, p.address],
  ]);
}

/**
 * RTM_NEWROUTE / RTM_DELROUTE as `ip route add|del P dev D [metric M]`. struct rtmsg { u8 family; u8
 * dst_len; u8 src_len; u8 tos; u8 table; u8 protocol; u8 scope; u8 type; u32 flags; }. An add goes into
 * the main table as a unicast route put there by an administrator (RTPROT_BOOT), scope link for IPv4 (no
 * gateway: the destination is on the link); ip leaves IPv6 routes at scope universe. A delete leaves
 * protocol and type 0 (match any) and, for IPv4, scope RT_SCOPE_NOWHERE (match any), as ip does.
 */
export function routeRequest(seq: number, op: "add" | "del", index: number, p: Prefix, metric?: number): Uint8Array {
  const add = op === "add";
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint8(0, afOf(p));
  v.setUint8(1, p.length); // rtm_dst_len
  v.setUint8(4, RT_TABLE_MAIN);
  v.setUint8(5, add ? RTPROT_BOOT : 0);
  v.setUint8(6, p.family === 6 ? RT_SCOPE_UNIVERSE : add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE);
  v.setUint8(7, add ? RTN_UNICAST : 0);
  const attrs: Attr[] = [[RTA_DST, p.address]];
  if (metric !== undefined) attrs.push([RTA_PRIORITY, u32(metric)]);
  attrs.push([RTA_OIF, u32(index)]);
  const type = add ? RTM_NEWROUTE : RTM_DELROUTE;
  const flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  return encodeMessage(type, flags, seq, b, attrs);
}

/** One received message: its header fields and the payload after the header. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  payload: Uint8Array;
}

/** Splits a received datagram into messages; a reason instead of a throw when a length is inconsistent. */
export function splitMessages(buf: Uint8Array): { ok: true; messages: NlMessage[] } | { ok: false; reason: string } {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const messages: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = v.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) return { ok: false, reason: `message at ${off}: length ${len} outside the ${buf.length}-octet datagram` };
    messages.push({ type: v.getUint16(off + 4, true), flags: v.getUint16(off + 6, true), seq: v.getUint32(off + 8, true), payload: buf.subarray(off + NLMSG_HDRLEN, off + len) });
    off += align4(len);
  }
  if (off < buf.length) return { ok: false, reason: `${buf.length - off} trailing octets after the last message` };
  return { ok: true, messages };
}

/** Attributes from `off` to the end of `buf`, by type (the last one of a type wins); stops at a bad length. */
export function parseAttrs(buf: Uint8Array, off: number): Map<number, Uint8Array> {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const attrs = new Map<number, Uint8Array>();
  while (off + 4 <= buf.length) {
    const len = v.getUint16(off, true);
    if (len < 4 || off + len > buf.length) break;
    attrs.set(v.getUint16(off + 2, true) & 0x3fff, buf.subarray(off + 4, off + len)); // without NLA_F_NESTED/NET_BYTEORDER
    off += align4(len);
  }
  return attrs;
}

/**
 * An NLMSG_ERROR payload: struct nlmsgerr { s32 error; struct nlmsghdr msg; } followed by the rest of the
 * request unless NLM_F_CAPPED, then, with NLM_F_ACK_TLVS, the extended ACK attributes (netlink(7)).
 * error 0 is the ACK; otherwise -errno, and NLMSGERR_ATTR_MSG may hold the kernel's explanation.
 */
export function parseError(m: NlMessage): { errno: number; detail?: string } | null {
  if (m.payload.length < 4 + NLMSG_HDRLEN) return null;
  const v = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  const errno = 0 - v.getInt32(0, true); // "0 -": an ACK is +0, not -0
  if ((m.flags & NLM_F_ACK_TLVS) === 0) return { errno };
  const echoed = m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : v.getUint32(4, true);
  const msg = parseAttrs(m.payload, 4 + align4(echoed)).get(NLMSGERR_ATTR_MSG);
  if (msg === undefined) return { errno };
  const end = msg.indexOf(0);
  const detail = new TextDecoder().decode(end >= 0 ? msg.subarray(0, end) : msg);
  return detail.length > 0 ? { errno, detail } : { errno };
}

export interface LinkInfo {
  index: number;
  mtu: number;
  up: boolean;
}

/** An RTM_NEWLINK payload (struct ifinfomsg + attributes) → index, MTU, IFF_UP; null when too short. */
export function parseLink(m: NlMessage): LinkInfo | null {
  if (m.type !== RTM_NEWLINK || m.payload.length < 16) return null;
  const v = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  const mtu = parseAttrs(m.payload, 16).get(IFLA_MTU);
  if (mtu === undefined || mtu.length < 4) return null;
  return {
    index: v.getInt32(4, true),
    up: (v.getUint32(8, true) & IFF_UP) !== 0,
    mtu: new DataView(mtu.buffer, mtu.byteOffset, 4).getUint32(0, true),
  };
}

/** errno names for the failures rtnetlink reports (Linux asm-generic/errno*.h; same on x86_64 and aarch64). */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  28: "ENOSPC",
  34: "ERANGE",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  105: "ENOBUFS",
  110: "ETIMEDOUT",
};

export function errnoName(e: number): string {
  return ERRNO_NAMES[e] ?? `errno ${e}`;
}

export const ENOENT = 2;
export const ESRCH = 3;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const EADDRNOTAVAIL = 99;
export const ETIMEDOUT = 110;

/** "route add 10.0.0.0/24 dev roam0: File exists (EEXIST)", plus the kernel's extended ACK text if any. */
export function describeFailure(op: string, errno: number, text: string, detail?: string): string {
  return `${op}: ${text} (${errnoName(errno)})${detail !== undefined ? `: ${detail}` : ""}`;
}
