// Reproducible pseudo-randomness for tests only (never secure): the same seed gives the same stream.

import type { Random } from "../../core/types.ts";

/** Time limit of the seeded fuzz tests: they check correctness, not speed, and take several seconds on a loaded
 *  2-core machine (bun's default limit is 5 s). */
export const FUZZ_TIMEOUT_MS = 60_000;

/** xorshift32 as a core `Random`: deterministic nonces, SPIs and keys for exchange and x509 tests. */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0 || 1;
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        s ^= s << 13;
        s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5;
        s >>>= 0;
        out[i] = s & 0xff;
      }
      return out;
    },
  };
}

/** mulberry32: floats in [0, 1), small and fast, to drive fuzz mutations from a printed seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
