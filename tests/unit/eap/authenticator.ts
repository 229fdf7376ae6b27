// A scripted EAP-MSCHAPv2 authenticator for tests: it lays out its Requests octet by octet from
// draft-kamath-pppext-eap-mschapv2-02 §2 (not with the peer's encoders), reads the peer's Response by
// offsets, and checks it with the RFC 2759 §8 functions as a real gateway holding the password would.

import { expect } from "bun:test";
import { challengeUserName, generateAuthenticatorResponse, generateNtResponse, hashNtPasswordHash, ntPasswordHash } from "../../../core/eap/mschap.ts";
import { mschapv2Msk } from "../../../core/eap/mppe.ts";
import type { EapDone, EapStep } from "../../../core/eap/mschapv2.ts";
import type { Random } from "../../../core/types.ts";
import { concatBytes, equalBytes, fromHex, fromUtf8, toHex, utf8 } from "../../../core/util/bytes.ts";

// RFC 2759 §9.2
export const AuthenticatorChallenge = fromHex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28");
export const PeerChallenge = fromHex("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E");

/** The peer's EAP Response in `step`; anything else throws. */
export function send(step: EapStep): Uint8Array {
  if (step.done || !step.send) throw new Error(`expected an EAP Response, got ${JSON.stringify(step.done)}`);
  return step.send;
}

/** The peer's failure in `step` (it must send nothing more). */
export function failure(step: EapStep): Extract<EapDone, { ok: false }> {
  expect(step.send).toBeUndefined();
  if (!step.done || step.done.ok) throw new Error(`expected a failure, got ${JSON.stringify(step)}`);
  return step.done;
}

export interface AuthenticatorOptions {
  /** The password the gateway holds for the user. */
  password: string;
  /** The 16-octet Authenticator Challenge. */
  challenge: Uint8Array;
  /** Authenticator Name in the Challenge. */
  name?: string;
  mschapId?: number;
  /** Text after M= in the Success Request. */
  successMessage?: string;
  /** A rogue gateway: accepts any NT-Response and signs S= with this password instead. */
  rogueSignsWith?: string;
}

/** EAP packet from its parts: Code | Identifier | Length | [Type | Type-Data]. */
export function eap(code: number, id: number, type?: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const len = type === undefined ? 4 : 5 + data.length;
  const head = [code, id, len >> 8, len & 0xff];
  if (type !== undefined) head.push(type);
  return concatBytes(Uint8Array.from(head), data);
}

/** MS-CHAPv2 Type-Data: OpCode | MS-CHAPv2-ID | MS-Length (= EAP Length - 5) | body. */
export function mschapData(opCode: number, mschapId: number, body: Uint8Array): Uint8Array {
  const msLength = 4 + body.length;
  return concatBytes(Uint8Array.of(opCode, mschapId, msLength >> 8, msLength & 0xff), body);
}

export class ScriptedAuthenticator {
  id = 0x40;
  readonly mschapId: number;
  /** What the authenticator saw in the peer's Response. */
  seen: { peerChallenge: Uint8Array; ntResponse: Uint8Array; name: string; flags: number; reserved: Uint8Array } | undefined;
  private msk: Uint8Array | undefined;

  constructor(private readonly o: AuthenticatorOptions) {
    this.mschapId = o.mschapId ?? 0x2a;
  }

  identityRequest(): Uint8Array {
    return eap(1, ++this.id, 1);
  }

  challengeRequest(): Uint8Array {
    // Value-Size (16) | Challenge | Name
    const body = concatBytes(Uint8Array.of(16), this.o.challenge, utf8(this.o.name ?? "gateway"));
    return eap(1, ++this.id, 26, mschapData(1, this.mschapId, body));
  }

  /**
   * Reads the peer's Response (draft §2.2) and answers with a Success Request carrying "S=" (RFC 2759 §5)
   * or a Failure Request with E=691 (RFC 2759 §6).
   */
  answer(response: Uint8Array): Uint8Array {
    if (response[0] !== 2 || response[1] !== this.id || response[4] !== 26 || response[5] !== 2) throw new Error(`not a Response to our Challenge: ${toHex(response)}`);
    if (((response[2]! << 8) | response[3]!) !== response.length) throw new Error("EAP Length is not the packet length");
    if (response[6] !== this.mschapId) throw new Error("MS-CHAPv2-ID not echoed");
    if (((response[7]! << 8) | response[8]!) !== response.length - 5) throw new Error("MS-Length is not EAP Length - 5");
    if (response[9] !== 49) throw new Error("Value-Size is not 49");
    const peerChallenge = response.slice(10, 26);
    const reserved = response.slice(26, 34);
    const ntResponse = response.slice(34, 58);
    const flags = response[58]!;
    const name = fromUtf8(response.subarray(59));
    this.seen = { peerChallenge, ntResponse, name, flags, reserved };
    const userName = challengeUserName(name);
    const hash = ntPasswordHash(this.o.password)!;
    const expected = generateNtResponse(this.o.challenge, peerChallenge, userName, hash)!;
    if (!equalBytes(expected, ntResponse) && this.o.rogueSignsWith === undefined) {
      return eap(1, ++this.id, 26, mschapData(4, this.mschapId, utf8(`E=691 R=1 C=${"00112233445566778899aabbccddeeff".toUpperCase()} V=3 M=Authentication failure`)));
    }
    const signer = this.o.rogueSignsWith !== undefined ? ntPasswordHash(this.o.rogueSignsWith)! : hash;
    this.msk = mschapv2Msk(hashNtPasswordHash(hash), ntResponse);
    const s = generateAuthenticatorResponse(signer, ntResponse, peerChallenge, this.o.challenge, userName);
    return this.successRequest(s);
  }

  successRequest(s: string): Uint8Array {
    const text = this.o.successMessage === undefined ? s : `${s} M=${this.o.successMessage}`;
    return eap(1, ++this.id, 26, mschapData(3, this.mschapId, utf8(text)));
  }

  failureRequest(message: string): Uint8Array {
    return eap(1, ++this.id, 26, mschapData(4, this.mschapId, utf8(message)));
  }

  /** The peer's Success Response is Type 26, OpCode 3 alone (draft §2.3). */
  isSuccessResponse(b: Uint8Array): boolean {
    return equalBytes(b, Uint8Array.of(2, this.id, 0, 6, 26, 3));
  }

  eapSuccess(): Uint8Array {
    return eap(3, this.id);
  }

  eapFailure(): Uint8Array {
    return eap(4, this.id);
  }

  /** The MSK the gateway derives for IKEv2 AUTH (same formula, computed here from the gateway's side). */
  gatewayMsk(): Uint8Array {
    return this.msk!;
  }
}

/** Randomness that hands out the given octets and counts the calls. */
export function fixedRandom(...chunks: Uint8Array[]): Random & { calls: number } {
  const r = {
    calls: 0,
    bytes(n: number): Uint8Array {
      const c = chunks[r.calls++];
      if (!c || c.length !== n) throw new Error(`fixedRandom: call ${r.calls} wants ${n} octets`);
      return c.slice();
    },
  };
  return r;
}
