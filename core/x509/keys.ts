// Public keys (SubjectPublicKeyInfo, RFC 5280 §4.1.2.7) and private keys (PKCS#8 RFC 5958, PKCS#1
// RFC 8017 App. A.1.2, SEC1 RFC 5915) for RSA, ECDSA P-256/P-384/P-521 and Ed25519.

import {
  DerReader,
  enterOne,
  Tag,
  bigintOf,
  ctx,
  decode,
  fail,
  octetAlignedBitsOf,
  oidOf,
  readOne,
  smallIntOf,
  unsignedOf,
  type Decoded,
  type Tlv,
} from "./der.ts";
import { OID } from "./oids.ts";
import { decodePem } from "./pem.ts";
import { bitLength, type RsaPrivateKey } from "./rsa.ts";
import { noble, type NobleEcdsa } from "../crypto/noble.ts";
import { equalBytes, wipe } from "../util/bytes.ts";

export type CurveName = "P-256" | "P-384" | "P-521";

export const CURVES = {
  "P-256": { oid: OID.secp256r1, noble: "p256", size: 32 },
  "P-384": { oid: OID.secp384r1, noble: "p384", size: 48 },
  "P-521": { oid: OID.secp521r1, noble: "p521", size: 66 },
} as const;

/** noble's ECDSA for a curve, loaded on first use (core/crypto/noble.ts). */
export function ecdsaOf(curve: CurveName): NobleEcdsa {
  return noble()[CURVES[curve].noble];
}

function curveByOid(oid: string): CurveName | undefined {
  for (const [name, c] of Object.entries(CURVES)) if (c.oid === oid) return name as CurveName;
  return undefined;
}

export type PublicKey =
  | { kind: "rsa"; n: bigint; e: bigint; bits: number }
  /** `point` is the SEC1 encoding as sent (RFC 5480 §2.2), already checked to lie on the curve. */
  | { kind: "ec"; curve: CurveName; point: Uint8Array }
  | { kind: "ed25519"; key: Uint8Array }
  /** A key of an algorithm we cannot use; the certificate still parses, verification fails. */
  | { kind: "unsupported"; algorithm: string };

export type PrivateKey =
  | ({ kind: "rsa"; bits: number } & RsaPrivateKey)
  | { kind: "ec"; curve: CurveName; scalar: Uint8Array }
  | { kind: "ed25519"; seed: Uint8Array };

/** The algorithm OID and (optional) parameters element of an AlgorithmIdentifier (RFC 5280 §4.1.1.2). */
export function readAlgorithmIdentifier(t: Tlv, what: string): { oid: string; params: Tlv | undefined } {
  if (t.tag !== Tag.SEQUENCE) fail(t.offset, `${what}: expected an AlgorithmIdentifier SEQUENCE`);
  const r = DerReader.of(t);
  const oid = oidOf(r.expect(Tag.OID, `${what} algorithm`));
  const params = r.done ? undefined : r.any(`${what} parameters`);
  r.end(what);
  return { oid, params };
}

/** RFC 8017 App. A.1.1 RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }. */
function rsaPublicKey(der: Uint8Array, base: number): PublicKey {
  const r = enterOne(der, Tag.SEQUENCE, "RSAPublicKey", base);
  const n = unsignedOf(r.expect(Tag.INTEGER, "RSA modulus"), "RSA modulus");
  const e = unsignedOf(r.expect(Tag.INTEGER, "RSA public exponent"), "RSA public exponent");
  r.end("RSAPublicKey");
  if (n < 3n || (n & 1n) === 0n) fail(base, "RSA modulus is not an odd number");
  if (e < 3n || (e & 1n) === 0n || e >= n) fail(base, "RSA public exponent is out of range");
  return { kind: "rsa", n, e, bits: bitLength(n) };
}

function ecPoint(curve: CurveName, point: Uint8Array, offset: number): PublicKey {
  try {
    ecdsaOf(curve).Point.fromBytes(point).assertValidity();
  } catch {
    fail(offset, `EC public key is not a point on ${curve}`);
  }
  return { kind: "ec", curve, point };
}

/** RFC 5280 §4.1.2.7 SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }. */
export function readSubjectPublicKeyInfo(t: Tlv): PublicKey {
  if (t.tag !== Tag.SEQUENCE) fail(t.offset, "SubjectPublicKeyInfo is not a SEQUENCE");
  const r = DerReader.of(t);
  const alg = readAlgorithmIdentifier(r.any("SubjectPublicKeyInfo algorithm"), "SubjectPublicKeyInfo");
  const bitsTlv = r.expect(Tag.BIT_STRING, "subjectPublicKey");
  r.end("SubjectPublicKeyInfo");
  const bits = octetAlignedBitsOf(bitsTlv, "subjectPublicKey");
  const bitsOffset = bitsTlv.valueOffset + 1;
  switch (alg.oid) {
    case OID.rsaEncryption: // RFC 3279 §2.3.1 (parameters NULL)
    case OID.rsassaPss: // RFC 4055 §1.2: an RSA key restricted to PSS; the restriction is not enforced
      return rsaPublicKey(bits, bitsOffset);
    case OID.ecPublicKey: {
      // RFC 5480 §2.1.1: parameters are a namedCurve OID (implicit and specified curves are not allowed).
      if (alg.params?.tag !== Tag.OID) fail(t.offset, "EC public key without a named curve");
      const curveOid = oidOf(alg.params);
      const curve = curveByOid(curveOid);
      if (!curve) return { kind: "unsupported", algorithm: `EC curve ${curveOid}` };
      return ecPoint(curve, bits, bitsOffset);
    }
    case OID.ed25519: // RFC 8410 §4: parameters absent, 32-octet key
      if (bits.length !== 32) fail(bitsOffset, "Ed25519 public key is not 32 octets");
      return { kind: "ed25519", key: bits };
    default:
      return { kind: "unsupported", algorithm: alg.oid };
  }
}

/** A DER SubjectPublicKeyInfo ("PUBLIC KEY" in PEM). */
export function parsePublicKey(der: Uint8Array): Decoded<PublicKey> {
  return decode(() => readSubjectPublicKeyInfo(readOne(der, "SubjectPublicKeyInfo")));
}

// ---- private keys ----

/** RFC 8017 App. A.1.2 RSAPrivateKey (two-prime, version 0). */
function rsaPrivateKey(der: Uint8Array, base: number): PrivateKey {
  const r = enterOne(der, Tag.SEQUENCE, "RSAPrivateKey", base);
  const version = smallIntOf(r.expect(Tag.INTEGER, "RSAPrivateKey version"), "RSAPrivateKey version");
  if (version !== 0) fail(base, "multi-prime RSA keys are not supported");
  const ints: bigint[] = [];
  for (const name of ["modulus", "publicExponent", "privateExponent", "prime1", "prime2", "exponent1", "exponent2", "coefficient"]) {
    ints.push(unsignedOf(r.expect(Tag.INTEGER, `RSAPrivateKey ${name}`), name));
  }
  r.end("RSAPrivateKey");
  const [n, e, d, p, q, dp, dq, qinv] = ints as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  if (p * q !== n || n < 3n) fail(base, "RSAPrivateKey primes do not multiply to the modulus");
  return { kind: "rsa", bits: bitLength(n), n, e, d, p, q, dp, dq, qinv };
}

/** RFC 5915 §3 ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] parameters, [1] publicKey }. */
function ecPrivateKey(der: Uint8Array, base: number, curveFromAlg: CurveName | undefined): PrivateKey {
  const r = enterOne(der, Tag.SEQUENCE, "ECPrivateKey", base);
  if (bigintOf(r.expect(Tag.INTEGER, "ECPrivateKey version")) !== 1n) fail(base, "ECPrivateKey version is not 1");
  const scalarTlv = r.expect(Tag.OCTET_STRING, "ECPrivateKey privateKey");
  let curve = curveFromAlg;
  const params = r.optional(ctx(0, true));
  if (params) {
    const c = curveByOid(oidOf(readOne(params.value, "ECPrivateKey parameters", params.valueOffset)));
    if (!c) fail(params.offset, "ECPrivateKey curve is not P-256, P-384 or P-521");
    if (curve && curve !== c) fail(params.offset, "ECPrivateKey curve differs from the PKCS#8 algorithm");
    curve = c;
  }
  r.optional(ctx(1, true)); // the public key is recomputed when needed
  r.end("ECPrivateKey");
  if (!curve) return fail(base, "ECPrivateKey names no curve");
  const size = CURVES[curve].size;
  // RFC 5915 §3: privateKey is ceiling(log2(n)/8) octets; accept shorter encodings and left-pad them.
  if (scalarTlv.value.length > size) fail(scalarTlv.offset, "EC private key is longer than the curve order");
  const scalar = new Uint8Array(size);
  scalar.set(scalarTlv.value, size - scalarTlv.value.length);
  if (!ecdsaOf(curve).utils.isValidSecretKey(scalar)) fail(scalarTlv.offset, `EC private key is not a valid ${curve} scalar`);
  return { kind: "ec", curve, scalar };
}

/** RFC 5958 §2 OneAsymmetricKey (PKCS#8 PrivateKeyInfo). */
function pkcs8(der: Uint8Array): PrivateKey {
  const r = enterOne(der, Tag.SEQUENCE, "PrivateKeyInfo");
  const version = smallIntOf(r.expect(Tag.INTEGER, "PrivateKeyInfo version"), "version");
  if (version > 1) fail(0, `PrivateKeyInfo version ${version} is unknown`);
  const alg = readAlgorithmIdentifier(r.any("privateKeyAlgorithm"), "privateKeyAlgorithm");
  const key = r.expect(Tag.OCTET_STRING, "privateKey");
  // attributes [0] and publicKey [1] (RFC 5958) are ignored.
  switch (alg.oid) {
    case OID.rsaEncryption:
    case OID.rsassaPss:
      return rsaPrivateKey(key.value, key.valueOffset);
    case OID.ecPublicKey: {
      const c = alg.params?.tag === Tag.OID ? curveByOid(oidOf(alg.params)) : undefined;
      if (!c) fail(key.offset, "EC private key curve is not P-256, P-384 or P-521");
      return ecPrivateKey(key.value, key.valueOffset, c);
    }
    case OID.ed25519: {
      // RFC 8410 §7: CurvePrivateKey ::= OCTET STRING (the 32-octet seed) inside privateKey.
      const inner = readOne(key.value, "CurvePrivateKey", key.valueOffset);
      if (inner.tag !== Tag.OCTET_STRING || inner.value.length !== 32) fail(inner.offset, "Ed25519 private key is not a 32-octet OCTET STRING");
      return { kind: "ed25519", seed: inner.value.slice() };
    }
    default:
      return fail(0, `private key algorithm ${alg.oid} is not supported`);
  }
}

export type KeyResult = { ok: true; value: PrivateKey } | { ok: false; error: string };

/** A private key from PEM: "PRIVATE KEY" (PKCS#8), "RSA PRIVATE KEY" (PKCS#1) or "EC PRIVATE KEY" (SEC1). */
export function parsePrivateKeyPem(text: string): KeyResult {
  const blocks = decodePem(text);
  if (!blocks.ok) return { ok: false, error: blocks.error };
  for (const b of blocks.value) {
    let r: Decoded<PrivateKey> | undefined;
    if (b.label === "PRIVATE KEY") r = decode(() => pkcs8(b.der));
    else if (b.label === "RSA PRIVATE KEY") r = decode(() => rsaPrivateKey(b.der, 0));
    else if (b.label === "EC PRIVATE KEY") r = decode(() => ecPrivateKey(b.der, 0, undefined));
    else if (b.label === "ENCRYPTED PRIVATE KEY") return { ok: false, error: "the private key is encrypted (decrypt it first, e.g. with openssl pkey)" };
    else continue;
    wipe(b.der);
    if (!r.ok) return { ok: false, error: `${b.label} does not decode: ${r.error.reason} (at offset ${r.error.offset})` };
    return r;
  }
  return { ok: false, error: 'no "PRIVATE KEY", "RSA PRIVATE KEY" or "EC PRIVATE KEY" PEM block found' };
}

/** A DER PKCS#8 PrivateKeyInfo. */
export function parsePrivateKeyDer(der: Uint8Array): KeyResult {
  const r = decode(() => pkcs8(der));
  return r.ok ? r : { ok: false, error: `PrivateKeyInfo does not decode: ${r.error.reason} (at offset ${r.error.offset})` };
}

/** The public half of a private key. */
export function publicKeyOf(key: PrivateKey): PublicKey {
  switch (key.kind) {
    case "rsa":
      return { kind: "rsa", n: key.n, e: key.e, bits: key.bits };
    case "ec":
      return { kind: "ec", curve: key.curve, point: ecdsaOf(key.curve).getPublicKey(key.scalar, false) };
    case "ed25519":
      return { kind: "ed25519", key: noble().ed25519.getPublicKey(key.seed) };
  }
}

/** Overwrites the secret parts of a private key that are byte arrays (bigints cannot be wiped). */
export function wipePrivateKey(key: PrivateKey): void {
  if (key.kind === "ec") key.scalar.fill(0);
  else if (key.kind === "ed25519") key.seed.fill(0);
}

/** Whether two public keys are the same key (a private key and a certificate that belong together). */
export function samePublicKey(a: PublicKey, b: PublicKey): boolean {
  if (a.kind === "rsa" && b.kind === "rsa") return a.n === b.n && a.e === b.e;
  if (a.kind === "ec" && b.kind === "ec") {
    const point = (k: { curve: CurveName; point: Uint8Array }) => ecdsaOf(k.curve).Point.fromBytes(k.point).toBytes(false);
    return a.curve === b.curve && equalBytes(point(a), point(b));
  }
  if (a.kind === "ed25519" && b.kind === "ed25519") return equalBytes(a.key, b.key);
  return false;
}
