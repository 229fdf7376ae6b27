// Known-answer ESP packets: RFC 7634 Appendix A (ChaCha20-Poly1305, through the whole engine) and the
// AES-GCM ESP packets of draft-mcgrew-gcm-test-01 §4 (through both cipher implementations and the
// engine). Bytes typed in from the documents.
import { describe, expect, test } from "bun:test";
import type { EspCipherFactory } from "../../../core/esp/cipher.ts";
import { ESP_HEADER_LENGTH } from "../../../core/esp/cipher.ts";
import { EspEngine, ESP_HEADROOM } from "../../../core/esp/engine.ts";
import { nobleEspFactory } from "../../../core/esp/noble.ts";
import { InboundSa, OutboundSa } from "../../../core/esp/sa.ts";
import type { IvSource } from "../../../core/esp/sa.ts";
import { fromHex, toHex } from "../../../core/util/bytes.ts";
import { EncrId, IntegId } from "../../../core/wire/constants.ts";
import { nativeEspFactory } from "../../../platform/crypto/esp-native.ts";
import { framed, SeededRandom } from "./helpers.ts";

const FACTORIES: EspCipherFactory[] = [nobleEspFactory, nativeEspFactory];

function fixedIv(iv: Uint8Array): IvSource {
  return { write: (buf, off) => buf.set(iv, off) };
}

// RFC 7634 Appendix A: tunnel-mode ESP, ChaCha20-Poly1305, SPI 0x01020304, Sequence Number 5.
const A_KEYMAT = fromHex("808182838485868788898a8b8c8d8e8f 909192939495969798999a9b9c9d9e9f a0a1a2a3"); // key | salt
const A_IV = fromHex("1011121314151617");
// The inner packet: IPv4 ICMP echo request 198.51.100.5 -> 192.0.2.5, 84 octets.
const A_INNER = fromHex(`
  45 00 00 54 a6 f2 00 00 40 01 e7 78 c6 33 64 05 c0 00 02 05 08 00 5b 7a 3a 08 00 00 55 3b ec 10
  00 07 36 27 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23
  24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31 32 33 34 35 36 37`);
const A_TRAILER = fromHex("01 02 02 04"); // Padding 1, 2 | Pad Length 2 | Next Header 4 (IPv4)
const A_ESP = fromHex(`
  01 02 03 04 00 00 00 05 10 11 12 13 14 15 16 17
  24 03 94 28 b9 7f 41 7e 3c 13 75 3a 4f 05 08 7b 67 c3 52 e6 a7 fa b1 b9 82 d4 66 ef 40 7a e5 c6
  14 ee 80 99 d5 28 44 eb 61 aa 95 df ab 4c 02 f7 2a a7 1e 7c 4c 4f 64 c9 be fe 2f ac c6 38 e8 f3
  cb ec 16 3f ac 46 9b 50 27 73 f6 fb 94 e6 64 da 91 65 b8 28 29 f6 41 e0
  76 aa a8 26 6b 7f b0 f7 b1 1b 36 99 07 e1 ad 43`); // ICV

describe("RFC 7634 Appendix A: the ESP example", () => {
  for (const f of FACTORIES) {
    const params = { encrId: EncrId.CHACHA20_POLY1305, integId: IntegId.NONE, encrKey: A_KEYMAT, integKey: new Uint8Array(0), esn: false };

    test(`${f.name}: the engine seals the inner packet into the RFC's bytes`, () => {
      const engine = new EspEngine();
      const sa = new OutboundSa({ spi: 0x01020304, cipher: f.create(params)!, esn: false, random: new SeededRandom(1), iv: fixedIv(A_IV) });
      sa.seqLo = 4; // the next packet carries Sequence Number 5
      engine.setOutbound(sa);
      const buf = framed(A_INNER);
      const r = engine.seal(buf, ESP_HEADROOM, A_INNER.length);
      expect(r.status).toBe("ok");
      expect(toHex(buf.subarray(r.offset, r.offset + r.length))).toBe(toHex(A_ESP));
      // The plaintext trailer the RFC shows: padding to a 4-octet boundary.
      expect(r.length - ESP_HEADER_LENGTH - 8 - 16).toBe(A_INNER.length + A_TRAILER.length);
    });

    test(`${f.name}: the engine opens the RFC's packet into the inner packet`, () => {
      const engine = new EspEngine();
      engine.addInbound(new InboundSa({ spi: 0x01020304, cipher: f.create(params)!, esn: false }));
      const buf = A_ESP.slice();
      const r = engine.open(buf, 0, buf.length);
      expect(r.status).toBe("ok");
      expect(r.nextHeader).toBe(4);
      expect(toHex(buf.subarray(r.offset, r.offset + r.length))).toBe(toHex(A_INNER));
      expect(toHex(buf.subarray(r.offset + r.length, r.offset + r.length + 4))).toBe(toHex(A_TRAILER));
    });
  }
});

// draft-mcgrew-gcm-test-01 §4: key, salt, SPI, 64-bit sequence number (ESN when the AAD is 12
// octets), the plaintext ESP payload (with its trailer) and the ESP packet as printed.
interface GcmCase {
  name: string;
  key: string;
  salt: string;
  spi: number;
  seqHi: number;
  seqLo: number;
  esn: boolean;
  plaintext: string;
  packet: string;
}

const GCM_CASES: GcmCase[] = [
  {
    name: "AES-128, ESN, Seq 0x8765432100000000",
    key: "4c80cdefbb5d10da906ac73c3613a634",
    salt: "2e443b68",
    spi: 0x00004321,
    seqHi: 0x87654321,
    seqLo: 0,
    esn: true,
    plaintext: `45000048699a000080114db7c0a80102 c0a801010a9bf15638d3010000010000 00000000045f736970045f7564700373
                69700963796265726369747902646b00 0021000101020201`,
    packet: `00004321000000004956ed7e3b244cfe fecf537e729d5b07dc30df528dd22b76 8d1b98736696a6fd348509fa13ceac34
             cfa2436f14a3f3cf65925bf1f4a13c5d 15b21e1884f5ff6247aeabb786b93bce 61bc17d768fd9732459018148f6cbe72
             2fd04796562dfdb4`,
  },
  {
    name: "AES-128, Seq 10",
    key: "feffe9928665731c6d6a8f9467308308",
    salt: "cafebabe",
    spi: 0x0000a5f8,
    seqHi: 0,
    seqLo: 0x0a,
    esn: false,
    plaintext: `4500003e698f000080114dccc0a80102 c0a801010a980035002a2343b2d00100 00010000000000000373697009637962
                65726369747902646b00000100010001`,
    packet: `0000a5f80000000afacedbaddecaf888 deb22cd9b07c72c16e3a65beeb8df304 a5a5897d33ae530f1ba76d5d114d2a5c
             3de81827c10e9a4f51330d0eec416642 cfbb85a5b47e48a4ec3b9ba95d918bd1 83b70d3aa8bc6ee4c309e9d85a41ad4a`,
  },
  {
    name: "AES-256, Seq 2",
    key: "abbccddef00112233445566778899aab abbccddef00112233445566778899aab",
    salt: "11223344",
    spi: 0x4a2cbfe3,
    seqHi: 0,
    seqLo: 2,
    esn: false,
    plaintext: `4500003069a6400080062690c0a80102 9389155e0a9e008b2dc57ee000000000 7002400020bf0000020405b401010402
                01020201`,
    packet: `4a2cbfe3000000020102030405060708 ff425c9b724599df7a3bcd510194e00d 6a78107f1b0b1cbf06efae9d65a5d763
             748a637985771d347f0545659f14e99d ef842d8eb335f4eecfdbf831824b4c49 15956c96`,
  },
  {
    name: "AES-192, Seq 10",
    key: "feffe9928665731c6d6a8f9467308308 feffe9928665731c",
    salt: "cafebabe",
    spi: 0x0000a5f8,
    seqHi: 0,
    seqLo: 0x0a,
    esn: false,
    plaintext: `45000028a4ad4000400678800a01038f 0a010612802306b8cb712602dd6bb03e 501016d075680001`,
    packet: `0000a5f80000000afacedbaddecaf888 a5b1f8066029aea40e598b8122de0242 0938b3ab33f828e687b8858b5bfbdbd0
             315b27452144cc7795457b9652037f53 18027b5b4cd7a636`,
  },
  {
    name: "AES-256, ESN, Seq 2^64 - 1",
    key: "6c6567616c697a656d6172696a75616e 61616e64646f69746265666f72656961",
    salt: "7475726e",
    spi: 0x796b6963,
    seqHi: 0xffffffff,
    seqLo: 0xffffffff,
    esn: true,
    plaintext: `45000030da3a00008001df3bc0a80005 c0a800010800c6cd0200070061626364 65666768696a6b6c6d6e6f7071727374
                01020201`,
    packet: `796b6963ffffffff333021696765746d f97ab2aa356d8edce17644ac8c78e25d d24dedbb29ebf1b64a274b39b49c3a86
             4cd3d78ca4ae68a32b42458fb57dbe82 1dcc63b9d0937ba2945f669368661a32 9fb4c053`,
  },
  {
    name: "AES-128, Seq 2^32 - 1, trailer only",
    key: "7d773d00c144c525ac619d18c84a3f47",
    salt: "d9664267",
    spi: 0x335467ae,
    seqHi: 0,
    seqLo: 0xffffffff,
    esn: false,
    plaintext: "01020201",
    packet: "335467aeffffffff43457e9182443bc6 437f866bcb3f699fe9b0822bac961c45 04bef270",
  },
];

describe("draft-mcgrew-gcm-test-01 §4: AES-GCM ESP packets", () => {
  for (const f of FACTORIES) {
    for (const c of GCM_CASES) {
      const key = fromHex(c.key);
      const params = { encrId: EncrId.AES_GCM_16, keyBits: key.length * 8, integId: IntegId.NONE, encrKey: fromHex(c.key + c.salt), integKey: new Uint8Array(0), esn: c.esn };
      const packet = fromHex(c.packet);
      const plaintext = fromHex(c.plaintext);

      test(`${f.name} ${c.name}: seal gives the packet, open gives the plaintext`, () => {
        const cipher = f.create(params)!;
        expect(cipher).toBeDefined();
        const buf = new Uint8Array(packet.length);
        buf.set(packet.subarray(0, ESP_HEADER_LENGTH + 8)); // SPI | Seq lo | IV, as printed
        buf.set(plaintext, 16);
        cipher.seal(buf, 0, plaintext.length, c.seqHi);
        expect(toHex(buf)).toBe(toHex(packet));
        expect(cipher.open(buf, 0, plaintext.length, c.seqHi)).toBe(true);
        expect(toHex(buf.subarray(16, 16 + plaintext.length))).toBe(toHex(plaintext));
        if (c.esn) {
          // The high half is authenticated though not sent: a wrong one fails, buffer untouched.
          const again = packet.slice();
          expect(cipher.open(again, 0, plaintext.length, (c.seqHi + 1) >>> 0)).toBe(false);
          expect(toHex(again)).toBe(toHex(packet));
        }
      });

      test(`${f.name} ${c.name}: the engine authenticates it, then refuses Next Header ${plaintext.at(-1)}`, () => {
        // The draft's trailers all carry Next Header 1, which tunnel mode does not carry; the ICV
        // verifies, the sequence number is marked seen, and the drop is counted.
        const engine = new EspEngine();
        const sa = new InboundSa({ spi: c.spi, cipher: f.create(params)!, esn: c.esn });
        engine.addInbound(sa);
        if (c.esn && c.seqHi > 0) {
          // Place the window so that App. A2.2 infers the draft's high half: top just before it.
          sa.replay.update(c.seqLo === 0 ? 0xffffffff : c.seqLo - 1, c.seqLo === 0 ? c.seqHi - 1 : c.seqHi);
        }
        const buf = packet.slice();
        const r = engine.open(buf, 0, buf.length);
        expect(r.status).toBe("bad-next-header");
        expect(engine.drops["bad-next-header"]).toBe(1);
        expect(toHex(buf.subarray(16, 16 + plaintext.length))).toBe(toHex(plaintext));
        expect(sa.replay.check(c.seqLo, c.seqHi)).toBe("replayed");
        expect(engine.open(packet.slice(), 0, packet.length).status).toBe("replayed");
      });
    }
  }
});
