// Signature AUTH payload data (RFC 7296 §3.8) for the methods a certificate can back:
//
//   RSA_SIG (1)             RSASSA-PKCS1-v1_5 with SHA-1 (RFC 7296 §3.8, RFC 7427 §1)
//   ECDSA_SHA256_P256 (9)   RFC 4754 §7: r | s, 32 + 32 octets, SHA-256 over P-256
//   ECDSA_SHA384_P384 (10)  RFC 4754 §7: r | s, 48 + 48 octets, SHA-384 over P-384
//   ECDSA_SHA512_P521 (11)  RFC 4754 §7: r | s, 66 + 66 octets, SHA-512 over P-521
//   DIGITAL_SIGNATURE (14)  RFC 7427 §3:
//
//     1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | ASN.1 Length  | AlgorithmIdentifier ASN.1 object              |
//    +-+-+-+-+-+-+-+-+                                               +
//    ~                                                               ~
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                                                               |
//    ~                         Signature Value                       ~
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//   with RSA PKCS#1 v1.5 (SHA-256/384/512), RSA-PSS, ECDSA (DER Ecdsa-Sig-Value) and Ed25519 (RFC 8420).
//
// The octets to sign (RFC 7296 §2.15: RealMessage | Nonce | prf(SK_p, ID')) are built elsewhere.

import type { Random } from "../types.ts";
import { concatBytes } from "../util/bytes.ts";
import { AuthMethod, HashAlgorithm } from "../wire/constants.ts";
import type { CurveName, PrivateKey, PublicKey } from "./keys.ts";
import { describeScheme, encodeSignatureScheme, signatureSchemeFromDer, type SignatureScheme } from "./sigalg.ts";
import { signMessage, verifySignature, type EcdsaEncoding } from "./verify.ts";

export type AuthResult = { ok: true } | { ok: false; reason: string };
export type SignAuthResult = { ok: true; method: number; data: Uint8Array } | { ok: false; reason: string };

/** How to sign: one of the fixed methods, or RFC 7427 with an explicit scheme. */
export type AuthSigning =
  | { method: typeof AuthMethod.RSA_SIG }
  | { method: typeof AuthMethod.ECDSA_SHA256_P256 | typeof AuthMethod.ECDSA_SHA384_P384 | typeof AuthMethod.ECDSA_SHA512_P521 }
  | { method: typeof AuthMethod.DIGITAL_SIGNATURE; scheme: SignatureScheme };

/** RFC 4754 §7: each ECDSA method fixes the curve and hash. */
const ecdsaMethods: Record<number, { curve: CurveName; scheme: SignatureScheme }> = {
  [AuthMethod.ECDSA_SHA256_P256]: { curve: "P-256", scheme: { kind: "ecdsa", hash: "sha256" } },
  [AuthMethod.ECDSA_SHA384_P384]: { curve: "P-384", scheme: { kind: "ecdsa", hash: "sha384" } },
  [AuthMethod.ECDSA_SHA512_P521]: { curve: "P-521", scheme: { kind: "ecdsa", hash: "sha512" } },
};

const rsaSigScheme: SignatureScheme = { kind: "rsa-pkcs1", hash: "sha1" };

type Fixed = { scheme: SignatureScheme; encoding: EcdsaEncoding; signature: Uint8Array };

/** RFC 7427 §3: splits AUTH data into the AlgorithmIdentifier and the signature. */
export function parseDigitalSignature(data: Uint8Array): { ok: true; scheme: SignatureScheme; algorithmId: Uint8Array; signature: Uint8Array } | { ok: false; reason: string } {
  if (data.length < 1) return { ok: false, reason: "DIGITAL_SIGNATURE AUTH data is empty" };
  const len = data[0]!;
  if (data.length < 1 + len) return { ok: false, reason: `DIGITAL_SIGNATURE AlgorithmIdentifier of ${len} octets runs past the AUTH data` };
  const algorithmId = data.subarray(1, 1 + len);
  const s = signatureSchemeFromDer(algorithmId);
  if (!s.ok) return { ok: false, reason: `DIGITAL_SIGNATURE AlgorithmIdentifier: ${s.error.reason}` };
  const signature = data.subarray(1 + len);
  if (signature.length === 0) return { ok: false, reason: "DIGITAL_SIGNATURE AUTH data has no signature" };
  return { ok: true, scheme: s.value, algorithmId, signature };
}

function decodeAuth(method: number, data: Uint8Array, key: PublicKey): { ok: true; v: Fixed } | { ok: false; reason: string } {
  if (method === AuthMethod.RSA_SIG) return { ok: true, v: { scheme: rsaSigScheme, encoding: "der", signature: data } };
  const ec = ecdsaMethods[method];
  if (ec) {
    // RFC 4754 §7: the method names the curve; a key on another curve cannot use it.
    if (key.kind !== "ec" || key.curve !== ec.curve) return { ok: false, reason: `AUTH method ${method} needs a ${ec.curve} key, the certificate has ${keyText(key)}` };
    return { ok: true, v: { scheme: ec.scheme, encoding: "raw", signature: data } };
  }
  if (method === AuthMethod.DIGITAL_SIGNATURE) {
    const d = parseDigitalSignature(data);
    if (!d.ok) return d;
    // RFC 8247 §3.2: SHA-1 MUST NOT be used with RFC 7427 signatures.
    if (d.scheme.kind !== "ed25519" && d.scheme.hash === "sha1") return { ok: false, reason: `${describeScheme(d.scheme)} is refused (SHA-1)` };
    return { ok: true, v: { scheme: d.scheme, encoding: "der", signature: d.signature } };
  }
  return { ok: false, reason: `AUTH method ${method} is not a signature method we support` };
}

function keyText(k: PublicKey | PrivateKey): string {
  if (k.kind === "rsa") return `an RSA ${k.bits}-bit key`;
  if (k.kind === "ec") return `a ${k.curve} key`;
  if (k.kind === "ed25519") return "an Ed25519 key";
  return `an unsupported key (${k.algorithm})`;
}

/** Verifies the peer's AUTH data over the octets it had to sign, with the key from its certificate. */
export function verifyAuth(method: number, authData: Uint8Array, signedOctets: Uint8Array, publicKey: PublicKey): AuthResult {
  const d = decodeAuth(method, authData, publicKey);
  if (!d.ok) return d;
  return verifySignature(publicKey, d.v.scheme, signedOctets, d.v.signature, d.v.encoding);
}

/** Makes AUTH data for `signedOctets` with our private key. */
export function signAuth(how: AuthSigning, signedOctets: Uint8Array, privateKey: PrivateKey, random: Random): SignAuthResult {
  if (how.method === AuthMethod.RSA_SIG) {
    const s = signMessage(privateKey, rsaSigScheme, signedOctets, random);
    return s.ok ? { ok: true, method: how.method, data: s.signature } : s;
  }
  if (how.method === AuthMethod.DIGITAL_SIGNATURE) {
    const algId = encodeSignatureScheme(how.scheme);
    if (algId.length > 255) return { ok: false, reason: "AlgorithmIdentifier longer than 255 octets" }; // 1-octet length
    const s = signMessage(privateKey, how.scheme, signedOctets, random, "der");
    return s.ok ? { ok: true, method: how.method, data: concatBytes(new Uint8Array([algId.length]), algId, s.signature) } : s;
  }
  const ec = ecdsaMethods[how.method]!;
  if (privateKey.kind !== "ec" || privateKey.curve !== ec.curve) return { ok: false, reason: `AUTH method ${how.method} needs a ${ec.curve} key, ours is ${keyText(privateKey)}` };
  const s = signMessage(privateKey, ec.scheme, signedOctets, random, "raw");
  return s.ok ? { ok: true, method: how.method, data: s.signature } : s;
}

/**
 * What to sign with: RFC 7427 when the peer announced SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4, values of
 * HashAlgorithm), choosing the hash that fits our key; else the key's classic method (RFC 7296, RFC 4754).
 */
export function chooseAuthSigning(key: PrivateKey, peerHashes: readonly number[]): AuthSigning | null {
  const has = (h: number) => peerHashes.includes(h);
  if (key.kind === "ed25519") {
    // RFC 8420 §2: Ed25519 uses the Identity "hash".
    return has(HashAlgorithm.IDENTITY) ? { method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "ed25519" } } : null;
  }
  if (key.kind === "ec") {
    const want = { "P-256": ["sha256", HashAlgorithm.SHA2_256], "P-384": ["sha384", HashAlgorithm.SHA2_384], "P-521": ["sha512", HashAlgorithm.SHA2_512] } as const;
    const [hash, id] = want[key.curve];
    if (has(id)) return { method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "ecdsa", hash } };
    const method = key.curve === "P-256" ? AuthMethod.ECDSA_SHA256_P256 : key.curve === "P-384" ? AuthMethod.ECDSA_SHA384_P384 : AuthMethod.ECDSA_SHA512_P521;
    return { method };
  }
  for (const [id, hash] of [[HashAlgorithm.SHA2_256, "sha256"], [HashAlgorithm.SHA2_384, "sha384"], [HashAlgorithm.SHA2_512, "sha512"]] as const) {
    if (has(id)) return { method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "rsa-pkcs1", hash } };
  }
  return { method: AuthMethod.RSA_SIG };
}
