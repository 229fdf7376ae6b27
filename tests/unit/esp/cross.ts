// The byte-for-byte cross-check of two ESP cipher factories, shared by the native and libcrypto tests: each
// seals the same inner packets to the same bytes, and each opens the other's.
import { expect } from "bun:test";
import type { EspCipherFactory } from "../../../core/esp/cipher.ts";
import { EspEngine, ESP_HEADROOM } from "../../../core/esp/engine.ts";
import { nobleEspFactory } from "../../../core/esp/noble.ts";
import { toHex } from "../../../core/util/bytes.ts";
import { framed, ipv4, ipv6, saPair, SeededRandom } from "./helpers.ts";
import type { SuiteCase } from "./helpers.ts";

/** Seals IPv4 packets of `sizesV4` and IPv6 packets of `sizesV6` octets with noble and with `other` (with ESN
 *  starting just below 2^32), expects identical packets, each opened by the other side to the same inner
 *  packet and Next Header, and no drops. */
export function expectSameAsNoble(s: SuiteCase, esn: boolean, other: EspCipherFactory, sizesV4: number[], sizesV6: number[]): void {
  const rnd = new SeededRandom(s.encrId * 1000 + (s.keyBits ?? 0) + (esn ? 1 : 0));
  const a = saPair(s, nobleEspFactory, other, { esn });
  const b = saPair(s, other, nobleEspFactory, { esn });
  if (esn) {
    // Start just below the 2^32 boundary so the high half is exercised.
    a.out.seqLo = b.out.seqLo = 0xfffffff8;
    a.inb.replay.update(0xfffffff8);
    b.inb.replay.update(0xfffffff8);
  }
  const ea = new EspEngine();
  ea.setOutbound(a.out);
  ea.addInbound(b.inb); // opens what `other` sealed, with noble
  const eb = new EspEngine();
  eb.setOutbound(b.out);
  eb.addInbound(a.inb); // opens what noble sealed, with `other`
  const inners = [...sizesV4.map((n) => ipv4(n, rnd)), ...sizesV6.map((n) => ipv6(n, rnd))];
  for (const inner of inners) {
    const bufA = framed(inner);
    const bufB = framed(inner);
    const ra = { ...ea.seal(bufA, ESP_HEADROOM, inner.length) };
    const rb = { ...eb.seal(bufB, ESP_HEADROOM, inner.length) };
    expect(ra.status).toBe("ok");
    expect(rb.status).toBe("ok");
    const pa = bufA.subarray(ra.offset, ra.offset + ra.length);
    const pb = bufB.subarray(rb.offset, rb.offset + rb.length);
    expect(toHex(pa)).toBe(toHex(pb));
    // noble's packet opened by `other`, `other`'s opened by noble.
    for (const [engine, p] of [[eb, pa], [ea, pb]] as const) {
      const copy = p.slice();
      const r = engine.open(copy, 0, copy.length);
      expect(r.status).toBe("ok");
      expect(r.nextHeader).toBe(inner[0]! >>> 4 === 4 ? 4 : 41);
      expect(toHex(copy.subarray(r.offset, r.offset + r.length))).toBe(toHex(inner));
    }
  }
  if (esn) expect(a.out.seqHi).toBe(1);
  expect(ea.drops).toEqual(eb.drops);
  expect(Object.values(ea.drops).every((n) => n === 0)).toBe(true);
  expect(Object.values(eb.drops).every((n) => n === 0)).toBe(true);
}
