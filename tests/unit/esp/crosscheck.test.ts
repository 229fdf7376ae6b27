// The native (node:crypto) and reference (noble) ciphers must produce byte-identical ESP packets for
// every suite, with and without ESN, for IPv4 and IPv6 packets of many sizes, and each must open the
// other's. A CBC+HMAC packet is also rebuilt by hand from RFC 4303 §2 with node:crypto primitives.
import { describe, expect, test } from "bun:test";
import { createCipheriv, createHmac } from "node:crypto";
import { EspEngine, ESP_HEADROOM } from "../../../core/esp/engine.ts";
import { nobleEspFactory } from "../../../core/esp/noble.ts";
import { concatBytes, toHex, writeU32 } from "../../../core/util/bytes.ts";
import { EncrId, IntegId } from "../../../core/wire/constants.ts";
import { nativeEspFactory } from "../../../platform/crypto/esp-native.ts";
import { expectSameAsNoble } from "./cross.ts";
import { framed, ipv4, saPair, SeededRandom, SUITES } from "./helpers.ts";

const SIZES_V4 = [20, 21, 22, 23, 24, 40, 63, 64, 65, 127, 128, 200, 576, 1000, 1399, 1400, 1500];
const SIZES_V6 = [40, 41, 42, 43, 44, 60, 100, 1280, 1399, 1400, 1500];

describe("native and noble seal the same bytes and open each other's", () => {
  for (const s of SUITES) {
    for (const esn of [false, true]) {
      test(`${s.name}${esn ? " ESN" : ""}`, () => expectSameAsNoble(s, esn, nativeEspFactory, SIZES_V4, SIZES_V6));
    }
  }
});

test("AES-256-CBC + HMAC-SHA2-256-128 packets rebuilt by hand from RFC 4303 §2, §2.4 and §2.2.1 (ESN)", () => {
  const s = SUITES.find((x) => x.encrId === EncrId.AES_CBC && x.keyBits === 256 && x.integId === IntegId.HMAC_SHA2_256_128)!;
  for (const factory of [nobleEspFactory, nativeEspFactory]) {
    for (const esn of [false, true]) {
      const { out, params } = saPair(s, factory, factory, { spi: 0x11223344, esn });
      if (esn) out.seqHi = 2; // the next packet is 2^33 + 1: Seq lo 1 on the wire
      const engine = new EspEngine();
      engine.setOutbound(out);
      const inner = ipv4(61, new SeededRandom(5));
      const buf = framed(inner);
      const r = engine.seal(buf, ESP_HEADROOM, inner.length);
      const iv = buf.slice(r.offset + 8, r.offset + 24);
      // 61 + 2 = 63: one octet of padding (value 1) reaches 64, a multiple of the 16-octet block.
      const plain = concatBytes(inner, Uint8Array.of(1, 1, 4));
      const c = createCipheriv("aes-256-cbc", params.encrKey, iv).setAutoPadding(false);
      const ct = concatBytes(c.update(plain), c.final());
      const header = new Uint8Array(8);
      writeU32(header, 0, 0x11223344);
      writeU32(header, 4, 1);
      // §2.2.1: with ESN the high-order 32 bits follow the ciphertext in the ICV input only.
      const seqHi = new Uint8Array(4);
      writeU32(seqHi, 0, 2);
      const macInput = esn ? concatBytes(header, iv, ct, seqHi) : concatBytes(header, iv, ct);
      const icv = createHmac("sha256", params.integKey).update(macInput).digest().subarray(0, 16);
      expect(toHex(buf.subarray(r.offset, r.offset + r.length))).toBe(toHex(concatBytes(header, iv, ct, icv)));
    }
  }
});
