// The symmetric primitives under IKE's PRFs (HMAC) and AES-GCM SK payloads. noble's are the default and
// the reference; the platform may inject native ones (platform/crypto/ike-native.ts, SessionEnv.primitives),
// which tests check against these. Why inject: a connect runs each of them only a handful of times, and
// noble's JavaScript runs cold then (~1-4 ms per prf+ or GCM seal in the compiled binary, measured
// 2026-11-23) where a native call takes microseconds.

import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { gcmOpen, gcmSeal } from "./gcm.ts";

export type HashName = "sha1" | "sha256" | "sha384" | "sha512";

export interface SymmetricPrimitives {
  /** HMAC (RFC 2104) with `hash`. */
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array;
  /** AES-GCM with a 96-bit nonce (SP 800-38D): ciphertext | tag[0..tagLength), tagLength 8, 12 or 16. */
  gcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, tagLength: number): Uint8Array;
  /** Verifies the (possibly truncated) tag, then decrypts; undefined when the tag is wrong. */
  gcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array | undefined;
}

const HASHES = { sha1, sha256, sha384, sha512 } as const;

export const noblePrimitives: SymmetricPrimitives = {
  hmac: (hash, key, data) => hmac(HASHES[hash], key, data),
  gcmSeal,
  gcmOpen,
};
