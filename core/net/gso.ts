// TCP segmentation in userspace (what a NIC does for TSO): a TCP "super-packet" the kernel handed over
// with a virtio_net_hdr (core/net/vnet.ts, gso_type TCPV4/TCPV6) is cut into gso_size payload pieces,
// each a complete IP packet again:
//
//   IPv4 (RFC 791): total length, identification + i, header checksum recomputed
//   IPv6 (RFC 8200 §3): payload length (extension headers are not accepted: the next header must be TCP)
//   TCP (RFC 9293 §3.1): sequence number + i * gso_size; CWR only on the first segment (RFC 3168 §6.1.2:
//        set once, on the first new data after a window reduction); FIN and PSH only on the last;
//        checksum over the pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1) and the segment, from scratch
//
// and the partial checksum of a single packet (flags NEEDS_CSUM) is completed. Never throws on bad
// bytes: a packet that is not what its header claims gives -1 and is dropped by the caller.

import { finish, internetChecksum, onesSum } from "./checksum.ts";

const PROTO_TCP = 6;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/**
 * Length of the IP + TCP headers of the TCP/IPv4 or TCP/IPv6 packet at pkt[off, off+len), or -1 when it
 * is not one (wrong version, IPv4 options beyond the buffer, IPv6 extension headers, TCP data offset < 5).
 */
export function tcpHeadersLength(pkt: Uint8Array, off: number, len: number): number {
  if (len < 1) return -1;
  const version = pkt[off]! >>> 4;
  let ipLen: number;
  if (version === 4) {
    ipLen = (pkt[off]! & 0x0f) * 4;
    if (ipLen < 20 || len < ipLen + 20 || pkt[off + 9] !== PROTO_TCP) return -1;
  } else if (version === 6) {
    ipLen = 40;
    if (len < 60 || pkt[off + 6] !== PROTO_TCP) return -1;
  } else {
    return -1;
  }
  const tcpLen = (pkt[off + ipLen + 12]! >>> 4) * 4;
  if (tcpLen < 20 || len < ipLen + tcpLen) return -1;
  return ipLen + tcpLen;
}

/** How many segments of at most `gsoSize` payload octets the super-packet makes (0 if no payload). */
export function segmentCount(len: number, hdrLen: number, gsoSize: number): number {
  if (gsoSize <= 0 || len <= hdrLen) return 0;
  return Math.ceil((len - hdrLen) / gsoSize);
}

/** Sum of the pseudo-header (RFC 9293 §3.1 for IPv4, RFC 8200 §8.1 for IPv6) of an L4 segment of `l4Len` octets. */
function pseudoSum(pkt: Uint8Array, ipOff: number, proto: number, l4Len: number): number {
  if (pkt[ipOff]! >>> 4 === 4) return onesSum(pkt, ipOff + 12, 8, proto + l4Len);
  return onesSum(pkt, ipOff + 8, 32, proto + (l4Len >>> 16) + (l4Len & 0xffff));
}

/**
 * Writes segment `index` of the TCP super-packet src[off, off+len) (headers of `hdrLen` octets from
 * tcpHeadersLength) to dst[dstOff...], complete with lengths and checksums. Returns its length, or -1
 * when `index` is past the last segment. dst must not overlap src.
 */
export function writeTcpSegment(src: Uint8Array, off: number, len: number, hdrLen: number, gsoSize: number, index: number, dst: Uint8Array, dstOff: number): number {
  const payloadStart = hdrLen + index * gsoSize;
  if (index < 0 || gsoSize <= 0 || payloadStart >= len) return -1;
  const payload = Math.min(gsoSize, len - payloadStart);
  const last = payloadStart + payload === len;
  const segLen = hdrLen + payload;
  dst.set(src.subarray(off, off + hdrLen), dstOff);
  dst.set(src.subarray(off + payloadStart, off + payloadStart + payload), dstOff + hdrLen);
  const v4 = src[off]! >>> 4 === 4;
  const ipLen = v4 ? (src[off]! & 0x0f) * 4 : 40;
  if (v4) {
    dst[dstOff + 2] = segLen >>> 8; // RFC 791: total length
    dst[dstOff + 3] = segLen & 0xff;
    const id = (((src[off + 4]! << 8) | src[off + 5]!) + index) & 0xffff; // a new identification per segment
    dst[dstOff + 4] = id >>> 8;
    dst[dstOff + 5] = id & 0xff;
    dst[dstOff + 10] = 0;
    dst[dstOff + 11] = 0;
    const hc = internetChecksum(dst, dstOff, ipLen);
    dst[dstOff + 10] = hc >>> 8;
    dst[dstOff + 11] = hc & 0xff;
  } else {
    const pl = segLen - 40; // RFC 8200 §3: payload length, everything after the fixed header
    dst[dstOff + 4] = pl >>> 8;
    dst[dstOff + 5] = pl & 0xff;
  }
  const t = dstOff + ipLen;
  const seq = ((src[off + ipLen + 4]! << 24) | (src[off + ipLen + 5]! << 16) | (src[off + ipLen + 6]! << 8) | src[off + ipLen + 7]!) >>> 0;
  const s = (seq + index * gsoSize) >>> 0; // RFC 9293 §3.4: sequence numbers are modulo 2^32
  dst[t + 4] = s >>> 24;
  dst[t + 5] = (s >>> 16) & 0xff;
  dst[t + 6] = (s >>> 8) & 0xff;
  dst[t + 7] = s & 0xff;
  let flags = src[off + ipLen + 13]!;
  if (index > 0) flags &= ~TCP_CWR;
  if (!last) flags &= ~(TCP_FIN | TCP_PSH);
  dst[t + 13] = flags;
  dst[t + 16] = 0;
  dst[t + 17] = 0;
  const tcpLen = segLen - ipLen;
  const c = finish(onesSum(dst, t, tcpLen, pseudoSum(dst, dstOff, PROTO_TCP, tcpLen)));
  dst[t + 16] = c >>> 8;
  dst[t + 17] = c & 0xff;
  return segLen;
}

/**
 * Completes a partial transport checksum (virtio_net_hdr flags NEEDS_CSUM): the field at
 * csumStart + csumOffset holds the pseudo-header sum; the checksum covers csumStart to the end.
 * Returns false when the offsets do not fit the packet.
 */
export function completeChecksum(pkt: Uint8Array, off: number, len: number, csumStart: number, csumOffset: number): boolean {
  const field = csumStart + csumOffset;
  if (field + 2 > len || csumStart >= len) return false;
  let c = finish(onesSum(pkt, off + csumStart, len - csumStart, 0));
  // RFC 768: a computed UDP checksum of zero is sent as all ones (zero means "none"); for TCP both are valid.
  if (c === 0) c = 0xffff;
  pkt[off + field] = c >>> 8;
  pkt[off + field + 1] = c & 0xff;
  return true;
}
