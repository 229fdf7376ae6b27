// The SK payload body: RFC 7634 Appendix B (IKEv2 ChaCha20-Poly1305), RFC 8439 §2.8.2 and the GCM
// spec vectors through the salt | IV nonce, AES-CBC + HMAC against node:crypto, and the failures.
import { expect, test } from "bun:test";
import { createCipheriv, createHmac } from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { createSkSuite } from "../../../core/crypto/encr.ts";
import type { SkKeys } from "../../../core/crypto/encr.ts";
import { bytes, sampleSuites, suite } from "./suites.ts";
import { gcmSeal } from "../../../core/crypto/gcm.ts";
import { concatBytes, fromHex, toHex, utf8 } from "../../../core/util/bytes.ts";
import { EncrId, IntegId } from "../../../core/wire/constants.ts";

test("RFC 7634 Appendix B: the IKEv2 ChaCha20-Poly1305 example, sealed and opened", () => {
  const s = suite(EncrId.CHACHA20_POLY1305, undefined, IntegId.NONE);
  const keys: SkKeys = {
    encr: fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3"), // key | salt
  };
  const iv = fromHex("1011121314151617");
  // IKE header (SPIs, SK next payload, v2.0, INFORMATIONAL, flags, Message ID 9, length 0x45) + SK header.
  const aad = fromHex("c0c1c2c3c4c5c6c7 d0d1d2d3d4d5d6d7 2e202500 00000009 00000045 29000029");
  const notify = fromHex("0000000c 00004001 0000000a"); // N(SET_WINDOW_SIZE = 10)
  expect(s.bodyLength(notify.length)).toBe(0x29 - 4); // SK Payload Length 0x29 minus its header
  expect(aad.length + s.bodyLength(notify.length)).toBe(0x45);
  const body = s.seal(keys, aad, notify, iv);
  // IV | ciphertext | tag as printed in the RFC.
  expect(toHex(body)).toBe(toHex(fromHex("1011121314151617 610394701f8d017f7c12924889 6b71bfe25236efd7cdc67066906315b2")));
  const opened = s.open(keys, aad, body);
  expect(opened.ok && toHex(opened.plaintext)).toBe(toHex(notify));
});

test("RFC 8439 §2.8.2 through open(): nonce = salt | IV, AAD as given, then the Pad Length is honoured", () => {
  const s = suite(EncrId.CHACHA20_POLY1305, undefined, IntegId.NONE);
  const keys = { encr: fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f 07000000") };
  const aad = fromHex("50515253c0c1c2c3c4c5c6c7");
  const ct = fromHex(`
    d3 1a 8d 34 64 8e 60 db 7b 86 af bc 53 ef 7e c2 a4 ad ed 51 29 6e 08 fe a9 e2 b5 a7 36 ee 62 d6
    3d be a4 5e 8c a9 67 12 82 fa fb 69 da 92 72 8b 1a 71 de 0a 9e 06 0b 29 05 d6 a5 b6 7e cd 3b 36
    92 dd bd 7f 2d 77 8b 8c 98 03 ae e3 28 09 1b 58 fa b3 24 e4 fa d6 75 94 55 85 80 8b 48 31 d7 bc
    3f f4 de f0 8e 4b 7a 9d e5 76 d2 65 86 ce c6 4b 61 16`);
  const tag = fromHex("1ae10b594f09e26a7e902ecbd0600691");
  const sunscreen = utf8(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  // The plaintext ends with "." = 0x2e = 46: read as a Pad Length, 46 octets of padding precede it.
  const r = s.open(keys, aad, concatBytes(fromHex("4041424344454647"), ct, tag));
  expect(r.ok && toHex(r.plaintext)).toBe(toHex(sunscreen.subarray(0, sunscreen.length - 1 - 46)));
  const bad = tag.slice();
  bad[0]! ^= 0x80;
  expect(s.open(keys, aad, concatBytes(fromHex("4041424344454647"), ct, bad))).toMatchObject({ ok: false, reason: "icv" });
});

test("AES-GCM-8/12/16 SK bodies: GCM spec test case 4 with salt = cafebabe, IV = facedbaddecaf888", () => {
  const ct = fromHex(
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
  );
  const tag = fromHex("5bc94fbc3221a5db94fae95ae7121a47");
  const aad = fromHex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const keys = { encr: fromHex("feffe9928665731c6d6a8f9467308308 cafebabe") };
  for (const [id, icv] of [
    [EncrId.AES_GCM_16, 16],
    [EncrId.AES_GCM_12, 12],
    [EncrId.AES_GCM_8, 8],
  ] as const) {
    const s = suite(id, 128, IntegId.NONE);
    expect(s.icvLength).toBe(icv);
    // The decrypted block ends in 0x39 = 57: 57 octets of padding, leaving the first 2 as payload.
    const r = s.open(keys, aad, concatBytes(fromHex("facedbaddecaf888"), ct, tag.subarray(0, icv)));
    expect(r.ok && toHex(r.plaintext)).toBe("d931");
    expect(s.open(keys, aad.subarray(1), concatBytes(fromHex("facedbaddecaf888"), ct, tag.subarray(0, icv))).ok).toBe(false);
  }
});

/** The SK body for AES-CBC + HMAC written independently from RFC 7296 §3.14 with node:crypto. */
function nodeCbcBody(bits: number, hash: string, icvLength: number, keys: SkKeys, aad: Uint8Array, pt: Uint8Array, iv: Uint8Array) {
  const padLength = (16 - ((pt.length + 1) % 16)) % 16;
  const padded = concatBytes(pt, new Uint8Array(padLength), Uint8Array.of(padLength));
  const c = createCipheriv(`aes-${bits}-cbc`, keys.encr, iv).setAutoPadding(false);
  const ct = concatBytes(c.update(padded), c.final());
  const icv = createHmac(hash, keys.integ!).update(concatBytes(aad, iv, ct)).digest().subarray(0, icvLength);
  return concatBytes(iv, ct, icv);
}

test("AES-CBC + HMAC SK bodies match node:crypto (encrypt-then-MAC over header | IV | ciphertext)", () => {
  for (const [bits, integId, hash, keyLen, icvLen] of [
    [128, IntegId.HMAC_SHA2_256_128, "sha256", 32, 16],
    [192, IntegId.HMAC_SHA2_384_192, "sha384", 48, 24],
    [256, IntegId.HMAC_SHA2_512_256, "sha512", 64, 32],
    [256, IntegId.HMAC_SHA1_96, "sha1", 20, 12],
  ] as const) {
    const s = suite(EncrId.AES_CBC, bits, integId);
    const keys = { encr: bytes(bits / 8, 1), integ: bytes(keyLen, 2) };
    const iv = bytes(16, 3);
    const aad = bytes(32, 4);
    for (let n = 0; n <= 48; n++) {
      const pt = bytes(n, n);
      const body = s.seal(keys, aad, pt, iv);
      expect(body.length).toBe(s.bodyLength(n));
      expect((body.length - 16 - icvLen) % 16).toBe(0);
      expect(toHex(body)).toBe(toHex(nodeCbcBody(bits, hash, icvLen, keys, aad, pt, iv)));
      const r = s.open(keys, aad, body);
      expect(r.ok && toHex(r.plaintext)).toBe(toHex(pt));
    }
  }
});

const ALL = sampleSuites();

test("every changed octet of header, IV, ciphertext or ICV is refused as an ICV failure", () => {
  const aad = bytes(32, 9);
  const pt = utf8("IDi | AUTH | SAi2 | TSi | TSr");
  for (const [name, s, keys, iv] of ALL) {
    const body = s.seal(keys, aad, pt, iv);
    for (let i = 0; i < body.length; i++) {
      const b = body.slice();
      b[i]! ^= 0x40;
      const r = s.open(keys, aad, b);
      if (r.ok || r.reason !== "icv") throw new Error(`${name}: flipped body octet ${i} was not refused: ${JSON.stringify(r)}`);
    }
    for (let i = 0; i < aad.length; i++) {
      const a = aad.slice();
      a[i]! ^= 0x02;
      expect(s.open(keys, a, body)).toMatchObject({ ok: false, reason: "icv" });
    }
    const otherKey = { ...keys, encr: keys.encr.map((x) => x ^ 1) };
    // With CBC the MAC key is separate: a wrong encryption key shows up as a padding failure or garbage,
    // never as the original plaintext.
    const o = s.open(otherKey, aad, body);
    expect(o.ok && toHex(o.plaintext) === toHex(pt)).toBe(false);
  }
});

test("truncated and misaligned bodies are refused with reason 'length' or 'icv', never a throw", () => {
  const aad = bytes(32, 1);
  for (const [name, s, keys, iv] of ALL) {
    const body = s.seal(keys, aad, bytes(20, 2), iv);
    for (let n = 0; n < body.length; n++) {
      const r = s.open(keys, aad, body.subarray(0, n));
      if (r.ok) throw new Error(`${name}: a ${n}-byte prefix opened`);
      expect(["length", "icv"]).toContain(r.reason);
    }
    expect(s.open(keys, aad, concatBytes(body, Uint8Array.of(0))).ok).toBe(false);
  }
});

test("a correctly authenticated body whose Pad Length exceeds the plaintext is refused as 'padding'", () => {
  const aad = bytes(32, 3);
  // AES-CBC: one block ending in 0xff, properly encrypted and MACed.
  const cbc = suite(EncrId.AES_CBC, 128, IntegId.HMAC_SHA2_256_128);
  const ck = { encr: bytes(16, 4), integ: bytes(32, 5) };
  const iv = bytes(16, 6);
  const c = createCipheriv("aes-128-cbc", ck.encr, iv).setAutoPadding(false);
  const ct = concatBytes(c.update(concatBytes(bytes(15, 7), Uint8Array.of(0xff))), c.final());
  const icv = createHmac("sha256", ck.integ).update(concatBytes(aad, iv, ct)).digest().subarray(0, 16);
  expect(cbc.open(ck, aad, concatBytes(iv, ct, icv))).toMatchObject({ ok: false, reason: "padding" });
  // Pad Length 15 in a 16-octet block is the largest valid one: empty payload.
  const c2 = createCipheriv("aes-128-cbc", ck.encr, iv).setAutoPadding(false);
  const ct2 = concatBytes(c2.update(concatBytes(bytes(15, 7), Uint8Array.of(15))), c2.final());
  const icv2 = createHmac("sha256", ck.integ).update(concatBytes(aad, iv, ct2)).digest().subarray(0, 16);
  expect(cbc.open(ck, aad, concatBytes(iv, ct2, icv2))).toEqual({ ok: true, plaintext: new Uint8Array(0) });

  // AES-GCM and ChaCha20-Poly1305: 3 decrypted octets claiming 3 octets of padding.
  const padded = Uint8Array.of(1, 2, 3);
  const gk = bytes(20, 8);
  const gcm = suite(EncrId.AES_GCM_16, 128, IntegId.NONE);
  const gcmBody = concatBytes(iv.subarray(0, 8), gcmSeal(gk.subarray(0, 16), concatBytes(gk.subarray(16), iv.subarray(0, 8)), aad, padded, 16));
  expect(gcm.open({ encr: gk }, aad, gcmBody)).toMatchObject({ ok: false, reason: "padding" });
  const xk = bytes(36, 9);
  const chacha = suite(EncrId.CHACHA20_POLY1305, undefined, IntegId.NONE);
  const sealed = chacha20poly1305(xk.subarray(0, 32), concatBytes(xk.subarray(32), iv.subarray(0, 8)), aad).encrypt(padded);
  expect(chacha.open({ encr: xk }, aad, concatBytes(iv.subarray(0, 8), sealed))).toMatchObject({ ok: false, reason: "padding" });
});

test("createSkSuite refuses unsupported or inconsistent transform sets; seal refuses wrong key/IV sizes", () => {
  expect(createSkSuite(EncrId.AES_CBC, 128, IntegId.NONE).ok).toBe(false);
  expect(createSkSuite(EncrId.AES_CBC, undefined, IntegId.HMAC_SHA2_256_128).ok).toBe(false);
  expect(createSkSuite(EncrId.AES_GCM_16, 256, IntegId.HMAC_SHA2_256_128).ok).toBe(false);
  expect(createSkSuite(EncrId.CHACHA20_POLY1305, 256, IntegId.NONE).ok).toBe(false);
  expect(createSkSuite(EncrId.TRIPLE_DES, undefined, IntegId.HMAC_SHA1_96).ok).toBe(false);
  const s = suite(EncrId.AES_GCM_16, 256, IntegId.NONE);
  expect(s.bodyLength(100)).toBe(8 + 101 + 16);
  expect(() => s.seal({ encr: new Uint8Array(32) }, new Uint8Array(32), new Uint8Array(4), new Uint8Array(8))).toThrow(RangeError);
  expect(() => s.seal({ encr: new Uint8Array(36) }, new Uint8Array(32), new Uint8Array(4), new Uint8Array(16))).toThrow(RangeError);
  const c = suite(EncrId.AES_CBC, 128, IntegId.HMAC_SHA2_256_128);
  expect(c.bodyLength(0)).toBe(16 + 16 + 16);
  expect(c.bodyLength(15)).toBe(16 + 16 + 16);
  expect(c.bodyLength(16)).toBe(16 + 32 + 16);
  expect(() => c.seal({ encr: new Uint8Array(16) }, new Uint8Array(32), new Uint8Array(4), new Uint8Array(16))).toThrow(RangeError);
});
