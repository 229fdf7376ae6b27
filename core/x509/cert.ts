// X.509 v3 certificates (RFC 5280 §4.1) and the extensions a VPN client needs (§4.2.1).
//
//   Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, signatureAlgorithm AlgorithmIdentifier,
//                              signatureValue BIT STRING }
//   TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, serialNumber INTEGER,
//        signature AlgorithmIdentifier, issuer Name, validity Validity, subject Name,
//        subjectPublicKeyInfo SubjectPublicKeyInfo, issuerUniqueID [1] IMPLICIT OPTIONAL,
//        subjectUniqueID [2] IMPLICIT OPTIONAL, extensions [3] EXPLICIT Extensions OPTIONAL }

import { equalBytes, fromUtf8 } from "../util/bytes.ts";
import {
  DerReader,
  enterOne,
  Tag,
  bigintOf,
  bitStringOf,
  booleanOf,
  ctx,
  decode,
  fail,
  octetAlignedBitsOf,
  oidOf,
  readOne,
  smallIntOf,
  timeOf,
  type Decoded,
  type Tlv,
} from "./der.ts";
import { formatName, readName, type Rdn } from "./dn.ts";
import { readSubjectPublicKeyInfo, type PublicKey } from "./keys.ts";
import { OID } from "./oids.ts";
import { readSignatureAlgorithm, type SignatureScheme } from "./sigalg.ts";

/** RFC 5280 §4.2.1.3 KeyUsage named bits, in bit order. */
export const KEY_USAGE_BITS = [
  "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
  "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly",
] as const;
export type KeyUsage = (typeof KEY_USAGE_BITS)[number];

/** RFC 5280 §4.2.1.6 GeneralName, for the forms an IKE identity can match. */
export type GeneralName =
  | { kind: "dns"; value: string }
  | { kind: "ip"; bytes: Uint8Array }
  | { kind: "email"; value: string }
  | { kind: "dn"; der: Uint8Array; rdns: Rdn[] }
  | { kind: "uri"; value: string }
  | { kind: "other"; tag: number };

export interface Extensions {
  basicConstraints?: { cA: boolean; pathLen?: number };
  keyUsage?: KeyUsage[];
  /** KeyPurposeId OIDs. */
  extKeyUsage?: string[];
  subjectAltNames: GeneralName[];
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
  /** Critical extensions this parser does not understand (§4.2: a validator must reject the certificate). */
  unknownCritical: string[];
}

export interface Certificate {
  der: Uint8Array;
  /** The signed octets: the whole tbsCertificate element. */
  tbs: Uint8Array;
  version: number;
  serial: bigint;
  /** The outer signatureAlgorithm; null when the algorithm is not supported (see signatureAlgorithm). */
  signatureScheme: SignatureScheme | null;
  /** OID of the outer signatureAlgorithm. */
  signatureAlgorithm: string;
  signature: Uint8Array;
  issuer: Uint8Array;
  issuerRdns: Rdn[];
  issuerText: string;
  subject: Uint8Array;
  subjectRdns: Rdn[];
  subjectText: string;
  /** Epoch milliseconds. */
  notBefore: number;
  notAfter: number;
  /** The SubjectPublicKeyInfo element (hashed for IKEv2 CERTREQ, RFC 7296 §3.7). */
  spki: Uint8Array;
  publicKey: PublicKey;
  extensions: Extensions;
}

function ia5(t: Tlv, what: string): string {
  for (const b of t.value) if (b > 0x7f) fail(t.offset, `${what} is not IA5 (ASCII)`);
  return fromUtf8(t.value);
}

/** §4.2.1.6 GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName. */
function readGeneralNames(t: Tlv): GeneralName[] {
  if (t.tag !== Tag.SEQUENCE) fail(t.offset, "GeneralNames is not a SEQUENCE");
  const out: GeneralName[] = [];
  const r = DerReader.of(t);
  while (!r.done) {
    const g = r.any("GeneralName");
    switch (g.tag) {
      case ctx(1, false): // rfc822Name [1] IA5String
        out.push({ kind: "email", value: ia5(g, "rfc822Name") });
        break;
      case ctx(2, false): // dNSName [2] IA5String
        out.push({ kind: "dns", value: ia5(g, "dNSName") });
        break;
      case ctx(4, true): {
        // directoryName [4] Name (EXPLICIT because Name is a CHOICE)
        const name = readOne(g.value, "directoryName", g.valueOffset);
        out.push({ kind: "dn", der: name.raw, rdns: readName(name) });
        break;
      }
      case ctx(6, false): // uniformResourceIdentifier [6] IA5String
        out.push({ kind: "uri", value: ia5(g, "uniformResourceIdentifier") });
        break;
      case ctx(7, false): // iPAddress [7] OCTET STRING: 4 or 16 octets (§4.2.1.6)
        if (g.value.length !== 4 && g.value.length !== 16) fail(g.offset, `iPAddress of ${g.value.length} octets`);
        out.push({ kind: "ip", bytes: g.value });
        break;
      default:
        out.push({ kind: "other", tag: g.tag });
    }
  }
  if (out.length === 0) fail(t.offset, "empty GeneralNames");
  return out;
}

function readExtension(ext: Extensions, id: string, v: Tlv): boolean {
  const r = DerReader.of(v);
  switch (id) {
    case OID.basicConstraints: {
      // §4.2.1.9 BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }
      const seq = r.enter(Tag.SEQUENCE, "BasicConstraints");
      const ca = seq.optional(Tag.BOOLEAN);
      const pl = seq.optional(Tag.INTEGER);
      seq.end("BasicConstraints");
      ext.basicConstraints = { cA: ca ? booleanOf(ca) : false };
      if (pl) ext.basicConstraints.pathLen = smallIntOf(pl, "pathLenConstraint");
      break;
    }
    case OID.keyUsage: {
      // §4.2.1.3 KeyUsage ::= BIT STRING; bit 0 is the most significant bit of the first octet.
      const b = bitStringOf(r.expect(Tag.BIT_STRING, "KeyUsage"));
      const set: KeyUsage[] = [];
      KEY_USAGE_BITS.forEach((name, i) => {
        if (i < b.bytes.length * 8 && b.bytes[i >> 3]! & (0x80 >> (i & 7))) set.push(name);
      });
      ext.keyUsage = set;
      break;
    }
    case OID.extKeyUsage: {
      // §4.2.1.12 ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
      const seq = r.enter(Tag.SEQUENCE, "ExtKeyUsageSyntax");
      const ids: string[] = [];
      while (!seq.done) ids.push(oidOf(seq.expect(Tag.OID, "KeyPurposeId")));
      ext.extKeyUsage = ids;
      break;
    }
    case OID.subjectAltName: // §4.2.1.6
      ext.subjectAltNames = readGeneralNames(r.any("SubjectAltName"));
      break;
    case OID.subjectKeyIdentifier: // §4.2.1.2 SubjectKeyIdentifier ::= OCTET STRING
      ext.subjectKeyId = r.expect(Tag.OCTET_STRING, "SubjectKeyIdentifier").value;
      break;
    case OID.authorityKeyIdentifier: {
      // §4.2.1.1 AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... }
      const seq = r.enter(Tag.SEQUENCE, "AuthorityKeyIdentifier");
      const kid = seq.optional(ctx(0, false));
      if (kid) ext.authorityKeyId = kid.value;
      break; // authorityCertIssuer [1] and authorityCertSerialNumber [2] are not used
    }
    default:
      return false;
  }
  r.end(`extension ${id}`);
  return true;
}

/** §4.1.2.9 Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension. */
function readExtensions(t: Tlv | undefined): Extensions {
  const ext: Extensions = { subjectAltNames: [], unknownCritical: [] };
  if (!t) return ext;
  const seq = enterOne(t.value, Tag.SEQUENCE, "Extensions", t.valueOffset);
  const seen = new Set<string>();
  while (!seq.done) {
    // Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    const e = seq.enter(Tag.SEQUENCE, "Extension");
    const idTlv = e.expect(Tag.OID, "extnID");
    const id = oidOf(idTlv);
    const crit = e.optional(Tag.BOOLEAN);
    const critical = crit ? booleanOf(crit) : false;
    const value = e.expect(Tag.OCTET_STRING, "extnValue");
    e.end("Extension");
    // §4.2: a certificate MUST NOT include more than one instance of a particular extension.
    if (seen.has(id)) fail(idTlv.offset, `extension ${id} appears twice`);
    seen.add(id);
    if (!readExtension(ext, id, value) && critical) ext.unknownCritical.push(id);
  }
  return ext;
}

function readCertificate(der: Uint8Array): Certificate {
  const cert = enterOne(der, Tag.SEQUENCE, "Certificate");
  const tbsTlv = cert.expect(Tag.SEQUENCE, "tbsCertificate");
  const sigAlgTlv = cert.expect(Tag.SEQUENCE, "signatureAlgorithm");
  const signature = octetAlignedBitsOf(cert.expect(Tag.BIT_STRING, "signatureValue"), "signatureValue");
  cert.end("Certificate");

  const tbs = DerReader.of(tbsTlv);
  const verTlv = tbs.optional(ctx(0, true));
  // §4.1.2.1 Version ::= INTEGER { v1(0), v2(1), v3(2) }
  const version = verTlv ? smallIntOf(readOne(verTlv.value, "version", verTlv.valueOffset), "version") + 1 : 1;
  if (version > 3) fail(verTlv!.offset, `certificate version ${version} is unknown`);
  const serial = bigintOf(tbs.expect(Tag.INTEGER, "serialNumber"));
  const innerSigAlg = tbs.expect(Tag.SEQUENCE, "signature");
  // §4.1.1.2: signatureAlgorithm MUST contain the same algorithm identifier as the signature field.
  if (!equalBytes(innerSigAlg.raw, sigAlgTlv.raw)) fail(innerSigAlg.offset, "signature algorithm differs inside and outside tbsCertificate");
  const issuerTlv = tbs.expect(Tag.SEQUENCE, "issuer");
  const validity = tbs.enter(Tag.SEQUENCE, "validity");
  // §4.1.2.5 Validity ::= SEQUENCE { notBefore Time, notAfter Time }
  const notBefore = timeOf(validity.any("notBefore"));
  const notAfter = timeOf(validity.any("notAfter"));
  validity.end("validity");
  const subjectTlv = tbs.expect(Tag.SEQUENCE, "subject");
  const spkiTlv = tbs.expect(Tag.SEQUENCE, "subjectPublicKeyInfo");
  tbs.optional(ctx(1, false)); // issuerUniqueID
  tbs.optional(ctx(2, false)); // subjectUniqueID
  const extTlv = tbs.optional(ctx(3, true));
  tbs.end("tbsCertificate");
  if (extTlv && version !== 3) fail(extTlv.offset, "extensions in a certificate that is not v3"); // §4.1.2.9

  const issuerRdns = readName(issuerTlv);
  const subjectRdns = readName(subjectTlv);
  const scheme = decode(() => readSignatureAlgorithm(sigAlgTlv));
  return {
    der,
    tbs: tbsTlv.raw,
    version,
    serial,
    signatureScheme: scheme.ok ? scheme.value : null,
    signatureAlgorithm: oidOf(DerReader.of(sigAlgTlv).expect(Tag.OID, "signatureAlgorithm algorithm")),
    signature,
    issuer: issuerTlv.raw,
    issuerRdns,
    issuerText: formatName(issuerRdns),
    subject: subjectTlv.raw,
    subjectRdns,
    subjectText: formatName(subjectRdns),
    notBefore,
    notAfter,
    spki: spkiTlv.raw,
    publicKey: readSubjectPublicKeyInfo(spkiTlv),
    extensions: readExtensions(extTlv),
  };
}

/** Parses a DER certificate; malformed input is a typed failure with the offset of the bad element. */
export function parseCertificate(der: Uint8Array): Decoded<Certificate> {
  return decode(() => readCertificate(der));
}

/** The SubjectPublicKeyInfo element of a DER certificate, or null if it does not parse. */
export function subjectPublicKeyInfo(der: Uint8Array): Uint8Array | null {
  const c = parseCertificate(der);
  return c.ok ? c.value.spki : null;
}

/** The contents of the subjectPublicKey BIT STRING (the key itself, without the algorithm), or null. */
export function subjectPublicKeyBits(der: Uint8Array): Uint8Array | null {
  const c = parseCertificate(der);
  if (!c.ok) return null;
  const r = decode(() => {
    const s = enterOne(c.value.spki, Tag.SEQUENCE, "SubjectPublicKeyInfo");
    s.any("algorithm");
    return octetAlignedBitsOf(s.expect(Tag.BIT_STRING, "subjectPublicKey"), "subjectPublicKey");
  });
  return r.ok ? r.value : null;
}

export function serialHex(c: Certificate): string {
  return c.serial < 0n ? `-${(-c.serial).toString(16)}` : c.serial.toString(16);
}
