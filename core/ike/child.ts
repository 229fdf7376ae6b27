// The first CHILD_SA, created inside IKE_AUTH (RFC 7296 §1.2, §2.9, §2.17), and the configuration
// payload that rides with it (§2.19, §3.15): a virtual IP, DNS servers and domains.
//
//   CP(CFG_REQUEST), SAi2, TSi, TSr  -->  <--  CP(CFG_REPLY), SAr2, TSi, TSr

import { createSkSuite } from "../crypto/encr.ts";
import { deriveChildSaKeys, type ChildSaKeys } from "../crypto/keys.ts";
import { readU32 } from "../util/bytes.ts";
import { nobleKeyExchangeFactory, type KeyExchange, type KeyExchangeFactory } from "../crypto/dh.ts";
import type { Random } from "../types.ts";
import { CfgAttr, CfgType, NotifyError, NotifyStatus, notifyName, PayloadType, ProtocolId } from "../wire/constants.ts";
import type { SessionConfig } from "./config.ts";
import type { IkeSaKeys } from "./ikesa.ts";
import * as M from "./msg.ts";
import { acceptsChoice, formatSuite, type ChosenSuite } from "./proposal.ts";
import { checkNarrowing, rangeToCidrs, type Selector } from "./selectors.ts";
import type { ChildSaParams, SessionEnv, SessionFailure, TunnelConfig } from "./types.ts";

const ANY4: Selector = { family: 4, start: new Uint8Array(4), end: new Uint8Array(4).fill(255), protocol: 0, startPort: 0, endPort: 65535 };
const ANY6: Selector = { family: 6, start: new Uint8Array(16), end: new Uint8Array(16).fill(255), protocol: 0, startPort: 0, endPort: 65535 };

export type ChildResult =
  | { ok: true; child: ChildSaParams; config: TunnelConfig; suiteName: string }
  | { ok: false; failure: SessionFailure };

export class ChildSaTask {
  /** Our inbound SPI, chosen now (§3.3.1: the SPI in our proposal is the one the gateway sends to). */
  private readonly spiIn: number;
  private readonly tsi: Selector[];
  private readonly tsr: Selector[];
  private active = new Map<number, number>(); // spiOut -> spiIn
  /** The CHILD_SA in use (the newest): what a rekey of ours replaces. */
  private current: ChildPair | null = null;
  /** Every active pair by our inbound SPI, oldest first (the one in use moves when another is removed). */
  private readonly pairs = new Map<number, ChildPair>();
  /** For PFS key exchanges in CHILD_SA rekeys (§1.3.3). */
  private readonly keyExchanges: KeyExchangeFactory;

  constructor(
    private readonly cfg: SessionConfig,
    env: SessionEnv,
  ) {
    this.spiIn = freshSpi(env.random, new Set());
    this.keyExchanges = env.keyExchanges ?? nobleKeyExchangeFactory;
    // With a virtual IP requested, TSi is "any": the gateway narrows it to the address it assigns.
    this.tsi = cfg.requestIp6 ? [ANY4, ANY6] : [ANY4];
    this.tsr = cfg.remoteSelectors.length > 0 ? cfg.remoteSelectors : cfg.requestIp6 ? [ANY4, ANY6] : [ANY4];
  }

  requestPayloads(): M.Payload[] {
    // §3.15.1: zero-length attributes ask for a value.
    const attrs: M.CfgAttribute[] = [
      { attrType: CfgAttr.INTERNAL_IP4_ADDRESS },
      { attrType: CfgAttr.INTERNAL_IP4_DNS },
      { attrType: CfgAttr.INTERNAL_DNS_DOMAIN, domain: "" },
    ];
    if (this.cfg.requestIp6) attrs.push({ attrType: CfgAttr.INTERNAL_IP6_ADDRESS }, { attrType: CfgAttr.INTERNAL_IP6_DNS });
    if (this.cfg.applicationVersion) attrs.push({ attrType: CfgAttr.APPLICATION_VERSION, text: this.cfg.applicationVersion });
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, this.spiIn);
    return [
      M.cp(CfgType.REQUEST, attrs),
      M.sa(ProtocolId.ESP, this.cfg.espProposals, spi),
      M.ts("i", this.tsi),
      M.ts("r", this.tsr),
    ];
  }

  processResponse(payloads: M.Payload[], keys: IkeSaKeys): ChildResult {
    const err = M.firstErrorNotify(payloads);
    if (err !== null) {
      const why: Record<number, string> = {
        [NotifyError.NO_PROPOSAL_CHOSEN]: "gateway accepted none of our ESP proposals (NO_PROPOSAL_CHOSEN)",
        [NotifyError.TS_UNACCEPTABLE]: "gateway refused the requested subnets (TS_UNACCEPTABLE)",
        [NotifyError.INTERNAL_ADDRESS_FAILURE]: "gateway could not assign a virtual IP (INTERNAL_ADDRESS_FAILURE)",
        [NotifyError.FAILED_CP_REQUIRED]: "gateway requires a configuration request (FAILED_CP_REQUIRED)",
      };
      return fail("protocol", why[err] ?? `gateway refused the CHILD_SA: ${notifyName(err)}`);
    }
    if (M.findNotify(payloads, NotifyStatus.USE_TRANSPORT_MODE)) return fail("protocol", "gateway wants transport mode; roam runs tunnel mode only");
    const chosen = M.chosenSuite(payloads, ProtocolId.ESP);
    if (!chosen.ok) return fail("protocol", `gateway's CHILD_SA answer: ${chosen.error}`);
    // RFC 7296 §1.2: the CHILD_SA of IKE_AUTH has no key exchange of its own, so a gateway drops the KE
    // transforms of our ESP proposals (PFS applies from the first rekey on): accept that choice too.
    const withoutKe = this.cfg.espProposals.map((p) => ({ ...p, ke: [] }));
    if (!acceptsChoice(this.cfg.espProposals, chosen.suite, "esp") && !(chosen.suite.ke === 0 && acceptsChoice(withoutKe, chosen.suite, "esp"))) {
      return fail("protocol", `gateway chose ESP ${formatSuite(chosen.suite, "esp")}, which we did not propose`);
    }
    if (chosen.spi.length !== 4) return fail("protocol", "gateway's ESP SPI is not 4 bytes");
    const spiOut = readU32(chosen.spi, 0);
    const tsi = M.findTs(payloads, "i");
    const tsr = M.findTs(payloads, "r");
    if (!tsi || !tsr) return fail("protocol", "gateway's CHILD_SA answer has no TSi/TSr");
    const ni = checkNarrowing(this.tsi, tsi);
    if (!ni.ok) return fail("protocol", `TSi: ${ni.reason}`);
    const nr = checkNarrowing(this.tsr, tsr);
    if (!nr.ok) return fail("protocol", `TSr: ${nr.reason}`);

    const config = this.readConfig(payloads, tsr);
    if (config.ip4.length === 0 && config.ip6.length === 0) {
      return fail("protocol", "gateway assigned no virtual IP (no INTERNAL_IP4_ADDRESS or INTERNAL_IP6_ADDRESS in its reply)");
    }
    // Key lengths for ESP are those of the same transforms in IKE (RFC 4106 §8.1, RFC 7634 §2 salts included).
    const lengths = createSkSuite(chosen.suite.encr.id, chosen.suite.encr.keyBits || undefined, chosen.suite.integ);
    if (!lengths.ok) return fail("protocol", `gateway chose an ESP suite roam cannot run: ${lengths.reason}`);
    const k = deriveChildSaKeys(keys.prf, keys.material.SK_d, keys.nonces.ni, keys.nonces.nr, {
      encr: lengths.suite.encrKeyLength,
      integ: lengths.suite.integKeyLength,
    });
    const child = this.adopt(this.spiIn, spiOut, chosen.suite, k, true, tsi, tsr);
    return { ok: true, child, config, suiteName: formatSuite(chosen.suite, "esp") };
  }

  /**
   * §1.3.3: the gateway rekeys a CHILD_SA (it is the initiator of this exchange, so Ni is its nonce and
   * TSi its side):
   *     HDR, SK {N(REKEY_SA), SA, Ni, [KEi,] TSi, TSr}  -->  <--  HDR, SK {SA, Nr, [KEr,] TSi, TSr}
   * The new SAs are installed at once; the old inbound SA stays until the gateway deletes it
   * (make-before-break), so no packet in flight is lost.
   */
  answerRekey(payloads: M.Payload[], keys: IkeSaKeys, random: Random): RekeyAnswer {
    const rekey = M.findNotifyFull(payloads, NotifyStatus.REKEY_SA);
    if (!rekey) return refuse(NotifyError.NO_ADDITIONAL_SAS, "the gateway asked for an additional CHILD_SA; roam runs one");
    const old = rekey.spi.length === 4 ? readU32(rekey.spi, 0) : -1;
    // The SPI names the SA being rekeyed (§3.10.1).
    const oldPair = this.rekeyTarget(payloads);
    if (!oldPair) return refuse(NotifyError.CHILD_SA_NOT_FOUND, `the gateway rekeys an unknown CHILD_SA (SPI ${old.toString(16)})`);
    const sel = M.selectFromOffer(payloads, ProtocolId.ESP, this.cfg.espProposals);
    if (!sel.ok) return refuse(NotifyError.NO_PROPOSAL_CHOSEN, `CHILD_SA rekey: ${sel.error}`);
    const ni = M.findNonce(payloads);
    const tsi = M.findTs(payloads, "i");
    const tsr = M.findTs(payloads, "r");
    if (!ni || !tsi || !tsr || sel.proposal.spi.length !== 4) return refuse(NotifyError.INVALID_SYNTAX, "CHILD_SA rekey request without nonce, selectors or SPI");
    const lengths = createSkSuite(sel.suite.encr.id, sel.suite.encr.keyBits || undefined, sel.suite.integ);
    if (!lengths.ok) return refuse(NotifyError.NO_PROPOSAL_CHOSEN, `CHILD_SA rekey: ${lengths.reason}`);
    let gir: Uint8Array | undefined;
    let ker: M.Payload | null = null;
    if (sel.suite.ke !== 0) {
      const kei = M.findKe(payloads);
      if (!kei || kei.group !== sel.suite.ke) {
        const want = new Uint8Array(2);
        new DataView(want.buffer).setUint16(0, sel.suite.ke);
        return refuse(NotifyError.INVALID_KE_PAYLOAD, `CHILD_SA rekey: KE for another group than chosen`, want);
      }
      const kx = this.keyExchanges.create(sel.suite.ke, random);
      const shared = kx.computeShared(kei.data);
      kx.dispose();
      if (!shared.ok) return refuse(NotifyError.INVALID_SYNTAX, `CHILD_SA rekey: bad KE: ${shared.reason}`);
      gir = shared.secret;
      ker = M.ke(kx.group, kx.publicKey);
    }
    const nr = random.bytes(32);
    const spiIn = freshSpi(random, new Set([...this.active.values()]));
    const spiOut = readU32(sel.proposal.spi, 0);
    const k = deriveChildSaKeys(keys.prf, keys.material.SK_d, ni, nr, { encr: lengths.suite.encrKeyLength, integ: lengths.suite.integKeyLength }, gir);
    gir?.fill(0);
    const spiBytes = new Uint8Array(4);
    new DataView(spiBytes.buffer).setUint32(0, spiIn);
    const response: M.Payload[] = [
      { type: PayloadType.SA, critical: false, proposals: [{ ...sel.proposal, proposalNum: sel.proposal.proposalNum, spi: spiBytes }] },
      M.nonce(nr),
      ...(ker ? [ker] : []),
      M.ts("i", tsi),
      M.ts("r", tsr),
    ];
    // The gateway initiated this exchange: its TSi is the remote side, its TSr ours.
    const child = { ...this.adopt(spiIn, spiOut, sel.suite, k, false, tsr, tsi), deferOutbound: true };
    return { ok: true, response, child, replaces: oldPair, suiteName: formatSuite(sel.suite, "esp"), nonces: { ni, nr } };
  }

  /**
   * §1.3.3: our rekey of the CHILD_SA in use, as initiator of the exchange:
   *     HDR, SK {N(REKEY_SA), SA, Ni, [KEi,] TSi, TSr}  -->
   * (KEi when our first ESP proposal asks for a key exchange, i.e. PFS.)
   */
  buildRekey(random: Random): { payloads: M.Payload[]; pending: OwnRekey } | null {
    const cur = this.current;
    if (!cur) return null;
    const spiIn = freshSpi(random, new Set([...this.active.values()]));
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, spiIn);
    const old = new Uint8Array(4);
    new DataView(old.buffer).setUint32(0, cur.spiIn);
    const ni = random.bytes(32);
    const group = this.cfg.espProposals[0]?.ke[0];
    const kx = group ? this.keyExchanges.create(group, random) : null;
    const payloads: M.Payload[] = [
      M.notify(NotifyStatus.REKEY_SA, new Uint8Array(0), ProtocolId.ESP, old),
      M.sa(ProtocolId.ESP, this.cfg.espProposals, spi),
      M.nonce(ni),
      ...(kx ? [M.ke(kx.group, kx.publicKey)] : []),
      M.ts("i", cur.tsi),
      M.ts("r", cur.tsr),
    ];
    return { payloads, pending: { spiIn, ni, kx, replaces: [cur.spiIn, cur.spiOut], tsi: cur.tsi, tsr: cur.tsr } };
  }

  /** The gateway's answer to our rekey: the new CHILD_SA, or why not (then the old one stays). */
  processRekeyResponse(payloads: M.Payload[], keys: IkeSaKeys, own: OwnRekey): OwnRekeyResult {
    const done = (r: OwnRekeyResult) => {
      own.kx?.dispose();
      return r;
    };
    const err = M.firstErrorNotify(payloads);
    if (err !== null) return done({ ok: false, reason: `the gateway refused our CHILD_SA rekey: ${notifyName(err)}` });
    const chosen = M.chosenSuite(payloads, ProtocolId.ESP);
    if (!chosen.ok || !acceptsChoice(this.cfg.espProposals, chosen.suite, "esp") || chosen.spi.length !== 4) {
      return done({ ok: false, reason: `CHILD_SA rekey: ${chosen.ok ? "the gateway chose what we did not propose" : chosen.error}` });
    }
    const nr = M.findNonce(payloads);
    const tsi = M.findTs(payloads, "i");
    const tsr = M.findTs(payloads, "r");
    // Checked against what we proposed (the SA in use may have changed meanwhile: a collision, §2.8.1).
    if (!nr || !tsi || !tsr || !checkNarrowing(own.tsi, tsi).ok || !checkNarrowing(own.tsr, tsr).ok) {
      return done({ ok: false, reason: "CHILD_SA rekey: the answer lacks a nonce or acceptable selectors" });
    }
    let gir: Uint8Array | undefined;
    if (chosen.suite.ke !== 0) {
      const ker = M.findKe(payloads);
      const shared = own.kx && ker && ker.group === own.kx.group ? own.kx.computeShared(ker.data) : null;
      if (!shared?.ok) return done({ ok: false, reason: "CHILD_SA rekey: no usable KE in the answer" });
      gir = shared.secret;
    }
    const lengths = createSkSuite(chosen.suite.encr.id, chosen.suite.encr.keyBits || undefined, chosen.suite.integ);
    if (!lengths.ok) return done({ ok: false, reason: `CHILD_SA rekey: ${lengths.reason}` });
    const k = deriveChildSaKeys(keys.prf, keys.material.SK_d, own.ni, nr, { encr: lengths.suite.encrKeyLength, integ: lengths.suite.integKeyLength }, gir);
    gir?.fill(0);
    const spiOut = readU32(chosen.spi, 0);
    const child = this.adopt(own.spiIn, spiOut, chosen.suite, k, true, tsi, tsr);
    return done({ ok: true, child, suiteName: formatSuite(chosen.suite, "esp"), nr });
  }

  /**
   * A new CHILD_SA from a finished exchange: its parameters, and it becomes the one in use. §2.17: the keys
   * of the exchange initiator's outbound direction come first in KEYMAT, so when we initiated the exchange
   * they are our outbound keys, and when the gateway did, our inbound ones. `tsi`/`tsr` are ours/remote.
   */
  private adopt(spiIn: number, spiOut: number, suite: ChosenSuite, k: ChildSaKeys, weInitiated: boolean, tsi: Selector[], tsr: Selector[]): ChildSaParams {
    const mine = weInitiated ? k.initiatorToResponder : k.responderToInitiator;
    const theirs = weInitiated ? k.responderToInitiator : k.initiatorToResponder;
    this.active.set(spiOut, spiIn);
    this.current = { spiIn, spiOut, tsi, tsr };
    this.pairs.set(spiIn, this.current);
    return {
      spiIn,
      spiOut,
      encrId: suite.encr.id,
      encrKeyBits: suite.encr.keyBits,
      integId: suite.integ,
      encrKeyOut: mine.encr,
      integKeyOut: mine.integ,
      encrKeyIn: theirs.encr,
      integKeyIn: theirs.integ,
      esn: suite.esn === 1,
      tsi,
      tsr,
    };
  }

  /**
   * §2.8.1: after a rekey collision the surviving CHILD_SA is the one in use, whichever was adopted last.
   * Returns false when no active pair has this inbound SPI.
   */
  makeCurrent(spiIn: number): boolean {
    const p = this.pairs.get(spiIn);
    if (!p) return false;
    this.current = p;
    return true;
  }

  /** The pair [spiIn, spiOut] a REKEY_SA notify in the gateway's request names (§3.10.1), or null. */
  rekeyTarget(payloads: M.Payload[]): [number, number] | null {
    const rekey = M.findNotifyFull(payloads, NotifyStatus.REKEY_SA);
    if (!rekey || rekey.spi.length !== 4) return null;
    const old = readU32(rekey.spi, 0);
    // strongSwan sends its inbound SPI (our outbound); accept either.
    for (const [spiOut, spiIn] of this.active) if (spiOut === old || spiIn === old) return [spiIn, spiOut];
    return null;
  }

  /** The inbound SPI of the CHILD_SA in use. */
  get currentSpiIn(): number | null {
    return this.current?.spiIn ?? null;
  }

  private readConfig(payloads: M.Payload[], tsr: Selector[]): TunnelConfig {
    const cfg: TunnelConfig = { ip4: [], ip6: [], dns: [], domains: [], routes: [] };
    const reply = M.findCp(payloads);
    for (const a of reply?.type === CfgType.REPLY ? reply.attributes : []) {
      if ("address" in a && a.address) {
        if (a.attrType === CfgAttr.INTERNAL_IP4_ADDRESS) cfg.ip4.push(M.addrText(a.address));
        else if (a.attrType === CfgAttr.INTERNAL_IP6_ADDRESS) cfg.ip6.push(M.addrText(a.address));
        else if (a.attrType === CfgAttr.INTERNAL_IP4_DNS || a.attrType === CfgAttr.INTERNAL_IP6_DNS) {
          cfg.dns.push(M.addrText(a.address));
        }
      } else if ("domain" in a && a.attrType === CfgAttr.INTERNAL_DNS_DOMAIN && a.domain) {
        cfg.domains.push(a.domain); // RFC 8598 §4
      }
    }
    cfg.routes = tsr.flatMap((s) => rangeToCidrs(s.start, s.end));
    return cfg;
  }

  /** The gateway deleted CHILD_SAs by its inbound SPIs (= our outbound): returns our inbound SPIs to delete in reply (§1.4.1). */
  onPeerDelete(spisOut: number[]): number[] {
    return spisOut.flatMap((s) => (this.active.has(s) ? [this.active.get(s)!] : []));
  }

  /** Forgets the pairs for the given outbound SPIs; returns [spiIn, spiOut] of each. */
  removedPairs(spisOut: number[]): [number, number][] {
    const out: [number, number][] = [];
    for (const s of spisOut) {
      const i = this.active.get(s);
      if (i !== undefined) {
        out.push([i, s]);
        this.active.delete(s);
        this.pairs.delete(i);
      }
    }
    // The one in use is gone (deleted by the gateway): the newest that is left takes its place.
    if (this.current && !this.pairs.has(this.current.spiIn)) this.current = [...this.pairs.values()].pop() ?? null;
    return out;
  }

  removeAll(): [number, number][] {
    return this.removedPairs([...this.active.keys()]);
  }

  /** Is the CHILD_SA with this inbound SPI still there? */
  isActive(spiIn: number): boolean {
    return this.pairs.has(spiIn);
  }

  hasActive(): boolean {
    return this.active.size > 0;
  }
}

export type OwnRekeyResult = { ok: true; child: ChildSaParams; suiteName: string; nr: Uint8Array } | { ok: false; reason: string };

interface ChildPair {
  spiIn: number;
  spiOut: number;
  tsi: Selector[];
  tsr: Selector[];
}

/**
 * §2.8.1, §2.8.2: of two exchanges that rekeyed the same SA at once, the one whose nonces include the
 * lowest of all four made the redundant SA. "Lowest" compares octet by octet, and a nonce that is a
 * prefix of the other is the lower one. True when `ours` ([Ni, Nr] of our exchange) holds it.
 */
export function collisionLost(ours: [Uint8Array, Uint8Array], theirs: [Uint8Array, Uint8Array]): boolean {
  const low = (a: Uint8Array, b: Uint8Array) => (compareNonces(a, b) <= 0 ? a : b);
  return compareNonces(low(ours[0], ours[1]), low(theirs[0], theirs[1])) < 0;
}

export function compareNonces(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Our rekey in flight: the new inbound SPI, our nonce, our key exchange (PFS), and the pair it replaces. */
export interface OwnRekey {
  spiIn: number;
  ni: Uint8Array;
  kx: KeyExchange | null;
  replaces: [number, number];
  /** The selectors we proposed (those of the SA we rekey). */
  tsi: Selector[];
  tsr: Selector[];
}

export type RekeyAnswer =
  | { ok: true; response: M.Payload[]; child: ChildSaParams; replaces: [number, number]; suiteName: string; nonces: { ni: Uint8Array; nr: Uint8Array } }
  | { ok: false; notify: number; data?: Uint8Array; reason: string };

function refuse(notify: number, reason: string, data?: Uint8Array): RekeyAnswer {
  return { ok: false, notify, reason, data };
}

/** A random SPI outside the reserved 0..255 (RFC 4303 §2.1) and not already in use. */
function freshSpi(random: Random, used: Set<number>): number {
  let spi = 0;
  while (spi < 256 || used.has(spi)) spi = readU32(random.bytes(4), 0);
  return spi;
}

function fail(code: SessionFailure["code"], message: string): ChildResult {
  return { ok: false, failure: { code, message } };
}
