// IKEv2 pseudorandom functions (Transform Type 2) and prf+ (RFC 7296 §2.13).
// Only HMAC-based PRFs: PRF_HMAC_SHA2_256/384/512 (RFC 4868 §2.1) and PRF_HMAC_SHA1 (RFC 2104),
// the last only for gateways that insist on it.

import { PrfId } from "../wire/constants.ts";
import { noblePrimitives, type HashName, type SymmetricPrimitives } from "./primitives.ts";
import { wipe } from "../util/bytes.ts";

export interface Prf {
  /** Transform ID (PrfId). */
  readonly id: number;
  readonly name: string;
  /** Bytes of one prf() output. */
  readonly outputLength: number;
  /** RFC 7296 §2.14: for HMAC PRFs the preferred key size is the hash output length (SK_d, SK_pi, SK_pr). */
  readonly preferredKeyLength: number;
  /** prf(key, data). HMAC takes keys of any length (RFC 2104 §2), so there is no fixed-key rule here. */
  compute(key: Uint8Array, data: Uint8Array): Uint8Array;
}

function hmacPrf(id: number, name: string, hash: HashName, outputLength: number, primitives: SymmetricPrimitives): Prf {
  return {
    id,
    name,
    outputLength,
    preferredKeyLength: outputLength,
    compute: (key, data) => primitives.hmac(hash, key, data),
  };
}

/** RFC 4868 §2.1: PRF-HMAC-SHA-256/384/512; RFC 7296 §3.3.2: PRF_HMAC_SHA1. */
const PRF_HASHES: ReadonlyMap<number, [string, HashName, number]> = new Map([
  [PrfId.HMAC_SHA2_256, ["PRF_HMAC_SHA2_256", "sha256", 32]],
  [PrfId.HMAC_SHA2_384, ["PRF_HMAC_SHA2_384", "sha384", 48]],
  [PrfId.HMAC_SHA2_512, ["PRF_HMAC_SHA2_512", "sha512", 64]],
  [PrfId.HMAC_SHA1, ["PRF_HMAC_SHA1", "sha1", 20]],
]);

const made = new WeakMap<SymmetricPrimitives, Map<number, Prf>>();

/**
 * The PRF for a transform ID, or undefined when roam does not implement it (MD5, XCBC, CMAC). Its HMAC
 * comes from `primitives` (noble's unless the platform injected others).
 */
export function prfById(id: number, primitives: SymmetricPrimitives = noblePrimitives): Prf | undefined {
  let prfs = made.get(primitives);
  if (!prfs) made.set(primitives, (prfs = new Map()));
  let prf = prfs.get(id);
  if (!prf) {
    const h = PRF_HASHES.get(id);
    if (!h) return undefined;
    prf = hmacPrf(id, h[0], h[1], h[2], primitives);
    prfs.set(id, prf);
  }
  return prf;
}

/** RFC 7296 §2.13: prf+ produces at most 255 blocks (the counter is one octet). */
export const PRF_PLUS_MAX_BLOCKS = 255;

/**
 * RFC 7296 §2.13:
 *   prf+ (K,S) = T1 | T2 | T3 | T4 | ...
 *   T1 = prf (K, S | 0x01)
 *   T2 = prf (K, T1 | S | 0x02)
 *   ...
 * Returns the first `length` bytes. A request beyond 255 blocks is a bug in the caller (key lengths
 * are fixed by the negotiated transforms), so it throws.
 */
export function prfPlus(prf: Prf, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`prf+: length must be a non-negative integer, got ${length}`);
  const blocks = Math.ceil(length / prf.outputLength);
  if (blocks > PRF_PLUS_MAX_BLOCKS) {
    throw new RangeError(`prf+: ${length} bytes needs ${blocks} blocks of ${prf.name}, more than 255 (RFC 7296 §2.13)`);
  }
  const out = new Uint8Array(blocks * prf.outputLength);
  // Input buffer T(n-1) | S | n, reused for every block.
  const input = new Uint8Array(prf.outputLength + seed.length + 1);
  let prev = 0; // length of T(n-1) in `input`: 0 for T1
  for (let n = 1; n <= blocks; n++) {
    input.set(seed, prev);
    input[prev + seed.length] = n; // §2.13: the single octet counter 0x01, 0x02, ...
    const t = prf.compute(key, input.subarray(0, prev + seed.length + 1));
    out.set(t, (n - 1) * prf.outputLength);
    input.set(t, 0);
    prev = t.length;
    wipe(t);
  }
  wipe(input);
  if (out.length === length) return out;
  const res = out.slice(0, length);
  wipe(out);
  return res;
}
