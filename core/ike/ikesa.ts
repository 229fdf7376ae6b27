// The keys of an IKE SA (RFC 7296 §2.14) and the protection of its messages in an SK payload (§3.14).

import { computeRekeySkeyseed, computeSkeyseed, deriveIkeSaKeys, wipeIkeSaKeys, type IkeSaKeys as IkeKeyMaterial } from "../crypto/keys.ts";
import { createSkSuite, type SkSuite } from "../crypto/encr.ts";
import { prfById, type Prf } from "../crypto/prf.ts";
import type { SymmetricPrimitives } from "../crypto/primitives.ts";
import { equalBytes, wipe } from "../util/bytes.ts";
import type { Random } from "../types.ts";
import { FragmentReassembler, fragmentMessage } from "./fragment.ts";
import * as M from "./msg.ts";
import type { ChosenSuite } from "./proposal.ts";

export interface DeriveInput {
  suite: ChosenSuite;
  suiteName: string;
  spiI: Uint8Array;
  spiR: Uint8Array;
  ni: Uint8Array;
  nr: Uint8Array;
  sharedSecret: Uint8Array;
  random: Random;
  /** HMAC and AES-GCM for the PRF and SK payloads (SessionEnv.primitives); noble's when absent. */
  primitives?: SymmetricPrimitives;
}

export class IkeSaKeys {
  private constructor(
    readonly spiI: Uint8Array,
    readonly spiR: Uint8Array,
    readonly suite: ChosenSuite,
    readonly suiteName: string,
    readonly prf: Prf,
    readonly material: IkeKeyMaterial,
    private readonly sk: SkSuite,
    private readonly random: Random,
    readonly nonces: { ni: Uint8Array; nr: Uint8Array },
    /** We are the original initiator of this IKE SA (always, unless the gateway rekeyed it: §2.18). */
    readonly weInitiated = true,
  ) {}

  /** Keys we send with, and keys we receive with (§2.14: SK_ei/SK_ai belong to the original initiator). */
  private get sendKeys() {
    return this.weInitiated ? { encr: this.material.SK_ei, integ: this.material.SK_ai } : { encr: this.material.SK_er, integ: this.material.SK_ar };
  }
  private get receiveKeys() {
    return this.weInitiated ? { encr: this.material.SK_er, integ: this.material.SK_ar } : { encr: this.material.SK_ei, integ: this.material.SK_ai };
  }

  /**
   * §2.18: the IKE SA that replaces `old`. SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the old
   * SA's PRF (as strongSwan does), then the SK_* keys with the new PRF; SPIi, Ni are those of whoever
   * initiated the rekey, who is the new SA's original initiator.
   */
  static rekeyed(old: IkeSaKeys, d: DeriveInput & { weInitiated: boolean }): IkeSaKeys {
    const prf = prfById(d.suite.prf, d.primitives);
    if (!prf) throw new Error(`PRF ${d.suite.prf} was negotiated but is not implemented`);
    const sk = createSkSuite(d.suite.encr.id, d.suite.encr.keyBits || undefined, d.suite.integ, d.primitives);
    if (!sk.ok) throw new Error(`negotiated SK suite is not implemented: ${sk.reason}`);
    const skeyseed = computeRekeySkeyseed(old.prf, old.material.SK_d, d.sharedSecret, d.ni, d.nr);
    const material = deriveIkeSaKeys(prf, skeyseed, d.ni, d.nr, d.spiI, d.spiR, { encr: sk.suite.encrKeyLength, integ: sk.suite.integKeyLength });
    wipe(skeyseed);
    return new IkeSaKeys(d.spiI, d.spiR, d.suite, d.suiteName, prf, material, sk.suite, d.random, { ni: d.ni, nr: d.nr }, d.weInitiated);
  }

  /** Fails only for transforms acceptsChoice() let through but crypto/ cannot do: a bug, not bad input. */
  static derive(d: DeriveInput): IkeSaKeys {
    const prf = prfById(d.suite.prf, d.primitives);
    if (!prf) throw new Error(`PRF ${d.suite.prf} was negotiated but is not implemented`);
    const sk = createSkSuite(d.suite.encr.id, d.suite.encr.keyBits || undefined, d.suite.integ, d.primitives);
    if (!sk.ok) throw new Error(`negotiated SK suite is not implemented: ${sk.reason}`);
    const skeyseed = computeSkeyseed(prf, d.ni, d.nr, d.sharedSecret);
    const material = deriveIkeSaKeys(prf, skeyseed, d.ni, d.nr, d.spiI, d.spiR, { encr: sk.suite.encrKeyLength, integ: sk.suite.integKeyLength });
    wipe(skeyseed);
    return new IkeSaKeys(d.spiI, d.spiR, d.suite, d.suiteName, prf, material, sk.suite, d.random, { ni: d.ni, nr: d.nr });
  }

  /**
   * RFC 7383: set once both sides announced IKEV2_FRAGMENTATION_SUPPORTED. `maxDatagram` is the IKE
   * message budget (path MTU − IP − UDP − non-ESP marker); larger protected messages leave as SKF.
   */
  enableFragmentation(maxDatagram: number): void {
    this.fragmentBudget = maxDatagram;
    this.reassembler ??= new FragmentReassembler(this.sk, this.receiveKeys);
  }

  private fragmentBudget = 0;

  /** The budget fragmentation was enabled with (0: not enabled). */
  get fragmentBudgetValue(): number {
    return this.fragmentBudget;
  }
  private reassembler: FragmentReassembler | null = null;

  /**
   * One protected message as the datagrams to send: one SK message, or its SKF fragments when it does
   * not fit (RFC 7383 §2.5). We are always the original initiator: we send with SK_ei/SK_ai.
   */
  protect(exchangeType: number, messageId: number, response: boolean, payloads: M.Payload[]): Uint8Array[] {
    const inner = M.encodeInner(payloads);
    const header = { spiI: this.spiI, spiR: this.spiR, exchangeType, messageId, response, initiator: this.weInitiated };
    const keys = this.sendKeys;
    const bodyLength = this.sk.bodyLength(inner.bytes.length);
    const aad = M.encodeSkEnvelope(header, inner.firstType, bodyLength);
    if (this.fragmentBudget > 0 && aad.length + bodyLength > this.fragmentBudget) {
      return fragmentMessage({
        header: M.wireHeader(header),
        innerFirstType: inner.firstType,
        inner: inner.bytes,
        suite: this.sk,
        keys,
        random: this.random,
        maxDatagram: this.fragmentBudget,
      });
    }
    const iv = this.random.bytes(this.sk.ivLength);
    const body = this.sk.seal(keys, aad, inner.bytes, iv);
    const out = new Uint8Array(aad.length + body.length);
    out.set(aad, 0);
    out.set(body, aad.length);
    return [out];
  }

  /**
   * Parses, checks the SPIs, verifies and decrypts; SKF fragments are collected until the message is
   * whole (RFC 7383 §2.6). A failure means: drop it (§2.21.1), or wait for more fragments.
   */
  unprotect(data: Uint8Array, now: number): { ok: true; value: M.InMessage } | { ok: false; reason: string; retransmitOf?: number } {
    const outer = M.decodeOuter(data);
    if (!outer.ok) return outer;
    const m = outer.value;
    if (!equalBytes(m.spiI, this.spiI) || !equalBytes(m.spiR, this.spiR)) return { ok: false, reason: "not this IKE SA" };
    if (m.initiator === this.weInitiated) return { ok: false, reason: "the I flag says it is our own message" };
    if (m.skf) {
      if (!this.reassembler) return { ok: false, reason: "an SKF fragment, but fragmentation was not negotiated" };
      const r = this.reassembler.add(data, now);
      if (r.kind === "incomplete") return { ok: false, reason: `fragment ${r.received} of ${r.total}` };
      if (r.kind === "dropped") {
        // RFC 7383 §2.6.1: fragment 1 of a request we already reassembled is a retransmit: the caller
        // sends its cached response again (once per retransmit, not once per fragment).
        if (r.reason === "replay" && r.fragmentNumber === 1 && !m.response) return { ok: false, reason: "retransmitted fragmented request", retransmitOf: m.messageId };
        return { ok: false, reason: `fragment dropped: ${r.detail}` };
      }
      const inner = M.decodeInner(r.firstInner, r.plaintext, 0);
      if (!inner.ok) return inner;
      return { ok: true, value: { ...m, payloads: inner.value } };
    }
    if (!m.sk) return { ok: false, reason: "no SK payload" };
    const opened = this.sk.open(this.receiveKeys, data.subarray(0, m.sk.bodyOffset), data.subarray(m.sk.bodyOffset));
    if (!opened.ok) return { ok: false, reason: `SK payload: ${opened.message}` };
    const inner = M.decodeInner(m.sk.firstInner, opened.plaintext, m.sk.bodyOffset);
    if (!inner.ok) return inner;
    return { ok: true, value: { ...m, payloads: inner.value } };
  }

  wipe(): void {
    wipeIkeSaKeys(this.material);
  }
}
