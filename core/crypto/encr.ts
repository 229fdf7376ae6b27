// The Encrypted payload (SK, RFC 7296 §3.14) body: IV | ciphertext | ICV, built from the negotiated
// ENCR (and INTEG) transforms. AES-CBC with a separate integrity transform (encrypt-then-MAC),
// AES-GCM with 8/12/16-octet ICVs (RFC 5282), ChaCha20-Poly1305 (RFC 7634).
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |   <- part of `aad`
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Initialization Vector                     |   <- body starts here
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                    Encrypted IKE Payloads                     ~
//   +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |               |             Padding (0-255 octets)            |
//   +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
//   |                                               |  Pad Length   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                    Integrity Checksum Data                    ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

import { EncrId, IntegId } from "../wire/constants.ts";
import { concatBytes, wipe } from "../util/bytes.ts";
import { noble } from "./noble.ts";
import { noblePrimitives, type SymmetricPrimitives } from "./primitives.ts";
import { integById } from "./integ.ts";
import type { Integ } from "./integ.ts";

/** RFC 4106 §8.1, RFC 5282, RFC 7634 §2: AEAD keying material ends with a 4-octet salt. */
export const AEAD_SALT_LENGTH = 4;

const AES_BLOCK = 16;
const AES_KEY_BITS = new Set([128, 192, 256]);
const GCM_ICV: ReadonlyMap<number, number> = new Map([
  [EncrId.AES_GCM_8, 8],
  [EncrId.AES_GCM_12, 12],
  [EncrId.AES_GCM_16, 16],
]);

/**
 * Bytes of encryption keying material for a transform (SK_ei/SK_er, ESP encryption keys), INCLUDING
 * the AEAD salt. `keyLengthAttrBits` is the Key Length attribute (RFC 7296 §3.3.5), required for AES
 * and absent (or 0) for ChaCha20-Poly1305 (RFC 7634 §4). undefined when not supported.
 */
export function encrKeyLength(encrId: number, keyLengthAttrBits?: number): number | undefined {
  if (encrId === EncrId.AES_CBC) {
    return keyLengthAttrBits !== undefined && AES_KEY_BITS.has(keyLengthAttrBits) ? keyLengthAttrBits / 8 : undefined;
  }
  if (GCM_ICV.has(encrId)) {
    // RFC 4106 §8.1: "KEYMAT requested for each AES-GCM key is 20, 28, or 36 octets".
    return keyLengthAttrBits !== undefined && AES_KEY_BITS.has(keyLengthAttrBits)
      ? keyLengthAttrBits / 8 + AEAD_SALT_LENGTH
      : undefined;
  }
  if (encrId === EncrId.CHACHA20_POLY1305) {
    // RFC 7634 §2: 256-bit key plus 32-bit salt; §4: the Key Length attribute MUST NOT be sent.
    return keyLengthAttrBits === undefined || keyLengthAttrBits === 0 ? 32 + AEAD_SALT_LENGTH : undefined;
  }
  return undefined;
}

/** SK_e* and, for non-AEAD suites, SK_a* of the direction being protected. */
export interface SkKeys {
  encr: Uint8Array;
  integ?: Uint8Array;
}

export type SkOpenFailure = "length" | "icv" | "padding";
export type SkOpenResult = { ok: true; plaintext: Uint8Array } | { ok: false; reason: SkOpenFailure; message: string };

export interface SkSuite {
  readonly encrId: number;
  readonly keyBits: number;
  readonly integId: number;
  readonly aead: boolean;
  readonly ivLength: number;
  readonly icvLength: number;
  readonly encrKeyLength: number;
  readonly integKeyLength: number;
  /** IV + ciphertext (incl. padding and the Pad Length octet) + ICV, for the IKE and SK header lengths. */
  bodyLength(plaintextLength: number): number;
  /**
   * Returns the SK body IV | ciphertext | ICV. `aad` is the IKE header and the SK generic payload
   * header exactly as sent (their length fields already counting bodyLength()).
   */
  seal(keys: SkKeys, aad: Uint8Array, plaintext: Uint8Array, iv: Uint8Array): Uint8Array;
  /** Verifies the ICV in constant time, then decrypts and removes the padding. Never throws on bad bytes. */
  open(keys: SkKeys, aad: Uint8Array, body: Uint8Array): SkOpenResult;
}

export type SkSuiteResult = { ok: true; suite: SkSuite } | { ok: false; reason: string };

/** Builds the SK payload protection for the negotiated transforms; AES-GCM from `primitives`. */
export function createSkSuite(encrId: number, keyLengthAttrBits: number | undefined, integId: number, primitives: SymmetricPrimitives = noblePrimitives): SkSuiteResult {
  const encrLen = encrKeyLength(encrId, keyLengthAttrBits);
  if (encrLen === undefined) {
    return { ok: false, reason: `encryption transform ${encrId} with key length ${keyLengthAttrBits ?? "(none)"} is not supported` };
  }
  if (encrId === EncrId.AES_CBC) {
    const integ = integById(integId);
    if (!integ) return { ok: false, reason: `AES-CBC needs an integrity transform; ${integId} is not supported` };
    return { ok: true, suite: cbcSuite(encrLen, integ) };
  }
  // RFC 5282, RFC 7634 §4: an AEAD suite has no integrity transform (or INTEG NONE).
  if (integId !== IntegId.NONE) return { ok: false, reason: `AEAD transform ${encrId} must not be combined with integrity ${integId}` };
  const gcmIcv = GCM_ICV.get(encrId);
  if (gcmIcv !== undefined) return { ok: true, suite: aeadSuite(encrId, encrLen, gcmIcv, "gcm", primitives) };
  return { ok: true, suite: aeadSuite(encrId, encrLen, 16, "chacha", primitives) };
}

function cbcSuite(keyLength: number, integ: Integ): SkSuite {
  const ivLength = AES_BLOCK; // RFC 3602 §3 (via RFC 7296 §3.14): IV is one cipher block
  const icvLength = integ.icvLength;
  const encryptedLength = (n: number) => Math.ceil((n + 1) / AES_BLOCK) * AES_BLOCK;
  return {
    encrId: EncrId.AES_CBC,
    keyBits: keyLength * 8,
    integId: integ.id,
    aead: false,
    ivLength,
    icvLength,
    encrKeyLength: keyLength,
    integKeyLength: integ.keyLength,
    bodyLength: (n) => ivLength + encryptedLength(n) + icvLength,
    seal(keys, aad, plaintext, iv) {
      checkKeys(keys, keyLength, integ.keyLength);
      checkIv(iv, ivLength);
      const encLen = encryptedLength(plaintext.length);
      const padded = new Uint8Array(encLen); // Padding octets are zero: RFC 7296 §3.14 allows any value
      padded.set(plaintext, 0);
      padded[encLen - 1] = encLen - plaintext.length - 1; // Pad Length
      const body = new Uint8Array(ivLength + encLen + icvLength);
      body.set(iv, 0);
      noble().cbc(keys.encr, iv, { disablePadding: true }).encrypt(padded, body.subarray(ivLength, ivLength + encLen));
      wipe(padded);
      // RFC 7296 §3.14: the checksum covers the message from the IKE header through the encrypted data.
      const icv = integ.compute(keys.integ!, concatBytes(aad, body.subarray(0, ivLength + encLen)));
      body.set(icv, ivLength + encLen);
      return body;
    },
    open(keys, aad, body) {
      checkKeys(keys, keyLength, integ.keyLength);
      const encLen = body.length - ivLength - icvLength;
      if (encLen < AES_BLOCK || encLen % AES_BLOCK !== 0) {
        return { ok: false, reason: "length", message: `SK body of ${body.length} bytes is not IV + whole AES blocks + ${icvLength}-byte ICV` };
      }
      const signed = concatBytes(aad, body.subarray(0, ivLength + encLen));
      if (!integ.verify(keys.integ!, signed, body.subarray(ivLength + encLen))) {
        return { ok: false, reason: "icv", message: "integrity checksum mismatch" };
      }
      const iv = body.subarray(0, ivLength);
      const padded = noble().cbc(keys.encr, iv, { disablePadding: true }).decrypt(body.subarray(ivLength, ivLength + encLen));
      return unpad(padded);
    },
  };
}

function aeadSuite(encrId: number, keyLength: number, icvLength: number, kind: "gcm" | "chacha", primitives: SymmetricPrimitives): SkSuite {
  const ivLength = 8; // RFC 5282 §3 (GCM), RFC 7634 §3 (ChaCha20-Poly1305)
  const cipherKeyLength = keyLength - AEAD_SALT_LENGTH;
  // RFC 4106 §4 / RFC 7634 §2: nonce = salt (last 4 octets of the keying material) | IV
  const nonceOf = (key: Uint8Array, iv: Uint8Array) => concatBytes(key.subarray(cipherKeyLength), iv);
  return {
    encrId,
    keyBits: cipherKeyLength * 8,
    integId: IntegId.NONE,
    aead: true,
    ivLength,
    icvLength,
    encrKeyLength: keyLength,
    integKeyLength: 0,
    // No padding: a block size of 1 (RFC 7634 §3); the Pad Length octet is always there.
    bodyLength: (n) => ivLength + n + 1 + icvLength,
    seal(keys, aad, plaintext, iv) {
      checkKeys(keys, keyLength, 0);
      checkIv(iv, ivLength);
      const padded = new Uint8Array(plaintext.length + 1); // Pad Length = 0
      padded.set(plaintext, 0);
      const key = keys.encr.subarray(0, cipherKeyLength);
      const nonce = nonceOf(keys.encr, iv);
      // RFC 5282 §5.1, RFC 7634 §3: the AAD is the IKE header and the SK payload header.
      const sealed =
        kind === "gcm" ? primitives.gcmSeal(key, nonce, aad, padded, icvLength) : noble().chacha20poly1305(key, nonce, aad).encrypt(padded);
      wipe(padded);
      return concatBytes(iv, sealed);
    },
    open(keys, aad, body) {
      checkKeys(keys, keyLength, 0);
      const encLen = body.length - ivLength - icvLength;
      if (encLen < 1) {
        return { ok: false, reason: "length", message: `SK body of ${body.length} bytes is shorter than IV + Pad Length + ICV` };
      }
      const key = keys.encr.subarray(0, cipherKeyLength);
      const nonce = nonceOf(keys.encr, body.subarray(0, ivLength));
      const ciphertext = body.subarray(ivLength, ivLength + encLen);
      const tag = body.subarray(ivLength + encLen);
      let padded: Uint8Array | undefined;
      if (kind === "gcm") {
        padded = primitives.gcmOpen(key, nonce, aad, ciphertext, tag);
      } else {
        try {
          // noble computes and compares the Poly1305 tag before it decrypts (RFC 8439 §2.8).
          padded = noble().chacha20poly1305(key, nonce, aad).decrypt(body.subarray(ivLength));
        } catch {
          padded = undefined;
        }
      }
      if (!padded) return { ok: false, reason: "icv", message: "integrity checksum mismatch" };
      return unpad(padded);
    },
  };
}

/** RFC 7296 §3.14: Pad Length counts the padding octets before it; any value that fits is accepted. */
function unpad(padded: Uint8Array): SkOpenResult {
  const padLength = padded[padded.length - 1]!;
  if (padLength + 1 > padded.length) {
    wipe(padded);
    return { ok: false, reason: "padding", message: `Pad Length ${padLength} exceeds the ${padded.length - 1} decrypted bytes` };
  }
  const plaintext = padded.slice(0, padded.length - 1 - padLength);
  wipe(padded);
  return { ok: true, plaintext };
}

function checkKeys(keys: SkKeys, encrLength: number, integLength: number): void {
  if (keys.encr.length !== encrLength) throw new RangeError(`SK: encryption key must be ${encrLength} bytes, got ${keys.encr.length}`);
  const got = keys.integ?.length ?? 0;
  if (got !== integLength) throw new RangeError(`SK: integrity key must be ${integLength} bytes, got ${got}`);
}

function checkIv(iv: Uint8Array, ivLength: number): void {
  if (iv.length !== ivLength) throw new RangeError(`SK: IV must be ${ivLength} bytes, got ${iv.length}`);
}

