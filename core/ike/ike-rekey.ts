// Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18) as a task in the shape of strongSwan's ike_rekey: it
// owns only its own payloads (SA, Ni/Nr, KEi/KEr) and hands the session the keys of the new IKE SA.
// The task manager (task-manager.ts) owns message IDs and retransmits; ike-rekeying.ts drives this task and its collisions.
//
//   HDR, SK {SA, Ni, KEi}  -->  <--  HDR, SK {SA, Nr, KEr}
//
// The IKE SA a rekey replaced lives on as a RetiredIkeSa: it only answers the peer (its DELETE, a
// retransmit) until the session drops it.

import { nobleKeyExchangeFactory, type KeyExchange } from "../crypto/dh.ts";
import { ExchangeType, NotifyError, notifyName, PayloadType, ProtocolId } from "../wire/constants.ts";
import type { SessionConfig } from "./config.ts";
import { IkeSaKeys } from "./ikesa.ts";
import * as M from "./msg.ts";
import { acceptsChoice, formatSuite } from "./proposal.ts";
import type { SessionEnv } from "./types.ts";

/** A response we sent, kept for a retransmitted request (§2.1). */
export interface CachedResponse {
  messageId: number;
  datagrams: Uint8Array[];
}

export type IkeRekeyAnswer =
  | { ok: true; response: M.Payload[]; keys: IkeSaKeys; suiteName: string; nonces: { ni: Uint8Array; nr: Uint8Array } }
  | { ok: false; notify: number; data?: Uint8Array };

/**
 * The responder side (§1.3.2): the gateway rekeys the IKE SA. It becomes the original initiator of the
 * new SA (its nonce is Ni, its SPI SPIi); the CHILD_SAs move over unchanged (§2.18).
 */
export class IkeRekeyResponder {
  constructor(
    private readonly cfg: SessionConfig,
    private readonly env: SessionEnv,
  ) {}

  /** Answers the request's payloads on the IKE SA `current`: the response and the new SA's keys, or a refusal. */
  answer(payloads: M.Payload[], current: IkeSaKeys): IkeRekeyAnswer {
    const sel = M.selectFromOffer(payloads, ProtocolId.IKE, this.cfg.ikeProposals);
    if (!sel.ok || sel.proposal.spi.length !== 8) return { ok: false, notify: NotifyError.NO_PROPOSAL_CHOSEN };
    const kei = M.findKe(payloads);
    const ni = M.findNonce(payloads);
    if (!kei || kei.group !== sel.suite.ke) {
      // §1.3.2: the KE must be of the chosen group; INVALID_KE_PAYLOAD names the one we want (§1.2).
      const want = new Uint8Array(2);
      new DataView(want.buffer).setUint16(0, sel.suite.ke);
      return { ok: false, notify: NotifyError.INVALID_KE_PAYLOAD, data: want };
    }
    if (!ni) return { ok: false, notify: NotifyError.INVALID_SYNTAX };
    const kx = (this.env.keyExchanges ?? nobleKeyExchangeFactory).create(sel.suite.ke, this.env.random);
    const shared = kx.computeShared(kei.data);
    if (!shared.ok) {
      kx.dispose();
      return { ok: false, notify: NotifyError.INVALID_SYNTAX };
    }
    const nr = this.env.random.bytes(32);
    const ourSpi = this.env.random.bytes(8);
    const suiteName = formatSuite(sel.suite, "ike");
    // §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), SPIi and Ni being the gateway's.
    const keys = IkeSaKeys.rekeyed(current, {
      suite: sel.suite,
      suiteName,
      spiI: sel.proposal.spi,
      spiR: ourSpi,
      ni,
      nr,
      sharedSecret: shared.secret,
      random: this.env.random,
      primitives: this.env.primitives,
      weInitiated: false,
    });
    shared.secret.fill(0);
    const response: M.Payload[] = [
      { type: PayloadType.SA, critical: false, proposals: [{ ...sel.proposal, spi: ourSpi }] },
      M.nonce(nr),
      M.ke(kx.group, kx.publicKey),
    ];
    kx.dispose();
    inheritFragmentation(current, keys);
    return { ok: true, response, keys, suiteName, nonces: { ni, nr } };
  }
}

export type IkeRekeyResult =
  | { ok: true; keys: IkeSaKeys; suiteName: string; nonces: { ni: Uint8Array; nr: Uint8Array } }
  /** `retryGroup`: the gateway wants another key exchange group (INVALID_KE_PAYLOAD), one we propose. */
  | { ok: false; reason: string; temporary: boolean; retryGroup?: number };

/**
 * The initiator side (§1.3.2): roam rekeys the IKE SA. We become the original initiator of the new SA
 * (our SPI is SPIi, our nonce Ni), whoever initiated the old one.
 */
export class IkeRekeyInitiator {
  private readonly spiI: Uint8Array;
  private readonly ni: Uint8Array;
  private readonly kx: KeyExchange;

  /** `group`: the key exchange group for KEi; the one the current IKE SA uses by default. */
  constructor(
    private readonly cfg: SessionConfig,
    private readonly env: SessionEnv,
    group: number,
  ) {
    this.spiI = env.random.bytes(8);
    this.ni = env.random.bytes(32);
    this.kx = (env.keyExchanges ?? nobleKeyExchangeFactory).create(group, env.random);
  }

  /** Our nonce, for the collision rule (§2.8.2). */
  get nonce(): Uint8Array {
    return this.ni;
  }

  /**  HDR, SK {SA, Ni, KEi}: the SA payload carries our new SPI (§3.3.2: the IKE SPI, 8 octets). */
  request(): M.Payload[] {
    return [M.sa(ProtocolId.IKE, this.cfg.ikeProposals, this.spiI), M.nonce(this.ni), M.ke(this.kx.group, this.kx.publicKey)];
  }

  /** The gateway's answer on the IKE SA `current`: the keys of the new SA, or why not (then the old SA stays). */
  process(payloads: M.Payload[], current: IkeSaKeys): IkeRekeyResult {
    try {
      return this.derive(payloads, current);
    } finally {
      this.kx.dispose();
    }
  }

  private derive(payloads: M.Payload[], current: IkeSaKeys): IkeRekeyResult {
    const err = M.firstErrorNotify(payloads);
    if (err === NotifyError.INVALID_KE_PAYLOAD) {
      // §1.2, §1.3.2: the gateway names the group it wants; try again with it if we propose it.
      const data = M.findNotify(payloads, err)?.data;
      const group = data && data.length === 2 ? (data[0]! << 8) | data[1]! : 0;
      const ours = this.cfg.ikeProposals.some((p) => p.ke.includes(group));
      return { ok: false, reason: `the gateway wants key exchange group ${group}`, temporary: true, retryGroup: ours && group !== this.kx.group ? group : undefined };
    }
    if (err !== null) {
      // §2.25: TEMPORARY_FAILURE means "not now" (the gateway is rekeying or deleting something itself).
      return { ok: false, reason: `the gateway refused our IKE SA rekey: ${notifyName(err)}`, temporary: err === NotifyError.TEMPORARY_FAILURE };
    }
    const chosen = M.chosenSuite(payloads, ProtocolId.IKE);
    if (!chosen.ok) return { ok: false, reason: `IKE SA rekey: ${chosen.error}`, temporary: false };
    if (!acceptsChoice(this.cfg.ikeProposals, chosen.suite, "ike") || chosen.suite.ke !== this.kx.group) {
      return { ok: false, reason: `IKE SA rekey: the gateway chose ${formatSuite(chosen.suite, "ike")}, which does not match our offer and KEi`, temporary: false };
    }
    if (chosen.spi.length !== 8) return { ok: false, reason: "IKE SA rekey: the gateway's SPI is not 8 octets", temporary: false };
    const nr = M.findNonce(payloads);
    const ker = M.findKe(payloads);
    if (!nr || !ker || ker.group !== this.kx.group) return { ok: false, reason: "IKE SA rekey: the answer lacks Nr or a KEr of our group", temporary: false };
    const shared = this.kx.computeShared(ker.data);
    if (!shared.ok) return { ok: false, reason: `IKE SA rekey: bad KEr: ${shared.reason}`, temporary: false };
    const suiteName = formatSuite(chosen.suite, "ike");
    // §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), Ni and SPIi being ours now.
    const keys = IkeSaKeys.rekeyed(current, {
      suite: chosen.suite,
      suiteName,
      spiI: this.spiI,
      spiR: chosen.spi,
      ni: this.ni,
      nr,
      sharedSecret: shared.secret,
      random: this.env.random,
      primitives: this.env.primitives,
      weInitiated: true,
    });
    shared.secret.fill(0);
    inheritFragmentation(current, keys);
    return { ok: true, keys, suiteName, nonces: { ni: this.ni, nr } };
  }

  /** Drops the private key when the request is abandoned. */
  dispose(): void {
    this.kx.dispose();
  }
}

/** The new SA keeps the fragmentation the old one negotiated (RFC 7383 §2.3). */
function inheritFragmentation(from: IkeSaKeys, to: IkeSaKeys): void {
  if (from.fragmentBudgetValue > 0) to.enableFragmentation(from.fragmentBudgetValue);
}

/** What a datagram for a retired IKE SA amounts to. */
export type RetiredReceive =
  /** Not this SA's SPIs. */
  | { kind: "foreign" }
  /** Send these (maybe nothing: a bad or stale message is dropped, §2.21.1). */
  | { kind: "answer"; datagrams: Uint8Array[]; deleted: boolean }
  /** The answer to a request of ours on this SA (our DELETE of it). */
  | { kind: "response"; messageId: number; exchangeType: number; payloads: M.Payload[] };

/**
 * An IKE SA that a rekey replaced, or the redundant one of a collision (§2.8.2): it answers requests on
 * it (the DELETE for it, a retransmit) and carries our DELETE for it, nothing else.
 */
export class RetiredIkeSa {
  /** The gateway deleted it, or answered our DELETE: it only answers retransmits now. */
  deleted = false;

  constructor(
    readonly keys: IkeSaKeys,
    private peerNextId: number,
    private lastResponse: CachedResponse | null,
    /** Our next request's message ID on this SA. */
    private nextRequestId = 0,
  ) {}

  receive(data: Uint8Array, now: number): RetiredReceive {
    const msg = this.keys.unprotect(data, now);
    if (!msg.ok) {
      if (msg.reason === "not this IKE SA") return { kind: "foreign" };
      const again = msg.retransmitOf !== undefined && msg.retransmitOf === this.lastResponse?.messageId;
      return { kind: "answer", datagrams: again ? this.lastResponse!.datagrams : [], deleted: false };
    }
    const m = msg.value;
    if (m.response) return { kind: "response", messageId: m.messageId, exchangeType: m.exchangeType, payloads: m.payloads };
    if (m.messageId === this.peerNextId - 1 && this.lastResponse?.messageId === m.messageId) return { kind: "answer", datagrams: this.lastResponse.datagrams, deleted: false };
    if (m.messageId !== this.peerNextId) return { kind: "answer", datagrams: [], deleted: false };
    this.peerNextId++;
    // §2.25.2: a rekey (of it or of a CHILD_SA) on an IKE SA we are closing: "not now". Its DELETE, or
    // anything else, gets an empty answer.
    const refuse = m.exchangeType === ExchangeType.CREATE_CHILD_SA;
    const deletes = !refuse && M.deletes(m.payloads).some((d) => d.protocolId === ProtocolId.IKE);
    if (deletes) this.deleted = true;
    const datagrams = this.keys.protect(m.exchangeType, m.messageId, true, refuse ? [M.notify(NotifyError.TEMPORARY_FAILURE)] : []);
    this.lastResponse = { messageId: m.messageId, datagrams };
    return { kind: "answer", datagrams, deleted: deletes };
  }

  /** Our DELETE for this SA (§1.4.1): the message ID and the datagrams to send and retransmit. */
  deleteRequest(): { messageId: number; datagrams: Uint8Array[] } {
    const messageId = this.nextRequestId++;
    return { messageId, datagrams: this.keys.protect(ExchangeType.INFORMATIONAL, messageId, false, [M.del(ProtocolId.IKE, [])]) };
  }

  wipe(): void {
    this.keys.wipe();
  }
}
