// IKE fragmentation (RFC 7383): splitting a protected message into Encrypted Fragment (SKF) messages
// that each fit the path, and reassembling the peer's fragments with limits. Pure: no I/O, no clock
// (the caller passes `now` in milliseconds), randomness injected.
//
// One IKE Fragment Message (RFC 7383 §2.5):
//
//   IKE header (28) | SKF generic header (4) | Fragment Number | Total Fragments | IV | content | pad | ICV
//   \________________________ AAD / integrity-covered prefix ________________/
//
// Every fragment is encrypted and authenticated on its own, with its own IV; all carry the Message ID
// of the original message; only fragment 1 names the first inner payload (the others carry 0).

import type { SkKeys, SkSuite } from "../crypto/encr.ts";
import type { Random } from "../types.ts";
import { wipe } from "../util/bytes.ts";
import { PayloadType } from "../wire/constants.ts";
import { encodeSkEnvelope, encryptedPart, parseMessage, type HeaderFields } from "../wire/message.ts";
import { GENERIC_HEADER_LENGTH, IKE_HEADER_LENGTH, SKF_FIELDS_LENGTH } from "../wire/payload/header.ts";
import type { IkeHeader, IkeMessage, Payload, SkfPayload } from "../wire/payloads.ts";

/** Octets of every fragment before its SKF body: IKE header, SKF generic header, Fragment Number, Total Fragments. */
export const SKF_PREFIX_LENGTH = IKE_HEADER_LENGTH + GENERIC_HEADER_LENGTH + SKF_FIELDS_LENGTH;

/** RFC 7383 §2.5: Fragment Number and Total Fragments are 16-bit fields. */
export const MAX_TOTAL_FRAGMENTS = 0xffff;

export interface FragmentOptions {
  /** IKE header of the original message (SPIs, exchange type, flags, Message ID); Next Payload and Length are computed. */
  header: HeaderFields;
  /** Type of the first payload inside the encrypted content (the SK payload's Next Payload). */
  innerFirstType: number;
  /** The unencrypted inner payload chain, as serializePayloads() makes it. */
  inner: Uint8Array;
  suite: SkSuite;
  /** Keys of the sending direction (SK_ei/SK_ai for the original initiator). */
  keys: SkKeys;
  random: Random;
  /** IKE message size budget including the IKE header: path MTU − IP header − UDP header − non-ESP marker. */
  maxDatagram: number;
}

/**
 * The largest content (inner payload octets) one fragment can carry within `maxDatagram`
 * (RFC 7383 §2.5.1: the fragment, headers, IV, padding and ICV included must fit), or 0 if none fits.
 */
export function maxFragmentContent(suite: SkSuite, maxDatagram: number): number {
  const room = maxDatagram - SKF_PREFIX_LENGTH;
  // bodyLength(n) >= n + ivLength + 1 + icvLength, so this upper bound is never too small.
  let n = room - suite.ivLength - suite.icvLength - 1;
  while (n > 0 && suite.bodyLength(n) > room) n--;
  return Math.max(n, 0);
}

/**
 * RFC 7383 §2.5: splits `inner` into as many IKE Fragment Messages as needed so that each is at most
 * `maxDatagram` octets, all of the maximum size but the last. Always produces SKF (at least one
 * fragment): whether to fragment at all is the caller's decision (§2.4). Throws RangeError only for
 * a budget too small to carry one content octet or a message needing more than 65535 fragments.
 */
export function fragmentMessage(o: FragmentOptions): Uint8Array[] {
  const per = maxFragmentContent(o.suite, o.maxDatagram);
  if (per < 1) throw new RangeError(`fragmentMessage: a ${o.maxDatagram}-octet budget leaves no room for content`);
  const total = Math.max(1, Math.ceil(o.inner.length / per));
  if (total > MAX_TOTAL_FRAGMENTS) throw new RangeError(`fragmentMessage: ${total} fragments needed, at most ${MAX_TOTAL_FRAGMENTS}`);
  const out: Uint8Array[] = [];
  for (let number = 1; number <= total; number++) {
    const content = o.inner.subarray((number - 1) * per, Math.min(number * per, o.inner.length));
    const bodyLength = o.suite.bodyLength(content.length);
    // §2.5: Next Payload is the first inner payload's type in fragment 1 and 0 in all others.
    const firstType = number === 1 ? o.innerFirstType : PayloadType.NONE;
    // §2.5: the IKE header and the SKF header (with Fragment Number / Total Fragments) are the AAD
    // for AEAD and covered by the ICV otherwise, exactly as for SK (RFC 7296 §3.14, RFC 5282 §5.1).
    const aad = encodeSkEnvelope(o.header, firstType, bodyLength, { number, total });
    // §2.5: each fragment gets its own IV, chosen as RFC 7296 §3.14 says for SK.
    const body = o.suite.seal(o.keys, aad, content, o.random.bytes(o.suite.ivLength));
    const msg = new Uint8Array(aad.length + body.length);
    msg.set(aad, 0);
    msg.set(body, aad.length);
    out.push(msg);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reassembly (RFC 7383 §2.6)

export interface ReassemblyLimits {
  /** Largest Total Fragments accepted (a hostile value is refused before anything is stored). */
  maxFragments: number;
  /** Largest reassembled content (decrypted octets) of one message. */
  maxBytes: number;
  /** A message not complete this many ms after its first stored fragment is discarded (§2.6). */
  timeoutMs: number;
  /** Messages reassembled at the same time (requests and responses together). */
  maxMessages: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = {
  maxFragments: 64,
  maxBytes: 64 * 1024,
  timeoutMs: 30_000,
  maxMessages: 4,
};

export type DropReason =
  | "malformed" // not a parseable IKE message
  | "not-fragment" // no SKF payload
  | "inconsistent" // unprotected payloads outside fragment 1, or another exchange under the same Message ID
  | "too-many-fragments" // Total Fragments above limits.maxFragments
  | "too-big" // the message grew past limits.maxBytes; the whole reassembly was discarded
  | "too-many-messages" // limits.maxMessages reassemblies already in progress
  | "stale-total" // Total Fragments below the one being reassembled (§2.5.2)
  | "duplicate" // this Fragment Number is already stored
  | "replay" // a fragment of a message already reassembled (§2.6, §2.6.1)
  | "icv"; // authentication failed (§2.6)

export type ReassemblyResult =
  | { kind: "incomplete"; messageId: number; received: number; total: number }
  | {
      kind: "complete";
      /** IKE header of fragment 1 (its Next Payload and Length describe that fragment, not the whole). */
      header: IkeHeader;
      /** Type of the first inner payload (fragment 1's SKF Next Payload). */
      firstInner: number;
      /** The decrypted inner payload chain of the original message: parse with parsePayloads(firstInner, ...). */
      plaintext: Uint8Array;
      /** Unprotected payloads before SKF in fragment 1 (§2.5.3); none in any exchange defined today. */
      unprotected: Payload[];
    }
  | {
      kind: "dropped";
      reason: DropReason;
      detail: string;
      messageId?: number;
      /** For "replay": §2.6.1 lets only fragment 1 of a retransmitted request trigger a resent response. */
      fragmentNumber?: number;
    };

interface Pending {
  readonly response: boolean;
  readonly messageId: number;
  readonly exchangeType: number;
  readonly total: number;
  readonly started: number;
  readonly pieces: (Uint8Array | undefined)[];
  received: number;
  bytes: number;
  first?: { header: IkeHeader; firstInner: number; unprotected: Payload[] };
}

/** How many reassembled messages are remembered for replay detection (§2.6). */
const COMPLETED_MEMORY = 16;

/**
 * Collects the peer's IKE Fragment Messages of one IKE SA, keyed by Message ID and direction
 * (request or response). Every fragment is authenticated with the receiving direction's keys
 * before it is stored (§2.6), so a forged fragment can neither fill memory nor disturb a
 * reassembly; limits bound what even an authenticated but hostile peer can make us hold.
 */
export class FragmentReassembler {
  private readonly limits: ReassemblyLimits;
  private readonly pending = new Map<string, Pending>();
  private readonly completed: string[] = [];

  constructor(
    private readonly suite: SkSuite,
    /** Keys of the receiving direction (SK_er/SK_ar for the original initiator). */
    private readonly keys: SkKeys,
    limits: Partial<ReassemblyLimits> = {},
  ) {
    this.limits = { ...DEFAULT_REASSEMBLY_LIMITS, ...limits };
  }

  /** Reassemblies in progress. */
  get inProgress(): number {
    return this.pending.size;
  }

  /**
   * Takes one received datagram (without the non-ESP marker). `parsed` may be passed when the caller
   * already ran parseMessage() on exactly these bytes. Never throws on bad bytes.
   */
  add(datagram: Uint8Array, now: number, parsed?: IkeMessage): ReassemblyResult {
    this.expire(now);
    let msg = parsed;
    if (!msg) {
      const r = parseMessage(datagram);
      if (!r.ok) return drop("malformed", r.error.reason);
      msg = r.value;
    }
    const enc = encryptedPart(datagram, msg);
    if (!enc || enc.payload.type !== PayloadType.SKF) return drop("not-fragment", "the message has no Encrypted Fragment payload");
    const skf = enc.payload as SkfPayload;
    const { fragmentNumber: n, totalFragments: total } = skf;
    const { messageId } = msg.header;
    const response = msg.header.flags.response;
    const unprotected = msg.payloads.slice(0, -1);
    // §2.6: Fragment Number and Total Fragments are non-zero and Fragment Number <= Total Fragments.
    if (n < 1 || total < 1 || n > total) return drop("malformed", `Fragment Number ${n} of ${total}`, messageId);
    if (total > this.limits.maxFragments) {
      return drop("too-many-fragments", `Total Fragments ${total} exceeds the limit of ${this.limits.maxFragments}`, messageId);
    }
    // §2.5.3: unprotected payloads may only travel in fragment 1.
    if (n !== 1 && unprotected.length > 0) return drop("inconsistent", `fragment ${n} carries unprotected payloads`, messageId);

    const key = `${response ? "R" : "Q"}${messageId}`;
    const entry = this.pending.get(key);
    const isReplay = this.completed.includes(key);
    if (!isReplay && entry) {
      // §2.5.2: a fragment with a smaller Total Fragments belongs to an older, larger fragment size: discard it.
      if (total < entry.total) return drop("stale-total", `Total Fragments ${total}, reassembling ${entry.total}`, messageId);
      // §2.6: a fragment already received is discarded (cheap check; nothing changes).
      if (total === entry.total && entry.pieces[n - 1]) return drop("duplicate", `fragment ${n} of ${total} already stored`, messageId);
    }

    // §2.6: "Verify IKE Fragment Message authenticity by checking the ICV ... If the ICV check fails,
    // the message MUST be silently discarded." Done before anything is stored or restarted.
    const opened = this.suite.open(this.keys, enc.aad, enc.body);
    if (!opened.ok) return drop("icv", `fragment ${n} of ${total}: ${opened.message}`, messageId);
    const content = opened.plaintext;

    // §2.6: a fragment of a message already received and processed is a replay; §2.6.1 lets
    // fragment 1 of a retransmitted request trigger the retransmission of our response.
    if (isReplay) {
      wipe(content);
      return { kind: "dropped", reason: "replay", detail: `message ${messageId} was already reassembled`, messageId, fragmentNumber: n };
    }

    let p = entry;
    if (p && total > p.total) {
      // §2.5.2: the sender re-fragmented with a smaller size (PMTU discovery): the fragments with the
      // larger Total Fragments win; all fragments received so far are discarded and reassembly restarts.
      this.discard(key);
      p = undefined;
    }
    if (p && p.exchangeType !== msg.header.exchangeType) {
      wipe(content);
      return drop("inconsistent", `exchange type ${msg.header.exchangeType}, reassembling ${p.exchangeType}`, messageId);
    }
    if (!p) {
      if (this.pending.size >= this.limits.maxMessages) {
        wipe(content);
        return drop("too-many-messages", `${this.pending.size} reassemblies already in progress`, messageId);
      }
      p = { response, messageId, exchangeType: msg.header.exchangeType, total, started: now, pieces: new Array(total), received: 0, bytes: 0 };
      this.pending.set(key, p);
    }
    if (p.bytes + content.length > this.limits.maxBytes) {
      wipe(content);
      this.discard(key);
      return drop("too-big", `message ${messageId} exceeds ${this.limits.maxBytes} octets`, messageId);
    }
    p.pieces[n - 1] = content;
    p.received++;
    p.bytes += content.length;
    // §2.5: only fragment 1's Next Payload names the first inner payload; the others' are ignored.
    if (n === 1) p.first = { header: msg.header, firstInner: skf.firstInner, unprotected };
    if (p.received < p.total) return { kind: "incomplete", messageId, received: p.received, total: p.total };

    // §2.6: all fragments present: their decrypted contents, in order, are the original SK content.
    const plaintext = new Uint8Array(p.bytes);
    let off = 0;
    for (const piece of p.pieces) {
      plaintext.set(piece!, off);
      off += piece!.length;
    }
    const first = p.first!;
    this.discard(key);
    this.completed.push(key);
    if (this.completed.length > COMPLETED_MEMORY) this.completed.shift();
    return { kind: "complete", header: first.header, firstInner: first.firstInner, plaintext, unprotected: first.unprotected };
  }

  /**
   * §2.6: "If the receiver does not get all IKE fragments needed to reassemble the original message
   * within a timeout interval, it MUST discard all IKE Fragment Messages received so far for the
   * message." Returns the Message IDs discarded. add() calls this itself.
   */
  expire(now: number): number[] {
    const gone: number[] = [];
    for (const [key, p] of this.pending) {
      if (now - p.started >= this.limits.timeoutMs) {
        gone.push(p.messageId);
        this.discard(key);
      }
    }
    return gone;
  }

  /** Discards everything (IKE SA deleted or rekeyed). */
  clear(): void {
    for (const key of [...this.pending.keys()]) this.discard(key);
    this.completed.length = 0;
  }

  private discard(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    wipe(...p.pieces);
    this.pending.delete(key);
  }
}

function drop(reason: DropReason, detail: string, messageId?: number): ReassemblyResult {
  return messageId === undefined ? { kind: "dropped", reason, detail } : { kind: "dropped", reason, detail, messageId };
}
