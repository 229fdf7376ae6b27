// X.509 parsing (RFC 5280 §4.1, §4.2.1) checked against node:crypto's X509Certificate (OpenSSL/BoringSSL)
// and against what fixtures/make.sh asked openssl for.
import { expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { toHex } from "../../../core/util/bytes.ts";
import { parseCertificate, serialHex, subjectPublicKeyBits, subjectPublicKeyInfo } from "../../../core/x509/cert.ts";
import { OID } from "../../../core/x509/oids.ts";
import { cert, certDer } from "./helpers.ts";

const ALL = ["root-rsa", "inter-p384", "gw-rsa2048", "gw-rsa3072", "gw-p256", "gw-pss", "gw-expired", "other-ca", "gw-other", "sub-inter", "gw-deep", "gw-by-leaf", "inter-noku", "gw-noku"];

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString("base64url");
}

test("every fixture parses, and serial, validity, key and CA flag agree with node:crypto", () => {
  for (const name of ALL) {
    const c = cert(name);
    const x = new X509Certificate(certDer(name));
    expect(serialHex(c).toUpperCase().padStart(x.serialNumber.length, "0")).toBe(x.serialNumber);
    expect(c.notBefore).toBe(Date.parse(x.validFrom));
    expect(c.notAfter).toBe(Date.parse(x.validTo));
    // OpenSSL's X509_check_ca also wants keyCertSign when keyUsage is present (inter-noku lacks it).
    const ku = c.extensions.keyUsage;
    expect((c.extensions.basicConstraints?.cA ?? false) && (!ku || ku.includes("keyCertSign"))).toBe(x.ca);
    expect(c.version).toBe(3);
    const jwk = x.publicKey.export({ format: "jwk" });
    if (c.publicKey.kind === "rsa") {
      expect(jwk.kty).toBe("RSA");
      expect(b64url(Buffer.from(c.publicKey.n.toString(16).padStart(2 * Math.ceil(c.publicKey.bits / 8), "0"), "hex"))).toBe(jwk.n!);
      expect(c.publicKey.e).toBe(65537n);
    } else if (c.publicKey.kind === "ec") {
      expect(jwk.kty).toBe("EC");
      expect(jwk.crv).toBe(c.publicKey.curve);
      const size = (c.publicKey.point.length - 1) / 2;
      expect(b64url(c.publicKey.point.subarray(1, 1 + size))).toBe(jwk.x!);
      expect(b64url(c.publicKey.point.subarray(1 + size))).toBe(jwk.y!);
    } else throw new Error(`unexpected key kind in ${name}`);
    // The SPKI element re-exported by node is the same octets.
    expect(toHex(c.spki)).toBe(toHex(new Uint8Array(x.publicKey.export({ format: "der", type: "spki" }))));
  }
});

test("names: DER order text, RFC 4514 escaping, issuer of a leaf is the subject of its CA", () => {
  const gw = cert("gw-rsa2048");
  expect(gw.subjectText).toBe("C=DE, O=Roam Test, OU=Gateways, CN=gw.roam.test");
  expect(gw.issuerText).toBe("C=DE, O=Roam Test, CN=Roam Test Root CA");
  expect(toHex(gw.issuer)).toBe(toHex(cert("root-rsa").subject));
  // node prints one "attr=value" per line in the same order
  const x = new X509Certificate(certDer("gw-rsa2048"));
  expect(x.subject.split("\n").join(", ")).toBe(gw.subjectText);
});

test("extensions of the RSA gateway: SANs, key usage, EKU, key identifiers", () => {
  const gw = cert("gw-rsa2048");
  const e = gw.extensions;
  expect(e.basicConstraints).toEqual({ cA: false });
  expect(e.keyUsage).toEqual(["digitalSignature", "keyEncipherment"]);
  expect(e.extKeyUsage).toEqual([OID.serverAuth, OID.ipsecIKE]);
  expect(e.subjectAltNames).toEqual([
    { kind: "dns", value: "gw.roam.test" },
    { kind: "dns", value: "vpn.roam.test" },
    { kind: "ip", bytes: new Uint8Array([192, 0, 2, 1]) },
    { kind: "ip", bytes: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]) },
    { kind: "email", value: "admin@roam.test" },
  ]);
  expect(new X509Certificate(certDer("gw-rsa2048")).subjectAltName).toBe(
    "DNS:gw.roam.test, DNS:vpn.roam.test, IP Address:192.0.2.1, IP Address:2001:DB8:0:0:0:0:0:1, email:admin@roam.test",
  );
  expect(toHex(e.authorityKeyId!)).toBe(toHex(cert("root-rsa").extensions.subjectKeyId!));
  expect(e.unknownCritical).toEqual([]);
  expect(gw.signatureScheme).toEqual({ kind: "rsa-pkcs1", hash: "sha256" });
  expect(gw.signatureAlgorithm).toBe(OID.sha256WithRSAEncryption);
});

test("CA extensions, directoryName SAN, and the signature algorithms openssl was told to use", () => {
  expect(cert("root-rsa").extensions.keyUsage).toEqual(["keyCertSign", "cRLSign"]);
  expect(cert("inter-p384").extensions.basicConstraints).toEqual({ cA: true, pathLen: 0 });
  expect(cert("inter-noku").extensions.keyUsage).toEqual(["digitalSignature", "cRLSign"]);
  const dir = cert("gw-p256").extensions.subjectAltNames.find((g) => g.kind === "dn");
  expect(dir?.kind === "dn" && dir.rdns.map((r) => r[0]!.text)).toEqual(["Dir Name", "Roam Test"]);
  expect(cert("gw-p256").signatureScheme).toEqual({ kind: "ecdsa", hash: "sha384" });
  expect(cert("inter-p384").signatureScheme).toEqual({ kind: "rsa-pkcs1", hash: "sha384" });
  expect(cert("gw-rsa3072").signatureScheme).toEqual({ kind: "rsa-pkcs1", hash: "sha512" });
  expect(cert("gw-pss").signatureScheme).toEqual({ kind: "rsa-pss", hash: "sha256", mgfHash: "sha256", saltLength: 32 });
  expect(cert("gw-rsa3072").publicKey.kind === "rsa" && cert("gw-rsa3072").publicKey).toMatchObject({ bits: 3072 });
  expect(cert("inter-p384").publicKey).toMatchObject({ kind: "ec", curve: "P-384" });
});

test("subjectPublicKeyInfo and subjectPublicKeyBits helpers", () => {
  const der = certDer("gw-p256");
  const c = cert("gw-p256");
  expect(subjectPublicKeyInfo(der)).toEqual(c.spki);
  expect(c.publicKey.kind === "ec" && subjectPublicKeyBits(der)).toEqual(c.publicKey.kind === "ec" ? c.publicKey.point : null);
  expect(subjectPublicKeyBits(der.subarray(0, 100))).toBeNull();
});

test("truncated certificates fail with a typed failure, never an exception", () => {
  const der = certDer("gw-rsa2048");
  for (let n = 0; n < der.length; n++) {
    const r = parseCertificate(der.subarray(0, n));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(typeof r.error.reason).toBe("string");
      expect(r.error.offset).toBeGreaterThanOrEqual(0);
      expect(r.error.offset).toBeLessThanOrEqual(der.length);
    }
  }
  const longer = new Uint8Array(der.length + 1);
  longer.set(der);
  expect(parseCertificate(longer).ok).toBe(false);
});

test("structural rules: signature algorithms must agree, duplicate extensions and bad SAN IPs are refused", () => {
  const der = certDer("gw-rsa2048");
  const hex = toHex(der);
  // The outer AlgorithmIdentifier (last one in the file) changed to sha384WithRSAEncryption.
  const outer = hex.lastIndexOf("06092a864886f70d01010b");
  const swapped = hex.slice(0, outer) + "06092a864886f70d01010c" + hex.slice(outer + 22);
  const r = parseCertificate(Buffer.from(swapped, "hex"));
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.error.reason).toMatch(/differs/);
  // The SAN extension's OID (2.5.29.17) renamed to 2.5.29.14 (subjectKeyIdentifier) makes a duplicate.
  const dup = hex.replace("0603551d1104", "0603551d0e04");
  const d = parseCertificate(Buffer.from(dup, "hex"));
  expect(d.ok).toBe(false);
  if (!d.ok) expect(d.error.reason).toMatch(/twice/);
  // iPAddress 192.0.2.1 (87 04 c0000201) turned into a 3-octet value plus a stray octet ([7] then [0x01]).
  const badIp = hex.replace("8704c0000201", "8703c0000201");
  const b = parseCertificate(Buffer.from(badIp, "hex"));
  expect(b.ok).toBe(false);
});
