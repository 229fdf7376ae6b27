// TCP segmentation of virtio_net_hdr super-packets (core/net/gso.ts). The checksums are verified here
// by a separate, deliberately plain implementation (DataView words, RFC 1071 "sum including the
// checksum field is all ones"), not by core/net/checksum.ts.
import { describe, expect, test } from "bun:test";
import { completeChecksum, segmentCount, tcpHeadersLength, writeTcpSegment } from "../../../core/net/gso.ts";
import { internetChecksum } from "../../../core/net/checksum.ts";
import { readVnetHdr, writeVnetHdr, type VnetHdr } from "../../../core/net/vnet.ts";

/** RFC 1071 one's complement sum, folded, independent of the code under test. */
function refSum(words: number[]): number {
  let s = 0;
  for (const w of words) {
    s += w;
    s = (s & 0xffff) + (s >>> 16);
  }
  return s;
}
function words(b: Uint8Array): number[] {
  const out: number[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i + 1 < b.length; i += 2) out.push(dv.getUint16(i));
  if (b.length % 2) out.push(b[b.length - 1]! << 8);
  return out;
}
/** True when the TCP checksum of the IP packet verifies (pseudo-header + segment sums to 0xffff). */
function tcpChecksumOk(pkt: Uint8Array): boolean {
  const v4 = pkt[0]! >>> 4 === 4;
  const ipLen = v4 ? (pkt[0]! & 15) * 4 : 40;
  const seg = pkt.subarray(ipLen);
  const pseudo = v4
    ? [...words(pkt.subarray(12, 20)), 6, seg.length]
    : [...words(pkt.subarray(8, 40)), seg.length >>> 16, seg.length & 0xffff, 0, 6];
  return refSum([...pseudo, ...words(seg)]) === 0xffff;
}
function ipv4HeaderOk(pkt: Uint8Array): boolean {
  return refSum(words(pkt.subarray(0, (pkt[0]! & 15) * 4))) === 0xffff;
}

const TCP_HDR = 32; // 20 + timestamps option (12)
function tcpHeader(seq: number, flags: number): Uint8Array {
  const t = new Uint8Array(TCP_HDR);
  const dv = new DataView(t.buffer);
  dv.setUint16(0, 40000);
  dv.setUint16(2, 5201);
  dv.setUint32(4, seq);
  dv.setUint32(8, 0x01020304);
  t[12] = (TCP_HDR / 4) << 4;
  t[13] = flags;
  dv.setUint16(14, 502);
  dv.setUint16(16, 0x1234); // a partial (pseudo-header) checksum as the kernel leaves it: must be replaced
  t.set([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9], 20);
  return t;
}
function payload(n: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);
}
function superV4(seq: number, flags: number, data: Uint8Array): Uint8Array {
  const ip = new Uint8Array(20);
  const dv = new DataView(ip.buffer);
  ip[0] = 0x45;
  dv.setUint16(2, 20 + TCP_HDR + data.length);
  dv.setUint16(4, 0xfffe); // identification: wraps at the second segment
  dv.setUint16(6, 0x4000); // DF
  ip[8] = 64;
  ip[9] = 6;
  ip.set([10, 200, 0, 1, 10, 200, 0, 2], 12);
  return new Uint8Array([...ip, ...tcpHeader(seq, flags), ...data]);
}
function superV6(seq: number, flags: number, data: Uint8Array, next = 6): Uint8Array {
  const ip = new Uint8Array(40);
  const dv = new DataView(ip.buffer);
  dv.setUint32(0, 0x60000000);
  dv.setUint16(4, TCP_HDR + data.length);
  ip[6] = next;
  ip[7] = 64;
  ip.set([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1], 8);
  ip.set([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 2], 24);
  return new Uint8Array([...ip, ...tcpHeader(seq, flags), ...data]);
}

const ACK = 0x10, PSH = 0x08, FIN = 0x01, CWR = 0x80, ECE = 0x40;

function segmentAll(pkt: Uint8Array, gso: number): Uint8Array[] {
  // The super-packet sits at an offset in a larger buffer, as in the reader's scratch buffer.
  const src = new Uint8Array(pkt.length + 13);
  src.set(pkt, 7);
  const hdr = tcpHeadersLength(src, 7, pkt.length);
  expect(hdr).toBeGreaterThan(0);
  const n = segmentCount(pkt.length, hdr, gso);
  const out: Uint8Array[] = [];
  const dst = new Uint8Array(70000);
  for (let i = 0; i < n; i++) {
    const len = writeTcpSegment(src, 7, pkt.length, hdr, gso, i, dst, 5);
    expect(len).toBeGreaterThan(0);
    out.push(dst.slice(5, 5 + len));
  }
  expect(writeTcpSegment(src, 7, pkt.length, hdr, gso, n, dst, 5)).toBe(-1);
  return out;
}

for (const family of [4, 6] as const) {
  describe(`TCP/IPv${family} segmentation`, () => {
    const make = family === 4 ? superV4 : superV6;
    const ipLen = family === 4 ? 20 : 40;

    test("a last short segment: lengths, sequence numbers, flags, checksums, payload", () => {
      const data = payload(3 * 1000 + 123);
      const seq = 0xffffffff - 1500; // wraps modulo 2^32 in the second segment
      const segs = segmentAll(make(seq, ACK | PSH | FIN | CWR | ECE, data), 1000);
      expect(segs.map((s) => s.length)).toEqual([1000, 1000, 1000, 123].map((p) => ipLen + TCP_HDR + p));
      const joined: number[] = [];
      segs.forEach((s, i) => {
        const dv = new DataView(s.buffer);
        expect(dv.getUint32(ipLen + 4)).toBe((seq + i * 1000) >>> 0);
        const flags = s[ipLen + 13]!;
        expect(flags & CWR).toBe(i === 0 ? CWR : 0); // CWR only on the first
        expect(flags & (PSH | FIN)).toBe(i === segs.length - 1 ? PSH | FIN : 0); // PSH, FIN only on the last
        expect(flags & (ACK | ECE)).toBe(ACK | ECE);
        if (family === 4) {
          expect(dv.getUint16(2)).toBe(s.length);
          expect(dv.getUint16(4)).toBe((0xfffe + i) & 0xffff);
          expect(dv.getUint16(6)).toBe(0x4000);
          expect(ipv4HeaderOk(s)).toBe(true);
        } else {
          expect(dv.getUint16(4)).toBe(s.length - 40);
        }
        expect(tcpChecksumOk(s)).toBe(true);
        joined.push(...s.subarray(ipLen + TCP_HDR));
      });
      expect([...joined]).toEqual([...data]);
    });

    test("an exact multiple of gso_size: no empty segment, odd gso_size", () => {
      const data = payload(4 * 1347);
      const segs = segmentAll(make(1000, ACK | PSH, data), 1347);
      expect(segs.length).toBe(4);
      for (const s of segs) {
        expect(s.length).toBe(ipLen + TCP_HDR + 1347);
        expect(tcpChecksumOk(s)).toBe(true);
      }
      expect(segs[3]![ipLen + 13]! & PSH).toBe(PSH);
    });

    test("a corrupted segment fails the independent check (the check can fail)", () => {
      const s = segmentAll(make(1, ACK, payload(2500)), 1000)[1]!;
      s[s.length - 1]! ^= 0x01;
      expect(tcpChecksumOk(s)).toBe(false);
    });
  });
}

describe("packets that are not TCP super-packets", () => {
  test("UDP, IPv6 with an extension header, truncated headers, unknown version give -1", () => {
    const v4 = superV4(1, ACK, payload(10));
    const udp = v4.slice();
    udp[9] = 17;
    expect(tcpHeadersLength(udp, 0, udp.length)).toBe(-1);
    const ext = superV6(1, ACK, payload(10), 0); // hop-by-hop options first
    expect(tcpHeadersLength(ext, 0, ext.length)).toBe(-1);
    expect(tcpHeadersLength(v4, 0, 30)).toBe(-1);
    expect(tcpHeadersLength(v4, 0, 0)).toBe(-1);
    const bad = v4.slice();
    bad[0] = 0x55;
    expect(tcpHeadersLength(bad, 0, bad.length)).toBe(-1);
    const doff = v4.slice();
    doff[20 + 12] = 4 << 4; // TCP data offset below 5 words
    expect(tcpHeadersLength(doff, 0, doff.length)).toBe(-1);
    expect(segmentCount(52, 52, 1000)).toBe(0);
    expect(writeTcpSegment(v4, 0, v4.length, 52, 0, 0, new Uint8Array(100), 0)).toBe(-1);
  });
});

describe("partial checksums (NEEDS_CSUM)", () => {
  test("a TCP packet whose field holds the pseudo-header sum is completed", () => {
    const pkt = superV4(77, ACK | PSH, payload(301));
    const tcpLen = pkt.length - 20;
    // What the kernel leaves: the folded, uncomplemented pseudo-header sum.
    const pseudo = refSum([...words(pkt.subarray(12, 20)), 6, tcpLen]);
    pkt[36] = pseudo >>> 8;
    pkt[37] = pseudo & 0xff;
    const buf = new Uint8Array(pkt.length + 3);
    buf.set(pkt, 3);
    expect(completeChecksum(buf, 3, pkt.length, 20, 16)).toBe(true);
    expect(tcpChecksumOk(buf.subarray(3))).toBe(true);
    expect(completeChecksum(buf, 3, pkt.length, 20, pkt.length)).toBe(false);
  });

  test("a UDP checksum that computes to zero is sent as 0xffff (RFC 768)", () => {
    // 8 octets of UDP header whose words already sum to 0xffff with the field at zero.
    const pkt = new Uint8Array([0xff, 0x00, 0x00, 0xff, 0, 0, 0, 0]);
    expect(completeChecksum(pkt, 0, 8, 0, 6)).toBe(true);
    expect([pkt[6], pkt[7]]).toEqual([0xff, 0xff]);
  });

  test("internetChecksum matches RFC 1071 §3's example sum", () => {
    // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, so the checksum is ~ddf2 = 220d.
    expect(internetChecksum(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0, 8)).toBe(0x220d);
  });
});

test("virtio_net_hdr round-trips in little-endian order", () => {
  const h: VnetHdr = { flags: 1, gsoType: 0x81, hdrLen: 66, gsoSize: 1348, csumStart: 34, csumOffset: 16 };
  const b = new Uint8Array(12);
  writeVnetHdr(b, 1, h);
  expect([...b.subarray(1, 11)]).toEqual([1, 0x81, 66, 0, 0x44, 0x05, 34, 0, 16, 0]);
  const back: VnetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  expect(readVnetHdr(b, 1, back)).toEqual(h);
});
