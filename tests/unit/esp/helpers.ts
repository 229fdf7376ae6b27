// Shared pieces of the ESP tests: suites, deterministic randomness, inner packets, SA pairs.
import type { EspCipherFactory, EspCipherParams } from "../../../core/esp/cipher.ts";
import { espSuite } from "../../../core/esp/cipher.ts";
import { ESP_HEADROOM, ESP_TAILROOM } from "../../../core/esp/engine.ts";
import { InboundSa, OutboundSa } from "../../../core/esp/sa.ts";
import type { EspLifetime, IvSource } from "../../../core/esp/sa.ts";
import type { Random } from "../../../core/types.ts";
import { writeU16 } from "../../../core/util/bytes.ts";
import { EncrId, IntegId } from "../../../core/wire/constants.ts";

export interface SuiteCase {
  name: string;
  encrId: number;
  keyBits?: number;
  integId: number;
}

export const SUITES: SuiteCase[] = [
  { name: "AES-128-GCM-16", encrId: EncrId.AES_GCM_16, keyBits: 128, integId: IntegId.NONE },
  { name: "AES-192-GCM-16", encrId: EncrId.AES_GCM_16, keyBits: 192, integId: IntegId.NONE },
  { name: "AES-256-GCM-16", encrId: EncrId.AES_GCM_16, keyBits: 256, integId: IntegId.NONE },
  { name: "ChaCha20-Poly1305", encrId: EncrId.CHACHA20_POLY1305, integId: IntegId.NONE },
  { name: "AES-128-CBC+HMAC-SHA2-256-128", encrId: EncrId.AES_CBC, keyBits: 128, integId: IntegId.HMAC_SHA2_256_128 },
  { name: "AES-256-CBC+HMAC-SHA2-256-128", encrId: EncrId.AES_CBC, keyBits: 256, integId: IntegId.HMAC_SHA2_256_128 },
  { name: "AES-256-CBC+HMAC-SHA2-384-192", encrId: EncrId.AES_CBC, keyBits: 256, integId: IntegId.HMAC_SHA2_384_192 },
  { name: "AES-192-CBC+HMAC-SHA2-512-256", encrId: EncrId.AES_CBC, keyBits: 192, integId: IntegId.HMAC_SHA2_512_256 },
];

/** A seeded, deterministic byte source (xorshift32): test data and IVs, never keys in production. */
export class SeededRandom implements Random {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}

export function paramsFor(s: SuiteCase, rnd: Random, esn: boolean): EspCipherParams {
  const suite = espSuite(s.encrId, s.keyBits, s.integId)!;
  return { encrId: s.encrId, keyBits: s.keyBits, integId: s.integId, encrKey: rnd.bytes(suite.encrKeyLength), integKey: rnd.bytes(suite.integKeyLength), esn };
}

/** An IPv4 packet of `len` octets (>= 20): version 4, IHL 5, Total Length, random body. */
export function ipv4(len: number, rnd: Random): Uint8Array {
  const p = rnd.bytes(len);
  p[0] = 0x45;
  writeU16(p, 2, len);
  return p;
}

/** An IPv6 packet of `len` octets (>= 40): version 6, Payload Length, random body. */
export function ipv6(len: number, rnd: Random): Uint8Array {
  const p = rnd.bytes(len);
  p[0] = 0x60 | (p[0]! & 0x0f);
  writeU16(p, 4, len - 40);
  return p;
}

/** A buffer with the inner packet at ESP_HEADROOM and ESP_TAILROOM free after it. */
export function framed(inner: Uint8Array): Uint8Array {
  const buf = new Uint8Array(ESP_HEADROOM + inner.length + ESP_TAILROOM);
  buf.set(inner, ESP_HEADROOM);
  return buf;
}

export interface SaPairOptions {
  spi?: number;
  esn?: boolean;
  lifetime?: EspLifetime;
  inLifetime?: EspLifetime;
  seed?: number;
  iv?: IvSource;
  replayWindow?: number;
}

/** An outbound SA from `sender` and the matching inbound SA from `receiver`, with the same keys. */
export function saPair(s: SuiteCase, sender: EspCipherFactory, receiver: EspCipherFactory, o: SaPairOptions = {}) {
  const esn = o.esn ?? false;
  const params = paramsFor(s, new SeededRandom(o.seed ?? 7), esn);
  const spi = o.spi ?? 0xc0ffee01;
  const out = new OutboundSa({ spi, cipher: sender.create(params)!, esn, lifetime: o.lifetime, random: new SeededRandom(99), iv: o.iv });
  const inb = new InboundSa({ spi, cipher: receiver.create(params)!, esn, lifetime: o.inLifetime, replayWindow: o.replayWindow });
  return { out, inb, params };
}
