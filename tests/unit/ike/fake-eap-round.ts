// The fake gateway's EAP-MSCHAPv2 round (RFC 7296 §2.16) as the second authentication of RFC 4739 §3.2:
// after the certificate round the client sends IDi alone; this round asks for the EAP identity (or not),
// runs the scripted authenticator, and checks the client's AUTH made with the MSK over that second IDi.
// A test double built on tests/unit/eap/authenticator.ts, never interop.

import { pskAuth } from "../../../core/crypto/auth.ts";
import type { Prf } from "../../../core/crypto/prf.ts";
import { concatBytes, equalBytes, fromUtf8 } from "../../../core/util/bytes.ts";
import { AuthMethod, NotifyError, PayloadType } from "../../../core/wire/constants.ts";
import { findPayload, type Payload } from "../../../core/wire/payloads.ts";
import type { ScriptedAuthenticator } from "../eap/authenticator.ts";

export interface EapRoundOptions {
  authenticator: ScriptedAuthenticator;
  /** Start with EAP-Request/Identity (strongSwan's `eap_id = %any`); otherwise the Challenge comes first. */
  askIdentity?: boolean;
}

type Step = "idi" | "identity" | "challenge" | "success" | "failure" | "auth" | "done";

/** What the round saw, for assertions. */
export interface EapRoundSeen {
  idi?: { idType: number; data: Uint8Array };
  /** The client's EAP-Response/Identity. */
  identity?: string;
  /** Whether the client's second-round IDi message carried an AUTH (RFC 4739 §3.2: it must not). */
  idiWithAuth?: boolean;
  /** The client's answer to our MS-CHAPv2 Failure Request, as EAP bytes. */
  failureAnswer?: Uint8Array;
}

export class FakeEapRound {
  private step: Step = "idi";
  readonly seen: EapRoundSeen = {};

  constructor(private readonly o: EapRoundOptions) {}

  get finished(): boolean {
    return this.step === "done";
  }

  /**
   * One client IKE_AUTH request of the round → the gateway's payloads. `octets` are the §2.15 signed octets
   * (initiator over an IDi body, responder over the first round's IDr body); `done` adds the CHILD_SA.
   */
  answer(client: Payload[], prf: Prf, octets: { initiator(idBody: Uint8Array): Uint8Array; responder(): Uint8Array }, done: () => Payload[]): Payload[] {
    const a = this.o.authenticator;
    switch (this.step) {
      case "idi": {
        const idi = findPayload(client, PayloadType.IDi as typeof PayloadType.IDi | typeof PayloadType.IDr);
        if (!idi) throw new Error("fake gateway: the second round's first message has no IDi");
        this.seen.idi = { idType: idi.idType, data: idi.data };
        this.seen.idiWithAuth = findPayload(client, PayloadType.AUTH) !== undefined;
        if (this.o.askIdentity) {
          this.step = "identity";
          return [eapPayload(a.identityRequest())];
        }
        this.step = "challenge";
        return [eapPayload(a.challengeRequest())];
      }
      case "identity": {
        const r = eapBytes(client);
        if (r[0] !== 2 || r[4] !== 1) throw new Error("fake gateway: expected EAP-Response/Identity");
        this.seen.identity = fromUtf8(r.subarray(5));
        this.step = "challenge";
        return [eapPayload(a.challengeRequest())];
      }
      case "challenge": {
        const reply = a.answer(eapBytes(client));
        // After an MS-CHAPv2 Failure (OpCode 4), as strongSwan's authenticator: the client either retries
        // or gives up with a Failure Response; then EAP-Failure.
        this.step = reply[5] === 4 ? "failure" : "success";
        return [eapPayload(reply)];
      }
      case "failure": {
        const r = eapBytes(client);
        this.seen.failureAnswer = r;
        // strongSwan (eap_mschapv2.c process_server): a Failure Response in any state fails the method, and
        // the gateway answers EAP-Failure alone and destroys the IKE SA.
        if (r[0] !== 2 || r[4] !== 26 || r[5] !== 4) throw new Error("fake gateway: expected the MS-CHAPv2 Failure Response");
        this.step = "done";
        return [eapPayload(a.eapFailure())];
      }
      case "success": {
        if (!a.isSuccessResponse(eapBytes(client))) throw new Error("fake gateway: expected the MS-CHAPv2 Success Response");
        this.step = "auth";
        return [eapPayload(a.eapSuccess())];
      }
      case "auth": {
        this.step = "done";
        const auth = findPayload(client, PayloadType.AUTH);
        const idi = this.seen.idi!;
        const msk = a.gatewayMsk();
        // §2.16: AUTH = prf(prf(MSK, "Key Pad for IKEv2"), InitiatorSignedOctets over this round's IDi').
        const expect = pskAuth(prf, msk, octets.initiator(concatBytes(new Uint8Array([idi.idType, 0, 0, 0]), idi.data)));
        if (!auth || auth.authMethod !== AuthMethod.SHARED_KEY_MIC || !equalBytes(expect, auth.authData)) {
          return [notifyPayload(NotifyError.AUTHENTICATION_FAILED)];
        }
        return [{ type: PayloadType.AUTH, critical: false, authMethod: AuthMethod.SHARED_KEY_MIC, authData: pskAuth(prf, msk, octets.responder()) }, ...done()];
      }
      case "done":
        throw new Error("fake gateway: IKE_AUTH after the EAP round ended");
    }
  }
}

function eapBytes(client: Payload[]): Uint8Array {
  const p = findPayload(client, PayloadType.EAP);
  if (!p) throw new Error("fake gateway: expected an EAP payload");
  if (!("typeData" in p)) return Uint8Array.of(p.code, p.identifier, 0, 4);
  const len = 5 + p.typeData.length;
  return concatBytes(Uint8Array.of(p.code, p.identifier, len >> 8, len & 0xff, p.eapType), p.typeData);
}

function eapPayload(b: Uint8Array): Payload {
  const code = b[0]!;
  if (code === 3 || code === 4) return { type: PayloadType.EAP, critical: false, code, identifier: b[1]! };
  return { type: PayloadType.EAP, critical: false, code: code as 1 | 2, identifier: b[1]!, eapType: b[4]!, typeData: b.subarray(5) };
}

function notifyPayload(notifyType: number): Payload {
  return { type: PayloadType.NOTIFY, critical: false, protocolId: 0, spi: new Uint8Array(0), notifyType, data: new Uint8Array(0) };
}
