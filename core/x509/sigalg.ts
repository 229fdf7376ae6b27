// Signature algorithms as AlgorithmIdentifiers (RFC 5280 §4.1.1.2): certificate signatures and the
// RFC 7427 §3 DIGITAL_SIGNATURE AUTH payload both name their scheme this way.

import {
  DerReader,
  Tag,
  ctx,
  decode,
  encNull,
  encOid,
  encSeq,
  encTlv,
  encUint,
  fail,
  readOne,
  smallIntOf,
  type Decoded,
  type Tlv,
} from "./der.ts";
import { HASHES, hashByOid, type HashName } from "./hash.ts";
import { readAlgorithmIdentifier } from "./keys.ts";
import { OID } from "./oids.ts";

export type SignatureScheme =
  | { kind: "rsa-pkcs1"; hash: HashName }
  | { kind: "rsa-pss"; hash: HashName; mgfHash: HashName; saltLength: number }
  | { kind: "ecdsa"; hash: HashName }
  | { kind: "ed25519" };

const pkcs1Oids: Record<string, HashName> = {
  [OID.sha1WithRSAEncryption]: "sha1",
  [OID.sha256WithRSAEncryption]: "sha256",
  [OID.sha384WithRSAEncryption]: "sha384",
  [OID.sha512WithRSAEncryption]: "sha512",
};
const ecdsaOids: Record<string, HashName> = {
  [OID.ecdsaWithSHA1]: "sha1",
  [OID.ecdsaWithSHA256]: "sha256",
  [OID.ecdsaWithSHA384]: "sha384",
  [OID.ecdsaWithSHA512]: "sha512",
};

function isNull(t: Tlv | undefined): boolean {
  return t !== undefined && t.tag === Tag.NULL && t.value.length === 0;
}

/** RFC 4055 §2.1: a hash AlgorithmIdentifier; parameters absent or NULL (both MUST be accepted). */
function hashAlgorithm(t: Tlv, what: string): HashName {
  const a = readAlgorithmIdentifier(t, what);
  const h = hashByOid(a.oid);
  if (!h) fail(t.offset, `${what}: hash ${a.oid} is not supported`);
  if (a.params && !isNull(a.params)) fail(t.offset, `${what}: unexpected hash parameters`);
  return h.name;
}

/**
 * RFC 4055 §3.1 RSASSA-PSS-params ::= SEQUENCE {
 *   hashAlgorithm [0] HashAlgorithm DEFAULT sha1, maskGenAlgorithm [1] MaskGenAlgorithm DEFAULT mgf1SHA1,
 *   saltLength [2] INTEGER DEFAULT 20, trailerField [3] TrailerField DEFAULT trailerFieldBC }
 */
function pssParams(t: Tlv | undefined, at: number): SignatureScheme {
  let hash: HashName = "sha1";
  let mgfHash: HashName = "sha1";
  let saltLength = 20;
  if (t === undefined || isNull(t)) return { kind: "rsa-pss", hash, mgfHash, saltLength };
  if (t.tag !== Tag.SEQUENCE) fail(at, "RSASSA-PSS parameters are not a SEQUENCE");
  const r = DerReader.of(t);
  const h = r.optional(ctx(0, true));
  if (h) hash = hashAlgorithm(readOne(h.value, "PSS hashAlgorithm", h.valueOffset), "PSS hashAlgorithm");
  const m = r.optional(ctx(1, true));
  if (m) {
    const mgf = readAlgorithmIdentifier(readOne(m.value, "PSS maskGenAlgorithm", m.valueOffset), "PSS maskGenAlgorithm");
    if (mgf.oid !== OID.mgf1) fail(m.offset, `PSS mask generation ${mgf.oid} is not MGF1`);
    if (!mgf.params) fail(m.offset, "MGF1 without a hash");
    mgfHash = hashAlgorithm(mgf.params, "MGF1 hash");
  }
  const s = r.optional(ctx(2, true));
  if (s) saltLength = smallIntOf(readOne(s.value, "PSS saltLength", s.valueOffset), "PSS saltLength");
  const tf = r.optional(ctx(3, true));
  // RFC 4055 §3.1: trailerField MUST be 1 (0xbc).
  if (tf && smallIntOf(readOne(tf.value, "PSS trailerField", tf.valueOffset), "PSS trailerField") !== 1) fail(tf.offset, "PSS trailerField is not 1");
  r.end("RSASSA-PSS-params");
  return { kind: "rsa-pss", hash, mgfHash, saltLength };
}

/** A signature AlgorithmIdentifier element (throws DerFail; use signatureSchemeFromDer outside this folder). */
export function readSignatureAlgorithm(t: Tlv): SignatureScheme {
  const a = readAlgorithmIdentifier(t, "signatureAlgorithm");
  const pkcs1 = pkcs1Oids[a.oid];
  if (pkcs1) {
    // RFC 4055 §5 / RFC 8017 App. C: parameters NULL; absent is tolerated as many encoders emit it.
    if (a.params && !isNull(a.params)) fail(t.offset, "RSA PKCS#1 signature algorithm with non-NULL parameters");
    return { kind: "rsa-pkcs1", hash: pkcs1 };
  }
  const ec = ecdsaOids[a.oid];
  if (ec) {
    // RFC 5758 §3.2: the parameters field MUST be absent.
    if (a.params) fail(t.offset, "ECDSA signature algorithm with parameters");
    return { kind: "ecdsa", hash: ec };
  }
  if (a.oid === OID.rsassaPss) return pssParams(a.params, t.offset);
  if (a.oid === OID.ed25519) {
    if (a.params) fail(t.offset, "Ed25519 signature algorithm with parameters"); // RFC 8410 §3
    return { kind: "ed25519" };
  }
  return fail(t.offset, `signature algorithm ${a.oid} is not supported`);
}

export function signatureSchemeFromDer(der: Uint8Array): Decoded<SignatureScheme> {
  return decode(() => readSignatureAlgorithm(readOne(der, "AlgorithmIdentifier")));
}

function hashAlgId(h: HashName): Uint8Array {
  return encSeq(encOid(HASHES[h].oid), encNull());
}

/** The DER AlgorithmIdentifier of a scheme (the encodings of RFC 7427 App. A). */
export function encodeSignatureScheme(s: SignatureScheme): Uint8Array {
  switch (s.kind) {
    case "rsa-pkcs1": {
      const oid = Object.keys(pkcs1Oids).find((o) => pkcs1Oids[o] === s.hash)!;
      return encSeq(encOid(oid), encNull());
    }
    case "ecdsa": {
      const oid = Object.keys(ecdsaOids).find((o) => ecdsaOids[o] === s.hash)!;
      return encSeq(encOid(oid));
    }
    case "ed25519":
      return encSeq(encOid(OID.ed25519));
    case "rsa-pss": {
      // RFC 4055 §3.1: DER omits fields equal to their DEFAULT.
      const parts: Uint8Array[] = [];
      if (s.hash !== "sha1") parts.push(encTlv(ctx(0, true), hashAlgId(s.hash)));
      if (s.mgfHash !== "sha1") parts.push(encTlv(ctx(1, true), encSeq(encOid(OID.mgf1), hashAlgId(s.mgfHash))));
      if (s.saltLength !== 20) parts.push(encTlv(ctx(2, true), encUint(BigInt(s.saltLength))));
      return encSeq(encOid(OID.rsassaPss), encSeq(...parts));
    }
  }
}

export function describeScheme(s: SignatureScheme): string {
  switch (s.kind) {
    case "rsa-pkcs1":
      return `RSA PKCS#1 v1.5 with ${s.hash.toUpperCase()}`;
    case "rsa-pss":
      return `RSA-PSS with ${s.hash.toUpperCase()} (MGF1 ${s.mgfHash.toUpperCase()}, salt ${s.saltLength})`;
    case "ecdsa":
      return `ECDSA with ${s.hash.toUpperCase()}`;
    case "ed25519":
      return "Ed25519";
  }
}
