// The core's Random (core/types.ts) from the platform CSPRNG: crypto.getRandomValues (the kernel's
// getrandom(2) underneath in Bun).
import type { Random } from "../core/types.ts";

/** getRandomValues fills at most 65536 bytes per call (WebCrypto QuotaExceededError beyond). */
const MAX_PER_CALL = 65536;

export const systemRandom: Random = {
  bytes(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`random bytes: expected a non-negative integer, got ${n}`);
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += MAX_PER_CALL) {
      crypto.getRandomValues(out.subarray(off, Math.min(n, off + MAX_PER_CALL)));
    }
    return out;
  },
};
