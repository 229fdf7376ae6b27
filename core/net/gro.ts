// TCP coalescing before a TUN write (what GRO does in a NIC driver): consecutive in-order segments of
// one TCP flow are joined into one super-packet written behind a virtio_net_hdr (core/net/vnet.ts,
// gso_type TCPV4/TCPV6, NEEDS_CSUM), so the receiving kernel runs its TCP stack once per super-packet.
// The kernel segments it again if it forwards it, and completes the checksum from csum_start.
//
// Joined only when nothing is lost by joining (the rules of Linux's tcp_gro_receive): same addresses
// and ports, IPv4 without options or fragments, IPv6 without extension headers, same TOS/TTL (traffic
// class/flow label/hop limit), same ACK number, window, data offset and options (timestamps), only
// ACK (+PSH) set, the sequence number continuing the last segment, every segment but the last of the
// same size. PSH, a shorter segment or 64 KiB end a super-packet. Up to four flows (TcpCoalescer): interleaved
// flows are held side by side, a few at a time. Never throws on bad bytes.

import { fold, onesSum } from "./checksum.ts";
import { VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_HDR_LEN, writeVnetHdr, type VnetHdr } from "./vnet.ts";

const TCP_ACK = 0x10;
const TCP_PSH = 0x08;
const MAX_IP_PACKET = 65535;

/** Writes buf[off, off+len): a virtio_net_hdr followed by one IP packet. */
export type VnetWriter = (buf: Uint8Array, off: number, len: number) => void;

/** IP + TCP header length of a packet that may be joined (ACK, maybe PSH, payload), or -1. */
export function coalescableHeaders(p: Uint8Array, off: number, len: number): number {
  if (len < 40) return -1;
  const b0 = p[off]!;
  let ipLen: number;
  if (b0 === 0x45) {
    // RFC 791: no options; MF clear and fragment offset 0 (DF may be set); TCP.
    if ((p[off + 6]! & 0x3f) !== 0 || p[off + 7] !== 0 || p[off + 9] !== 6) return -1;
    if (((p[off + 2]! << 8) | p[off + 3]!) !== len) return -1;
    ipLen = 20;
  } else if (b0 >>> 4 === 6) {
    if (p[off + 6] !== 6 || ((p[off + 4]! << 8) | p[off + 5]!) !== len - 40) return -1;
    ipLen = 40;
  } else {
    return -1;
  }
  if (len < ipLen + 20) return -1;
  const doff = (p[off + ipLen + 12]! >>> 4) * 4;
  const flags = p[off + ipLen + 13]!;
  if (doff < 20 || (flags & ~TCP_PSH) !== TCP_ACK || (p[off + ipLen + 12]! & 0x0f) !== 0) return -1;
  const h = ipLen + doff;
  return len > h ? h : -1;
}

function u32(p: Uint8Array, i: number): number {
  return ((p[i]! << 24) | (p[i + 1]! << 16) | (p[i + 2]! << 8) | p[i + 3]!) >>> 0;
}

/** Counters shared by the flows of one coalescer. */
interface GroCounters {
  superPackets: number;
  joinedSegments: number;
}

/** One flow's super-packet being built. */
class HeldFlow {
  /** virtio_net_hdr, then the super-packet being built. */
  private readonly buf = new Uint8Array(VNET_HDR_LEN + MAX_IP_PACKET);
  private readonly hdr: VnetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  /** IP packet length in buf (0: nothing held). */
  private len = 0;
  private hdrLen = 0;
  private gsoSize = 0;
  private segments = 0;
  private nextSeq = 0;
  constructor(
    private readonly write: VnetWriter,
    private readonly counters: GroCounters,
  ) {}

  get empty(): boolean {
    return this.len === 0;
  }

  /** Whether the packet (a TCP one: `h` > 0 from coalescableHeaders) has the held flow's addresses and ports. */
  sameFlow(p: Uint8Array, off: number): boolean {
    if (this.len === 0) return false;
    const b = this.buf;
    const o = VNET_HDR_LEN;
    const v4 = p[off] === 0x45;
    if (v4 !== (b[o] === 0x45)) return false;
    const [a, z] = v4 ? [12, 20] : [8, 40];
    for (let i = a; i < z; i++) if (p[off + i] !== b[o + i]) return false;
    for (let i = 0; i < 4; i++) if (p[off + z + i] !== b[o + z + i]) return false;
    return true;
  }

  /** Writes one packet as it is, behind an all-zero header (through the buffer: flush first). */
  writePlain(p: Uint8Array, off: number, len: number): void {
    this.flush();
    this.start(p, off, len, -1);
    this.flush();
  }

  /** Joins the segment (h from coalescableHeaders) or writes what is held and starts with it. */
  add(p: Uint8Array, off: number, len: number, h: number): void {
    const payload = len - h;
    if (this.len > 0 && this.joins(p, off, h, payload)) {
      const b = this.buf;
      b.set(p.subarray(off + h, off + len), VNET_HDR_LEN + this.len);
      this.len += payload;
      this.segments++;
      this.nextSeq = (this.nextSeq + payload) >>> 0;
      const ip = b[VNET_HDR_LEN] === 0x45 ? 20 : 40;
      if (p[off + ip + 13]! & TCP_PSH) b[VNET_HDR_LEN + ip + 13]! |= TCP_PSH;
      if (payload < this.gsoSize || b[VNET_HDR_LEN + ip + 13]! & TCP_PSH || this.len + this.gsoSize > MAX_IP_PACKET) this.flush();
      return;
    }
    this.flush();
    this.start(p, off, len, h);
    const tcpFlags = p[off + (p[off]! === 0x45 ? 20 : 40) + 13]!;
    if (tcpFlags & TCP_PSH || len + payload > MAX_IP_PACKET) this.flush();
  }

  private start(p: Uint8Array, off: number, len: number, h: number): void {
    this.buf.set(p.subarray(off, off + len), VNET_HDR_LEN);
    this.len = len;
    this.hdrLen = h;
    this.segments = 1;
    if (h > 0) {
      this.gsoSize = len - h;
      const ip = p[off]! === 0x45 ? 20 : 40;
      this.nextSeq = (u32(p, off + ip + 4) + this.gsoSize) >>> 0;
    }
  }

  /** Whether the segment continues the held super-packet (see the rules above). */
  private joins(p: Uint8Array, off: number, h: number, payload: number): boolean {
    const b = this.buf;
    const o = VNET_HDR_LEN;
    if (h !== this.hdrLen || payload > this.gsoSize || this.len + payload > MAX_IP_PACKET) return false;
    const v4 = p[off] === 0x45;
    if (v4 !== (b[o] === 0x45)) return false;
    const ip = v4 ? 20 : 40;
    if (u32(p, off + ip + 4) !== this.nextSeq) return false;
    if (v4) {
      // TOS (1), DF (6), TTL (8), protocol (9), addresses (12..19).
      if (p[off + 1] !== b[o + 1] || p[off + 6] !== b[o + 6] || p[off + 8] !== b[o + 8]) return false;
      for (let i = 12; i < 20; i++) if (p[off + i] !== b[o + i]) return false;
    } else {
      // Version, traffic class, flow label (0..3), hop limit (7), addresses (8..39).
      for (let i = 0; i < 4; i++) if (p[off + i] !== b[o + i]) return false;
      if (p[off + 7] !== b[o + 7]) return false;
      for (let i = 8; i < 40; i++) if (p[off + i] !== b[o + i]) return false;
    }
    // Ports (0..3), ACK number (8..11), data offset + flags except PSH, window (12..15), options.
    const t = off + ip;
    const bt = o + ip;
    for (let i = 0; i < 4; i++) if (p[t + i] !== b[bt + i]) return false;
    for (let i = 8; i < 13; i++) if (p[t + i] !== b[bt + i]) return false;
    if ((p[t + 13]! | TCP_PSH) !== (b[bt + 13]! | TCP_PSH) || p[t + 14] !== b[bt + 14] || p[t + 15] !== b[bt + 15]) return false;
    for (let i = 20; i < h - ip; i++) if (p[t + i] !== b[bt + i]) return false;
    return true;
  }

  /** Writes what is held: one plain packet, or a super-packet with its virtio_net_hdr. */
  flush(): void {
    if (this.len === 0) return;
    const b = this.buf;
    const o = VNET_HDR_LEN;
    const len = this.len;
    const hd = this.hdr;
    if (this.segments === 1) {
      hd.flags = hd.gsoType = hd.hdrLen = hd.gsoSize = hd.csumStart = hd.csumOffset = 0;
    } else {
      const v4 = b[o] === 0x45;
      const ip = v4 ? 20 : 40;
      const tcpLen = len - ip;
      let pseudo: number;
      if (v4) {
        b[o + 2] = len >>> 8; // RFC 791 total length
        b[o + 3] = len & 0xff;
        b[o + 10] = 0;
        b[o + 11] = 0;
        const c = ~fold(onesSum(b, o, 20, 0)) & 0xffff;
        b[o + 10] = c >>> 8;
        b[o + 11] = c & 0xff;
        pseudo = onesSum(b, o + 12, 8, 6 + tcpLen);
      } else {
        b[o + 4] = tcpLen >>> 8; // RFC 8200 §3 payload length
        b[o + 5] = tcpLen & 0xff;
        pseudo = onesSum(b, o + 8, 32, 6 + (tcpLen >>> 16) + (tcpLen & 0xffff));
      }
      // NEEDS_CSUM: the field holds the folded pseudo-header sum; the kernel adds the rest (RFC 9293 §3.1).
      const ps = fold(pseudo);
      b[o + ip + 16] = ps >>> 8;
      b[o + ip + 17] = ps & 0xff;
      hd.flags = VNET_F_NEEDS_CSUM;
      hd.gsoType = v4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6;
      hd.hdrLen = this.hdrLen;
      hd.gsoSize = this.gsoSize;
      hd.csumStart = ip;
      hd.csumOffset = 16;
      this.counters.superPackets++;
      this.counters.joinedSegments += this.segments;
    }
    writeVnetHdr(b, 0, hd);
    this.len = 0;
    this.segments = 0;
    this.write(b, 0, o + len);
  }
}

/**
 * Joins TCP segments of up to `flows` flows at a time (the least recently started one is written when
 * another flow needs its place). Packets of one flow keep their order; packets of different flows may
 * be reordered among themselves, which nothing relies on.
 */
export class TcpCoalescer {
  private readonly held: HeldFlow[] = [];
  private next = 0;
  private readonly counters: GroCounters = { superPackets: 0, joinedSegments: 0 };

  constructor(write: VnetWriter, flows = 4) {
    for (let i = 0; i < Math.max(1, flows); i++) this.held.push(new HeldFlow(write, this.counters));
  }

  /** Super-packets written, and the segments they held. */
  get superPackets(): number {
    return this.counters.superPackets;
  }
  get joinedSegments(): number {
    return this.counters.joinedSegments;
  }

  /** Takes one IP packet (copied: the caller's buffer may be reused at once). */
  add(p: Uint8Array, off: number, len: number): void {
    if (len > MAX_IP_PACKET) return; // not an IP packet without jumbograms (RFC 2675), which TUN never gets
    const h = coalescableHeaders(p, off, len);
    const held = this.held;
    // A packet of a held flow goes to it: joined, or written after what it holds (SYN, FIN, pure ACK...).
    if (isTcp(p, off, len)) {
      for (let i = 0; i < held.length; i++) {
        if (!held[i]!.sameFlow(p, off)) continue;
        if (h > 0) held[i]!.add(p, off, len, h);
        else held[i]!.writePlain(p, off, len);
        return;
      }
    }
    let slot = -1;
    for (let i = 0; i < held.length && slot < 0; i++) if (held[i]!.empty) slot = i;
    if (slot < 0) {
      slot = this.next;
      this.next = (this.next + 1) % held.length;
    }
    if (h > 0) held[slot]!.add(p, off, len, h); // writes what that place held first
    else held[slot]!.writePlain(p, off, len);
  }

  /** Writes everything held. */
  flush(): void {
    for (const f of this.held) f.flush();
  }
}

/** TCP over IPv4 without options or IPv6 without extension headers, with room for the ports. */
function isTcp(p: Uint8Array, off: number, len: number): boolean {
  if (p[off] === 0x45) return len >= 24 && p[off + 9] === 6;
  return p[off]! >>> 4 === 6 && len >= 44 && p[off + 6] === 6;
}
