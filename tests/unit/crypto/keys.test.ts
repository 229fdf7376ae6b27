// SKEYSEED, SK_*, rekeyed SKEYSEED and CHILD_SA KEYMAT, cross-checked against an independent
// derivation written here from RFC 7296 §2.13/§2.14/§2.17/§2.18 with node:crypto createHmac.
import { expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import {
  computeRekeySkeyseed,
  computeSkeyseed,
  deriveChildSaKeys,
  deriveIkeSaKeys,
  encrKeyLength,
  integKeyLength,
  keyLengthsFor,
  wipeChildSaKeys,
  wipeIkeSaKeys,
} from "../../../core/crypto/keys.ts";
import { prfById } from "../../../core/crypto/prf.ts";
import { concatBytes, fromHex, toHex } from "../../../core/util/bytes.ts";
import { EncrId, IntegId, PrfId } from "../../../core/wire/constants.ts";

const hmac = (hash: string, key: Uint8Array, data: Uint8Array) => new Uint8Array(createHmac(hash, key).update(data).digest());

function refPrfPlus(hash: string, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  let t: Uint8Array = new Uint8Array(0);
  let out: Uint8Array = new Uint8Array(0);
  for (let n = 1; out.length < length; n++) {
    t = hmac(hash, key, concatBytes(t, seed, Uint8Array.of(n)));
    out = concatBytes(out, t);
  }
  return out.slice(0, length);
}

/** Splits `stream` into pieces of the given lengths, in order. */
function split(stream: Uint8Array, lengths: number[]): string[] {
  const out: string[] = [];
  let o = 0;
  for (const n of lengths) {
    out.push(toHex(stream.subarray(o, o + n)));
    o += n;
  }
  return out;
}

const Ni = fromHex("c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc");
const Nr = fromHex("5a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80");
const SPIi = fromHex("0123456789abcdef");
const SPIr = fromHex("fedcba9876543210");
const gir = fromHex("9d".repeat(256));

const SUITES = [
  // [prf id, node hash, prf length, encr, keybits, integ]
  [PrfId.HMAC_SHA2_256, "sha256", 32, EncrId.AES_CBC, 128, IntegId.HMAC_SHA2_256_128],
  [PrfId.HMAC_SHA2_384, "sha384", 48, EncrId.AES_CBC, 256, IntegId.HMAC_SHA2_384_192],
  [PrfId.HMAC_SHA2_512, "sha512", 64, EncrId.AES_GCM_16, 256, IntegId.NONE],
  [PrfId.HMAC_SHA2_256, "sha256", 32, EncrId.CHACHA20_POLY1305, 0, IntegId.NONE],
  [PrfId.HMAC_SHA1, "sha1", 20, EncrId.AES_CBC, 192, IntegId.HMAC_SHA1_96],
] as const;

test("SKEYSEED = prf(Ni | Nr, g^ir) and SK_* = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) (RFC 7296 §2.14)", () => {
  for (const [prfId, hash, p, encrId, bits, integId] of SUITES) {
    const prf = prfById(prfId)!;
    const lengths = { encr: encrKeyLength(encrId, bits)!, integ: integKeyLength(integId)! };
    const skeyseed = computeSkeyseed(prf, Ni, Nr, gir);
    const refSeed = hmac(hash, concatBytes(Ni, Nr), gir);
    expect(toHex(skeyseed)).toBe(toHex(refSeed));

    const keys = deriveIkeSaKeys(prf, skeyseed, Ni, Nr, SPIi, SPIr, lengths);
    const sizes = [p, lengths.integ, lengths.integ, lengths.encr, lengths.encr, p, p];
    const ref = refPrfPlus(hash, refSeed, concatBytes(Ni, Nr, SPIi, SPIr), sizes.reduce((a, b) => a + b, 0));
    expect([keys.SK_d, keys.SK_ai, keys.SK_ar, keys.SK_ei, keys.SK_er, keys.SK_pi, keys.SK_pr].map(toHex)).toEqual(split(ref, sizes));
    if (integId === IntegId.NONE) expect(keys.SK_ai.length).toBe(0); // RFC 5282: no SK_a* with AEAD

    wipeIkeSaKeys(keys);
    expect(keys.SK_d.every((b) => b === 0) && keys.SK_er.every((b) => b === 0)).toBe(true);
  }
});

test("rekeyed IKE SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) (RFC 7296 §2.18)", () => {
  const prf = prfById(PrfId.HMAC_SHA2_256)!;
  const oldSkD = fromHex("11".repeat(32));
  const got = computeRekeySkeyseed(prf, oldSkD, gir, Ni, Nr);
  expect(toHex(got)).toBe(toHex(hmac("sha256", oldSkD, concatBytes(gir, Ni, Nr))));
  // Not the same as the initial derivation with the same inputs.
  expect(toHex(got)).not.toBe(toHex(computeSkeyseed(prf, Ni, Nr, gir)));
});

test("CHILD_SA KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr), initiator→responder first, encr then integ (§2.17)", () => {
  for (const [prfId, hash, , encrId, bits, integId] of SUITES) {
    const prf = prfById(prfId)!;
    const SK_d = fromHex("42".repeat(prf.preferredKeyLength));
    const lengths = { encr: encrKeyLength(encrId, bits)!, integ: integKeyLength(integId)! };
    const sizes = [lengths.encr, lengths.integ, lengths.encr, lengths.integ];
    const total = sizes.reduce((a, b) => a + b, 0);
    for (const withKe of [false, true]) {
      const keys = deriveChildSaKeys(prf, SK_d, Ni, Nr, lengths, withKe ? gir : undefined);
      const seed = withKe ? concatBytes(gir, Ni, Nr) : concatBytes(Ni, Nr);
      const ref = split(refPrfPlus(hash, SK_d, seed, total), sizes);
      const i2r = keys.initiatorToResponder;
      const r2i = keys.responderToInitiator;
      expect([i2r.encr, i2r.integ, r2i.encr, r2i.integ].map(toHex)).toEqual(ref);
      wipeChildSaKeys(keys);
      expect(i2r.encr.every((b) => b === 0)).toBe(true);
    }
  }
});

test("encryption key lengths include the AEAD salt (RFC 4106 §8.1, RFC 7634 §2)", () => {
  expect(encrKeyLength(EncrId.AES_CBC, 128)).toBe(16);
  expect(encrKeyLength(EncrId.AES_CBC, 192)).toBe(24);
  expect(encrKeyLength(EncrId.AES_CBC, 256)).toBe(32);
  expect(encrKeyLength(EncrId.AES_GCM_16, 128)).toBe(20);
  expect(encrKeyLength(EncrId.AES_GCM_16, 192)).toBe(28);
  expect(encrKeyLength(EncrId.AES_GCM_12, 256)).toBe(36);
  expect(encrKeyLength(EncrId.AES_GCM_8, 256)).toBe(36);
  expect(encrKeyLength(EncrId.CHACHA20_POLY1305)).toBe(36);
  expect(encrKeyLength(EncrId.CHACHA20_POLY1305, 0)).toBe(36);
  // Refused: AES without or with a bad Key Length attribute, ChaCha20 with one, unknown transforms.
  expect(encrKeyLength(EncrId.AES_CBC)).toBeUndefined();
  expect(encrKeyLength(EncrId.AES_GCM_16, 64)).toBeUndefined();
  expect(encrKeyLength(EncrId.CHACHA20_POLY1305, 256)).toBeUndefined();
  expect(encrKeyLength(EncrId.TRIPLE_DES)).toBeUndefined();
  expect(integKeyLength(IntegId.HMAC_SHA2_512_256)).toBe(64);
  expect(keyLengthsFor(EncrId.AES_CBC, 256, IntegId.HMAC_SHA2_256_128)).toEqual({ encr: 32, integ: 32 });
  expect(keyLengthsFor(EncrId.AES_GCM_16, 128, IntegId.NONE)).toEqual({ encr: 20, integ: 0 });
  expect(keyLengthsFor(EncrId.CHACHA20_POLY1305, 0, IntegId.NONE)).toEqual({ encr: 36, integ: 0 });
  expect(keyLengthsFor(EncrId.AES_CBC, 128, IntegId.NONE)).toBeUndefined();
  expect(keyLengthsFor(EncrId.AES_GCM_16, 256, IntegId.HMAC_SHA2_256_128)).toBeUndefined();
  expect(keyLengthsFor(EncrId.AES_CBC, 128, IntegId.AES_XCBC_96)).toBeUndefined();
});
