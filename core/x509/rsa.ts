// RSA signatures with BigInt arithmetic: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) and RSASSA-PSS (RFC 8017 §8.1).
// Verification compares the whole re-encoded block (no parsing of the padding), which rules out the
// DigestInfo parsing forgeries (Bleichenbacher 2006, BERserk).
//
// BigInt arithmetic is not constant-time. Signing blinds the base with a random r (r^e · m) so that
// the timing of the private exponentiation is not tied to the message; the key itself stays exposed to
// a local attacker who can time many signatures precisely — acceptable for a client that signs a few
// AUTH payloads, and noted here so nobody reuses this for a server.

import type { Random } from "../types.ts";
import { concatBytes, equalBytes, wipe } from "../util/bytes.ts";
import { encNull, encOctets, encOid, encSeq } from "./der.ts";
import type { HashInfo } from "./hash.ts";

export interface RsaPublicKey {
  n: bigint;
  e: bigint;
}

export interface RsaPrivateKey extends RsaPublicKey {
  d: bigint;
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  qinv: bigint;
}

export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** k of RFC 8017: the length of the modulus in octets. */
export function modulusOctets(n: bigint): number {
  return Math.ceil(bitLength(n) / 8);
}

export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let r = 1n;
  let b = base % m;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
  }
  return r;
}

function modInverse(a: bigint, m: bigint): bigint | null {
  let [r0, r1] = [((a % m) + m) % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return r0 === 1n ? ((s0 % m) + m) % m : null;
}

/** RFC 8017 §4.2 OS2IP. */
export function os2ip(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

/** RFC 8017 §4.1 I2OSP; null if x does not fit in len octets. */
export function i2osp(x: bigint, len: number): Uint8Array | null {
  const out = new Uint8Array(len);
  let v = x;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return v === 0n ? out : null;
}

/** RFC 8017 §5.2.2 RSAVP1 after the length checks of §8.2.2 step 1; null if the signature is out of range. */
function rsavp1(key: RsaPublicKey, signature: Uint8Array): Uint8Array | null {
  const k = modulusOctets(key.n);
  if (signature.length !== k) return null;
  const s = os2ip(signature);
  if (s >= key.n) return null; // §5.2.2 step 1
  return i2osp(modPow(s, key.e, key.n), k);
}

/** RFC 8017 §5.1.2 RSASP1 with the CRT (§5.1.2 step 2.b), blinded, and checked against a fault. */
function rsasp1(key: RsaPrivateKey, m: bigint, random: Random): bigint {
  let r = 0n;
  let rInv: bigint | null = null;
  while (rInv === null) {
    const rb = random.bytes(modulusOctets(key.n));
    r = os2ip(rb) % key.n;
    wipe(rb);
    if (r > 1n) rInv = modInverse(r, key.n);
  }
  const blinded = (m * modPow(r, key.e, key.n)) % key.n;
  const s1 = modPow(blinded, key.dp, key.p);
  const s2 = modPow(blinded, key.dq, key.q);
  const h = (((s1 - s2) * key.qinv) % key.p + key.p) % key.p;
  const s = ((s2 + key.q * h) * rInv) % key.n;
  // A faulty CRT half would leak a factor of n through the signature: check before releasing it.
  if (modPow(s, key.e, key.n) !== m) throw new Error("RSA signing fault: the private key does not match its public part");
  return s;
}

/** RFC 8017 §9.2 EMSA-PKCS1-v1_5-ENCODE: 0x00 0x01 PS(0xff...) 0x00 DigestInfo. */
function emsaPkcs1(hash: HashInfo, message: Uint8Array, emLen: number): Uint8Array | null {
  // §9.2 step 2 and Note 1: DigestInfo ::= SEQUENCE { AlgorithmIdentifier (with NULL parameters), OCTET STRING }.
  const t = encSeq(encSeq(encOid(hash.oid), encNull()), encOctets(hash.digest(message)));
  if (emLen < t.length + 11) return null; // §9.2 step 3
  const ps = new Uint8Array(emLen - t.length - 3).fill(0xff);
  return concatBytes(new Uint8Array([0x00, 0x01]), ps, new Uint8Array([0x00]), t);
}

/** RFC 8017 §8.2.2 RSASSA-PKCS1-V1_5-VERIFY: step 3 re-encodes and step 4 compares all octets. */
export function verifyPkcs1(key: RsaPublicKey, hash: HashInfo, message: Uint8Array, signature: Uint8Array): boolean {
  const em = rsavp1(key, signature);
  if (!em) return false;
  const expected = emsaPkcs1(hash, message, em.length);
  return expected !== null && equalBytes(em, expected);
}

/** RFC 8017 §8.2.1 RSASSA-PKCS1-V1_5-SIGN. */
/** Null if the key is too short for the DigestInfo (§9.2 step 3). */
export function signPkcs1(key: RsaPrivateKey, hash: HashInfo, message: Uint8Array, random: Random): Uint8Array | null {
  const k = modulusOctets(key.n);
  const em = emsaPkcs1(hash, message, k);
  if (!em) return null;
  return i2osp(rsasp1(key, os2ip(em), random), k)!;
}

/** RFC 8017 App. B.2.1 MGF1. */
export function mgf1(hash: HashInfo, seed: Uint8Array, maskLen: number): Uint8Array {
  const out = new Uint8Array(maskLen);
  const c = new Uint8Array(4);
  for (let counter = 0, o = 0; o < maskLen; counter++) {
    c[0] = counter >>> 24;
    c[1] = (counter >>> 16) & 0xff;
    c[2] = (counter >>> 8) & 0xff;
    c[3] = counter & 0xff;
    const block = hash.digest(concatBytes(seed, c));
    out.set(block.subarray(0, Math.min(block.length, maskLen - o)), o);
    o += block.length;
  }
  return out;
}

export interface PssParams {
  hash: HashInfo;
  mgfHash: HashInfo;
  saltLength: number;
}

/** RFC 8017 §9.1.1 EMSA-PSS-ENCODE. */
function emsaPssEncode(p: PssParams, message: Uint8Array, emBits: number, salt: Uint8Array): Uint8Array | null {
  const hLen = p.hash.length;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + p.saltLength + 2) return null; // step 3
  const mHash = p.hash.digest(message); // step 2
  const h = p.hash.digest(concatBytes(new Uint8Array(8), mHash, salt)); // steps 5-6: M' = 0^8 || mHash || salt
  const db = new Uint8Array(emLen - hLen - 1); // steps 7-8: DB = PS || 0x01 || salt
  db[db.length - salt.length - 1] = 0x01;
  db.set(salt, db.length - salt.length);
  const mask = mgf1(p.mgfHash, h, db.length); // step 9
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!; // step 10
  db[0]! &= 0xff >>> (8 * emLen - emBits); // step 11
  return concatBytes(db, h, new Uint8Array([0xbc])); // step 12
}

/** RFC 8017 §9.1.2 EMSA-PSS-VERIFY. */
function emsaPssVerify(p: PssParams, message: Uint8Array, em: Uint8Array, emBits: number): boolean {
  const hLen = p.hash.length;
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen) return false;
  if (emLen < hLen + p.saltLength + 2) return false; // step 3
  if (em[emLen - 1] !== 0xbc) return false; // step 4
  const masked = em.subarray(0, emLen - hLen - 1); // step 5
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >>> (8 * emLen - emBits);
  if (masked[0]! & ~topMask & 0xff) return false; // step 6
  const mask = mgf1(p.mgfHash, h, masked.length); // step 7
  const db = new Uint8Array(masked.length);
  for (let i = 0; i < db.length; i++) db[i] = masked[i]! ^ mask[i]!; // step 8
  db[0]! &= topMask; // step 9
  const psLen = emLen - hLen - p.saltLength - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false; // step 10
  if (db[psLen] !== 0x01) return false;
  const salt = db.subarray(db.length - p.saltLength); // step 11
  const mHash = p.hash.digest(message);
  const h2 = p.hash.digest(concatBytes(new Uint8Array(8), mHash, salt)); // steps 12-13
  return equalBytes(h, h2); // step 14
}

/** RFC 8017 §8.1.2 RSASSA-PSS-VERIFY. */
export function verifyPss(key: RsaPublicKey, p: PssParams, message: Uint8Array, signature: Uint8Array): boolean {
  const k = modulusOctets(key.n);
  if (signature.length !== k) return false;
  const s = os2ip(signature);
  if (s >= key.n) return false;
  const modBits = bitLength(key.n);
  const emLen = Math.ceil((modBits - 1) / 8);
  const em = i2osp(modPow(s, key.e, key.n), emLen); // step 2.c: EM = I2OSP(m, emLen)
  return em !== null && emsaPssVerify(p, message, em, modBits - 1);
}

/** RFC 8017 §8.1.1 RSASSA-PSS-SIGN. Null if the key is too short for hash and salt (§9.1.1 step 3). */
export function signPss(key: RsaPrivateKey, p: PssParams, message: Uint8Array, random: Random): Uint8Array | null {
  const modBits = bitLength(key.n);
  const salt = random.bytes(p.saltLength);
  const em = emsaPssEncode(p, message, modBits - 1, salt);
  if (!em) return null;
  return i2osp(rsasp1(key, os2ip(em), random), modulusOctets(key.n))!;
}
