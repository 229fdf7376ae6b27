// IKEv2 signature AUTH data: RFC 7427 AlgorithmIdentifiers (App. A), round trips, node:crypto-made AUTH
// data, and malformed or tampered data that must fail without throwing.
import { expect, test } from "bun:test";
import { createPrivateKey, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import fc from "fast-check";
import { concatBytes, fromHex, toHex, utf8 } from "../../../core/util/bytes.ts";
import { AuthMethod, HashAlgorithm } from "../../../core/wire/constants.ts";
import { parsePrivateKeyDer, parsePrivateKeyPem, publicKeyOf, type PrivateKey } from "../../../core/x509/keys.ts";
import { chooseAuthSigning, parseDigitalSignature, signAuth, verifyAuth, type AuthSigning } from "../../../core/x509/ikeauth.ts";
import { encodeSignatureScheme, signatureSchemeFromDer, type SignatureScheme } from "../../../core/x509/sigalg.ts";
import { cert, fixtureText, seededRandom } from "./helpers.ts";

const random = seededRandom(42);
// Stands in for RealMessage1 | Nr | prf(SK_pi, IDi'): AUTH signs whatever octets it is given.
const octets = concatBytes(fromHex("0123456789abcdef00000000000000002120220800000000"), utf8("Nr and MACedIDForI"));

function pem(name: string): PrivateKey {
  const k = parsePrivateKeyPem(fixtureText(name));
  if (!k.ok) throw new Error(k.error);
  return k.value;
}
const rsa = pem("gw-rsa2048.key");
const p256 = pem("gw-p256.key");
const gen = (curve: string) => {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: curve });
  const k = parsePrivateKeyDer(new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" })));
  if (!k.ok) throw new Error(k.error);
  return { node: privateKey, ours: k.value };
};
const p384 = gen("P-384");
const p521 = gen("P-521");
const ed = (() => {
  const { privateKey } = generateKeyPairSync("ed25519");
  const k = parsePrivateKeyDer(new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" })));
  if (!k.ok) throw new Error(k.error);
  return { node: privateKey, ours: k.value };
})();

test("RFC 7427 App. A AlgorithmIdentifiers decode to their schemes and re-encode identically", () => {
  const vectors: [string, SignatureScheme][] = [
    ["300d06092a864886f70d0101050500", { kind: "rsa-pkcs1", hash: "sha1" }], // A.1.1 sha1WithRSAEncryption
    ["300d06092a864886f70d01010b0500", { kind: "rsa-pkcs1", hash: "sha256" }], // A.1.2
    ["300d06092a864886f70d01010c0500", { kind: "rsa-pkcs1", hash: "sha384" }], // A.1.3
    ["300d06092a864886f70d01010d0500", { kind: "rsa-pkcs1", hash: "sha512" }], // A.1.4
    ["300a06082a8648ce3d040302", { kind: "ecdsa", hash: "sha256" }], // A.3.1 ecdsa-with-sha256
    ["300a06082a8648ce3d040303", { kind: "ecdsa", hash: "sha384" }], // A.3.2
    ["300a06082a8648ce3d040304", { kind: "ecdsa", hash: "sha512" }], // A.3.3
    ["300d06092a864886f70d01010a3000", { kind: "rsa-pss", hash: "sha1", mgfHash: "sha1", saltLength: 20 }], // A.4.1 empty parameters
    ["300506032b6570", { kind: "ed25519" }], // RFC 8420 §2 id-Ed25519
  ];
  for (const [hex, scheme] of vectors) {
    expect(signatureSchemeFromDer(fromHex(hex))).toEqual({ ok: true, value: scheme });
    expect(toHex(encodeSignatureScheme(scheme))).toBe(hex);
  }
  // A.4.2: the defaults written out (not DER, but must be understood).
  const a42 = "303e06092a864886f70d01010a3031a00b300906052b0e03021a0500a118301606092a864886f70d010108300906052b0e03021a0500a203020114a303020101";
  expect(signatureSchemeFromDer(fromHex(a42))).toEqual({ ok: true, value: { kind: "rsa-pss", hash: "sha1", mgfHash: "sha1", saltLength: 20 } });
  // RSA-PSS SHA-256 salt 32: the octets OpenSSL put in the gw-pss certificate.
  const pssCert = cert("gw-pss");
  expect(toHex(pssCert.der)).toContain(toHex(encodeSignatureScheme(pssCert.signatureScheme!)));
  expect(toHex(encodeSignatureScheme(pssCert.signatureScheme!))).toBe(
    "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120",
  );
  for (const bad of ["300d06092a864886f70d01010b0501", "300a06082a8648ce3d0403020500", "30050603551d13", "300906072a864886f70d01", "300906072a8648", ""]) {
    expect(signatureSchemeFromDer(fromHex(bad)).ok).toBe(false);
  }
});

test("signAuth → verifyAuth round trips for every method, and a flipped bit fails", () => {
  const pss: SignatureScheme = { kind: "rsa-pss", hash: "sha256", mgfHash: "sha256", saltLength: 32 };
  const cases: [AuthSigning, PrivateKey][] = [
    [{ method: AuthMethod.RSA_SIG }, rsa],
    [{ method: AuthMethod.ECDSA_SHA256_P256 }, p256],
    [{ method: AuthMethod.ECDSA_SHA384_P384 }, p384.ours],
    [{ method: AuthMethod.ECDSA_SHA512_P521 }, p521.ours],
    [{ method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "rsa-pkcs1", hash: "sha256" } }, rsa],
    [{ method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "rsa-pkcs1", hash: "sha384" } }, rsa],
    [{ method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "rsa-pkcs1", hash: "sha512" } }, rsa],
    [{ method: AuthMethod.DIGITAL_SIGNATURE, scheme: pss }, rsa],
    [{ method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "ecdsa", hash: "sha256" } }, p256],
    [{ method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "ecdsa", hash: "sha384" } }, p384.ours],
    [{ method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "ecdsa", hash: "sha512" } }, p521.ours],
    [{ method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "ed25519" } }, ed.ours],
  ];
  for (const [how, key] of cases) {
    const s = signAuth(how, octets, key, random);
    if (!s.ok) throw new Error(s.reason);
    expect(s.method).toBe(how.method);
    const pub = publicKeyOf(key);
    expect(verifyAuth(s.method, s.data, octets, pub)).toEqual({ ok: true });
    if (how.method === AuthMethod.ECDSA_SHA256_P256) expect(s.data.length).toBe(64); // RFC 4754 §7
    if (how.method === AuthMethod.ECDSA_SHA512_P521) expect(s.data.length).toBe(132);
    if (how.method === AuthMethod.DIGITAL_SIGNATURE) {
      const algId = encodeSignatureScheme(how.scheme);
      expect(s.data[0]).toBe(algId.length); // RFC 7427 §3: ASN.1 Length
      expect(s.data.subarray(1, 1 + algId.length)).toEqual(algId);
    }
    const bad = s.data.slice();
    bad[bad.length - 3]! ^= 0x10;
    expect(verifyAuth(s.method, bad, octets, pub).ok).toBe(false);
    expect(verifyAuth(s.method, s.data, concatBytes(octets, Uint8Array.of(0)), pub).ok).toBe(false);
  }
});

test("AUTH data made with node:crypto verifies with ours", () => {
  const rsaNode = createPrivateKey(fixtureText("gw-rsa2048.key"));
  const p256Node = createPrivateKey(fixtureText("gw-p256.key"));
  // RSA_SIG: PKCS#1 v1.5 over SHA-1
  expect(verifyAuth(AuthMethod.RSA_SIG, nodeSign("sha1", octets, rsaNode), octets, publicKeyOf(rsa))).toEqual({ ok: true });
  // RFC 4754: r | s
  expect(verifyAuth(AuthMethod.ECDSA_SHA256_P256, nodeSign("sha256", octets, { key: p256Node, dsaEncoding: "ieee-p1363" }), octets, publicKeyOf(p256))).toEqual({ ok: true });
  expect(verifyAuth(AuthMethod.ECDSA_SHA384_P384, nodeSign("sha384", octets, { key: p384.node, dsaEncoding: "ieee-p1363" }), octets, publicKeyOf(p384.ours))).toEqual({ ok: true });
  // RFC 7427: length | AlgorithmIdentifier | DER ECDSA signature, and PKCS#1 v1.5 SHA-512
  const ecAlg = fromHex("300a06082a8648ce3d040302");
  const ecData = concatBytes(Uint8Array.of(ecAlg.length), ecAlg, nodeSign("sha256", octets, p256Node));
  expect(verifyAuth(AuthMethod.DIGITAL_SIGNATURE, ecData, octets, publicKeyOf(p256))).toEqual({ ok: true });
  const rsaAlg = fromHex("300d06092a864886f70d01010d0500");
  const rsaData = concatBytes(Uint8Array.of(rsaAlg.length), rsaAlg, nodeSign("sha512", octets, rsaNode));
  expect(verifyAuth(AuthMethod.DIGITAL_SIGNATURE, rsaData, octets, publicKeyOf(rsa))).toEqual({ ok: true });
  // The same signature announced as SHA-256 fails.
  const lie = concatBytes(Uint8Array.of(rsaAlg.length), fromHex("300d06092a864886f70d01010b0500"), nodeSign("sha512", octets, rsaNode));
  expect(verifyAuth(AuthMethod.DIGITAL_SIGNATURE, lie, octets, publicKeyOf(rsa)).ok).toBe(false);
  const edAlg = fromHex("300506032b6570");
  const edData = concatBytes(Uint8Array.of(edAlg.length), edAlg, nodeSign(null, octets, ed.node));
  expect(verifyAuth(AuthMethod.DIGITAL_SIGNATURE, edData, octets, publicKeyOf(ed.ours))).toEqual({ ok: true });
});

test("malformed AUTH data and mismatched methods fail with a reason", () => {
  const s = signAuth({ method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "ecdsa", hash: "sha256" } }, octets, p256, random);
  if (!s.ok) throw new Error(s.reason);
  const pub = publicKeyOf(p256);
  const bad: [number, Uint8Array, RegExp][] = [
    [AuthMethod.DIGITAL_SIGNATURE, new Uint8Array(0), /empty/],
    [AuthMethod.DIGITAL_SIGNATURE, Uint8Array.of(200, 0x30), /runs past/],
    [AuthMethod.DIGITAL_SIGNATURE, s.data.subarray(0, 13), /no signature/],
    [AuthMethod.DIGITAL_SIGNATURE, concatBytes(Uint8Array.of(s.data[0]! - 1), s.data.subarray(1)), /AlgorithmIdentifier/],
    [AuthMethod.DIGITAL_SIGNATURE, concatBytes(Uint8Array.of(15), fromHex("300d06092a864886f70d0101050500"), s.data.subarray(13)), /SHA-1/],
    [AuthMethod.ECDSA_SHA384_P384, s.data, /needs a P-384 key/],
    [AuthMethod.ECDSA_SHA256_P256, s.data, /malformed ECDSA P-256 signature/],
    [AuthMethod.SHARED_KEY_MIC, s.data, /not a signature method/],
    [AuthMethod.RSA_SIG, s.data, /EC key cannot make/],
  ];
  for (const [method, data, re] of bad) {
    const r = verifyAuth(method, data, octets, pub);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(re);
  }
  expect(parseDigitalSignature(s.data)).toMatchObject({ ok: true, scheme: { kind: "ecdsa", hash: "sha256" } });
  expect(signAuth({ method: AuthMethod.ECDSA_SHA384_P384 }, octets, p256, random).ok).toBe(false);
  expect(signAuth({ method: AuthMethod.RSA_SIG }, octets, p256, random).ok).toBe(false);
});

test("verifyAuth never throws on arbitrary AUTH data", () => {
  const keys = [publicKeyOf(rsa), publicKeyOf(p256), publicKeyOf(ed.ours)];
  const methods = [1, 2, 9, 10, 11, 14, 200];
  fc.assert(
    fc.property(fc.constantFrom(...methods), fc.nat(2), fc.uint8Array({ maxLength: 300 }), (m, k, data) => {
      const r = verifyAuth(m, data, octets, keys[k]!);
      return r.ok === false && typeof r.reason === "string";
    }),
    { numRuns: 1500, seed: 7 },
  );
  // Well-formed RFC 7427 prefixes with random signatures
  fc.assert(
    fc.property(fc.constantFrom("300d06092a864886f70d01010b0500", "300a06082a8648ce3d040302", "300d06092a864886f70d01010a3000", "300506032b6570"), fc.uint8Array({ maxLength: 300 }), (alg, sig) => {
      const a = fromHex(alg);
      const r = verifyAuth(AuthMethod.DIGITAL_SIGNATURE, concatBytes(Uint8Array.of(a.length), a, sig), octets, keys[sig.length % 3]!);
      return r.ok === false;
    }),
    { numRuns: 500, seed: 8 },
  );
});

test("chooseAuthSigning follows the peer's SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4)", () => {
  expect(chooseAuthSigning(rsa, [])).toEqual({ method: AuthMethod.RSA_SIG });
  expect(chooseAuthSigning(rsa, [HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_256])).toEqual({ method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "rsa-pkcs1", hash: "sha256" } });
  expect(chooseAuthSigning(p256, [])).toEqual({ method: AuthMethod.ECDSA_SHA256_P256 });
  expect(chooseAuthSigning(p384.ours, [HashAlgorithm.SHA2_384])).toEqual({ method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "ecdsa", hash: "sha384" } });
  expect(chooseAuthSigning(ed.ours, [HashAlgorithm.SHA2_256])).toBeNull();
  expect(chooseAuthSigning(ed.ours, [HashAlgorithm.IDENTITY])).toEqual({ method: AuthMethod.DIGITAL_SIGNATURE, scheme: { kind: "ed25519" } });
});
