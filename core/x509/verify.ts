// Signature verification and creation over a message, for certificate signatures and IKE AUTH:
// RSA PKCS#1 v1.5 and PSS (rsa.ts), ECDSA P-256/P-384/P-521 (noble, RFC 6979 nonces), Ed25519 (RFC 8032).

import type { Random } from "../types.ts";
import { noble } from "../crypto/noble.ts";
import { concatBytes } from "../util/bytes.ts";
import { DerReader, enterOne, Tag, decode, encSeq, encUint, readOne, unsignedOf } from "./der.ts";
import { HASHES } from "./hash.ts";
import { CURVES, ecdsaOf, type CurveName, type PrivateKey, type PublicKey } from "./keys.ts";
import { i2osp, os2ip, signPkcs1, signPss, verifyPkcs1, verifyPss } from "./rsa.ts";
import { describeScheme, type SignatureScheme } from "./sigalg.ts";

export type SigResult = { ok: true } | { ok: false; reason: string };
export type SignResult = { ok: true; signature: Uint8Array } | { ok: false; reason: string };

/**
 * How an ECDSA signature is carried: "der" is Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
 * (RFC 5480 §2.2 / RFC 3279 §2.2.3; certificates and RFC 7427); "raw" is r | s, each the size of the
 * curve order (RFC 4754 §3, IKEv2 methods 9-11).
 */
export type EcdsaEncoding = "der" | "raw";

/** Smallest RSA modulus we accept, for verification and signing. */
export const MIN_RSA_BITS = 1024;

function keyFits(key: PublicKey | PrivateKey, scheme: SignatureScheme): string | null {
  const need = scheme.kind === "rsa-pkcs1" || scheme.kind === "rsa-pss" ? "rsa" : scheme.kind === "ecdsa" ? "ec" : "ed25519";
  if (key.kind === "unsupported") return `the key's algorithm (${key.algorithm}) is not supported`;
  if (key.kind !== need) return `a ${key.kind.toUpperCase()} key cannot make ${describeScheme(scheme)} signatures`;
  if (key.kind === "rsa" && key.bits < MIN_RSA_BITS) return `RSA key of ${key.bits} bits is too short (at least ${MIN_RSA_BITS})`;
  return null;
}

/** DER Ecdsa-Sig-Value to the fixed r | s form; null if malformed or out of range for the curve. */
export function ecdsaDerToRaw(curve: CurveName, der: Uint8Array): Uint8Array | null {
  const size = CURVES[curve].size;
  const r = decode(() => {
    const seq = enterOne(der, Tag.SEQUENCE, "Ecdsa-Sig-Value");
    const rr = unsignedOf(seq.expect(Tag.INTEGER, "r"), "r");
    const ss = unsignedOf(seq.expect(Tag.INTEGER, "s"), "s");
    seq.end("Ecdsa-Sig-Value");
    return [rr, ss] as const;
  });
  if (!r.ok) return null;
  const a = i2osp(r.value[0], size);
  const b = i2osp(r.value[1], size);
  return a && b ? concatBytes(a, b) : null;
}

export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return encSeq(encUint(os2ip(raw.subarray(0, half))), encUint(os2ip(raw.subarray(half))));
}

function verifyEcdsa(curve: CurveName, point: Uint8Array, digest: Uint8Array, raw: Uint8Array): boolean {
  try {
    // The digest is ours (prehash: false); noble truncates it to the order's bit length (SEC1 §4.1.4
    // step 5). lowS: false because other implementations do not normalize s.
    return ecdsaOf(curve).verify(raw, digest, point, { prehash: false, lowS: false, format: "compact" });
  } catch {
    return false; // r or s zero or not below the order
  }
}

/** Verifies `signature` over `message` with `key` under `scheme`. */
export function verifySignature(
  key: PublicKey,
  scheme: SignatureScheme,
  message: Uint8Array,
  signature: Uint8Array,
  ecdsaEncoding: EcdsaEncoding = "der",
): SigResult {
  const misfit = keyFits(key, scheme);
  if (misfit) return { ok: false, reason: misfit };
  let good: boolean;
  if (key.kind === "rsa" && scheme.kind === "rsa-pkcs1") {
    good = verifyPkcs1(key, HASHES[scheme.hash], message, signature);
  } else if (key.kind === "rsa" && scheme.kind === "rsa-pss") {
    good = verifyPss(key, { hash: HASHES[scheme.hash], mgfHash: HASHES[scheme.mgfHash], saltLength: scheme.saltLength }, message, signature);
  } else if (key.kind === "ec" && scheme.kind === "ecdsa") {
    const size = CURVES[key.curve].size;
    const raw = ecdsaEncoding === "der" ? ecdsaDerToRaw(key.curve, signature) : signature.length === 2 * size ? signature : null;
    if (!raw) return { ok: false, reason: `malformed ECDSA ${key.curve} signature (${ecdsaEncoding === "der" ? "bad DER" : `${signature.length} octets, expected ${2 * size}`})` };
    good = verifyEcdsa(key.curve, key.point, HASHES[scheme.hash].digest(message), raw);
  } else if (key.kind === "ed25519" && scheme.kind === "ed25519") {
    try {
      good = signature.length === 64 && noble().ed25519.verify(signature, message, key.key);
    } catch {
      good = false;
    }
  } else good = false;
  return good ? { ok: true } : { ok: false, reason: `${describeScheme(scheme)} signature does not verify` };
}

/** Signs `message` with `key` under `scheme`. Random feeds RSA blinding, PSS salts and ECDSA hedging. */
export function signMessage(
  key: PrivateKey,
  scheme: SignatureScheme,
  message: Uint8Array,
  random: Random,
  ecdsaEncoding: EcdsaEncoding = "der",
): SignResult {
  const misfit = keyFits(key, scheme);
  if (misfit) return { ok: false, reason: misfit };
  let sig: Uint8Array | null = null;
  if (key.kind === "rsa" && scheme.kind === "rsa-pkcs1") {
    sig = signPkcs1(key, HASHES[scheme.hash], message, random);
  } else if (key.kind === "rsa" && scheme.kind === "rsa-pss") {
    sig = signPss(key, { hash: HASHES[scheme.hash], mgfHash: HASHES[scheme.mgfHash], saltLength: scheme.saltLength }, message, random);
  } else if (key.kind === "ec" && scheme.kind === "ecdsa") {
    // RFC 6979 deterministic k, hedged with fresh randomness (RFC 6979 §3.6).
    const raw = ecdsaOf(key.curve).sign(HASHES[scheme.hash].digest(message), key.scalar, {
      prehash: false,
      format: "compact",
      extraEntropy: random.bytes(32),
    });
    sig = ecdsaEncoding === "der" ? ecdsaRawToDer(raw) : raw;
  } else if (key.kind === "ed25519" && scheme.kind === "ed25519") {
    sig = noble().ed25519.sign(message, key.seed);
  }
  if (!sig) return { ok: false, reason: `the key is too short for ${describeScheme(scheme)}` };
  return { ok: true, signature: sig };
}
