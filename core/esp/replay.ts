// ESP anti-replay window (RFC 4303 §3.4.3) kept as a ring of 32-bit blocks (RFC 6479 §2), with the
// Extended Sequence Number inference of RFC 4303 Appendix A2.
//
// As in strongSwan's libipsec, the window is consulted in two steps: check() is read-only and runs
// before the ICV is verified; update() marks the number seen only after the ICV verified (RFC 4303
// §3.4.3: "the receive window is updated only if the integrity verification succeeds"). A forged
// packet therefore can never move the window.
//
// Sequence numbers are passed as (hi, lo) 32-bit halves; without ESN hi is always 0. JS numbers are
// exact to 2^53, so every 64-bit comparison below is done on the halves, never on hi * 2^32 + lo.

export type ReplayVerdict = "ok" | "replayed" | "too-old";

const BLOCK_BITS = 32;
const TWO32 = 0x1_0000_0000;

export class ReplayWindow {
  /** The window size W in sequence numbers (RFC 4303 §3.4.3: 32 minimum, 64 recommended). */
  readonly size: number;
  /** Ring of blocks; one block more than W needs, so sliding clears whole blocks (RFC 6479 §2.2). */
  private readonly bitmap: Uint32Array;
  private readonly blockMask: number;
  /** Highest authenticated sequence number, "top of window" (RFC 4303 App. A: Th, Tl). */
  private topHi = 0;
  private topLo = 0;

  constructor(size = 64) {
    if (!Number.isInteger(size) || size < 32 || size > 1 << 20) {
      throw new RangeError(`replay window: size must be an integer in 32..1048576, got ${size}`);
    }
    this.size = size;
    let blocks = 1;
    while ((blocks - 1) * BLOCK_BITS < size) blocks <<= 1; // a power of two with (blocks-1)*32 >= W
    this.bitmap = new Uint32Array(blocks);
    this.blockMask = blocks - 1;
  }

  /** Th: the high half of the top of the window (RFC 4303 App. A2.1). */
  get highestHi(): number {
    return this.topHi;
  }

  /** Tl: the low half of the top of the window. 0 (with highestHi 0) until a packet is accepted. */
  get highestLo(): number {
    return this.topLo;
  }

  /** Read-only: may (hi, lo) be accepted? Sequence number 0 never is (RFC 4303 §3.3.3: the first packet is 1). */
  check(lo: number, hi = 0): ReplayVerdict {
    if (hi < 0 || (hi === 0 && lo === 0)) return "too-old";
    const ahead = this.distanceAhead(lo, hi);
    if (ahead > 0) return "ok"; // right of the window: new
    const behind = -ahead;
    if (behind >= this.size) return "too-old"; // left of the window (§3.4.3 "the packet is rejected")
    return this.isMarked(lo) ? "replayed" : "ok";
  }

  /**
   * Marks (hi, lo) seen, sliding the window when it is new. Call only after check() said "ok" and the
   * ICV verified. Returns false (and changes nothing) for a number check() would refuse.
   */
  update(lo: number, hi = 0): boolean {
    if (this.check(lo, hi) !== "ok") return false;
    if (this.distanceAhead(lo, hi) > 0) {
      // RFC 6479 §2.3: clear every block after the old top's block up to the new top's block
      // (all of them after a jump of a whole ring or more).
      const steps = Math.min(this.blocksAhead(lo, hi), this.bitmap.length);
      const oldBlock = this.blockIndex(this.topLo);
      for (let i = 1; i <= steps; i++) this.bitmap[(oldBlock + i) & this.blockMask] = 0;
      this.topHi = hi;
      this.topLo = lo;
    }
    this.bitmap[this.blockIndex(lo)]! |= 1 << (lo & (BLOCK_BITS - 1));
    return true;
  }

  /**
   * RFC 4303 Appendix A2.2: the high 32 bits of a received ESN, inferred from the low 32 bits on the
   * wire and the window. Returns -1 when the packet would lie before sequence number 0.
   */
  inferHi(lo: number): number {
    const W = this.size;
    const Tl = this.topLo;
    const Th = this.topHi;
    if (Tl >= W - 1) {
      // Case A: the window lies within one sequence number subspace.
      return lo >= Tl - W + 1 ? Th : Th + 1;
    }
    // Case B: the window spans two subspaces; Tl - W + 1 is taken mod 2^32.
    const bottom = Tl - W + 1 + TWO32;
    return lo >= bottom ? Th - 1 : Th;
  }

  /** (hi, lo) minus the top, exact when within 2^52 of it, saturated otherwise. */
  private distanceAhead(lo: number, hi: number): number {
    const dHi = hi - this.topHi;
    if (dHi > 1) return Number.MAX_SAFE_INTEGER;
    if (dHi < -1) return -Number.MAX_SAFE_INTEGER;
    return dHi * TWO32 + (lo - this.topLo);
  }

  /**
   * The ring slot of a sequence number: bits 5.. of the 64-bit number modulo the ring size. The ring
   * has at most 2^16 blocks, so only bits 5..20 of lo matter, whatever hi is.
   */
  private blockIndex(lo: number): number {
    return (lo >>> 5) & this.blockMask;
  }

  /** How many blocks (hi, lo) lies ahead of the top's block, saturated when hi jumps by more than 1. */
  private blocksAhead(lo: number, hi: number): number {
    const dHi = hi - this.topHi;
    if (dHi > 1) return 0x7fffffff;
    return dHi * (TWO32 / BLOCK_BITS) + (lo >>> 5) - (this.topLo >>> 5);
  }

  private isMarked(lo: number): boolean {
    return (this.bitmap[this.blockIndex(lo)]! & (1 << (lo & (BLOCK_BITS - 1)))) !== 0;
  }
}
