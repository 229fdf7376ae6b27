// Tunnel-mode ESP framing (RFC 4303) over caller-owned buffers, and the SPI table of inbound SAs.
//
// Outbound, the inner IP packet already sits in `buf` at `innerOff`, with ESP_HEADROOM octets free
// before it and ESP_TAILROOM after it. seal() writes in place, allocating nothing:
//
//   ESP header + IV ─► headroom | inner packet | Padding 1,2,3.. | Pad Length | Next Header | ICV ◄─ tailroom
//                                └───────────── encrypted in place ─────────────────────────┘
//
// Inbound, open() takes the ESP packet in place and, in this order (RFC 4303 §3.4): length, SPI
// lookup, sequence number (ESN inference), replay check (read-only), ICV verification and
// decryption, window update, then padding, Pad Length and Next Header. Every refused packet is counted
// under its reason and reported in the result; nothing throws.
//
// Results are one reused object per engine (no allocation per packet): read it before the next call.

import { readU32, writeU32 } from "../util/bytes.ts";
import { ESP_HEADER_LENGTH } from "./cipher.ts";
import type { InboundSa, LifetimeSignal, OutboundSa } from "./sa.ts";

/** Room needed before the inner packet: ESP header (8) + the longest IV (16, AES-CBC). */
export const ESP_HEADROOM = ESP_HEADER_LENGTH + 16;
/** Room needed after it: padding (at most 15) + Pad Length + Next Header + the longest ICV (32). */
export const ESP_TAILROOM = 15 + 2 + 32;

/** RFC 4303 §2.6 Next Header values in tunnel mode (IANA protocol numbers). */
export const NextHeader = {
  IPV4: 4,
  IPV6: 41,
  /** "no next header": a dummy packet, to be dropped (RFC 4303 §2.6). */
  NO_NEXT_HEADER: 59,
} as const;

export type SealStatus = "ok" | "no-sa" | "expired" | "seq-exhausted" | "no-room" | "bad-inner";

export interface SealResult {
  status: SealStatus;
  /** The ESP packet in the buffer (when status is "ok"). */
  offset: number;
  length: number;
  signal: LifetimeSignal;
}

export type EspDropReason =
  | "short"
  | "bad-length"
  | "unknown-spi"
  | "expired"
  | "too-old"
  | "replayed"
  | "auth"
  | "bad-padding"
  | "bad-next-header"
  | "bad-inner"
  | "dummy";

export interface OpenResult {
  status: "ok" | EspDropReason;
  /** The inner packet in the buffer (when status is "ok"). */
  offset: number;
  length: number;
  /** 4 (IPv4) or 41 (IPv6) when status is "ok". */
  nextHeader: number;
  /** The SPI of the packet, 0 when too short to have one. */
  spi: number;
  signal: LifetimeSignal;
}

export type EspDropCounters = Record<EspDropReason, number>;

export function newDropCounters(): EspDropCounters {
  return {
    short: 0,
    "bad-length": 0,
    "unknown-spi": 0,
    expired: 0,
    "too-old": 0,
    replayed: 0,
    auth: 0,
    "bad-padding": 0,
    "bad-next-header": 0,
    "bad-inner": 0,
    dummy: 0,
  };
}

export function newSealResult(): SealResult {
  return { status: "ok", offset: 0, length: 0, signal: "none" };
}

export function newOpenResult(): OpenResult {
  return { status: "ok", offset: 0, length: 0, nextHeader: 0, spi: 0, signal: "none" };
}

/** Encapsulates the inner packet at buf[innerOff, innerOff + innerLen) for sa, into `out`. */
export function espSeal(sa: OutboundSa | undefined, buf: Uint8Array, innerOff: number, innerLen: number, out: SealResult): SealResult {
  out.offset = 0;
  out.length = 0;
  out.signal = "none";
  if (!sa) return fail(out, "no-sa");
  if (sa.expired) return fail(out, "expired");
  const c = sa.cipher;
  // RFC 4303 §2.6 / RFC 2003, RFC 2473: Next Header names the inner packet's IP version.
  const version = innerLen > 0 ? buf[innerOff]! >>> 4 : 0;
  const nextHeader = version === 4 ? NextHeader.IPV4 : version === 6 ? NextHeader.IPV6 : 0;
  if (nextHeader === 0) return fail(out, "bad-inner");
  // RFC 4303 §2.4: Payload | Padding | Pad Length | Next Header ends on a multiple of the block size.
  const padLen = (c.blockSize - ((innerLen + 2) % c.blockSize)) % c.blockSize;
  const dataLen = innerLen + padLen + 2;
  const espOff = innerOff - ESP_HEADER_LENGTH - c.ivLength;
  if (espOff < 0 || innerOff + dataLen + c.icvLength > buf.length) return fail(out, "no-room");
  if (!sa.nextSeq()) {
    out.signal = "hard";
    return fail(out, "seq-exhausted");
  }
  let o = innerOff + innerLen;
  for (let i = 1; i <= padLen; i++) buf[o++] = i; // RFC 4303 §2.4: default padding 1, 2, 3, ...
  buf[o++] = padLen;
  buf[o] = nextHeader;
  writeU32(buf, espOff, sa.spi); // RFC 4303 §2.1
  writeU32(buf, espOff + 4, sa.seqLo); // §2.2: only the low 32 bits are sent, with or without ESN
  sa.iv.write(buf, espOff + ESP_HEADER_LENGTH, c.ivLength, sa.seqHi, sa.seqLo);
  c.seal(buf, espOff, dataLen, sa.seqHi);
  out.status = "ok";
  out.offset = espOff;
  out.length = ESP_HEADER_LENGTH + c.ivLength + dataLen + c.icvLength;
  out.signal = sa.sent(dataLen);
  return out;
}

/** Decapsulates the ESP packet at buf[off, off + len) with sa (already found by its SPI), into `out`. */
export function espOpen(sa: InboundSa, buf: Uint8Array, off: number, len: number, out: OpenResult): OpenResult {
  out.offset = 0;
  out.length = 0;
  out.nextHeader = 0;
  out.signal = "none";
  if (sa.expired) return drop(out, "expired");
  const c = sa.cipher;
  const dataOff = off + ESP_HEADER_LENGTH + c.ivLength;
  const dataLen = len - ESP_HEADER_LENGTH - c.ivLength - c.icvLength;
  // The smallest data is Pad Length + Next Header padded to one block.
  if (dataLen < Math.max(c.blockSize, 4)) return drop(out, "short");
  if (dataLen % c.blockSize !== 0) return drop(out, "bad-length"); // RFC 4303 §2.4 alignment
  const seqLo = readU32(buf, off + 4);
  const seqHi = sa.esn ? sa.replay.inferHi(seqLo) : 0; // RFC 4303 App. A2.2
  // RFC 4303 §3.4.3: the duplicate check comes before the ICV check, and changes nothing.
  const verdict = sa.replay.check(seqLo, seqHi);
  if (verdict !== "ok") return drop(out, verdict);
  if (!c.open(buf, off, dataLen, seqHi)) return drop(out, "auth"); // §3.4.4
  sa.replay.update(seqLo, seqHi); // §3.4.3: only after the ICV verified
  out.signal = sa.received(dataLen);
  // RFC 4303 §2.4, §2.5: the trailer.
  const padLen = buf[dataOff + dataLen - 2]!;
  const nextHeader = buf[dataOff + dataLen - 1]!;
  if (padLen > dataLen - 2) return drop(out, "bad-padding");
  const innerLen = dataLen - 2 - padLen;
  const padOff = dataOff + innerLen;
  let bad = 0;
  for (let i = 0; i < padLen; i++) bad |= buf[padOff + i]! ^ (i + 1); // §2.4: 1, 2, 3, ... expected
  if (bad !== 0) return drop(out, "bad-padding");
  if (nextHeader === NextHeader.NO_NEXT_HEADER) return drop(out, "dummy"); // §2.6: discard silently
  const version = innerLen > 0 ? buf[dataOff]! >>> 4 : 0;
  if (nextHeader === NextHeader.IPV4) {
    if (version !== 4 || innerLen < 20) return drop(out, "bad-inner");
  } else if (nextHeader === NextHeader.IPV6) {
    if (version !== 6 || innerLen < 40) return drop(out, "bad-inner");
  } else {
    return drop(out, "bad-next-header");
  }
  out.status = "ok";
  out.offset = dataOff;
  out.length = innerLen;
  out.nextHeader = nextHeader;
  return out;
}

function fail(out: SealResult, status: SealStatus): SealResult {
  out.status = status;
  return out;
}

function drop(out: OpenResult, reason: EspDropReason): OpenResult {
  out.status = reason;
  return out;
}

/**
 * The CHILD_SAs of one tunnel: the SA we send with, and every SA we may receive on (old and new
 * ones overlap during a rekey, RFC 7296 §2.8), found by SPI. Drops are counted by reason.
 */
export class EspEngine {
  outbound: OutboundSa | undefined;
  readonly drops: EspDropCounters = newDropCounters();
  private readonly inbound = new Map<number, InboundSa>();
  private readonly sealResult = newSealResult();
  private readonly openResult = newOpenResult();

  /** Sends with `sa` from now on; the previous outbound SA's keys are zeroed. */
  setOutbound(sa: OutboundSa | undefined): void {
    if (this.outbound && this.outbound !== sa) this.outbound.dispose();
    this.outbound = sa;
  }

  addInbound(sa: InboundSa): void {
    const old = this.inbound.get(sa.spi);
    if (old && old !== sa) old.dispose();
    this.inbound.set(sa.spi, sa);
  }

  removeInbound(spi: number): void {
    const sa = this.inbound.get(spi >>> 0);
    sa?.dispose();
    this.inbound.delete(spi >>> 0);
  }

  inboundSa(spi: number): InboundSa | undefined {
    return this.inbound.get(spi >>> 0);
  }

  /** See espSeal. The result is reused by the next call. */
  seal(buf: Uint8Array, innerOff: number, innerLen: number): SealResult {
    return espSeal(this.outbound, buf, innerOff, innerLen, this.sealResult);
  }

  /** See espOpen; finds the SA by SPI and counts drops. The result is reused by the next call. */
  open(buf: Uint8Array, off: number, len: number): OpenResult {
    const out = this.openResult;
    out.spi = 0;
    if (len < ESP_HEADER_LENGTH) {
      out.offset = out.length = out.nextHeader = 0;
      out.signal = "none";
      this.drops.short++;
      return drop(out, "short");
    }
    const spi = readU32(buf, off);
    out.spi = spi;
    const sa = this.inbound.get(spi);
    if (!sa) {
      out.offset = out.length = out.nextHeader = 0;
      out.signal = "none";
      this.drops["unknown-spi"]++;
      return drop(out, "unknown-spi");
    }
    espOpen(sa, buf, off, len, out);
    if (out.status !== "ok") this.drops[out.status]++;
    return out;
  }

  /** Zeroes every key. */
  dispose(): void {
    this.outbound?.dispose();
    this.outbound = undefined;
    for (const sa of this.inbound.values()) sa.dispose();
    this.inbound.clear();
  }
}
