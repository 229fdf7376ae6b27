// AUTH payload data (RFC 7296 §2.15) for shared keys, and for EAP with or without an MSK (§2.16).
//
//   InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
//   MACedIDForI           = prf(SK_pi, RestOfInitIDPayload)
//   ResponderSignedOctets = RealMessage2 | NonceIData | MACedIDForR
//   MACedIDForR           = prf(SK_pr, RestOfRespIDPayload)
//   AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)

import { concatBytes, equalBytes, utf8, wipe } from "../util/bytes.ts";
import type { Prf } from "./prf.ts";

/** RFC 7296 §2.15: the 17 ASCII octets, without a terminating NUL. */
export const KEY_PAD = utf8("Key Pad for IKEv2");

/**
 * The octets a party signs or MACs (RFC 7296 §2.15).
 * - realMessage: that party's own IKE_SA_INIT message, all of it as sent (the initiator's request,
 *   or the responder's response).
 * - peerNonce: the OTHER party's Nonce Data (Nr for the initiator, Ni for the responder), body only.
 * - skP: SK_pi for the initiator's octets, SK_pr for the responder's.
 * - restOfIdPayload: that party's ID payload without its generic header: ID Type | RESERVED | ID data.
 */
export function signedOctets(
  prf: Prf,
  realMessage: Uint8Array,
  peerNonce: Uint8Array,
  skP: Uint8Array,
  restOfIdPayload: Uint8Array,
): Uint8Array {
  const macedId = prf.compute(skP, restOfIdPayload);
  const out = concatBytes(realMessage, peerNonce, macedId);
  wipe(macedId);
  return out;
}

/** RFC 7296 §2.15: AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>). */
export function pskAuth(prf: Prf, secret: Uint8Array, octets: Uint8Array): Uint8Array {
  const padded = prf.compute(secret, KEY_PAD);
  const auth = prf.compute(padded, octets);
  wipe(padded);
  return auth;
}

/**
 * RFC 7296 §2.16: after EAP the AUTH is computed as for a shared key with the MSK as the secret;
 * when the EAP method yields no MSK, SK_pi (initiator) or SK_pr (responder) is the secret instead.
 */
export function eapAuth(prf: Prf, msk: Uint8Array | undefined, skP: Uint8Array, octets: Uint8Array): Uint8Array {
  return pskAuth(prf, msk ?? skP, octets);
}

/** Compares a received AUTH with the expected one in time that depends only on the lengths. */
export function authMatches(expected: Uint8Array, received: Uint8Array): boolean {
  return equalBytes(expected, received);
}
