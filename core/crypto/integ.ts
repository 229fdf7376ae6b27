// IKEv2 integrity algorithms (Transform Type 3): truncated HMACs.
// RFC 4868 §2.3: AUTH_HMAC_SHA2_256_128, _384_192, _512_256 (key = hash output length, ICV = half);
// RFC 2404: AUTH_HMAC_SHA1_96 (20-byte key, 12-byte ICV).

import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { IntegId } from "../wire/constants.ts";
import { equalBytes, wipe } from "../util/bytes.ts";

export interface Integ {
  /** Transform ID (IntegId). */
  readonly id: number;
  readonly name: string;
  /** Bytes of SK_ai / SK_ar (RFC 7296 §2.14) and of ESP integrity keys. */
  readonly keyLength: number;
  /** Bytes of the Integrity Checksum Data. */
  readonly icvLength: number;
  /** The truncated MAC: the leftmost icvLength bytes of HMAC(key, data) (RFC 4868 §2.3, RFC 2404 §2). */
  compute(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** Recomputes the ICV and compares in time that depends only on the lengths. */
  verify(key: Uint8Array, data: Uint8Array, icv: Uint8Array): boolean;
}

type Hash = Parameters<typeof hmac>[0];

function truncatedHmac(id: number, name: string, hash: Hash, keyLength: number, icvLength: number): Integ {
  const compute = (key: Uint8Array, data: Uint8Array): Uint8Array => {
    // RFC 4868 §2.1.1: the key is as long as the hash output (RFC 2404 §3: 160 bits); another is a bug.
    if (key.length !== keyLength) throw new RangeError(`${name}: key must be ${keyLength} bytes, got ${key.length}`);
    const full = hmac(hash, key, data);
    const icv = full.slice(0, icvLength); // RFC 4868 §2.3: truncate to the leftmost bits
    wipe(full);
    return icv;
  };
  return {
    id,
    name,
    keyLength,
    icvLength,
    compute,
    verify: (key, data, icv) => icv.length === icvLength && equalBytes(compute(key, data), icv),
  };
}

const INTEGS: ReadonlyMap<number, Integ> = new Map<number, Integ>([
  [IntegId.HMAC_SHA2_256_128, truncatedHmac(IntegId.HMAC_SHA2_256_128, "AUTH_HMAC_SHA2_256_128", sha256, 32, 16)],
  [IntegId.HMAC_SHA2_384_192, truncatedHmac(IntegId.HMAC_SHA2_384_192, "AUTH_HMAC_SHA2_384_192", sha384, 48, 24)],
  [IntegId.HMAC_SHA2_512_256, truncatedHmac(IntegId.HMAC_SHA2_512_256, "AUTH_HMAC_SHA2_512_256", sha512, 64, 32)],
  [IntegId.HMAC_SHA1_96, truncatedHmac(IntegId.HMAC_SHA1_96, "AUTH_HMAC_SHA1_96", sha1, 20, 12)],
]);

/** The integrity algorithm for a transform ID, or undefined (NONE, MD5, XCBC, CMAC are not here). */
export function integById(id: number): Integ | undefined {
  return INTEGS.get(id);
}

/**
 * Key bytes for an integrity transform: 0 for NONE (AEAD suites have no SK_a*, RFC 5282 §7.1),
 * undefined when the transform is not implemented.
 */
export function integKeyLength(integId: number): number | undefined {
  if (integId === IntegId.NONE) return 0;
  return INTEGS.get(integId)?.keyLength;
}
