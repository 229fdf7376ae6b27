// Does the IKE identity of the peer (RFC 7296 §3.5) belong to its certificate? RFC 4945 §3.1 and
// RFC 7296 §3.5: the ID must match the subject or a subjectAltName of the end-entity certificate.
//
//   ID_FQDN         <-> SAN dNSName (case-insensitive, RFC 6125 §6.4.3 wildcards: "*" as the whole
//                       left-most label only, never "*.tld")
//   ID_IPV4_ADDR    <-> SAN iPAddress of 4 octets      ID_IPV6_ADDR <-> SAN iPAddress of 16 octets
//   ID_RFC822_ADDR  <-> SAN rfc822Name (domain case-insensitive, RFC 5280 §4.2.1.6)
//   ID_DER_ASN1_DN  <-> subject (or a SAN directoryName), byte-equal or equal under RFC 5280 §7.1
// The subject CN is never used for ID_FQDN (RFC 6125 §6.4.4 leaves it to legacy clients).

import { equalBytes, fromUtf8 } from "../util/bytes.ts";
import { IdType } from "../wire/constants.ts";
import type { Certificate } from "./cert.ts";
import { parseName, sameName } from "./dn.ts";

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

function stripDot(s: string): string {
  return s.endsWith(".") ? s.slice(0, -1) : s;
}

/** RFC 6125 §6.4.1 (case-insensitive label comparison) and §6.4.3 (restricted wildcards). */
export function dnsNameMatches(pattern: string, fqdn: string): boolean {
  const p = asciiLower(stripDot(pattern));
  const id = asciiLower(stripDot(fqdn));
  if (p === "" || id === "") return false;
  if (!p.includes("*")) return p === id;
  const pl = p.split(".");
  const il = id.split(".");
  // Only "*" as the entire left-most label, at least two more labels, same label count (the "*"
  // stands for exactly one non-empty label).
  if (pl[0] !== "*" || pl.slice(1).some((l) => l.includes("*") || l === "") || pl.length < 3) return false;
  if (il.length !== pl.length || il[0] === "") return false;
  return pl.slice(1).join(".") === il.slice(1).join(".");
}

function emailMatches(san: string, id: string): boolean {
  const a = san.lastIndexOf("@");
  const b = id.lastIndexOf("@");
  if (a <= 0 || b <= 0) return false;
  // RFC 5280 §4.2.1.6 / §7.5: local part exact, host part case-insensitive.
  return san.slice(0, a) === id.slice(0, b) && asciiLower(san.slice(a + 1)) === asciiLower(id.slice(b + 1));
}

/** True if the identity (IKE ID type and data, RFC 7296 §3.5) is one the certificate vouches for. */
export function identityMatches(cert: Certificate, idType: number, idData: Uint8Array): boolean {
  const sans = cert.extensions.subjectAltNames;
  switch (idType) {
    case IdType.FQDN: {
      const fqdn = fromUtf8(idData);
      return sans.some((g) => g.kind === "dns" && dnsNameMatches(g.value, fqdn));
    }
    case IdType.IPV4_ADDR:
    case IdType.IPV6_ADDR: {
      if (idData.length !== (idType === IdType.IPV4_ADDR ? 4 : 16)) return false;
      return sans.some((g) => g.kind === "ip" && equalBytes(g.bytes, idData));
    }
    case IdType.RFC822_ADDR: {
      const mail = fromUtf8(idData);
      return sans.some((g) => g.kind === "email" && emailMatches(g.value, mail));
    }
    case IdType.DER_ASN1_DN: {
      const dn = parseName(idData);
      if (!dn.ok || dn.value.length === 0) return false; // an empty DN names nobody
      if (equalBytes(idData, cert.subject) || sameName(dn.value, cert.subjectRdns)) return true;
      return sans.some((g) => g.kind === "dn" && sameName(dn.value, g.rdns));
    }
    default:
      return false; // ID_KEY_ID, ID_DER_ASN1_GN, ID_NULL: nothing in a certificate to compare with
  }
}
