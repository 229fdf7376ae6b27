// DataPath on a TUN that takes TCP super-packets (offloads): inbound segments of one flow that arrive
// in one task are joined and written once, after the task (a microtask); without offloads, one write each.
import { expect, test } from "bun:test";
import { EspEngine } from "../../../core/esp/engine.ts";
import { createNobleEspCipher } from "../../../core/esp/noble.ts";
import { OutboundSa } from "../../../core/esp/sa.ts";
import { selectorFromCidr } from "../../../core/ike/selectors.ts";
import type { ChildSaParams } from "../../../core/ike/types.ts";
import { segmentCount, tcpHeadersLength, writeTcpSegment } from "../../../core/net/gso.ts";
import { readVnetHdr, VNET_GSO_TCPV4, VNET_HDR_LEN, type VnetHdr } from "../../../core/net/vnet.ts";
import { EncrId, IntegId } from "../../../core/wire/constants.ts";
import { parseAddress } from "../../../core/wire/addr.ts";
import { DataPath } from "../../../cli/tunnel/datapath.ts";
import { MemoryTun } from "../../../platform/testing/memory-tun.ts";
import { systemRandom } from "../../../platform/random.ts";

const key = (b: number) => new Uint8Array(36).fill(b);
const sel = (c: string) => selectorFromCidr(c, parseAddress)!;

const CHILD: ChildSaParams = {
  spiIn: 0x1000, spiOut: 0x2000, encrId: EncrId.AES_GCM_16, encrKeyBits: 256, integId: IntegId.NONE,
  encrKeyOut: key(1), integKeyOut: new Uint8Array(0), encrKeyIn: key(2), integKeyIn: new Uint8Array(0),
  esn: false, tsi: [sel("198.19.0.1/32")], tsr: [sel("203.0.113.0/24")],
};

/** A TUN with offloads: records what writeVnet gets (header and packet). */
class VnetMemoryTun extends MemoryTun {
  readonly offloads = true;
  readonly vnetWrites: { hdr: VnetHdr; pkt: Uint8Array }[] = [];
  writeVnet(buf: Uint8Array, off: number, len: number): number {
    const hdr = readVnetHdr(buf, off, { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
    this.vnetWrites.push({ hdr: { ...hdr }, pkt: buf.slice(off + VNET_HDR_LEN, off + len) });
    return len;
  }
}

/** TCP/IPv4 segment 203.0.113.10:80 → 198.19.0.1:40000 with `payload` octets at `seq` (checksums computed). */
function tcp(seq: number, payload: number): Uint8Array {
  const p = new Uint8Array(40 + payload);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  p[8] = 64;
  p[9] = 6;
  p.set(parseAddress("203.0.113.10")!, 12);
  p.set(parseAddress("198.19.0.1")!, 16);
  dv.setUint16(20, 80);
  dv.setUint16(22, 40000);
  dv.setUint32(24, seq);
  dv.setUint32(28, 1);
  p[32] = 5 << 4;
  p[33] = 0x10; // ACK
  dv.setUint16(34, 1000);
  for (let i = 0; i < payload; i++) p[40 + i] = (seq + i) & 0xff;
  const out = new Uint8Array(p.length);
  writeTcpSegment(p, 0, p.length, 40, 65535, 0, out, 0); // fills in the checksums
  return out;
}

function sealAll(inner: Uint8Array[]): Uint8Array[] {
  const gw = new EspEngine();
  const cipher = createNobleEspCipher({ encrId: EncrId.AES_GCM_16, keyBits: 256, integId: IntegId.NONE, encrKey: key(2), integKey: new Uint8Array(0), esn: false })!;
  gw.setOutbound(new OutboundSa({ spi: 0x1000, cipher, esn: false, random: systemRandom }));
  return inner.map((p) => {
    const buf = new Uint8Array(24 + p.length + 64);
    buf.set(p, 24);
    const r = gw.seal(buf, 24, p.length);
    return buf.slice(r.offset, r.offset + r.length);
  });
}

const segments = [0, 1, 2, 3, 4].map((i) => tcp(7000 + i * 1200, 1200));

test("offloads: five in-order segments in one task become one TCPV4 super-packet, written after the task", async () => {
  const dp = new DataPath({ send: () => {}, flush: () => {} });
  const tun = new VnetMemoryTun();
  dp.install({ ...CHILD, encrKeyOut: key(1), encrKeyIn: key(2) });
  dp.attachTun(tun);
  for (const d of sealAll(segments)) dp.inbound(d);
  expect(tun.vnetWrites.length).toBe(0); // joined, not yet written
  await Promise.resolve();
  expect(tun.vnetWrites.length).toBe(1);
  const w = tun.vnetWrites[0]!;
  expect(w.hdr.gsoType).toBe(VNET_GSO_TCPV4);
  expect(w.hdr.gsoSize).toBe(1200);
  const h = tcpHeadersLength(w.pkt, 0, w.pkt.length);
  expect(segmentCount(w.pkt.length, h, w.hdr.gsoSize)).toBe(5);
  const again = new Uint8Array(2000);
  for (let i = 0; i < 5; i++) {
    const n = writeTcpSegment(w.pkt, 0, w.pkt.length, h, w.hdr.gsoSize, i, again, 0);
    // Cut again, the same segments (IPv4 identification and so the header checksum aside: the kernel numbers them).
    const norm = (s: Uint8Array) => [...s.subarray(0, 4), ...s.subarray(6, 10), ...s.subarray(12)];
    expect(norm(again.subarray(0, n))).toEqual(norm(segments[i]!));
  }
  expect(tun.written.length).toBe(0);
  expect(dp.coalesced()).toEqual({ superPackets: 1, segments: 5 });
  expect(dp.counters().traffic.packetsIn).toBe(5);
  dp.close();
});

test("without offloads: one TUN write per packet, at once", () => {
  const dp = new DataPath({ send: () => {}, flush: () => {} });
  const tun = new MemoryTun();
  dp.install({ ...CHILD, encrKeyOut: key(1), encrKeyIn: key(2) });
  dp.attachTun(tun);
  for (const d of sealAll(segments)) dp.inbound(d);
  expect(tun.written.map((p) => [...p])).toEqual(segments.map((p) => [...p]));
  expect(dp.coalesced()).toEqual({ superPackets: 0, segments: 0 });
  dp.close();
});
