// Signatures: ours checked against openssl dgst and node:crypto in both directions, RFC 6979 vectors,
// strict PKCS#1 v1.5 DigestInfo comparison, and tampering that must fail.
import { expect, test } from "bun:test";
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, constants, type KeyObject } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { concatBytes, fromHex, toHex, utf8 } from "../../../core/util/bytes.ts";
import { encNull, encOctets, encOid, encSeq } from "../../../core/x509/der.ts";
import { HASHES, type HashName } from "../../../core/x509/hash.ts";
import { parsePrivateKeyDer, parsePrivateKeyPem, parsePublicKey, publicKeyOf, type PrivateKey, type PublicKey } from "../../../core/x509/keys.ts";
import { i2osp, modPow, modulusOctets, os2ip } from "../../../core/x509/rsa.ts";
import type { SignatureScheme } from "../../../core/x509/sigalg.ts";
import { ecdsaDerToRaw, ecdsaRawToDer, signMessage, verifySignature } from "../../../core/x509/verify.ts";
import { FIXTURES, cert, fixtureText, seededRandom } from "./helpers.ts";

const random = seededRandom(7);
const message = utf8("IKE_SA_INIT request | Nr | prf(SK_pi, IDi')");

function key(pem: string): PrivateKey {
  const k = parsePrivateKeyPem(pem);
  if (!k.ok) throw new Error(k.error);
  return k.value;
}
const rsa2048 = key(fixtureText("gw-rsa2048.key"));
const rsa3072 = key(fixtureText("gw-rsa3072.key"));
const p256 = key(fixtureText("gw-p256.key"));

function nodeKeyPair(type: "ec" | "ed25519", curve?: string): { node: KeyObject; ours: PrivateKey; pub: KeyObject } {
  const { privateKey, publicKey } = type === "ec" ? generateKeyPairSync("ec", { namedCurve: curve! }) : generateKeyPairSync("ed25519");
  const k = parsePrivateKeyDer(new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" })));
  if (!k.ok) throw new Error(k.error);
  return { node: privateKey, ours: k.value, pub: publicKey };
}
const p384 = nodeKeyPair("ec", "P-384");
const p521 = nodeKeyPair("ec", "P-521");
const ed = nodeKeyPair("ed25519");

function nodePub(k: PrivateKey): KeyObject {
  const pem = k === rsa2048 ? fixtureText("gw-rsa2048.key") : k === rsa3072 ? fixtureText("gw-rsa3072.key") : k === p256 ? fixtureText("gw-p256.key") : null;
  if (pem) return createPublicKey(createPrivateKey(pem));
  return k === p384.ours ? p384.pub : k === p521.ours ? p521.pub : ed.pub;
}

function ours(k: PrivateKey, scheme: SignatureScheme, msg = message, enc: "der" | "raw" = "der"): Uint8Array {
  const s = signMessage(k, scheme, msg, random, enc);
  if (!s.ok) throw new Error(s.reason);
  return s.signature;
}

test("private keys: PKCS#8, PKCS#1 and SEC1 encodings of one key agree, and match the certificate", () => {
  expect(key(fixtureText("gw-rsa2048.pkcs1.key"))).toEqual(rsa2048);
  expect(key(fixtureText("gw-p256.sec1.key"))).toEqual(p256);
  expect(publicKeyOf(rsa2048)).toEqual(cert("gw-rsa2048").publicKey);
  expect(publicKeyOf(p256)).toEqual(cert("gw-p256").publicKey);
  expect(publicKeyOf(rsa3072)).toMatchObject({ kind: "rsa", bits: 3072 });
  expect(parsePrivateKeyPem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n").ok).toBe(false);
  expect(parsePrivateKeyPem(fixtureText("root-rsa.crt")).ok).toBe(false);
  const pub = parsePublicKey(new Uint8Array(nodePub(p384.ours).export({ format: "der", type: "spki" })));
  expect(pub).toEqual({ ok: true, value: publicKeyOf(p384.ours) });
});

test("RFC 6979 App. A.2.5: P-256 key pair and the SHA-256 signature of \"sample\" verify", () => {
  // Private key x and public key U = xG, then r and s for SHA-256, message "sample".
  const x = fromHex("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721");
  const U = fromHex("04 60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6 7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299");
  const rs = fromHex("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716 F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8");
  expect(publicKeyOf({ kind: "ec", curve: "P-256", scalar: x })).toEqual({ kind: "ec", curve: "P-256", point: U });
  const pub: PublicKey = { kind: "ec", curve: "P-256", point: U };
  const scheme: SignatureScheme = { kind: "ecdsa", hash: "sha256" };
  expect(verifySignature(pub, scheme, utf8("sample"), rs, "raw")).toEqual({ ok: true });
  expect(verifySignature(pub, scheme, utf8("sample"), ecdsaRawToDer(rs), "der")).toEqual({ ok: true });
  expect(verifySignature(pub, scheme, utf8("test"), rs, "raw").ok).toBe(false);
  expect(ecdsaDerToRaw("P-256", ecdsaRawToDer(rs))).toEqual(rs);
});

test("signatures made by openssl dgst verify with ours", () => {
  const dir = mkdtempSync(join(tmpdir(), "roam-x509-"));
  try {
    writeFileSync(join(dir, "msg"), message);
    const dgst = (keyFile: string, args: string[]) => {
      const r = spawnSync("openssl", ["dgst", ...args, "-sign", join(FIXTURES, keyFile), join(dir, "msg")]);
      if (r.status !== 0) throw new Error(r.stderr.toString());
      return new Uint8Array(r.stdout);
    };
    const cases: [string, string[], PublicKey, SignatureScheme][] = [
      ["gw-rsa2048.key", ["-sha1"], publicKeyOf(rsa2048), { kind: "rsa-pkcs1", hash: "sha1" }],
      ["gw-rsa2048.key", ["-sha256"], publicKeyOf(rsa2048), { kind: "rsa-pkcs1", hash: "sha256" }],
      ["gw-rsa3072.key", ["-sha384"], publicKeyOf(rsa3072), { kind: "rsa-pkcs1", hash: "sha384" }],
      ["gw-rsa3072.key", ["-sha512"], publicKeyOf(rsa3072), { kind: "rsa-pkcs1", hash: "sha512" }],
      ["gw-rsa2048.key", ["-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"], publicKeyOf(rsa2048), { kind: "rsa-pss", hash: "sha256", mgfHash: "sha256", saltLength: 32 }],
      ["gw-rsa3072.key", ["-sha512", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:0"], publicKeyOf(rsa3072), { kind: "rsa-pss", hash: "sha512", mgfHash: "sha512", saltLength: 0 }],
      ["gw-p256.key", ["-sha256"], publicKeyOf(p256), { kind: "ecdsa", hash: "sha256" }],
      ["gw-p256.key", ["-sha512"], publicKeyOf(p256), { kind: "ecdsa", hash: "sha512" }],
    ];
    for (const [file, args, pub, scheme] of cases) {
      const sig = dgst(file, args);
      expect(verifySignature(pub, scheme, message, sig)).toEqual({ ok: true });
      expect(verifySignature(pub, scheme, concatBytes(message, utf8("!")), sig).ok).toBe(false);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});

type Case = { k: PrivateKey; scheme: SignatureScheme; node: (pub: KeyObject, sig: Uint8Array) => boolean };
const pkcs1 = (k: PrivateKey, hash: HashName): Case => ({ k, scheme: { kind: "rsa-pkcs1", hash }, node: (pub, sig) => nodeVerify(hash, message, pub, sig) });
const pss = (k: PrivateKey, hash: HashName, saltLength: number): Case => ({
  k,
  scheme: { kind: "rsa-pss", hash, mgfHash: hash, saltLength },
  node: (pub, sig) => nodeVerify(hash, message, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig),
});
const ecdsa = (k: PrivateKey, hash: HashName, enc: "der" | "ieee-p1363"): Case => ({
  k,
  scheme: { kind: "ecdsa", hash },
  node: (pub, sig) => nodeVerify(hash, message, { key: pub, dsaEncoding: enc }, sig),
});

test("our signatures verify with node:crypto, and node's with ours (RSA 2048/3072, P-256/384/521, Ed25519)", () => {
  const cases: [Case, "der" | "raw"][] = [
    [pkcs1(rsa2048, "sha1"), "der"],
    [pkcs1(rsa2048, "sha256"), "der"],
    [pkcs1(rsa3072, "sha384"), "der"],
    [pkcs1(rsa3072, "sha512"), "der"],
    [pss(rsa2048, "sha256", 32), "der"],
    [pss(rsa2048, "sha384", 48), "der"],
    [pss(rsa3072, "sha512", 64), "der"],
    [pss(rsa3072, "sha256", 0), "der"],
    [ecdsa(p256, "sha256", "der"), "der"],
    [ecdsa(p256, "sha256", "ieee-p1363"), "raw"],
    [ecdsa(p384.ours, "sha384", "der"), "der"],
    [ecdsa(p384.ours, "sha384", "ieee-p1363"), "raw"],
    [ecdsa(p521.ours, "sha512", "der"), "der"],
    [ecdsa(p521.ours, "sha512", "ieee-p1363"), "raw"],
    [ecdsa(p521.ours, "sha256", "der"), "der"],
  ];
  for (const [c, enc] of cases) {
    const pub = nodePub(c.k);
    const sig = ours(c.k, c.scheme, message, enc);
    expect(c.node(pub, sig)).toBe(true);
    expect(verifySignature(publicKeyOf(c.k), c.scheme, message, sig, enc)).toEqual({ ok: true });
  }
  // node → ours
  const nodePrivate = (k: PrivateKey) => (k === p384.ours ? p384.node : k === p521.ours ? p521.node : createPrivateKey(k === rsa3072 ? fixtureText("gw-rsa3072.key") : fixtureText("gw-rsa2048.key")));
  const sigPss = nodeSign("sha384", message, { key: nodePrivate(rsa3072), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 });
  expect(verifySignature(publicKeyOf(rsa3072), { kind: "rsa-pss", hash: "sha384", mgfHash: "sha384", saltLength: 20 }, message, sigPss)).toEqual({ ok: true });
  // A PSS verifier bound to salt 20 refuses the same signature under salt 48.
  expect(verifySignature(publicKeyOf(rsa3072), { kind: "rsa-pss", hash: "sha384", mgfHash: "sha384", saltLength: 48 }, message, sigPss).ok).toBe(false);
  const sig521 = nodeSign("sha512", message, { key: p521.node, dsaEncoding: "ieee-p1363" });
  expect(sig521.length).toBe(132);
  expect(verifySignature(publicKeyOf(p521.ours), { kind: "ecdsa", hash: "sha512" }, message, sig521, "raw")).toEqual({ ok: true });
  const edSig = nodeSign(null, message, ed.node);
  expect(verifySignature(publicKeyOf(ed.ours), { kind: "ed25519" }, message, edSig)).toEqual({ ok: true });
  expect(nodeVerify(null, message, ed.pub, ours(ed.ours, { kind: "ed25519" }))).toBe(true);
});

test("tampered signatures, wrong hashes, wrong keys and wrong lengths fail with a reason", () => {
  const schemes: [PrivateKey, SignatureScheme, "der" | "raw"][] = [
    [rsa2048, { kind: "rsa-pkcs1", hash: "sha256" }, "der"],
    [rsa2048, { kind: "rsa-pss", hash: "sha256", mgfHash: "sha256", saltLength: 32 }, "der"],
    [p256, { kind: "ecdsa", hash: "sha256" }, "der"],
    [p384.ours, { kind: "ecdsa", hash: "sha384" }, "raw"],
    [ed.ours, { kind: "ed25519" }, "der"],
  ];
  for (const [k, scheme, enc] of schemes) {
    const pub = publicKeyOf(k);
    const sig = ours(k, scheme, message, enc);
    for (const i of [0, 1, sig.length >> 1, sig.length - 1]) {
      const bad = sig.slice();
      bad[i]! ^= 0x01;
      const r = verifySignature(pub, scheme, message, bad, enc);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(10);
    }
    expect(verifySignature(pub, scheme, message, sig.subarray(0, sig.length - 1), enc).ok).toBe(false);
    expect(verifySignature(pub, scheme, message, concatBytes(sig, new Uint8Array(1)), enc).ok).toBe(false);
    expect(verifySignature(pub, scheme, message, new Uint8Array(0), enc).ok).toBe(false);
    if (scheme.kind !== "ed25519") {
      const other: HashName = scheme.hash === "sha256" ? "sha384" : "sha256";
      expect(verifySignature(pub, { ...scheme, hash: other } as SignatureScheme, message, sig, enc).ok).toBe(false);
    }
  }
  // a key of the wrong kind, or a different key
  const sig = ours(rsa2048, { kind: "rsa-pkcs1", hash: "sha256" });
  expect(verifySignature(publicKeyOf(p256), { kind: "rsa-pkcs1", hash: "sha256" }, message, sig)).toEqual({ ok: false, reason: "a EC key cannot make RSA PKCS#1 v1.5 with SHA256 signatures" });
  expect(verifySignature(publicKeyOf(rsa3072), { kind: "rsa-pkcs1", hash: "sha256" }, message, sig).ok).toBe(false);
  // s >= n
  const pub = publicKeyOf(rsa2048);
  if (pub.kind !== "rsa") throw new Error("rsa");
  expect(verifySignature(pub, { kind: "rsa-pkcs1", hash: "sha256" }, message, i2osp(pub.n, 256)!).ok).toBe(false);
  // ECDSA r or s of zero, or r = n
  const zero = new Uint8Array(64);
  expect(verifySignature(publicKeyOf(p256), { kind: "ecdsa", hash: "sha256" }, message, zero, "raw").ok).toBe(false);
});

test("PKCS#1 v1.5 verification compares the whole DigestInfo: variant encodings signed with the real key fail", () => {
  if (rsa2048.kind !== "rsa") throw new Error("rsa");
  const k = modulusOctets(rsa2048.n);
  const h = HASHES.sha256;
  const digest = h.digest(message);
  const rawSign = (t: Uint8Array, psLen = k - t.length - 3) =>
    i2osp(modPow(os2ip(concatBytes(Uint8Array.of(0, 1), new Uint8Array(psLen).fill(0xff), Uint8Array.of(0), t, new Uint8Array(k - 3 - psLen - t.length))), rsa2048.d, rsa2048.n), k)!;
  const pub = publicKeyOf(rsa2048);
  const scheme: SignatureScheme = { kind: "rsa-pkcs1", hash: "sha256" };
  const good = encSeq(encSeq(encOid(h.oid), encNull()), encOctets(digest));
  expect(verifySignature(pub, scheme, message, rawSign(good))).toEqual({ ok: true }); // the construction itself is right
  const variants = [
    encSeq(encSeq(encOid(h.oid)), encOctets(digest)), // parameters absent
    concatBytes(good, Uint8Array.of(0x00)), // garbage after the DigestInfo (shorter PS)
    encSeq(encSeq(encOid(HASHES.sha384.oid), encNull()), encOctets(digest)), // wrong hash OID
    concatBytes(fromHex("3032300d060960864801650304020105000421"), digest, Uint8Array.of(0)), // 33-octet "digest"
  ];
  expect(verifySignature(pub, scheme, message, rawSign(variants[0]!)).ok).toBe(false);
  expect(verifySignature(pub, scheme, message, rawSign(variants[1]!, k - good.length - 4)).ok).toBe(false);
  expect(verifySignature(pub, scheme, message, rawSign(variants[2]!)).ok).toBe(false);
  expect(verifySignature(pub, scheme, message, rawSign(variants[3]!)).ok).toBe(false);
  // The DigestInfo prefix is the one RFC 8017 §9.2 Note 1 lists for SHA-256.
  expect(toHex(good.subarray(0, 19))).toBe("3031300d060960864801650304020105000420");
});

test("signing refuses a key that does not fit the scheme", () => {
  expect(signMessage(p256, { kind: "rsa-pkcs1", hash: "sha256" }, message, random).ok).toBe(false);
  expect(signMessage(rsa2048, { kind: "ecdsa", hash: "sha256" }, message, random).ok).toBe(false);
  // PSS with SHA-512 and a 200-octet salt does not fit in a 2048-bit modulus (RFC 8017 §9.1.1 step 3).
  const r = signMessage(rsa2048, { kind: "rsa-pss", hash: "sha512", mgfHash: "sha512", saltLength: 200 }, message, random);
  expect(r.ok).toBe(false);
});
