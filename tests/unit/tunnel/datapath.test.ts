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

function child(spiIn: number, spiOut: number, k: number, deferOutbound = false, inboundOnly = false): ChildSaParams {
  return {
    spiIn, spiOut, encrId: EncrId.AES_GCM_16, encrKeyBits: 256, integId: IntegId.NONE,
    encrKeyOut: key(k), integKeyOut: new Uint8Array(0), encrKeyIn: key(k + 1), integKeyIn: new Uint8Array(0),
    esn: false, tsi: [sel("198.19.0.1/32")], tsr: [sel("203.0.113.0/24")], deferOutbound, ...(inboundOnly ? { inboundOnly } : {}),
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
  return fromGatewayMany(spi, k, 1)[0]!;
}

/** `n` packets in sequence on our inbound SA `spi`. */
function fromGatewayMany(spi: number, k: number, n: number): Uint8Array[] {
  const gw = new EspEngine();
  const cipher = createNobleEspCipher({ encrId: EncrId.AES_GCM_16, keyBits: 256, integId: IntegId.NONE, encrKey: key(k + 1), integKey: new Uint8Array(0), esn: false })!;
  gw.setOutbound(new OutboundSa({ spi, cipher, esn: false, random: systemRandom }));
  const inner = ipv4("203.0.113.10", "198.19.0.1");
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const buf = new Uint8Array(24 + inner.length + 64);
    buf.set(inner, 24);
    const r = gw.seal(buf, 24, inner.length);
    out.push(buf.slice(r.offset, r.offset + r.length));
  }
  return out;
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

describe("DataPath in a rekey collision (RFC 7296 §2.8.1)", () => {
  test("the redundant SA we lost with is received on, never sent on", () => {
    const { dp, tun, spiOfNextSend } = setup();
    dp.install(child(0x1001, 0x2001, 3, false, true));
    expect(spiOfNextSend()).toBe(0x2000);
    dp.inbound(fromGateway(0x1001, 3));
    expect(tun.written.length).toBe(1);
    expect(spiOfNextSend()).toBe(0x2000);
  });

  test("our SA that won replaces the gateway's one still waiting to be used", () => {
    const { dp, spiOfNextSend } = setup();
    dp.install(child(0x1001, 0x2001, 3, true)); // the gateway's rekey, answered
    dp.install(child(0x1002, 0x2002, 5)); // ours, which won
    expect(spiOfNextSend()).toBe(0x2002);
    dp.inbound(fromGateway(0x1001, 3)); // the gateway sends on its redundant SA before deleting it
    expect(spiOfNextSend()).toBe(0x2002);
    dp.remove(0x1001);
    expect(spiOfNextSend()).toBe(0x2002);
  });
});

describe("DataPath lifetime limits (RFC 4301 §4.4.2.1)", () => {
  function limited(lifetime: { softPackets?: number; hardPackets?: number }) {
    const sent: Uint8Array[] = [];
    const signals: string[] = [];
    const dp = new DataPath({ send: (d) => sent.push(d.slice()), flush: () => {}, lifetime, onLimit: (spiIn, limit) => signals.push(`${spiIn.toString(16)}/${limit}`) });
    const tun = new MemoryTun();
    dp.install(child(0x1000, 0x2000, 1));
    dp.attachTun(tun);
    return { dp, tun, sent, signals };
  }

  test("outbound: soft once, then hard once, named by the CHILD_SA's inbound SPI; nothing is sent past hard", () => {
    const { tun, sent, signals } = limited({ softPackets: 2, hardPackets: 4 });
    for (let i = 0; i < 6; i++) tun.inject([ipv4("198.19.0.1", "203.0.113.10")]);
    expect(signals).toEqual(["1000/soft", "1000/hard"]);
    expect(sent.length).toBe(4);
  });

  test("inbound: the gateway's packets count against our inbound SA", () => {
    const { dp, signals } = limited({ softPackets: 2, hardPackets: 3 });
    for (const d of fromGatewayMany(0x1000, 1, 5)) dp.inbound(d);
    expect(signals).toEqual(["1000/soft", "1000/hard"]);
  });
});
