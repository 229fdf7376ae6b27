// IKE_SA_INIT as initiator (RFC 7296 §1.2): SA, KE, Ni and NAT detection out; the gateway's choice,
// KE, Nr and NAT detection in; COOKIE (§2.6) and INVALID_KE_PAYLOAD (§1.2) make us try again.
//
//   Initiator                         Responder
//   HDR, SAi1, KEi, Ni,
//     N(NAT_DETECTION_SOURCE_IP),
//     N(NAT_DETECTION_DESTINATION_IP)  -->
//                                  <--  HDR, SAr1, KEr, Nr, [CERTREQ], N(NAT_DETECTION_*)

import { sha1 } from "@noble/hashes/legacy.js";
import { nobleKeyExchangeFactory, type KeyExchange } from "../crypto/dh.ts";
import { concatBytes, equalBytes, writeU16 } from "../util/bytes.ts";
import { ExchangeType, NotifyError, NotifyStatus, notifyName, ProtocolId } from "../wire/constants.ts";
import type { SessionConfig } from "./config.ts";
import { IkeSaKeys } from "./ikesa.ts";
import * as M from "./msg.ts";
import { acceptsChoice, formatSuite } from "./proposal.ts";
import { findRedirect, initNotifies as redirectNotifies, type RedirectTarget } from "./redirect.ts";
import type { SessionEnv, SessionFailure } from "./types.ts";

export type InitResult =
  | { kind: "ignore" }
  | { kind: "retry"; reason: string }
  | { kind: "fail"; failure: SessionFailure }
  | { kind: "redirect"; target: RedirectTarget }
  | { kind: "done"; keys: IkeSaKeys };

/** The first two messages, kept for the AUTH payloads (§2.15: RealMessage1, RealMessage2). */
export interface InitTranscript {
  request: Uint8Array;
  response: Uint8Array;
  ni: Uint8Array;
  nr: Uint8Array;
  /** RFC 7427 §4: the Hash Algorithm Identifiers of the gateway's SIGNATURE_HASH_ALGORITHMS (empty: none sent). */
  peerHashAlgorithms: number[];
}

const MAX_COOKIE_ROUNDS = 3;

export class IkeInit {
  readonly spiI: Uint8Array;
  private ni: Uint8Array;
  private ke: KeyExchange;
  private cookie: Uint8Array | null = null;
  private cookieRounds = 0;
  private triedGroups = new Set<number>();
  private request: Uint8Array = new Uint8Array(0);
  private result: InitTranscript | null = null;
  natLocal = false;
  natRemote = false;
  /** The gateway's NAT_DETECTION_DESTINATION_IP: its hash of where it saw us (MOBIKE compares later ones). */
  peerSawUs: Uint8Array | null = null;
  /** The gateway announced IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383 §2.3). */
  peerFragmentation = false;

  constructor(
    private readonly cfg: SessionConfig,
    private readonly env: SessionEnv,
  ) {
    this.spiI = env.random.bytes(8);
    this.ni = env.random.bytes(32); // §2.10: at least half the PRF key size, at least 16 bytes
    const group = cfg.ikeProposals[0]!.ke[0]!;
    this.ke = (env.keyExchanges ?? nobleKeyExchangeFactory).create(group, env.random);
    this.triedGroups.add(group);
  }

  buildRequest(): Uint8Array {
    const zero = new Uint8Array(8);
    const payloads: M.Payload[] = [];
    if (this.cookie) payloads.push(M.notify(NotifyStatus.COOKIE, this.cookie)); // §2.6: first payload
    payloads.push(M.sa(ProtocolId.IKE, this.orderedProposals(), new Uint8Array(0)));
    payloads.push(M.ke(this.ke.group, this.ke.publicKey));
    payloads.push(M.nonce(this.ni));
    // §2.23: with forced encapsulation we send a source hash that cannot match, so the gateway sees a
    // NAT and both sides use UDP encapsulation (what strongSwan's encap=yes does).
    const srcHash = this.cfg.forceEncap ? this.env.random.bytes(20) : natHash(this.spiI, zero, this.cfg.localAddress, this.cfg.localPort);
    payloads.push(M.notify(NotifyStatus.NAT_DETECTION_SOURCE_IP, srcHash));
    payloads.push(M.notify(NotifyStatus.NAT_DETECTION_DESTINATION_IP, natHash(this.spiI, zero, this.cfg.gatewayAddress, this.cfg.gatewayPort)));
    payloads.push(M.notify(NotifyStatus.SIGNATURE_HASH_ALGORITHMS, hashAlgorithms()));
    if (this.cfg.fragmentation) payloads.push(M.notify(NotifyStatus.IKEV2_FRAGMENTATION_SUPPORTED)); // RFC 7383 §2.3
    payloads.push(...redirectNotifies(this.cfg.redirectedFrom)); // RFC 5685 §3
    // RFC 4739 §3.1: announce multiple authentication when we need a second round (cert, then EAP).
    if (this.cfg.credentials.kind === "cert+eap") payloads.push(M.notify(NotifyStatus.MULTIPLE_AUTH_SUPPORTED));
    this.request = M.encode({ spiI: this.spiI, spiR: zero, exchangeType: ExchangeType.IKE_SA_INIT, messageId: 0, response: false }, payloads);
    return this.request;
  }

  /** Proposals with the one whose group we sent a KE for first (§1.2: KEi must match the first choice). */
  private orderedProposals() {
    const g = this.ke.group;
    const withGroup = this.cfg.ikeProposals.filter((p) => p.ke.includes(g)).map((p) => ({ ...p, ke: [g, ...p.ke.filter((x) => x !== g)] }));
    const rest = this.cfg.ikeProposals.filter((p) => !p.ke.includes(g));
    return [...withGroup, ...rest];
  }

  processResponse(data: Uint8Array): InitResult {
    const parsed = M.decodePlain(data);
    if (!parsed.ok) return { kind: "ignore" };
    const m = parsed.value;
    if (!m.response || m.initiator || m.exchangeType !== ExchangeType.IKE_SA_INIT || m.messageId !== 0 || !equalBytes(m.spiI, this.spiI)) {
      return { kind: "ignore" };
    }
    // RFC 5685 §3: a REDIRECT whose nonce is our Ni; one with another nonce is not from the gateway: ignored.
    const redirect = findRedirect(m.payloads, this.ni);
    if (redirect.kind === "redirect") return { kind: "redirect", target: redirect.target };
    if (redirect.kind === "invalid") return { kind: "ignore" };
    const cookie = M.findNotify(m.payloads, NotifyStatus.COOKIE);
    if (cookie) {
      if (++this.cookieRounds > MAX_COOKIE_ROUNDS) return fail("protocol", "the gateway keeps asking for a COOKIE");
      this.cookie = cookie.data;
      return { kind: "retry", reason: "gateway asked for a COOKIE" };
    }
    const invalidKe = M.findNotify(m.payloads, NotifyError.INVALID_KE_PAYLOAD);
    if (invalidKe) {
      const want = invalidKe.data.length >= 2 ? (invalidKe.data[0]! << 8) | invalidKe.data[1]! : -1;
      const offered = this.cfg.ikeProposals.some((p) => p.ke.includes(want));
      if (!offered || this.triedGroups.has(want)) {
        return fail("protocol", `gateway asked for key exchange group ${want}, which is not in our proposals`);
      }
      this.triedGroups.add(want);
      this.ke.dispose();
      this.ke = (this.env.keyExchanges ?? nobleKeyExchangeFactory).create(want, this.env.random);
      return { kind: "retry", reason: `gateway asked for key exchange group ${want}` };
    }
    const err = M.firstErrorNotify(m.payloads);
    if (err !== null) {
      if (err === NotifyError.NO_PROPOSAL_CHOSEN) return fail("protocol", "gateway accepted none of our IKE proposals (NO_PROPOSAL_CHOSEN)");
      return fail("protocol", `gateway refused IKE_SA_INIT: ${notifyName(err)}`);
    }
    const spiR = m.spiR;
    if (equalBytes(spiR, new Uint8Array(8))) return fail("protocol", "gateway answered IKE_SA_INIT with a zero SPIr");
    const chosen = M.chosenSuite(m.payloads, ProtocolId.IKE);
    if (!chosen.ok) return fail("protocol", `gateway's IKE_SA_INIT answer: ${chosen.error}`);
    if (!acceptsChoice(this.cfg.ikeProposals, chosen.suite, "ike")) {
      return fail("protocol", `gateway chose ${formatSuite(chosen.suite, "ike")}, which we did not propose`);
    }
    const ker = M.findKe(m.payloads);
    if (!ker || ker.group !== this.ke.group || chosen.suite.ke !== this.ke.group) {
      return fail("protocol", "gateway's KE payload does not match the chosen group");
    }
    const nr = M.findNonce(m.payloads);
    if (!nr || nr.length < 16 || nr.length > 256) return fail("protocol", "gateway's nonce is missing or not 16 to 256 bytes (§3.9)");
    // RFC 4739 §3.1: a second authentication round needs the gateway's MULTIPLE_AUTH_SUPPORTED too.
    if (this.cfg.credentials.kind === "cert+eap" && !M.findNotify(m.payloads, NotifyStatus.MULTIPLE_AUTH_SUPPORTED)) {
      return fail("protocol", "gateway did not announce MULTIPLE_AUTH_SUPPORTED (RFC 4739): it cannot take a certificate and then EAP in one IKE SA");
    }
    const shared = this.ke.computeShared(ker.data);
    if (!shared.ok) return fail("protocol", `gateway's key exchange value is invalid: ${shared.reason}`);

    // §2.23: NAT detection. A missing pair means the gateway does not do NAT-T; we encapsulate anyway.
    const srcs = M.findNotifies(m.payloads, NotifyStatus.NAT_DETECTION_SOURCE_IP);
    const dst = M.findNotify(m.payloads, NotifyStatus.NAT_DETECTION_DESTINATION_IP);
    if (srcs.length > 0) {
      const expect = natHash(this.spiI, spiR, this.cfg.gatewayAddress, this.cfg.gatewayPort);
      this.natRemote = !srcs.some((n) => equalBytes(n.data, expect));
    }
    if (dst) this.natLocal = !equalBytes(dst.data, natHash(this.spiI, spiR, this.cfg.localAddress, this.cfg.localPort));
    this.peerSawUs = dst?.data ?? null;

    this.peerFragmentation = M.findNotify(m.payloads, NotifyStatus.IKEV2_FRAGMENTATION_SUPPORTED) !== undefined;
    const hashes = M.findNotify(m.payloads, NotifyStatus.SIGNATURE_HASH_ALGORITHMS);
    this.result = { request: this.request, response: data, ni: this.ni, nr, peerHashAlgorithms: hashes ? hashAlgorithmList(hashes.data) : [] };
    const keys = IkeSaKeys.derive({
      suite: chosen.suite,
      suiteName: formatSuite(chosen.suite, "ike"),
      spiI: this.spiI,
      spiR,
      ni: this.ni,
      nr,
      sharedSecret: shared.secret,
      random: this.env.random,
      primitives: this.env.primitives,
    });
    shared.secret.fill(0);
    this.ke.dispose();
    return { kind: "done", keys };
  }

  transcript(): InitTranscript {
    if (!this.result) throw new Error("IKE_SA_INIT is not complete");
    return this.result;
  }

  wipe(): void {
    this.ke.dispose();
  }
}

function fail(code: SessionFailure["code"], message: string): InitResult {
  return { kind: "fail", failure: { code, message } };
}

/** §2.23: SHA-1(SPIi | SPIr | IP | port). */
export function natHash(spiI: Uint8Array, spiR: Uint8Array, addr: Uint8Array, port: number): Uint8Array {
  const p = new Uint8Array(2);
  writeU16(p, 0, port);
  return sha1(concatBytes(spiI, spiR, addr, p));
}

/** RFC 7427 §4: the notification data is a list of 16-bit Hash Algorithm Identifiers (an odd octet is ignored). */
export function hashAlgorithmList(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < data.length; i += 2) out.push((data[i]! << 8) | data[i + 1]!);
  return out;
}

/** RFC 7427 §4: the hash algorithms we accept for signatures: SHA2-256, SHA2-384, SHA2-512. */
function hashAlgorithms(): Uint8Array {
  const out = new Uint8Array(6);
  writeU16(out, 0, 2);
  writeU16(out, 2, 3);
  writeU16(out, 4, 4);
  return out;
}
