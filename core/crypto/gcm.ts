// AES-GCM with a 96-bit nonce and a tag truncated to 8, 12 or 16 octets (NIST SP 800-38D, used by
// RFC 4106 and RFC 5282). noble's gcm() only knows 16-octet tags and checks them itself, so the tag is
// computed here from GHASH, which lets open() verify a truncated ICV before anything is decrypted.

import { concatBytes, equalBytes, wipe, writeU32 } from "../util/bytes.ts";
import { noble } from "./noble.ts";

export const GCM_NONCE_LENGTH = 12;
const BLOCK = 16;
/** RFC 4106 §6 / RFC 5282: the ICV is 8, 12 or 16 octets. */
export const GCM_TAG_LENGTHS: ReadonlySet<number> = new Set([8, 12, 16]);

/** SP 800-38D §7.1 steps 1-6: T = GCTR_K(J0, GHASH_H(A || 0^v || C || 0^u || [len(A)]64 || [len(C)]64)). */
export function gcmTag(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  // One ECB call (noble ciphers are single-use) on 0^128 | J0 gives H = CIPH_K(0^128) and CIPH_K(J0),
  // with J0 = IV || 0^31 || 1 for a 96-bit IV.
  const { ecb, GHASH } = noble();
  const blocks = ecb(key, { disablePadding: true }).encrypt(concatBytes(new Uint8Array(BLOCK), counterBlock(nonce, 1)));
  const h = blocks.subarray(0, BLOCK);
  const ekj0 = blocks.subarray(BLOCK);
  const lengths = new Uint8Array(BLOCK);
  writeBitLength(lengths, 0, aad.length);
  writeBitLength(lengths, 8, ciphertext.length);
  // noble's GHASH pads each update() to a block boundary: exactly the 0^v and 0^u of §7.1.
  const s = new GHASH(h, aad.length + ciphertext.length).update(aad).update(ciphertext).update(lengths).digest();
  for (let i = 0; i < BLOCK; i++) s[i]! ^= ekj0[i]!;
  wipe(blocks);
  return s;
}

/** Returns ciphertext | tag[0..tagLength). */
export function gcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, tagLength: number): Uint8Array {
  checkGcmNonce(nonce);
  if (!GCM_TAG_LENGTHS.has(tagLength)) throw new RangeError(`AES-GCM: tag length must be 8, 12 or 16, got ${tagLength}`);
  const full = noble().gcm(key, nonce, aad).encrypt(plaintext); // ciphertext | 16-octet tag
  if (tagLength === BLOCK) return full;
  const out = full.slice(0, plaintext.length + tagLength); // SP 800-38D §5.2.1.2: MSB_t(T)
  wipe(full);
  return out;
}

/** Verifies the (possibly truncated) tag in constant time, then decrypts. undefined when the tag is wrong. */
export function gcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
): Uint8Array | undefined {
  checkGcmNonce(nonce);
  if (!GCM_TAG_LENGTHS.has(tag.length)) return undefined; // an empty "tag" must never verify
  const expected = gcmTag(key, nonce, aad, ciphertext);
  const ok = equalBytes(expected.subarray(0, tag.length), tag);
  wipe(expected);
  if (!ok) return undefined;
  // SP 800-38D §7.2 step 3: P = GCTR_K(inc32(J0), C). inc32 never wraps for IKE-sized messages,
  // so noble's 128-bit counter gives the same keystream.
  return noble().ctr(key, counterBlock(nonce, 2)).decrypt(ciphertext);
}

function counterBlock(nonce: Uint8Array, counter: number): Uint8Array {
  const b = new Uint8Array(BLOCK);
  b.set(nonce, 0);
  writeU32(b, GCM_NONCE_LENGTH, counter);
  return b;
}

function writeBitLength(b: Uint8Array, o: number, bytes: number): void {
  const bits = bytes * 8; // below 2^53 for any buffer we can hold
  writeU32(b, o, Math.floor(bits / 0x100000000));
  writeU32(b, o + 4, bits >>> 0);
}

export function checkGcmNonce(nonce: Uint8Array): void {
  if (nonce.length !== GCM_NONCE_LENGTH) throw new RangeError(`AES-GCM: nonce must be 12 bytes, got ${nonce.length}`);
}
