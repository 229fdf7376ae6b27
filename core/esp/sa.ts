// The state of one ESP SA direction (RFC 4301 §4.4.2.1): SPI, cipher, sequence counter or replay
// window, lifetimes and counters. Framing (padding, trailer, checks) is in engine.ts.

import type { Random } from "../types.ts";
import type { EspCipher } from "./cipher.ts";
import { ReplayWindow } from "./replay.ts";

/**
 * RFC 4301 §4.4.2.1 "Lifetime of this SA": a soft limit warns (time to rekey), a hard limit ends the
 * SA. 0 means no limit. Time limits belong to the IKE layer, which has the clock.
 */
export interface EspLifetime {
  softBytes?: number;
  hardBytes?: number;
  softPackets?: number;
  hardPackets?: number;
}

/**
 * Returned with each packet: "soft" once, on the packet that first crosses a soft limit (rekey now);
 * "hard" when the SA can carry no more (hard limit reached, or the sequence number space is spent).
 */
export type LifetimeSignal = "none" | "soft" | "hard";

export interface SaCounters {
  /** Packets and inner-packet octets sealed, or opened and authenticated. */
  packets: number;
  bytes: number;
}

/** Writes a fresh IV for a packet. AEAD suites need uniqueness, CBC unpredictability. */
export interface IvSource {
  write(buf: Uint8Array, off: number, len: number, seqHi: number, seqLo: number): void;
}

/**
 * RFC 4106 §3.1, RFC 7634 §2: the 64-bit sequence number (ESN or Seq hi = 0) is a unique IV under the
 * SA's key, and costs nothing to make.
 */
export const sequenceIv: IvSource = {
  write(buf, off, len, seqHi, seqLo) {
    for (let i = 0; i < len - 8; i++) buf[off + i] = 0;
    const o = off + len - 8;
    buf[o] = seqHi >>> 24;
    buf[o + 1] = (seqHi >>> 16) & 0xff;
    buf[o + 2] = (seqHi >>> 8) & 0xff;
    buf[o + 3] = seqHi & 0xff;
    buf[o + 4] = seqLo >>> 24;
    buf[o + 5] = (seqLo >>> 16) & 0xff;
    buf[o + 6] = (seqLo >>> 8) & 0xff;
    buf[o + 7] = seqLo & 0xff;
  },
};

/** RFC 3602 §2.1: random IVs, drawn from the injected Random a pool at a time (no per-packet allocation). */
export class RandomIvPool implements IvSource {
  private pool: Uint8Array = new Uint8Array(0);
  private used = 0;

  constructor(
    private readonly random: Random,
    private readonly poolSize = 4096,
  ) {}

  write(buf: Uint8Array, off: number, len: number): void {
    if (this.used + len > this.pool.length) {
      this.pool.fill(0);
      this.pool = this.random.bytes(Math.max(this.poolSize, len));
      this.used = 0;
    }
    buf.set(this.pool.subarray(this.used, this.used + len), off);
    this.pool.fill(0, this.used, this.used + len); // an IV handed out is never handed out again
    this.used += len;
  }
}

const TWO32 = 0x1_0000_0000;

/**
 * A soft signal once the sequence numbers left are fewer than 1/16 of the space (2^28 packets), so that
 * the CHILD_SA is rekeyed well before RFC 4303 §3.3.3 forbids sending on it.
 */
const SEQ_SOFT = 0xf000_0000;

function limit(n: number | undefined): number {
  return n === undefined || n <= 0 ? Infinity : n;
}

abstract class SaBase {
  readonly counters: SaCounters = { packets: 0, bytes: 0 };
  /** A hard limit was reached: the SA carries nothing more. */
  expired = false;
  private softSignalled = false;
  private readonly soft: { bytes: number; packets: number };
  private readonly hard: { bytes: number; packets: number };

  constructor(
    readonly spi: number,
    readonly cipher: EspCipher,
    readonly esn: boolean,
    lifetime: EspLifetime,
  ) {
    this.soft = { bytes: limit(lifetime.softBytes), packets: limit(lifetime.softPackets) };
    this.hard = { bytes: limit(lifetime.hardBytes), packets: limit(lifetime.hardPackets) };
  }

  /** Counts one packet of `bytes` inner octets; the signal it raises. */
  protected account(bytes: number, nearEnd = false): LifetimeSignal {
    const c = this.counters;
    c.packets++;
    c.bytes += bytes;
    if (c.packets >= this.hard.packets || c.bytes >= this.hard.bytes) {
      this.expired = true;
      return "hard";
    }
    if (!this.softSignalled && (nearEnd || c.packets >= this.soft.packets || c.bytes >= this.soft.bytes)) {
      this.softSignalled = true;
      return "soft";
    }
    return "none";
  }

  /** Zeroes the keys. */
  dispose(): void {
    this.expired = true;
    this.cipher.dispose();
  }
}

/** Our sending side of a CHILD_SA: the peer's SPI, the sequence counter (RFC 4303 §3.3.3). */
export class OutboundSa extends SaBase {
  /** The last sequence number sent, as 32-bit halves (0, 0 before the first packet). */
  seqHi = 0;
  seqLo = 0;
  readonly iv: IvSource;

  constructor(opts: { spi: number; cipher: EspCipher; esn: boolean; lifetime?: EspLifetime; random: Random; iv?: IvSource }) {
    super(opts.spi >>> 0, opts.cipher, opts.esn, opts.lifetime ?? {});
    this.iv = opts.iv ?? (opts.cipher.ivKind === "unique" ? sequenceIv : new RandomIvPool(opts.random));
  }

  /**
   * Takes the next sequence number, or false when the counter would cycle: RFC 4303 §3.3.3 "the
   * sender MUST NOT send a packet on an SA if doing so would cause the Sequence Number to cycle".
   * Without ESN the last one sent is 2^32 - 1; with ESN, 2^64 - 1.
   */
  nextSeq(): boolean {
    if (this.seqLo === TWO32 - 1) {
      if (!this.esn || this.seqHi === TWO32 - 1) return false;
      this.seqHi++;
      this.seqLo = 0; // ESN: low half 0 is a valid number once the high half is non-zero
      return true;
    }
    this.seqLo++;
    return true;
  }

  /** Counts a sealed packet; the sequence space spent counts as a hard limit. */
  sent(innerBytes: number): LifetimeSignal {
    const s = this.account(innerBytes, this.seqLo >= SEQ_SOFT && (!this.esn || this.seqHi === TWO32 - 1));
    if (this.seqLo === TWO32 - 1 && (!this.esn || this.seqHi === TWO32 - 1)) {
      return "hard"; // that was the last sequence number: the next seal is refused (seq-exhausted)
    }
    return s;
  }
}

/** Our receiving side of a CHILD_SA: our SPI, the anti-replay window (RFC 4303 §3.4.3). */
export class InboundSa extends SaBase {
  readonly replay: ReplayWindow;

  constructor(opts: { spi: number; cipher: EspCipher; esn: boolean; lifetime?: EspLifetime; replayWindow?: number }) {
    super(opts.spi >>> 0, opts.cipher, opts.esn, opts.lifetime ?? {});
    this.replay = new ReplayWindow(opts.replayWindow ?? 128);
  }

  /** Counts an authenticated packet. */
  received(innerBytes: number): LifetimeSignal {
    return this.account(innerBytes);
  }
}
