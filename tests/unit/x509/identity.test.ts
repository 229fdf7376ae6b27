// IKE identities against certificates (RFC 4945 §3.1, RFC 7296 §3.5).
import { expect, test } from "bun:test";
import { utf8 } from "../../../core/util/bytes.ts";
import { IdType } from "../../../core/wire/constants.ts";
import { encodeDistinguishedName, formatNameRfc4514, parseName, sameDistinguishedName } from "../../../core/x509/dn.ts";
import { dnsNameMatches, identityMatches } from "../../../core/x509/identity.ts";
import { cert } from "./helpers.ts";

const gw = cert("gw-rsa2048");
const ec = cert("gw-p256");
const big = cert("gw-rsa3072");

function dn(text: string): Uint8Array {
  const r = encodeDistinguishedName(text);
  if (!r.ok) throw new Error(r.error);
  return r.der;
}

test("ID_FQDN matches a SAN dNSName, case-insensitively; the CN alone is not enough", () => {
  expect(identityMatches(gw, IdType.FQDN, utf8("gw.roam.test"))).toBe(true);
  expect(identityMatches(gw, IdType.FQDN, utf8("VPN.Roam.Test"))).toBe(true);
  expect(identityMatches(gw, IdType.FQDN, utf8("gw.roam.test."))).toBe(true);
  expect(identityMatches(gw, IdType.FQDN, utf8("other.roam.test"))).toBe(false);
  expect(identityMatches(gw, IdType.FQDN, utf8("roam.test"))).toBe(false);
  expect(identityMatches(big, IdType.FQDN, utf8("big.roam.test"))).toBe(false); // no SAN, CN not used
  expect(identityMatches(gw, IdType.FQDN, utf8(""))).toBe(false);
});

test("RFC 6125 §6.4.3 wildcards: whole left-most label only, one label, not over a public suffix", () => {
  expect(dnsNameMatches("*.roam.test", "gw.roam.test")).toBe(true);
  expect(dnsNameMatches("*.roam.test", "GW.ROAM.TEST")).toBe(true);
  expect(dnsNameMatches("*.roam.test", "a.b.roam.test")).toBe(false);
  expect(dnsNameMatches("*.roam.test", "roam.test")).toBe(false);
  expect(dnsNameMatches("*.roam.test", ".roam.test")).toBe(false);
  expect(dnsNameMatches("gw*.roam.test", "gw1.roam.test")).toBe(false);
  expect(dnsNameMatches("*.test", "roam.test")).toBe(false);
  expect(dnsNameMatches("a.*.test", "a.b.test")).toBe(false);
  expect(dnsNameMatches("*.*.test", "a.b.test")).toBe(false);
});

test("ID_IPV4_ADDR / ID_IPV6_ADDR match SAN iPAddress of the right length", () => {
  expect(identityMatches(gw, IdType.IPV4_ADDR, Uint8Array.of(192, 0, 2, 1))).toBe(true);
  expect(identityMatches(gw, IdType.IPV4_ADDR, Uint8Array.of(192, 0, 2, 2))).toBe(false);
  const v6 = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
  expect(identityMatches(gw, IdType.IPV6_ADDR, v6)).toBe(true);
  expect(identityMatches(gw, IdType.IPV4_ADDR, v6)).toBe(false);
  expect(identityMatches(gw, IdType.IPV6_ADDR, Uint8Array.of(192, 0, 2, 1))).toBe(false);
  expect(identityMatches(ec, IdType.IPV4_ADDR, Uint8Array.of(198, 51, 100, 7))).toBe(true);
});

test("ID_RFC822_ADDR matches SAN rfc822Name: host part case-insensitive, local part exact", () => {
  expect(identityMatches(gw, IdType.RFC822_ADDR, utf8("admin@roam.test"))).toBe(true);
  expect(identityMatches(gw, IdType.RFC822_ADDR, utf8("admin@ROAM.test"))).toBe(true);
  expect(identityMatches(gw, IdType.RFC822_ADDR, utf8("Admin@roam.test"))).toBe(false);
  expect(identityMatches(gw, IdType.RFC822_ADDR, utf8("gw.roam.test"))).toBe(false);
});

test("ID_DER_ASN1_DN matches the subject (bytes or RFC 5280 §7.1) or a SAN directoryName", () => {
  expect(identityMatches(gw, IdType.DER_ASN1_DN, gw.subject)).toBe(true);
  expect(identityMatches(gw, IdType.DER_ASN1_DN, dn("C=DE, O=Roam Test, OU=Gateways, CN=gw.roam.test"))).toBe(true);
  // PrintableString vs UTF8String, case and spacing do not matter under §7.1 matching
  expect(identityMatches(gw, IdType.DER_ASN1_DN, dn("C=de,O=roam  test,OU=GATEWAYS,CN=GW.roam.test"))).toBe(true);
  expect(identityMatches(gw, IdType.DER_ASN1_DN, dn("C=DE, O=Roam Test, CN=gw.roam.test"))).toBe(false); // OU missing
  expect(identityMatches(gw, IdType.DER_ASN1_DN, dn("CN=gw.roam.test, OU=Gateways, O=Roam Test, C=DE"))).toBe(false); // order matters
  expect(identityMatches(ec, IdType.DER_ASN1_DN, dn("CN=Dir Name, O=Roam Test"))).toBe(true);
  expect(identityMatches(gw, IdType.DER_ASN1_DN, Uint8Array.of(0x30, 0x00))).toBe(false);
  expect(identityMatches(gw, IdType.DER_ASN1_DN, Uint8Array.of(0x30, 0x05, 1))).toBe(false);
  expect(identityMatches(gw, IdType.KEY_ID, utf8("gw"))).toBe(false);
});

test("typed DNs: openssl's encoding exactly, escapes, slash form, errors", () => {
  // openssl writes C as PrintableString and the rest as UTF8String: byte-equal to the fixture subject.
  expect(dn("C=DE, O=Roam Test, OU=Gateways, CN=gw.roam.test")).toEqual(gw.subject);
  expect(dn("/C=DE/O=Roam Test/OU=Gateways/CN=gw.roam.test")).toEqual(gw.subject);
  const tricky = dn("CN=Smith\\, John+UID=jsmith, O=A\\2bB, E=j@example.com");
  const parsed = parseName(tricky);
  expect(parsed.ok && parsed.value.map((r) => r.map((a) => a.text))).toEqual([["Smith, John", "jsmith"], ["A+B"], ["j@example.com"]]);
  if (parsed.ok) expect(formatNameRfc4514(parsed.value)).toBe("emailAddress=j@example.com,O=A\\+B,CN=Smith\\, John+UID=jsmith");
  expect(sameDistinguishedName(tricky, dn("cn=smith\\, john + uid=JSMITH, o=a\\+b, email=J@example.com"))).toBe(true);
  for (const bad of ["", "CN", "XX=1", "C=Germany", "CN=a\\", "CN="]) expect(encodeDistinguishedName(bad).ok).toBe(false);
});
