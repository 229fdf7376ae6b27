// IKE_AUTH as initiator (RFC 7296 §1.2, §2.15, §2.16): who we are, proof of it, and proof of the gateway.
//
//   PSK:  HDR, SK{IDi, [IDr], AUTH, CP, SAi2, TSi, TSr}  -->  <--  HDR, SK{IDr, AUTH, CP, SAr2, TSi, TSr}
//   cert: HDR, SK{IDi, CERT+, CERTREQ, [IDr], AUTH, CP, SAi2, TSi, TSr}  -->  <--  HDR, SK{IDr, CERT, AUTH, CP, SAr2, TSi, TSr}
//   EAP:  HDR, SK{IDi, CERTREQ, [IDr], CP, SAi2, TSi, TSr} -->  <--  HDR, SK{IDr, CERT, AUTH, EAP}
//         HDR, SK{EAP} -->  <-- HDR, SK{EAP}   ...until EAP-Success
//         HDR, SK{AUTH} -->  <--  HDR, SK{AUTH, CP, SAr2, TSi, TSr}
//   cert+EAP (RFC 4739 §3.2; both sides sent N(MULTIPLE_AUTH_SUPPORTED) in IKE_SA_INIT):
//         HDR, SK{IDi, CERT+, CERTREQ, [IDr], AUTH, N(ANOTHER_AUTH_FOLLOWS), CP, SAi2, TSi, TSr} -->
//                                                          <--  HDR, SK{IDr, CERT, AUTH}
//         HDR, SK{IDi (the EAP identity)} -->  <--  HDR, SK{EAP}   ...EAP as above, then the AUTH pair
//         made with the MSK over the second round's IDi; the CHILD_SA comes in the last answer.
//
// The gateway's certificate and AUTH are verified before any EAP answer leaves, so no credential goes to
// a gateway that has not proved who it is.

import { pskAuth, signedOctets } from "../crypto/auth.ts";
import { createMschapv2Peer, type EapPeer } from "../eap/mschapv2.ts";
import { equalBytes, utf8, wipe } from "../util/bytes.ts";
import { AuthMethod, CertEncoding, HashAlgorithm, IdType, NotifyError, NotifyStatus, notifyName } from "../wire/constants.ts";
import { sameDistinguishedName } from "../x509/dn.ts";
import { validateChain } from "../x509/chain.ts";
import { parseCertificate } from "../x509/cert.ts";
import { identityMatches } from "../x509/identity.ts";
import { chooseAuthSigning, signAuth, verifyAuth, type AuthSigning } from "../x509/ikeauth.ts";
import { parsePrivateKeyDer, wipePrivateKey } from "../x509/keys.ts";
import type { Credentials, SessionConfig } from "./config.ts";
import { parseIdentity } from "./identity.ts";
import type { IkeSaKeys } from "./ikesa.ts";
import type { InitTranscript } from "./init.ts";
import * as M from "./msg.ts";
import type { ProgressStage, SessionEnv, SessionFailure } from "./types.ts";

export type AuthStep =
  | { kind: "continue"; payloads: M.Payload[]; stage?: ProgressStage; detail?: string }
  /** `ended`: the gateway's answer already ended the IKE SA (EAP-Failure, RFC 7296 §2.16): send no DELETE. */
  | { kind: "fail"; failure: SessionFailure; ended?: boolean }
  | { kind: "done" };

type Phase = "first" | "eap" | "final";

type CertCredentials = Extract<Credentials, { kind: "cert" | "cert+eap" }>;
const hasCert = (c: Credentials): c is CertCredentials => c.kind === "cert" || c.kind === "cert+eap";

export class AuthExchange {
  private phase: Phase = "first";
  private eap: EapPeer | null = null;
  private msk: Uint8Array | null = null;
  private idrBody: Uint8Array | null = null;
  /** IDi of the current authentication round (RFC 4739 §3.2: the second round sends its own). */
  private idi: { type: number; data: Uint8Array };
  /** Why our signature AUTH could not be made; reported at the first answer (firstRequest cannot fail). */
  private signFailure: string | null = null;
  peerIdText: string;

  constructor(
    private readonly cfg: SessionConfig,
    private readonly env: SessionEnv,
    private readonly keys: IkeSaKeys,
    private readonly init: InitTranscript,
  ) {
    this.peerIdText = cfg.remoteId.text;
    this.idi = cfg.localId;
  }

  private idiBody(): Uint8Array {
    return M.idBody(this.idi.type, this.idi.data);
  }

  /** Our AUTH (§2.15): prf(prf(secret, "Key Pad for IKEv2"), RealMessage1 | Nr | prf(SK_pi, IDi')). */
  private ourAuth(secret: Uint8Array): M.Payload {
    const octets = signedOctets(this.keys.prf, this.init.request, this.init.nr, this.keys.material.SK_pi, this.idiBody());
    return M.auth(AuthMethod.SHARED_KEY_MIC, pskAuth(this.keys.prf, secret, octets));
  }

  firstRequest(): M.Payload[] {
    const c = this.cfg;
    const out: M.Payload[] = [M.id("i", c.localId.type, c.localId.data)];
    if (hasCert(c.credentials)) {
      // §3.6: our end-entity certificate first, then the intermediates the gateway may lack.
      for (const der of c.credentials.certChain) out.push(M.cert(CertEncoding.X509_SIGNATURE, der));
    }
    if (c.credentials.kind !== "psk") {
      // §3.7: ask for a certificate from our CAs (SHA-1 of each anchor's subjectPublicKeyInfo key).
      out.push(M.certreq(CertEncoding.X509_SIGNATURE, M.caKeyIds(c.trustAnchors)));
    }
    out.push(M.notify(NotifyStatus.INITIAL_CONTACT));
    out.push(M.id("r", c.remoteId.type, c.remoteId.data));
    if (c.credentials.kind === "psk") out.push(this.ourAuth(c.credentials.secret));
    else if (hasCert(c.credentials)) {
      const a = this.signatureAuth(c.credentials.privateKey, c.credentials.rsaPss ?? false);
      if (a) out.push(a);
      // RFC 4739 §3.2: this AUTH is our first round; a second (EAP) follows.
      if (c.credentials.kind === "cert+eap") out.push(M.notify(NotifyStatus.ANOTHER_AUTH_FOLLOWS));
    } else this.eap = createMschapv2Peer({ identity: c.credentials.identity, password: c.credentials.password, random: this.env.random });
    return out;
  }

  /**
   * Our signature AUTH (§2.15): the key signs InitiatorSignedOctets = RealMessage1 | Nr | prf(SK_pi, IDi').
   * RFC 7427 DIGITAL_SIGNATURE when the gateway announced hash algorithms (§4), else RSA_SIG / RFC 4754 ECDSA.
   */
  private signatureAuth(pkcs8: Uint8Array, rsaPss: boolean): M.Payload | null {
    const parsed = parsePrivateKeyDer(pkcs8);
    if (!parsed.ok) {
      this.signFailure = `our private key does not decode: ${parsed.error}`;
      return null;
    }
    const key = parsed.value;
    try {
      const hashes = this.init.peerHashAlgorithms;
      let how: AuthSigning | null = chooseAuthSigning(key, hashes);
      if (rsaPss && key.kind === "rsa") {
        // RFC 7427 §3 + RFC 4055 §3.1: RSASSA-PSS with the hash for MGF1 too, salt as long as the hash.
        const pss = [[HashAlgorithm.SHA2_256, "sha256", 32], [HashAlgorithm.SHA2_384, "sha384", 48], [HashAlgorithm.SHA2_512, "sha512", 64]] as const;
        const pick = pss.find(([id]) => hashes.includes(id));
        if (!pick) {
          this.signFailure = "RSA-PSS needs RFC 7427 signatures, and the gateway announced no SHA-2 hash in SIGNATURE_HASH_ALGORITHMS";
          return null;
        }
        how = { method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "rsa-pss", hash: pick[1], mgfHash: pick[1], saltLength: pick[2] } };
      }
      if (!how) {
        this.signFailure = `the gateway announced no signature hash our ${key.kind} key can use`;
        return null;
      }
      const octets = signedOctets(this.keys.prf, this.init.request, this.init.nr, this.keys.material.SK_pi, this.idiBody());
      const s = signAuth(how, octets, key, this.env.random);
      if (!s.ok) {
        this.signFailure = `cannot sign our AUTH: ${s.reason}`;
        return null;
      }
      return M.auth(s.method, s.data);
    } finally {
      wipePrivateKey(key);
    }
  }

  processResponse(payloads: M.Payload[]): AuthStep {
    if (this.signFailure !== null) return fail("config", this.signFailure);
    const err = M.firstErrorNotify(payloads);
    // An EAP-Failure ends the exchange (§2.16); the EAP peer words it, with the MS-CHAPv2 reason if any.
    if (this.phase === "eap") {
      const eap = M.findEap(payloads);
      if (eap) return this.stepEap(eap);
    }
    if (err === NotifyError.AUTHENTICATION_FAILED) return fail("auth", "authentication failed: gateway sent AUTHENTICATION_FAILED");
    if (this.phase === "first") {
      const idr = M.findId(payloads, "r");
      const authP = M.findAuth(payloads);
      if (!idr || !authP) {
        return fail("protocol", err !== null ? `gateway refused IKE_AUTH: ${notifyName(err)}` : "gateway's IKE_AUTH answer has no IDr or AUTH");
      }
      const idCheck = this.checkIdr(idr.type, idr.data);
      if (idCheck) return idCheck;
      this.idrBody = M.idBody(idr.type, idr.data);
      const verified = this.cfg.credentials.kind === "psk" ? this.verifyPskAuth(authP, this.cfg.credentials.secret) : this.verifyCertAuth(payloads, authP, idr);
      if (verified) return verified;
      // §2.15: with a signature from each side, both are authenticated; the CHILD_SA comes in this answer.
      if (this.cfg.credentials.kind === "psk" || this.cfg.credentials.kind === "cert") return { kind: "done" };
      if (this.cfg.credentials.kind === "cert+eap") return this.secondRound(this.cfg.credentials);
      this.phase = "eap";
      const eap = M.findEap(payloads);
      if (!eap) return fail("protocol", "gateway authenticated but started no EAP exchange");
      return this.stepEap(eap);
    }
    if (this.phase === "eap") {
      return fail("protocol", err !== null ? `gateway refused IKE_AUTH: ${notifyName(err)}` : "gateway's IKE_AUTH answer has no EAP payload");
    }
    // final: the gateway's AUTH made with the MSK (§2.16)
    const authP = M.findAuth(payloads);
    if (!authP) return fail("protocol", err !== null ? `gateway refused IKE_AUTH: ${notifyName(err)}` : "gateway's last IKE_AUTH answer has no AUTH");
    const v = this.verifyPskAuth(authP, this.msk!);
    if (v) return v;
    return { kind: "done" };
  }

  /**
   * RFC 4739 §3.2: the gateway has proved itself and taken our certificate; the second round sends IDi
   * (the EAP identity) without AUTH, and the gateway starts EAP. Its AUTH in that round's last answer is
   * made with the MSK over the IDr of the first round (it sends no other).
   */
  private secondRound(c: Extract<Credentials, { kind: "cert+eap" }>): AuthStep {
    const parsed = parseIdentity(c.identity);
    this.idi = parsed.ok ? parsed.value : { type: IdType.FQDN, data: utf8(c.identity) };
    this.eap = createMschapv2Peer({ identity: c.identity, password: c.password, random: this.env.random });
    this.phase = "eap";
    return { kind: "continue", payloads: [M.id("i", this.idi.type, this.idi.data)], stage: "eap", detail: `certificate accepted; EAP as ${c.identity}` };
  }

  private checkIdr(type: number, data: Uint8Array): AuthStep | null {
    const want = this.cfg.remoteId;
    if (type === want.type && equalBytes(data, want.data)) return null;
    // A DN may be spelled with other string types or spacing and still be the same name (RFC 5280 §7.1).
    if (type === IdType.DER_ASN1_DN && want.type === IdType.DER_ASN1_DN && sameDistinguishedName(data, want.data)) return null;
    return fail("auth", `gateway identified itself as ${M.idText(type, data)}, expected ${want.text}`);
  }

  /** The gateway's shared-key AUTH: RealMessage2 | Ni | prf(SK_pr, IDr'). */
  private verifyPskAuth(a: { method: number; data: Uint8Array }, secret: Uint8Array): AuthStep | null {
    if (a.method !== AuthMethod.SHARED_KEY_MIC) return fail("auth", `gateway used AUTH method ${a.method}, expected a shared key MIC`);
    const octets = signedOctets(this.keys.prf, this.init.response, this.init.ni, this.keys.material.SK_pr, this.idrBody!);
    const expect = pskAuth(this.keys.prf, secret, octets);
    if (!equalBytes(expect, a.data)) {
      return fail("auth", this.msk ? "gateway's AUTH does not match the EAP key" : "gateway's AUTH does not match the pre-shared key");
    }
    return null;
  }

  private verifyCertAuth(payloads: M.Payload[], a: { method: number; data: Uint8Array }, idr: { type: number; data: Uint8Array }): AuthStep | null {
    const certs = M.findCerts(payloads).filter((c) => c.encoding === CertEncoding.X509_SIGNATURE);
    if (certs.length === 0) return fail("certificate", "gateway certificate not trusted: the gateway sent no certificate");
    if (this.cfg.trustAnchors.length === 0) return fail("config", "no CA certificate given to verify the gateway (--ca)");
    const parsed = certs.map((c) => parseCertificate(c.data));
    const ee = parsed[0]!;
    if (!ee.ok) return fail("certificate", `gateway certificate not trusted: it does not decode (${ee.error.reason})`);
    const inters = parsed.slice(1).flatMap((p) => (p.ok ? [p.value] : []));
    const anchors = this.cfg.trustAnchors.map((d) => parseCertificate(d)).flatMap((p) => (p.ok ? [p.value] : []));
    const chain = validateChain(ee.value, inters, anchors, this.env.wallTime());
    if (!chain.ok) return fail("certificate", `gateway certificate not trusted: ${chain.reason}`);
    if (!identityMatches(ee.value, idr.type, idr.data)) {
      return fail("certificate", `gateway certificate not trusted: it is not for ${M.idText(idr.type, idr.data)}`);
    }
    const octets = signedOctets(this.keys.prf, this.init.response, this.init.ni, this.keys.material.SK_pr, this.idrBody!);
    const v = verifyAuth(a.method, a.data, octets, ee.value.publicKey);
    if (!v.ok) return fail("auth", `gateway's signature AUTH does not verify: ${v.reason}`);
    this.peerIdText = M.idText(idr.type, idr.data);
    return null;
  }

  private stepEap(eapBytes: Uint8Array): AuthStep {
    const r = this.eap!.process(eapBytes);
    if (r.done) {
      if (!r.done.ok) {
        const step = fail("auth", `authentication failed: ${r.done.reason}`);
        // §2.16: the gateway's IKE_AUTH answer with EAP-Failure ends the exchange; the IKE SA never
        // existed for it (strongSwan destroys it on sending EAP-Failure), so there is nothing to delete.
        if (r.done.kind === "rejected" || r.done.kind === "eap-failure") step.ended = true;
        return step;
      }
      const msk = r.done.msk;
      this.msk = msk;
      this.phase = "final";
      return { kind: "continue", payloads: [this.ourAuth(msk)], stage: "authenticating", detail: "EAP succeeded" };
    }
    if (!r.send) return fail("protocol", "EAP exchange stalled");
    return { kind: "continue", payloads: [M.eap(r.send)], stage: "eap" };
  }

  wipe(): void {
    wipe(this.msk ?? undefined);
  }
}

function fail(code: SessionFailure["code"], message: string): Extract<AuthStep, { kind: "fail" }> {
  return { kind: "fail", failure: { code, message } };
}
