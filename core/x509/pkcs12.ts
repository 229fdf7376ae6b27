// PKCS#12 reader (RFC 7292): a password-protected PFX file → the client's private key (PKCS#8 DER), the
// certificate that belongs to it, and the other certificates of the file.
//
//   PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }   (§4)
//   AuthenticatedSafe ::= SEQUENCE OF ContentInfo   -- data (plain) or encryptedData (password-encrypted)
//   SafeContents ::= SEQUENCE OF SafeBag
//   SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OF PKCS12Attribute OPTIONAL }
//
// Only the password integrity and privacy modes are read (§3.1): public-key modes (signedData,
// envelopedData) and PBMAC1 (RFC 9579) are refused by name. BER is accepted: indefinite lengths are made
// definite first (ber.ts) and constructed OCTET STRINGs are joined.

import { definiteLengths } from "./ber.ts";
import { decode, DerReader, fail, oidOf, readOne, smallIntOf, Tag, type Tlv } from "./der.ts";
import { parseCertificate } from "./cert.ts";
import { parsePrivateKeyDer, publicKeyOf, readAlgorithmIdentifier, samePublicKey, wipePrivateKey } from "./keys.ts";
import { OID } from "./oids.ts";
import { decryptPrivateKeyInfo, hmacWith, KDF_ID, MAX_ITERATIONS, PBE_HASHES, PBE_OID, pbeDecrypt, passwordOf, pkcs12Kdf, wipePassword, type PbeFailure, type PbeHash, type Password } from "./pbe.ts";
import { equalBytes, utf8 } from "../util/bytes.ts";

/** RFC 5652 §4-8 content types, RFC 7292 §4.2 bag types and App. D certificate types. */
const P12_OID = {
  data: "1.2.840.113549.1.7.1",
  signedData: "1.2.840.113549.1.7.2",
  envelopedData: "1.2.840.113549.1.7.3",
  encryptedData: "1.2.840.113549.1.7.6",
  keyBag: "1.2.840.113549.1.12.10.1.1",
  pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  safeContentsBag: "1.2.840.113549.1.12.10.1.6",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  sha224: "2.16.840.1.101.3.4.2.4",
} as const;

const MAC_HASHES: Record<string, PbeHash> = {
  [OID.sha1]: PBE_HASHES.sha1,
  [P12_OID.sha224]: PBE_HASHES.sha224,
  [OID.sha256]: PBE_HASHES.sha256,
  [OID.sha384]: PBE_HASHES.sha384,
  [OID.sha512]: PBE_HASHES.sha512,
};

export interface Pkcs12Contents {
  /** The private key as a DER PKCS#8 PrivateKeyInfo (RFC 5958 §2). The caller wipes it. */
  privateKey: Uint8Array;
  /** The DER certificate whose public key is the private key's. */
  certificate: Uint8Array;
  /** The file's other certificates, in file order, self-signed ones (roots) left out: the intermediates. */
  intermediates: Uint8Array[];
  /** How the file was protected, for messages ("MAC SHA-256"; "PBES2", "pbeWithSHAAnd3-KeyTripleDES-CBC"). */
  integrity: string;
}

/**
 * "password": the MAC does not verify or the padding of a decrypted bag does not (wrong password or a
 * damaged file); "format": not a PKCS#12 file or malformed; "unsupported": a mode or algorithm roam does not
 * read (named); "content": well-formed but no usable key and certificate.
 */
export type Pkcs12Failure = { kind: PbeFailure["kind"] | "content"; reason: string };
export type Pkcs12Result = { ok: true; value: Pkcs12Contents } | { ok: false; error: Pkcs12Failure };

class P12Fail {
  constructor(readonly failure: Pkcs12Failure) {}
}
function stop(kind: Pkcs12Failure["kind"], reason: string): never {
  throw new P12Fail({ kind, reason });
}

/** An OCTET STRING's contents; a BER constructed OCTET STRING (X.690 §8.7.3) is joined from its segments. */
function octets(t: Tlv, what: string, depth = 0): Uint8Array {
  if (t.tag === Tag.OCTET_STRING || t.tag === 0x80) return t.value;
  if ((t.tag === 0x24 || t.tag === 0xa0) && depth < 4) {
    const r = DerReader.of(t);
    const parts: Uint8Array[] = [];
    while (!r.done) parts.push(octets(r.any(what), what, depth + 1));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
  return fail(t.offset, `${what}: expected an OCTET STRING`);
}

/** A BER structure (the PFX, or one held in an OCTET STRING) with definite lengths, or a decoding failure. */
function definite(bytes: Uint8Array, what: string): Uint8Array {
  const r = definiteLengths(bytes);
  if (!r.ok) fail(r.error.offset, `${what}: ${r.error.reason}`);
  return r.value;
}

/** RFC 5652 §3 ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY DEFINED BY contentType }. */
function contentInfo(t: Tlv, what: string): { type: string; content: Tlv } {
  if (t.tag !== Tag.SEQUENCE) fail(t.offset, `${what}: expected a ContentInfo SEQUENCE`);
  const r = DerReader.of(t);
  const type = oidOf(r.expect(Tag.OID, `${what} contentType`));
  const wrapper = r.expect(0xa0, `${what} content`);
  r.end(what);
  return { type, content: readOne(wrapper.value, `${what} content`, wrapper.valueOffset) };
}

/** RFC 7292 §4: MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }. */
function readMacData(t: Tlv): { hash: PbeHash; digest: Uint8Array; salt: Uint8Array; iterations: number } {
  const r = DerReader.of(t);
  const digestInfo = r.enter(Tag.SEQUENCE, "MacData mac");
  const alg = readAlgorithmIdentifier(digestInfo.any("DigestInfo digestAlgorithm"), "digestAlgorithm");
  const digest = digestInfo.expect(Tag.OCTET_STRING, "DigestInfo digest").value;
  digestInfo.end("DigestInfo");
  const salt = r.expect(Tag.OCTET_STRING, "MacData macSalt").value;
  const itTlv = r.optional(Tag.INTEGER);
  const iterations = itTlv ? smallIntOf(itTlv, "MacData iterations") : 1;
  r.end("MacData");
  if (iterations < 1 || iterations > MAX_ITERATIONS) fail(t.offset, `MacData iterations ${iterations} is out of range (1-${MAX_ITERATIONS})`);
  if (alg.oid === PBE_OID.pbmac1) stop("unsupported", "PBMAC1 integrity (RFC 9579) is not supported");
  const hash = MAC_HASHES[alg.oid];
  if (!hash) stop("unsupported", `MAC digest algorithm ${alg.oid} is not supported (expected SHA-1 or SHA-2)`);
  if (digest.length !== hash.u) fail(t.offset, `MAC of ${digest.length} octets for ${hash.name}`);
  return { hash, digest, salt, iterations };
}

/** What a read has done so far: without a MAC, a failure after decrypting most likely means a wrong password. */
interface ReadState {
  decrypted: boolean;
  macChecked: boolean;
}

interface Bags {
  keys: Uint8Array[];
  certs: Uint8Array[];
  encryptions: Set<string>;
}

function pbeStop(e: PbeFailure, what: string): never {
  return stop(e.kind, `${what}: ${e.reason}`);
}

/** RFC 7292 §4.2: the bags of one SafeContents; nested safeContentsBags are followed a few levels deep. */
function readSafeContents(der: Uint8Array, pw: Password, bags: Bags, depth: number, state: ReadState): void {
  const t = readOne(definite(der, "SafeContents"), "SafeContents");
  if (t.tag !== Tag.SEQUENCE) fail(t.offset, "SafeContents: expected a SEQUENCE");
  const r = DerReader.of(t);
  while (!r.done) {
    const bag = r.enter(Tag.SEQUENCE, "SafeBag");
    const bagId = oidOf(bag.expect(Tag.OID, "SafeBag bagId"));
    const wrapper = bag.expect(0xa0, "SafeBag bagValue");
    bag.optional(Tag.SET); // bagAttributes (friendlyName, localKeyId): the key is matched by its public key
    bag.end("SafeBag");
    const value = readOne(wrapper.value, "bagValue", wrapper.valueOffset);
    switch (bagId) {
      case P12_OID.keyBag: // §4.2.1 KeyBag ::= PrivateKeyInfo
        bags.keys.push(value.raw.slice());
        break;
      case P12_OID.pkcs8ShroudedKeyBag: {
        // §4.2.2 PKCS8ShroudedKeyBag ::= EncryptedPrivateKeyInfo
        const alg = DerReader.of(value).any("encryptionAlgorithm");
        bags.encryptions.add(encryptionName(alg));
        state.decrypted = true;
        const k = decryptPrivateKeyInfo(value.raw, pw);
        if (!k.ok) pbeStop(k.error, "the private key");
        bags.keys.push(k.value);
        break;
      }
      case P12_OID.certBag: {
        // §4.2.3 CertBag ::= SEQUENCE { certId OID, certValue [0] EXPLICIT OCTET STRING (DER certificate) }
        if (value.tag !== Tag.SEQUENCE) fail(value.offset, "CertBag: expected a SEQUENCE");
        const c = DerReader.of(value);
        const certId = oidOf(c.expect(Tag.OID, "CertBag certId"));
        const v = c.expect(0xa0, "CertBag certValue");
        c.end("CertBag");
        if (certId === P12_OID.x509Certificate) bags.certs.push(octets(readOne(v.value, "certValue", v.valueOffset), "certValue").slice());
        break;
      }
      case P12_OID.safeContentsBag: // §4.2.6
        if (depth >= 3) fail(value.offset, "safeContentsBag nested too deeply");
        readSafeContents(value.raw, pw, bags, depth + 1, state);
        break;
      default: // crlBag, secretBag and unknown bags carry nothing roam uses
        break;
    }
  }
}

const ENCRYPTION_NAMES: Record<string, string> = {
  [PBE_OID.pbes2]: "PBES2",
  [PBE_OID.sha1TripleDes3Key]: "pbeWithSHAAnd3-KeyTripleDES-CBC",
  [PBE_OID.sha1TripleDes2Key]: "pbeWithSHAAnd2-KeyTripleDES-CBC",
  [PBE_OID.sha1Rc2_128]: "pbeWithSHAAnd128BitRC2-CBC",
  [PBE_OID.sha1Rc2_40]: "pbewithSHAAnd40BitRC2-CBC",
};
function encryptionName(alg: Tlv): string {
  const a = readAlgorithmIdentifier(alg, "encryption algorithm");
  return ENCRYPTION_NAMES[a.oid] ?? a.oid;
}

/** RFC 5652 §8 EncryptedData ::= SEQUENCE { version, EncryptedContentInfo { contentType, algorithm, [0] IMPLICIT OCTET STRING } }. */
function decryptEncryptedData(t: Tlv, pw: Password, bags: Bags): Uint8Array {
  if (t.tag !== Tag.SEQUENCE) fail(t.offset, "EncryptedData: expected a SEQUENCE");
  const r = DerReader.of(t);
  smallIntOf(r.expect(Tag.INTEGER, "EncryptedData version"), "EncryptedData version");
  const eci = r.enter(Tag.SEQUENCE, "EncryptedContentInfo");
  const type = oidOf(eci.expect(Tag.OID, "EncryptedContentInfo contentType"));
  if (type !== P12_OID.data) fail(t.offset, `EncryptedContentInfo contentType ${type} is not data`);
  const alg = eci.any("contentEncryptionAlgorithm");
  const next = eci.peekTag();
  if (next !== 0x80 && next !== 0xa0) fail(eci.offset, "EncryptedContentInfo: no encryptedContent");
  const ciphertext = octets(eci.any("encryptedContent"), "encryptedContent");
  bags.encryptions.add(encryptionName(alg));
  const plain = pbeDecrypt(alg, ciphertext, pw);
  if (!plain.ok) pbeStop(plain.error, "the certificates");
  return plain.value;
}

/**
 * Reads a PKCS#12 file with `password`. The MAC (if any) is checked first; a mismatch is a "password"
 * failure. An empty password is also tried as no password at all (both conventions exist, RFC 7292 App. B.1),
 * and a non-ASCII one also in the form old OpenSSL versions wrote.
 */
export function readPkcs12(der: Uint8Array, password: string): Pkcs12Result {
  const candidates = [passwordOf(password)];
  if (password === "") candidates.push({ utf8: new Uint8Array(0), bmp: new Uint8Array(0) });
  // OpenSSL before 1.1.0 made the BMPString of a non-ASCII password from its UTF-8 octets, one
  // character per octet; OpenSSL 1.1+ tries that form too when the MAC does not verify.
  if (/[^\x00-\x7f]/.test(password)) {
    const octets = utf8(password);
    candidates.push({ utf8: octets, bmp: passwordOf(String.fromCharCode(...octets)).bmp });
  }
  const state: ReadState = { decrypted: false, macChecked: false };
  // Without a MAC, a wrong password shows as bad padding, or (about once in 256) as decrypted garbage.
  const guess = (f: Pkcs12Failure): Pkcs12Failure => (state.decrypted && !state.macChecked ? { kind: "password", reason: "wrong password or corrupted file (no MAC; the decrypted contents do not decode)" } : f);
  try {
    const r = decode(() => readWith(der, candidates, state));
    if (!r.ok) return { ok: false, error: guess({ kind: "format", reason: `not a readable PKCS#12 file: ${r.error.reason} (at offset ${r.error.offset})` }) };
    return { ok: true, value: r.value };
  } catch (e) {
    if (e instanceof P12Fail) return { ok: false, error: e.failure.kind === "format" ? guess(e.failure) : e.failure };
    throw e;
  } finally {
    for (const c of candidates) wipePassword(c);
  }
}

function readWith(der: Uint8Array, candidates: Password[], state: ReadState): Pkcs12Contents {
  const pfx = readOne(definite(der, "PFX"), "PFX");
  if (pfx.tag !== Tag.SEQUENCE) fail(0, "PFX: expected a SEQUENCE");
  const r = DerReader.of(pfx);
  const version = smallIntOf(r.expect(Tag.INTEGER, "PFX version"), "PFX version");
  if (version !== 3) fail(pfx.offset, `PFX version ${version} (expected 3)`);
  const authSafe = contentInfo(r.any("PFX authSafe"), "authSafe");
  const macTlv = r.optional(Tag.SEQUENCE);
  r.end("PFX");
  if (authSafe.type === P12_OID.signedData) stop("unsupported", "public-key integrity mode (signedData) is not supported, only a password");
  if (authSafe.type !== P12_OID.data) fail(authSafe.content.offset, `authSafe contentType ${authSafe.type} is not data`);
  const safe = octets(authSafe.content, "authSafe content");

  let pw = candidates[0]!;
  let integrity = "no MAC";
  if (macTlv) {
    // §5.1 / App. B.4: HMAC over the authSafe contents, keyed with the App. B.2 KDF (ID 3, the MAC hash).
    const mac = readMacData(macTlv);
    const found = candidates.find((c) => {
      const key = pkcs12Kdf(mac.hash, KDF_ID.mac, c.bmp, mac.salt, mac.iterations, mac.hash.u);
      const ok = equalBytes(hmacWith(mac.hash, key, safe), mac.digest);
      key.fill(0);
      return ok;
    });
    if (!found) stop("password", "wrong password or corrupted file (MAC mismatch)");
    pw = found;
    state.macChecked = true;
    integrity = `MAC ${mac.hash.name}`;
  }

  const bags: Bags = { keys: [], certs: [], encryptions: new Set() };
  const list = readOne(definite(safe, "AuthenticatedSafe"), "AuthenticatedSafe");
  if (list.tag !== Tag.SEQUENCE) fail(list.offset, "AuthenticatedSafe: expected a SEQUENCE");
  const items = DerReader.of(list);
  while (!items.done) {
    const ci = contentInfo(items.any("AuthenticatedSafe ContentInfo"), "AuthenticatedSafe ContentInfo");
    if (ci.type === P12_OID.data) readSafeContents(octets(ci.content, "SafeContents"), pw, bags, 0, state);
    else if (ci.type === P12_OID.encryptedData) {
      state.decrypted = true;
      const plain = decryptEncryptedData(ci.content, pw, bags);
      try {
        readSafeContents(plain, pw, bags, 0, state);
      } finally {
        plain.fill(0);
      }
    } else if (ci.type === P12_OID.envelopedData) stop("unsupported", "public-key privacy mode (envelopedData) is not supported, only a password");
    else fail(ci.content.offset, `AuthenticatedSafe content type ${ci.type} is unknown`);
  }
  return pick(bags, integrity);
}

/** The first key that has a certificate in the file, that certificate, and the others (roots left out). */
function pick(bags: Bags, integrity: string): Pkcs12Contents {
  const certs = bags.certs.map((der) => ({ der, cert: parseCertificate(der) }));
  for (const c of certs) if (!c.cert.ok) stop("format", `a certificate does not decode: ${c.cert.error.reason} (at offset ${c.cert.error.offset})`);
  if (bags.keys.length === 0) stop("content", "the file holds no private key");
  let chosen: { key: Uint8Array; index: number } | undefined;
  for (const keyDer of bags.keys) {
    const k = parsePrivateKeyDer(keyDer);
    if (!k.ok) stop("format", `the private key does not decode: ${k.error}`);
    const pub = publicKeyOf(k.value);
    wipePrivateKey(k.value);
    const index = certs.findIndex((c) => c.cert.ok && samePublicKey(pub, c.cert.value.publicKey));
    if (index >= 0 && !chosen) chosen = { key: keyDer, index };
    else keyDer.fill(0);
  }
  if (!chosen) stop("content", certs.length === 0 ? "the file holds no certificate" : "the file holds no certificate for its private key");
  const intermediates = certs
    .filter((c, i) => i !== chosen.index && c.cert.ok && !equalBytes(c.der, certs[chosen.index]!.der) && !equalBytes(c.cert.value.subject, c.cert.value.issuer))
    .map((c) => c.der);
  const encryptions = [...bags.encryptions].join(", ") || "no encryption";
  return { privateKey: chosen.key, certificate: certs[chosen.index]!.der, intermediates, integrity: `${integrity}, ${encryptions}` };
}
