// The ESP data path across a CHILD_SA rekey: make-before-break in both directions.
import { describe, expect, test } from "bun:test";
import { EspEngine } from "../../../core/esp/engine.ts";
import { createNobleEspCipher } from "../../../core/esp/noble.ts";
import { OutboundSa } from "../../../core/esp/sa.ts";
import { selectorFromCidr } from "../../../core/ike/selectors.ts";
import type { ChildSaParams } from "../../../core/ike/types.ts";
import { EncrId, IntegId } from "../../../core/wire/constants.ts";
import { parseAddress } from "../../../core/wire/addr.ts";
import { DataPath } from "../../../cli/tunnel/datapath.ts";
import { MemoryTun } from "../../../platform/testing/memory-tun.ts";
import { systemRandom } from "../../../platform/random.ts";

const key = (b: number) => new Uint8Array(36).fill(b);
const sel = (c: string) => selectorFromCidr(c, parseAddress)!;

function child(spiIn: number, spiOut: number, k: number, deferOutbound = false): ChildSaParams {
  return {
    spiIn, spiOut, encrId: EncrId.AES_GCM_16, encrKeyBits: 256, integId: IntegId.NONE,
    encrKeyOut: key(k), integKeyOut: new Uint8Array(0), encrKeyIn: key(k + 1), integKeyIn: new Uint8Array(0),
    esn: false, tsi: [sel("198.19.0.1/32")], tsr: [sel("203.0.113.0/24")], deferOutbound,
  };
}

function ipv4(src: string, dst: string): Uint8Array {
  const p = new Uint8Array(40);
  p[0] = 0x45;
  p[3] = 40;
  p[8] = 64;
  p[9] = 1;
  p.set(parseAddress(src)!, 12);
  p.set(parseAddress(dst)!, 16);
  return p;
}

/** What the gateway sends on our inbound SA `spi` (sealed with the keys our SA opens with). */
function fromGateway(spi: number, k: number): Uint8Array {
  const gw = new EspEngine();
  const cipher = createNobleEspCipher({ encrId: EncrId.AES_GCM_16, keyBits: 256, integId: IntegId.NONE, encrKey: key(k + 1), integKey: new Uint8Array(0), esn: false })!;
  gw.setOutbound(new OutboundSa({ spi, cipher, esn: false, random: systemRandom }));
  const inner = ipv4("203.0.113.10", "198.19.0.1");
  const buf = new Uint8Array(24 + inner.length + 64);
  buf.set(inner, 24);
  const r = gw.seal(buf, 24, inner.length);
  return buf.slice(r.offset, r.offset + r.length);
}

function setup() {
  const sent: Uint8Array[] = [];
  const dp = new DataPath({ send: (d) => sent.push(d.slice()), flush: () => {} });
  const tun = new MemoryTun();
  dp.install(child(0x1000, 0x2000, 1));
  dp.attachTun(tun);
  const spiOfNextSend = () => {
    tun.inject([ipv4("198.19.0.1", "203.0.113.10")]);
    const d = sent.at(-1)!;
    return new DataView(d.buffer, d.byteOffset).getUint32(0);
  };
  return { dp, tun, spiOfNextSend };
}

describe("DataPath across a rekey", () => {
  test("our own rekey: the new outbound SA is used at once", () => {
    const { dp, spiOfNextSend } = setup();
    expect(spiOfNextSend()).toBe(0x2000);
    dp.install(child(0x1001, 0x2001, 3));
    expect(spiOfNextSend()).toBe(0x2001);
  });

  test("the gateway's rekey: we keep sending on the old SA until it uses the new one", () => {
    const { dp, tun, spiOfNextSend } = setup();
    dp.install(child(0x1001, 0x2001, 3, true));
    expect(spiOfNextSend()).toBe(0x2000);
    dp.inbound(fromGateway(0x1000, 1)); // traffic on the old SA changes nothing
    expect(spiOfNextSend()).toBe(0x2000);
    dp.inbound(fromGateway(0x1001, 3)); // the gateway has installed its side
    expect(tun.written.length).toBe(2);
    expect(spiOfNextSend()).toBe(0x2001);
  });

  test("the gateway's rekey: or until the old SA is deleted", () => {
    const { dp, spiOfNextSend } = setup();
    dp.install(child(0x1001, 0x2001, 3, true));
    dp.remove(0x1000);
    expect(spiOfNextSend()).toBe(0x2001);
    expect(dp.counters().drops["unknown-spi"]).toBe(0);
  });
});
