// TCP coalescing before a TUN write (core/net/gro.ts): segments made by core/net/gso.ts are joined
// back; the super-packet is checked field by field and cut again, and must give the same segments.
import { describe, expect, test } from "bun:test";
import { TcpCoalescer } from "../../../core/net/gro.ts";
import { completeChecksum, segmentCount, tcpHeadersLength, writeTcpSegment } from "../../../core/net/gso.ts";
import { readVnetHdr, VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_HDR_LEN, type VnetHdr } from "../../../core/net/vnet.ts";

const ACK = 0x10, PSH = 0x08, SYN = 0x02;

function packet(family: 4 | 6, seq: number, flags: number, payloadLen: number, opts: { srcPort?: number; ack?: number } = {}): Uint8Array {
  const ip = family === 4 ? 20 : 40;
  const p = new Uint8Array(ip + 32 + payloadLen);
  const dv = new DataView(p.buffer);
  if (family === 4) {
    p[0] = 0x45;
    dv.setUint16(2, p.length);
    dv.setUint16(6, 0x4000);
    p[8] = 64;
    p[9] = 6;
    p.set([10, 200, 0, 2, 10, 200, 0, 1], 12);
  } else {
    dv.setUint32(0, 0x60000000);
    dv.setUint16(4, p.length - 40);
    p[6] = 6;
    p[7] = 64;
    p[8] = 0x20;
    p[23] = 2;
    p[24] = 0x20;
    p[39] = 1;
  }
  dv.setUint16(ip, opts.srcPort ?? 5201);
  dv.setUint16(ip + 2, 40000);
  dv.setUint32(ip + 4, seq >>> 0);
  dv.setUint32(ip + 8, opts.ack ?? 77);
  p[ip + 12] = 8 << 4;
  p[ip + 13] = flags;
  dv.setUint16(ip + 14, 500);
  p.set([1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6], ip + 20);
  for (let i = 0; i < payloadLen; i++) p[ip + 32 + i] = (seq + i) & 0xff;
  return p;
}

/** Independent RFC 1071 check: pseudo-header + TCP segment (with its checksum) sums to 0xffff. */
function tcpChecksumOk(p: Uint8Array): boolean {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const v4 = p[0]! >>> 4 === 4;
  const ip = v4 ? 20 : 40;
  const tcpLen = p.length - ip;
  let s = 6 + tcpLen; // protocol + length (the IPv6 upper-layer length fits 16 bits here)
  const [a, b] = v4 ? [12, 20] : [8, 40];
  for (let i = a; i < b; i += 2) s += dv.getUint16(i);
  for (let i = ip; i + 1 < p.length; i += 2) s += dv.getUint16(i);
  if (p.length % 2) s += p[p.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s === 0xffff;
}

interface Written {
  hdr: VnetHdr;
  pkt: Uint8Array;
}
function collector(): { out: Written[]; c: TcpCoalescer } {
  const out: Written[] = [];
  const c = new TcpCoalescer((buf, off, len) => {
    const hdr = readVnetHdr(buf, off, { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
    out.push({ hdr: { ...hdr }, pkt: buf.slice(off + VNET_HDR_LEN, off + len) });
  });
  return { out, c };
}
function resegment(w: Written): Uint8Array[] {
  const h = tcpHeadersLength(w.pkt, 0, w.pkt.length);
  const dst = new Uint8Array(70000);
  const segs: Uint8Array[] = [];
  for (let i = 0; i < segmentCount(w.pkt.length, h, w.hdr.gsoSize); i++) {
    const n = writeTcpSegment(w.pkt, 0, w.pkt.length, h, w.hdr.gsoSize, i, dst, 0);
    segs.push(dst.slice(0, n));
  }
  return segs;
}
/** Input packets with the checksums a real sender would have (made by segmenting a one-segment super-packet). */
function withChecksums(p: Uint8Array): Uint8Array {
  const dst = new Uint8Array(p.length);
  writeTcpSegment(p, 0, p.length, tcpHeadersLength(p, 0, p.length), 65535, 0, dst, 0);
  return dst;
}

for (const family of [4, 6] as const) {
  describe(`TCP/IPv${family} coalescing`, () => {
    const ip = family === 4 ? 20 : 40;
    test("in-order segments of one flow become one super-packet; cut again, they are the same segments", () => {
      const { out, c } = collector();
      const ins = [0, 1, 2].map((i) => withChecksums(packet(family, 1000 + i * 1300, i === 2 ? ACK | PSH : ACK, i === 2 ? 700 : 1300)));
      for (const p of ins) c.add(p, 0, p.length);
      // The PSH segment ends it: written without waiting for flush().
      expect(out.length).toBe(1);
      const w = out[0]!;
      expect(w.hdr).toEqual({ flags: VNET_F_NEEDS_CSUM, gsoType: family === 4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6, hdrLen: ip + 32, gsoSize: 1300, csumStart: ip, csumOffset: 16 });
      expect(w.pkt.length).toBe(ip + 32 + 3300);
      // The field holds the pseudo-header sum (NEEDS_CSUM): completed, the checksum of the whole verifies.
      const full = w.pkt.slice();
      expect(completeChecksum(full, 0, full.length, ip, 16)).toBe(true);
      expect(tcpChecksumOk(full)).toBe(true);
      const segs = resegment(w);
      expect(segs.length).toBe(3);
      // IPv4 identification is not kept (the kernel numbers segments itself); everything else is.
      const norm = (s: Uint8Array) => (family === 4 ? [...s.subarray(0, 4), ...s.subarray(6, 10), ...s.subarray(12)] : [...s]);
      segs.forEach((s, i) => expect(norm(s)).toEqual(norm(ins[i]!)));
      expect(c.superPackets).toBe(1);
      expect(c.joinedSegments).toBe(3);
    });

    test("a gap, another flow, another ACK number or a SYN is not joined; order is kept", () => {
      const { out, c } = collector();
      const a = packet(family, 0, ACK, 1000);
      const gap = packet(family, 2000, ACK, 1000); // 1000..1999 missing
      const other = packet(family, 3000, ACK, 1000, { srcPort: 5202 });
      const ack = packet(family, 3000, ACK, 1000, { ack: 78 });
      const syn = packet(family, 9, SYN, 0);
      for (const p of [a, gap, other, ack, syn]) c.add(p, 0, p.length);
      c.flush();
      expect(out.map((w) => w.hdr.gsoType)).toEqual([0, 0, 0, 0, 0]);
      // Within the flow the order is kept; the other flow was held in a place of its own, written at flush().
      expect(out.map((w) => [...w.pkt])).toEqual([a, gap, ack, syn, other].map((p) => [...p]));
      expect(c.superPackets).toBe(0);
    });

    test("interleaved flows are joined side by side; a fifth flow makes room by writing the oldest", () => {
      const { out, c } = collector();
      const flows = [5201, 5202, 5203, 5204, 5205];
      for (let i = 0; i < 3; i++) {
        for (const port of flows.slice(0, 2)) {
          const p = packet(family, 100 + i * 1000, ACK, 1000, { srcPort: port });
          c.add(p, 0, p.length);
        }
      }
      expect(out.length).toBe(0);
      c.flush();
      expect(out.map((w) => [w.hdr.gsoType !== 0, w.pkt.length])).toEqual([
        [true, ip + 32 + 3000],
        [true, ip + 32 + 3000],
      ]);
      out.length = 0;
      for (const port of flows) {
        const p = packet(family, 7, ACK, 500, { srcPort: port });
        c.add(p, 0, p.length);
      }
      // Four places: the fifth flow pushed the first one out.
      expect(out.length).toBe(1);
      expect(new DataView(out[0]!.pkt.buffer).getUint16(ip)).toBe(5201);
      c.flush();
      expect(out.length).toBe(5);
    });

    test("a segment longer than the first one starts a new super-packet; 64 KiB is the limit", () => {
      const { out, c } = collector();
      const seqs: number[] = [];
      let seq = 5;
      const small = packet(family, seq, ACK, 500);
      seq += 500;
      c.add(small, 0, small.length);
      for (let i = 0; i < 60; i++) {
        const p = packet(family, seq, ACK, 1400);
        seqs.push(seq);
        seq += 1400;
        c.add(p, 0, p.length);
      }
      c.flush();
      expect(out[0]!.pkt.length).toBe(small.length); // alone: the next one is longer
      expect(out[0]!.hdr.gsoType).toBe(0);
      const sizes = out.slice(1).map((w) => w.pkt.length);
      for (const s of sizes) expect(s).toBeLessThanOrEqual(65535);
      expect(out.slice(1).reduce((n, w) => n + resegment(w).length, 0)).toBe(60);
      expect(sizes.length).toBeGreaterThan(1);
    });
  });
}

test("packets that are not TCP pass through unchanged behind an all-zero header", () => {
  const { out, c } = collector();
  const icmp = new Uint8Array(28);
  icmp[0] = 0x45;
  icmp[3] = 28;
  icmp[9] = 1;
  c.add(icmp, 0, icmp.length);
  expect(out.length).toBe(1);
  expect(out[0]!.hdr).toEqual({ flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
  expect([...out[0]!.pkt]).toEqual([...icmp]);
});
