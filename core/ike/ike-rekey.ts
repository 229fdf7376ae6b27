// Rekeying the IKE SA (RFC 7296 §1.3.2, §2.18) as a task in the shape of strongSwan's ike_rekey: it
// owns only its own payloads (SA, Ni/Nr, KEi/KEr) and hands the session the keys of the new IKE SA.
// The session owns message IDs, retransmits and collisions.
//
//   HDR, SK {SA, Ni, KEi}  -->  <--  HDR, SK {SA, Nr, KEr}
//
// The IKE SA a rekey replaced lives on as a RetiredIkeSa: it only answers the peer (its DELETE, a
// retransmit) until the session drops it.

import { createKeyExchange } from "../crypto/dh.ts";
import { NotifyError, PayloadType, ProtocolId } from "../wire/constants.ts";
import type { SessionConfig } from "./config.ts";
import { IkeSaKeys } from "./ikesa.ts";
import * as M from "./msg.ts";
import { formatSuite } from "./proposal.ts";
import type { SessionEnv } from "./types.ts";

/** A response we sent, kept for a retransmitted request (§2.1). */
export interface CachedResponse {
  messageId: number;
  datagrams: Uint8Array[];
}

export type IkeRekeyAnswer =
  | { ok: true; response: M.Payload[]; keys: IkeSaKeys; suiteName: string }
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
    const kx = createKeyExchange(sel.suite.ke, this.env.random);
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
    return { ok: true, response, keys, suiteName };
  }
}

/** The new SA keeps the fragmentation the old one negotiated (RFC 7383 §2.3). */
function inheritFragmentation(from: IkeSaKeys, to: IkeSaKeys): void {
  if (from.fragmentBudgetValue > 0) to.enableFragmentation(from.fragmentBudgetValue);
}

/**
 * An IKE SA that a rekey replaced (§2.18): it answers requests on it (the DELETE for it, or a
 * retransmit of the rekey request) with an empty response, and nothing else.
 */
export class RetiredIkeSa {
  constructor(
    readonly keys: IkeSaKeys,
    private peerNextId: number,
    private lastResponse: CachedResponse | null,
  ) {}

  /**
   * A datagram for this SA: what to send back (possibly nothing). Returns null when the datagram does not
   * belong to this SA at all.
   */
  answer(data: Uint8Array, now: number): Uint8Array[] | null {
    const msg = this.keys.unprotect(data, now);
    if (!msg.ok) return msg.reason === "not this IKE SA" ? null : [];
    const m = msg.value;
    if (m.response) return [];
    if (m.messageId === this.peerNextId - 1 && this.lastResponse?.messageId === m.messageId) return this.lastResponse.datagrams;
    if (m.messageId !== this.peerNextId) return [];
    this.peerNextId++;
    // Its DELETE (or anything else) gets an empty answer; the keys stay for a retransmit of it until
    // the session drops this SA.
    const datagrams = this.keys.protect(m.exchangeType, m.messageId, true, []);
    this.lastResponse = { messageId: m.messageId, datagrams };
    return datagrams;
  }

  wipe(): void {
    this.keys.wipe();
  }
}
