// Distinguished names (RFC 5280 §4.1.2.4): decoding, text forms, comparison (§7.1) and encoding a DN
// typed by a person.
//
//   Name ::= SEQUENCE OF RelativeDistinguishedName
//   RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue
//   AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY }
//
// Order of the text forms: RFC 4514 §2.1 writes the last RDN first ("CN=gw,O=Roam,C=DE"). strongSwan,
// OpenSSL's default output and `openssl req -subj` use the certificate's own order ("C=DE, O=Roam,
// CN=gw"), and that is what people copy into IKE identities. So `formatName` and
// `encodeDistinguishedName` both use the certificate's order with RFC 4514 names and escaping, and the
// text round-trips; `formatNameRfc4514` gives the strict RFC 4514 order.

import { concatBytes, equalBytes, fromHex, toHex, utf8 } from "../util/bytes.ts";
import {
  DerReader,
  Tag,
  decode,
  encOid,
  encSeq,
  encSet,
  encTlv,
  fail,
  isPrintable,
  oidOf,
  readOne,
  stringOf,
  type Decoded,
  type Tlv,
} from "./der.ts";
import { attributeNames } from "./oids.ts";

export interface Attribute {
  /** Attribute type OID, dotted. */
  type: string;
  /** The value decoded when it is a directory string, else null. */
  text: string | null;
  /** The value element (tag, length, contents). */
  raw: Uint8Array;
}
export type Rdn = Attribute[];

const stringTags = new Set<number>([
  Tag.UTF8String, Tag.PrintableString, Tag.IA5String, Tag.T61String, Tag.VisibleString, Tag.BMPString, Tag.UniversalString,
]);

/** Decodes a Name element (throws DerFail). */
export function readName(t: Tlv): Rdn[] {
  if (t.tag !== Tag.SEQUENCE) fail(t.offset, "Name is not a SEQUENCE");
  const rdns: Rdn[] = [];
  const r = DerReader.of(t);
  while (!r.done) {
    const set = r.enter(Tag.SET, "RelativeDistinguishedName");
    const rdn: Rdn = [];
    while (!set.done) {
      const atv = set.enter(Tag.SEQUENCE, "AttributeTypeAndValue");
      const type = oidOf(atv.expect(Tag.OID, "attribute type"));
      const v = atv.any("attribute value");
      atv.end("AttributeTypeAndValue");
      rdn.push({ type, text: stringTags.has(v.tag) ? stringOf(v) : null, raw: v.raw });
    }
    if (rdn.length === 0) fail(r.offset, "empty RelativeDistinguishedName"); // SIZE (1..MAX)
    rdns.push(rdn);
  }
  return rdns;
}

export function parseName(der: Uint8Array): Decoded<Rdn[]> {
  return decode(() => readName(readOne(der, "Name")));
}

/** RFC 4514 §2.4: escape special characters, a leading '#' or space, a trailing space. */
function escapeValue(s: string): string {
  let out = s.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/\0/g, "\\00");
  if (out.startsWith("#") || out.startsWith(" ")) out = `\\${out}`;
  if (out.endsWith(" ") && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function formatAttribute(a: Attribute): string {
  const name = attributeNames[a.type] ?? a.type;
  // RFC 4514 §2.4: a value that is not a string, or whose type has no name, is '#' + hex of its BER.
  if (a.text === null || !(a.type in attributeNames)) return `${name}=#${toHex(a.raw)}`;
  return `${name}=${escapeValue(a.text)}`;
}

/** The DN in the certificate's RDN order, RFC 4514 names and escaping: "C=DE, O=Roam Test, CN=gw". */
export function formatName(rdns: Rdn[]): string {
  return rdns.map((rdn) => rdn.map(formatAttribute).join("+")).join(", ");
}

/** RFC 4514 §2.1 string: last RDN first, comma-separated: "CN=gw,O=Roam Test,C=DE". */
export function formatNameRfc4514(rdns: Rdn[]): string {
  return [...rdns].reverse().map((rdn) => rdn.map(formatAttribute).join("+")).join(",");
}

/** RFC 5280 §7.1 (after RFC 4518 in spirit): case-insensitive, surrounding and repeated spaces ignored. */
function normalize(s: string): string {
  return s.normalize("NFKC").trim().replace(/\s+/g, " ").toLowerCase();
}

function sameAttribute(a: Attribute, b: Attribute): boolean {
  if (a.type !== b.type) return false;
  if (a.text !== null && b.text !== null) return normalize(a.text) === normalize(b.text);
  return equalBytes(a.raw, b.raw);
}

/** RFC 5280 §7.1 name matching: same RDNs in the same order, each RDN the same set of attributes. */
export function sameName(a: Rdn[], b: Rdn[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.length !== y.length) return false;
    if (!x.every((ax) => y.some((by) => sameAttribute(ax, by)))) return false;
  }
  return true;
}

/** Compares two DER Names: byte-equal, or equal under §7.1 matching. Malformed names match nothing. */
export function sameDistinguishedName(a: Uint8Array, b: Uint8Array): boolean {
  if (equalBytes(a, b)) return true;
  const x = parseName(a);
  const y = parseName(b);
  return x.ok && y.ok && sameName(x.value, y.value);
}

// ---- encoding a typed DN ----

const nameToOid: Record<string, string> = { E: "1.2.840.113549.1.9.1", EMAIL: "1.2.840.113549.1.9.1" };
for (const [oid, name] of Object.entries(attributeNames)) nameToOid[name.toUpperCase()] = oid;

/** Splits on an unescaped separator; backslash escapes (RFC 4514 §3) are kept for `unescape`. */
function splitUnescaped(s: string, seps: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\" && i + 1 < s.length) {
      cur += c + s[i + 1]!;
      i++;
    } else if (seps.includes(c)) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** RFC 4514 §3: "\" followed by a special character or by two hex digits (a UTF-8 octet). */
function unescape(s: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== "\\") {
      bytes.push(...utf8(c));
      continue;
    }
    const h = s.slice(i + 1, i + 3);
    if (/^[0-9a-fA-F]{2}$/.test(h)) {
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (i + 1 < s.length) {
      bytes.push(...utf8(s[i + 1]!));
      i++;
    } else return null;
  }
  return new TextDecoder("utf-8", { fatal: false }).decode(new Uint8Array(bytes));
}

function encodeValue(oid: string, value: string): Uint8Array {
  // RFC 5280 App. A: countryName is PrintableString; emailAddress and domainComponent are IA5String;
  // §4.1.2.4: other attributes UTF8String (as OpenSSL writes them by default).
  if (oid === "2.5.4.6" || oid === "2.5.4.5") return encTlv(Tag.PrintableString, utf8(value));
  if (oid === "1.2.840.113549.1.9.1" || oid === "0.9.2342.19200300.100.1.25") return encTlv(Tag.IA5String, utf8(value));
  return encTlv(Tag.UTF8String, utf8(value));
}

export type DnEncoding = { ok: true; der: Uint8Array } | { ok: false; error: string };

/**
 * DER Name from text like "C=DE, O=Roam Test, CN=gw.roam.test" (also "/C=DE/O=Roam Test/CN=gw"), RDNs
 * in the written order. Attribute names: CN, O, OU, C, L, ST, DC, E/emailAddress, ... or a dotted OID;
 * '+' joins attributes into one RDN; values may use RFC 4514 backslash escapes or "#<hex DER>".
 */
export function encodeDistinguishedName(text: string): DnEncoding {
  let t = text.trim();
  let seps = ",;";
  if (t.startsWith("/")) {
    t = t.slice(1);
    seps = "/";
  }
  if (t === "") return { ok: false, error: "empty name" };
  const rdns: Uint8Array[] = [];
  for (const part of splitUnescaped(t, seps)) {
    const atvs: Uint8Array[] = [];
    for (const av of splitUnescaped(part, "+")) {
      const eq = av.indexOf("=");
      if (eq < 0) return { ok: false, error: `"${av.trim()}" is not of the form NAME=value` };
      const name = av.slice(0, eq).trim();
      const rawValue = av.slice(eq + 1).trim();
      const oid = /^\d+(\.\d+)+$/.test(name) ? name : nameToOid[name.toUpperCase()];
      if (!oid) return { ok: false, error: `unknown attribute "${name}" (use CN, O, OU, C, L, ST, DC, E or a dotted OID)` };
      let valueDer: Uint8Array;
      if (rawValue.startsWith("#")) {
        // RFC 4514 §3: '#' + hex is the BER encoding of the value.
        if (!/^#([0-9a-fA-F]{2})+$/.test(rawValue)) return { ok: false, error: `"${rawValue}" is not #<hex>` };
        valueDer = fromHex(rawValue.slice(1));
        const ok = decode(() => readOne(valueDer, "attribute value"));
        if (!ok.ok) return { ok: false, error: `"${rawValue}" is not one DER element` };
      } else {
        const value = unescape(rawValue);
        if (value === null) return { ok: false, error: `"${rawValue}" ends with a lone backslash` };
        if (value === "") return { ok: false, error: `attribute "${name}" has an empty value` };
        if (oid === "2.5.4.6" && !(value.length === 2 && isPrintable(value))) return { ok: false, error: `country "${value}" is not a two-letter code` };
        valueDer = encodeValue(oid, value);
      }
      atvs.push(encSeq(encOid(oid), valueDer));
    }
    rdns.push(encSet(...atvs));
  }
  return { ok: true, der: encSeq(concatBytes(...rdns)) };
}
