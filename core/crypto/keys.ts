// IKE SA and CHILD_SA key material: SKEYSEED and the SK_* keys (RFC 7296 §2.14), the rekeyed IKE SA
// (§2.18) and CHILD_SA KEYMAT (§2.17). Key lengths come from the negotiated transforms, with the AEAD
// salt counted in the encryption key (RFC 4106 §8.1, RFC 7634 §2).

import { concatBytes, wipe } from "../util/bytes.ts";
import { EncrId } from "../wire/constants.ts";
import { prfPlus } from "./prf.ts";
import type { Prf } from "./prf.ts";

import { encrKeyLength } from "./encr.ts";
import { integKeyLength } from "./integ.ts";

export { encrKeyLength, integKeyLength };

/** Lengths in bytes of one direction's keys: encryption (incl. salt) and integrity (0 with AEAD). */
export interface KeyLengths {
  encr: number;
  integ: number;
}

/**
 * Key lengths for negotiated transforms (Key Length attribute in bits, 0 or undefined when absent),
 * or undefined when a transform is not implemented or an AEAD cipher comes with an integrity transform.
 */
export function keyLengthsFor(encrId: number, keyLengthAttrBits: number | undefined, integId: number): KeyLengths | undefined {
  const encr = encrKeyLength(encrId, keyLengthAttrBits);
  const integ = integKeyLength(integId);
  if (encr === undefined || integ === undefined) return undefined;
  const aead = encrId !== EncrId.AES_CBC;
  if (aead !== (integ === 0)) return undefined; // RFC 5282: AEAD without, AES-CBC with an integrity transform
  return { encr, integ };
}

/** The seven IKE SA secrets of RFC 7296 §2.14. SK_ai/SK_ar are empty with an AEAD cipher. */
export interface IkeSaKeys {
  SK_d: Uint8Array;
  SK_ai: Uint8Array;
  SK_ar: Uint8Array;
  SK_ei: Uint8Array;
  SK_er: Uint8Array;
  SK_pi: Uint8Array;
  SK_pr: Uint8Array;
}

/** One direction of a CHILD_SA: the encryption key (with salt) then the integrity key. */
export interface ChildSaDirectionKeys {
  encr: Uint8Array;
  integ: Uint8Array;
}

/** RFC 7296 §2.17: the initiator→responder keys come first in KEYMAT, responder→initiator second. */
export interface ChildSaKeys {
  initiatorToResponder: ChildSaDirectionKeys;
  responderToInitiator: ChildSaDirectionKeys;
}

/**
 * RFC 7296 §2.14: the key for prf(Ni | Nr, g^ir). For the HMAC PRFs roam implements the key is the
 * whole of Ni | Nr; the fixed-key rule (64 bits of each nonce) applies only to AES128_XCBC/CMAC,
 * which prfById() does not offer.
 */
export function skeyseedKey(Ni: Uint8Array, Nr: Uint8Array): Uint8Array {
  return concatBytes(Ni, Nr);
}

/** RFC 7296 §2.14: SKEYSEED = prf(Ni | Nr, g^ir). */
export function computeSkeyseed(prf: Prf, Ni: Uint8Array, Nr: Uint8Array, gir: Uint8Array): Uint8Array {
  const key = skeyseedKey(Ni, Nr);
  const skeyseed = prf.compute(key, gir);
  wipe(key);
  return skeyseed;
}

/** RFC 7296 §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the new exchange's nonces. */
export function computeRekeySkeyseed(prf: Prf, oldSkD: Uint8Array, gir: Uint8Array, Ni: Uint8Array, Nr: Uint8Array): Uint8Array {
  const data = concatBytes(gir, Ni, Nr);
  const skeyseed = prf.compute(oldSkD, data);
  wipe(data);
  return skeyseed;
}

/**
 * RFC 7296 §2.14:
 *   {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
 * SK_d, SK_pi and SK_pr are the PRF's preferred key length; SK_a* and SK_e* follow `lengths`.
 * With an AEAD cipher lengths.integ is 0 and SK_ai/SK_ar are empty (RFC 5282 §7).
 * SPIi and SPIr are the 8-octet IKE SPIs (for a rekey, the new ones).
 */
export function deriveIkeSaKeys(
  prf: Prf,
  skeyseed: Uint8Array,
  Ni: Uint8Array,
  Nr: Uint8Array,
  SPIi: Uint8Array,
  SPIr: Uint8Array,
  lengths: KeyLengths,
): IkeSaKeys {
  const p = prf.preferredKeyLength;
  const seed = concatBytes(Ni, Nr, SPIi, SPIr);
  const stream = prfPlus(prf, skeyseed, seed, 3 * p + 2 * lengths.integ + 2 * lengths.encr);
  wipe(seed);
  const take = cutter(stream);
  const keys: IkeSaKeys = {
    SK_d: take(p),
    SK_ai: take(lengths.integ),
    SK_ar: take(lengths.integ),
    SK_ei: take(lengths.encr),
    SK_er: take(lengths.encr),
    SK_pi: take(p),
    SK_pr: take(p),
  };
  wipe(stream);
  return keys;
}

/**
 * RFC 7296 §2.17:
 *   KEYMAT = prf+(SK_d, Ni | Nr)                (IKE_AUTH, or CREATE_CHILD_SA without KE)
 *   KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)   (CREATE_CHILD_SA with KE)
 * "All keys for SAs carrying data from the initiator to the responder are taken before SAs going from
 * the responder to the initiator"; in each direction the encryption key comes first, then integrity.
 */
export function deriveChildSaKeys(
  prf: Prf,
  SK_d: Uint8Array,
  Ni: Uint8Array,
  Nr: Uint8Array,
  lengths: KeyLengths,
  gir?: Uint8Array,
): ChildSaKeys {
  const seed = gir ? concatBytes(gir, Ni, Nr) : concatBytes(Ni, Nr);
  const keymat = prfPlus(prf, SK_d, seed, 2 * (lengths.encr + lengths.integ));
  wipe(seed);
  const take = cutter(keymat);
  const initiatorToResponder = { encr: take(lengths.encr), integ: take(lengths.integ) };
  const responderToInitiator = { encr: take(lengths.encr), integ: take(lengths.integ) };
  wipe(keymat);
  return { initiatorToResponder, responderToInitiator };
}

/** Zeroes every key of an IKE SA (when it is deleted or replaced). */
export function wipeIkeSaKeys(keys: IkeSaKeys): void {
  wipe(keys.SK_d, keys.SK_ai, keys.SK_ar, keys.SK_ei, keys.SK_er, keys.SK_pi, keys.SK_pr);
}

/** Zeroes both directions of a CHILD_SA's keys (once handed to the data path, or on delete). */
export function wipeChildSaKeys(keys: ChildSaKeys): void {
  const a = keys.initiatorToResponder;
  const b = keys.responderToInitiator;
  wipe(a.encr, a.integ, b.encr, b.integ);
}

function cutter(stream: Uint8Array): (n: number) => Uint8Array {
  let o = 0;
  return (n) => {
    const part = stream.slice(o, o + n); // copies, so wiping the stream leaves the keys intact
    o += n;
    return part;
  };
}
