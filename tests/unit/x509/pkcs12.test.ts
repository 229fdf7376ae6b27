// PKCS#12 (RFC 7292): the App. B.2 KDF against published vectors, then files that `openssl pkcs12 -export`
// (OpenSSL 3) writes at test time from the x509 fixtures — default (PBES2 AES-256-CBC, SHA-256 MAC),
// -legacy (RC2-40 certificates, 3DES key, SHA-1 MAC), -keypbe/-certpbe/-macalg variants, no encryption, RSA
// and ECDSA keys, intermediates — and encrypted PKCS#8 PEM keys (`openssl pkcs8 -topk8`). Wrong passwords,
// truncations and mutations give typed failures, never exceptions.
import { afterAll, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromHex, toHex } from "../../../core/util/bytes.ts";
import { decodePem } from "../../../core/x509/pem.ts";
import { keyFileIsEncrypted, readKeyFile } from "../../../core/x509/keyfile.ts";
import { publicKeyOf, samePublicKey } from "../../../core/x509/keys.ts";
import { decryptPrivateKeyInfo, PBE_HASHES, passwordOf, pkcs12Kdf } from "../../../core/x509/pbe.ts";
import { readPkcs12, type Pkcs12Result } from "../../../core/x509/pkcs12.ts";
import { definiteLengths } from "../../../core/x509/ber.ts";
import { encTlv, readOne } from "../../../core/x509/der.ts";
import { certDer, FIXTURES, fixtureText, seededRandom } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "roam-p12-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fx = (n: string) => join(FIXTURES, n);

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** `openssl pkcs12 -export` of a fixture key and certificate (+ more certificates) into a new file. */
function exportP12(name: string, key: string, cert: string, password: string, extra: string[] = [], more: string[] = []): Uint8Array {
  const out = join(dir, `${name}.p12`);
  const certfile = more.length ? ["-certfile", join(dir, `${name}-chain.pem`)] : [];
  if (more.length) execFileSync("sh", ["-c", `cat ${more.map((m) => fx(m)).join(" ")} > ${join(dir, `${name}-chain.pem`)}`]);
  openssl(["pkcs12", "-export", "-inkey", fx(key), "-in", fx(cert), ...certfile, "-passout", `pass:${password}`, "-out", out, ...extra]);
  return new Uint8Array(readFileSync(out));
}

function ok(r: Pkcs12Result) {
  if (!r.ok) throw new Error(`${r.error.kind}: ${r.error.reason}`);
  return r.value;
}

const pkcs8Of = (keyFile: string) => {
  const b = decodePem(fixtureText(keyFile));
  if (!b.ok) throw new Error(b.error);
  return toHex(b.value[0]!.der);
};

test("RFC 7292 App. B.2 KDF: the published SHA-1 vectors (passwords \"smeg\" and \"queeg\", IDs 1, 2, 3)", () => {
  const h = PBE_HASHES.sha1;
  const kdf = (pw: string, salt: string, id: number, iter: number, n: number) => toHex(pkcs12Kdf(h, id, passwordOf(pw).bmp, fromHex(salt), iter, n)).toUpperCase();
  expect(kdf("smeg", "0A58CF64530D823F", 1, 1, 24)).toBe("8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3");
  expect(kdf("smeg", "0A58CF64530D823F", 2, 1, 8)).toBe("79993DFE048D3B76");
  expect(kdf("queeg", "1682C0FC5B3F7EC5", 1, 1000, 24)).toBe("483DD6E919D7DE2E8E648BA8F862F3FBFBDC2BCB2C02957F");
  expect(kdf("queeg", "1682C0FC5B3F7EC5", 2, 1000, 8)).toBe("9D461D1B00355C50");
  expect(kdf("smeg", "3D83C0E4546AC140", 3, 1, 20)).toBe("8D967D88F6CAA9D714800AB3D48051D63F73A312");
});

test("App. B.1: the password is a BMPString with two zero octets; the empty password is just those", () => {
  expect(toHex(passwordOf("ab").bmp)).toBe("006100620000");
  expect(toHex(passwordOf("").bmp)).toBe("0000");
  expect(toHex(passwordOf("ä€").bmp)).toBe("00e420ac0000");
  expect(toHex(passwordOf("ä").utf8)).toBe("c3a4");
});

const variants: [string, string[], RegExp][] = [
  ["default (OpenSSL 3: PBES2 AES-256-CBC, PBKDF2 HMAC-SHA-256, SHA-256 MAC)", [], /^MAC SHA-256, PBES2$/],
  ["-legacy (RC2-40 certificates, 3-key 3DES key, SHA-1 MAC)", ["-legacy"], /^MAC SHA-1, pbewithSHAAnd40BitRC2-CBC, pbeWithSHAAnd3-KeyTripleDES-CBC$/],
  ["-legacy -keypbe PBE-SHA1-2DES -certpbe PBE-SHA1-RC2-128", ["-legacy", "-keypbe", "PBE-SHA1-2DES", "-certpbe", "PBE-SHA1-RC2-128"], /2-KeyTripleDES/],
  ["-legacy -certpbe PBE-SHA1-3DES (what macOS Keychain writes)", ["-legacy", "-certpbe", "PBE-SHA1-3DES"], /^MAC SHA-1, pbeWithSHAAnd3-KeyTripleDES-CBC$/],
  ["-keypbe AES-128-CBC -certpbe DES-EDE3-CBC -macalg sha512", ["-keypbe", "AES-128-CBC", "-certpbe", "DES-EDE3-CBC", "-macalg", "sha512"], /^MAC SHA-512, PBES2$/],
  ["-keypbe AES-192-CBC -macalg sha384 -iter 1", ["-keypbe", "AES-192-CBC", "-macalg", "sha384", "-iter", "1"], /^MAC SHA-384, PBES2$/],
  ["-keypbe NONE -certpbe NONE (a keyBag and plain certificates)", ["-keypbe", "NONE", "-certpbe", "NONE"], /^MAC SHA-256, no encryption$/],
  ["-nomac (no integrity check)", ["-nomac"], /^no MAC, PBES2$/],
];

for (const [name, args, integrity] of variants) {
  test(`openssl pkcs12 -export ${name}: RSA key, its certificate, and nothing else`, () => {
    const v = ok(readPkcs12(exportP12(`rsa${args.join("")}`, "gw-rsa2048.key", "gw-rsa2048.crt", "s3cret", args), "s3cret"));
    expect(toHex(v.privateKey)).toBe(pkcs8Of("gw-rsa2048.key"));
    expect(v.certificate).toEqual(certDer("gw-rsa2048"));
    expect(v.intermediates).toEqual([]);
    expect(v.integrity).toMatch(integrity);
  });
}

test("ECDSA key with its chain: the intermediate is kept, the self-signed root left out", () => {
  const v = ok(readPkcs12(exportP12("ec-chain", "gw-p256.key", "gw-p256.crt", "pw", [], ["inter-p384.crt", "root-rsa.crt"]), "pw"));
  expect(toHex(v.privateKey)).toBe(pkcs8Of("gw-p256.key"));
  expect(v.certificate).toEqual(certDer("gw-p256"));
  expect(v.intermediates).toEqual([certDer("inter-p384")]);
});

test("the certificate is picked by its public key, whatever the order of the file (-certfile before the leaf)", () => {
  const chain = join(dir, "leaf-last.pem");
  execFileSync("sh", ["-c", `cat ${fx("inter-p384.crt")} ${fx("gw-p256.crt")} > ${chain}`]);
  const out = join(dir, "leaf-last.p12");
  openssl(["pkcs12", "-export", "-inkey", fx("gw-p256.key"), "-in", chain, "-passout", "pass:pw", "-out", out]);
  const v = ok(readPkcs12(new Uint8Array(readFileSync(out)), "pw"));
  expect(v.certificate).toEqual(certDer("gw-p256"));
  expect(v.intermediates).toEqual([certDer("inter-p384")]);
});

test("UTF-8 passwords: BMPString for the MAC and 3DES, UTF-8 for PBES2", () => {
  for (const args of [[], ["-legacy"]]) {
    const der = exportP12(`utf${args.join("")}`, "gw-p256.key", "gw-p256.crt", "pässwörd€", args);
    expect(ok(readPkcs12(der, "pässwörd€")).certificate).toEqual(certDer("gw-p256"));
    expect(readPkcs12(der, "passwort")).toEqual({ ok: false, error: { kind: "password", reason: "wrong password or corrupted file (MAC mismatch)" } });
  }
});

test("a non-ASCII password of a file from OpenSSL < 1.1 (BMPString made octet by octet from UTF-8) opens too", () => {
  // OpenSSL 3 given "pÃ¤" (the UTF-8 octets of "pä" read as Latin-1) writes exactly what OpenSSL 1.0 wrote for "pä".
  const old = exportP12("old-utf8", "gw-p256.key", "gw-p256.crt", "pÃ¤", ["-legacy"]);
  expect(ok(readPkcs12(old, "pä")).certificate).toEqual(certDer("gw-p256"));
  expect(readPkcs12(old, "pa").ok).toBe(false);
});

test("an empty password (openssl -passout pass:) opens with \"\"", () => {
  const der = exportP12("empty", "gw-p256.key", "gw-p256.crt", "");
  expect(ok(readPkcs12(der, "")).certificate).toEqual(certDer("gw-p256"));
  expect(readPkcs12(der, "x").ok).toBe(false);
});

test("a wrong password without a MAC is found by the padding of the decrypted bags", () => {
  const der = exportP12("nomac-wrong", "gw-p256.key", "gw-p256.crt", "right", ["-nomac"]);
  const r = readPkcs12(der, "wrong");
  // Bad padding, or (about once in 256) padding that checks by chance and contents that then do not decode.
  expect(r).toMatchObject({ ok: false, error: { kind: "password" } });
});

test("a file with only a certificate, or only a key, is a content failure naming what is missing", () => {
  const out = join(dir, "certonly.p12");
  openssl(["pkcs12", "-export", "-nokeys", "-in", fx("gw-p256.crt"), "-passout", "pass:pw", "-out", out]);
  expect(readPkcs12(new Uint8Array(readFileSync(out)), "pw")).toEqual({ ok: false, error: { kind: "content", reason: "the file holds no private key" } });
  const keyOnly = join(dir, "keyonly.p12");
  openssl(["pkcs12", "-export", "-nocerts", "-inkey", fx("gw-p256.key"), "-passout", "pass:pw", "-out", keyOnly]);
  expect(readPkcs12(new Uint8Array(readFileSync(keyOnly)), "pw")).toEqual({ ok: false, error: { kind: "content", reason: "the file holds no certificate" } });
});

test("not PKCS#12, truncated files, and every single-byte truncation give a typed failure", () => {
  const der = exportP12("trunc", "gw-p256.key", "gw-p256.crt", "pw");
  expect(readPkcs12(certDer("gw-p256"), "pw")).toMatchObject({ ok: false, error: { kind: "format" } });
  expect(readPkcs12(new Uint8Array(0), "pw")).toMatchObject({ ok: false, error: { kind: "format" } });
  for (let n = 0; n < der.length; n += 7) {
    const r = readPkcs12(der.subarray(0, n), "pw");
    expect(r.ok).toBe(false);
  }
});

test("mutated files (bit flips, boundary bytes) never throw and never yield another key", () => {
  const rnd = seededRandom(7292);
  const der = exportP12("fuzz", "gw-p256.key", "gw-p256.crt", "pw", ["-legacy", "-iter", "1", "-maciter"]);
  const want = pkcs8Of("gw-p256.key");
  let failures = 0;
  for (let i = 0; i < 400; i++) {
    const b = der.slice();
    const r4 = rnd.bytes(4);
    const at = ((r4[0]! << 8) | r4[1]!) % b.length;
    b[at] = r4[2]! & 1 ? b[at]! ^ (1 << (r4[3]! & 7)) : [0x00, 0x80, 0x81, 0xff][r4[3]! & 3]!;
    const r = readPkcs12(b, "pw");
    if (r.ok) expect(toHex(r.value.privateKey)).toBe(want);
    else failures++;
  }
  expect(failures).toBeGreaterThan(300);
});

test("unsupported modes are refused by name: RC4 bags, and a PBMAC1 MAC (RFC 9579)", () => {
  // OpenSSL 3.0 cannot write PBMAC1: the MAC's id-sha256 (9 octets) is replaced by id-PBMAC1 (9 octets).
  const p12 = exportP12("pbmac1", "gw-p256.key", "gw-p256.crt", "pw");
  const hex = toHex(p12);
  const sha256Oid = "0609608648016503040201";
  expect(hex.indexOf(sha256Oid)).toBe(hex.lastIndexOf(sha256Oid));
  const pbmac1 = fromHex(hex.replace(sha256Oid, "06092a864886f70d01050e"));
  expect(readPkcs12(pbmac1, "pw")).toEqual({ ok: false, error: { kind: "unsupported", reason: "PBMAC1 integrity (RFC 9579) is not supported" } });
  const der = exportP12("rc4", "gw-p256.key", "gw-p256.crt", "pw", ["-legacy", "-keypbe", "PBE-SHA1-RC4-128", "-certpbe", "PBE-SHA1-RC4-128"]);
  expect(readPkcs12(der, "pw")).toMatchObject({ ok: false, error: { kind: "unsupported", reason: expect.stringContaining("RC4") } });
});

test("encrypted PKCS#8 PEM keys (openssl pkcs8 -topk8): PBES2 variants and a PKCS#12 scheme; wrong passphrase; legacy PEM refused", () => {
  const cases: string[][] = [[], ["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"], ["-v2", "des3"], ["-v1", "PBE-SHA1-3DES"], ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1", "-iter", "1"]];
  for (const [i, args] of cases.entries()) {
    const out = join(dir, `enc${i}.key`);
    openssl(["pkcs8", "-topk8", "-in", fx("gw-rsa2048.key"), "-passout", "pass:kpw", "-out", out, ...args]);
    const text = readFileSync(out, "utf8");
    expect(keyFileIsEncrypted(text)).toBe(true);
    const r = readKeyFile(text, "kpw");
    if (!r.ok) throw new Error(`${args.join(" ")}: ${r.error}`);
    expect(toHex(r.pkcs8)).toBe(pkcs8Of("gw-rsa2048.key"));
    expect(readKeyFile(text, "nope")).toMatchObject({ ok: false, kind: "password" });
    expect(readKeyFile(text)).toMatchObject({ ok: false, kind: "password", error: "the private key is encrypted and no passphrase was given" });
  }
  const legacy = join(dir, "legacy.key");
  openssl(["rsa", "-in", fx("gw-rsa2048.key"), "-aes256", "-traditional", "-passout", "pass:kpw", "-out", legacy]);
  expect(readKeyFile(readFileSync(legacy, "utf8"), "kpw")).toMatchObject({ ok: false, kind: "unsupported", error: expect.stringContaining("openssl pkcs8 -topk8") });
  expect(keyFileIsEncrypted(fixtureText("gw-p256.key"))).toBe(false);
  // SEC1 is wrapped as it is (its [0] curve parameters kept): the same key, not openssl's exact bytes.
  const sec1 = readKeyFile(fixtureText("gw-p256.sec1.key"));
  const plain = readKeyFile(fixtureText("gw-p256.key"));
  if (!sec1.ok || !plain.ok) throw new Error("fixture keys do not read");
  expect(samePublicKey(publicKeyOf(sec1.key), publicKeyOf(plain.key))).toBe(true);
  expect(toHex(plain.pkcs8)).toBe(pkcs8Of("gw-p256.key"));
});

// ---- BER: what some exporters write (indefinite lengths, OCTET STRINGs in segments) ----

/**
 * X.690 §8.1.3.6 re-encoding of a DER element: constructed elements get indefinite lengths. `deep`: the
 * structures inside data OCTET STRINGs too (that changes the octets the MAC covers: only for -nomac files).
 */
function berElement(der: Uint8Array, deep: boolean): Uint8Array {
  const t = readOne(der, "test");
  if (!(t.tag & 0x20)) return t.raw;
  const kids: Uint8Array[] = [];
  for (let p = 0; p < t.value.length; ) {
    const c = readOne(t.value.subarray(p, p + tlvLength(t.value, p)), "child");
    kids.push(c.raw);
    p += c.raw.length;
  }
  // ContentInfo { data, [0] { OCTET STRING } }: its contents (a structure in an OCTET STRING) become BER too,
  // sent as a constructed OCTET STRING of 64-octet segments (X.690 §8.7.3).
  const isData = kids.length === 2 && toHex(kids[0]!) === "06092a864886f70d010701" && kids[1]![0] === 0xa0;
  const out: Uint8Array[] = kids.map((k, i) => {
    if (!(isData && i === 1)) return berElement(k, deep);
    const octets = readOne(readOne(k, "[0]").value, "OCTET STRING").value;
    const inner = deep ? berElement(octets, deep) : octets;
    const segs: Uint8Array[] = [];
    for (let o = 0; o < inner.length; o += 64) segs.push(encTlv(0x04, inner.subarray(o, o + 64)));
    return new Uint8Array([0xa0, 0x80, 0x24, 0x80, ...segs.flatMap((s) => [...s]), 0, 0, 0, 0]);
  });
  return new Uint8Array([t.tag, 0x80, ...out.flatMap((o) => [...o]), 0, 0]);
}
function tlvLength(b: Uint8Array, p: number): number {
  const l = b[p + 1]!;
  if (!(l & 0x80)) return 2 + l;
  let n = 0;
  for (let i = 0; i < (l & 0x7f); i++) n = n * 256 + b[p + 2 + i]!;
  return 2 + (l & 0x7f) + n;
}

test("BER with indefinite lengths and segmented OCTET STRINGs reads like the DER it came from", () => {
  for (const args of [[], ["-legacy"], ["-nomac"], ["-nomac", "-keypbe", "NONE", "-certpbe", "NONE"]]) {
    const der = exportP12(`ber${args.join("")}`, "gw-p256.key", "gw-p256.crt", "pw", args, ["inter-p384.crt"]);
    const ber = berElement(der, args.includes("-nomac"));
    expect(ber.length).toBeGreaterThan(der.length);
    expect(toHex(ber)).toContain("2480"); // a constructed OCTET STRING with an indefinite length is in there
    const a = ok(readPkcs12(der, "pw"));
    const b = ok(readPkcs12(ber, "pw"));
    expect(toHex(b.privateKey)).toBe(toHex(a.privateKey));
    expect(b.certificate).toEqual(certDer("gw-p256"));
    expect(b.intermediates).toEqual([certDer("inter-p384")]);
    // A file with neither MAC nor encryption has no password to be wrong.
    if (args.includes("NONE")) expect(readPkcs12(ber, "wrong").ok).toBe(true);
    else expect(readPkcs12(ber, "wrong")).toMatchObject({ ok: false, error: { kind: "password" } });
    expect(readPkcs12(ber.subarray(0, ber.length - 2), "pw")).toMatchObject({ ok: false, error: { kind: "format" } });
  }
});

test("definiteLengths: DER comes back byte for byte; malformed BER is a typed failure", () => {
  const der = exportP12("ber-id", "gw-rsa2048.key", "gw-rsa2048.crt", "pw");
  const r = definiteLengths(der);
  expect(r.ok && toHex(r.value)).toBe(toHex(der));
  expect(definiteLengths(fromHex("3080020101"))).toMatchObject({ ok: false });
  expect(definiteLengths(fromHex("0480"))).toMatchObject({ ok: false });
  expect(definiteLengths(fromHex("2480020100 0000".replace(/ /g, "")))).toMatchObject({ ok: false, error: { reason: "a segment of a constructed OCTET STRING is not an OCTET STRING" } });
  expect(definiteLengths(fromHex("30800000"))).toEqual({ ok: true, value: fromHex("3000") });
  let deep = fromHex("0500");
  for (let i = 0; i < 40; i++) deep = new Uint8Array([0x30, 0x80, ...deep, 0, 0]);
  expect(definiteLengths(deep)).toMatchObject({ ok: false, error: { reason: "nested too deeply" } });
});

test("mutated encrypted PKCS#8 keys and random BER never throw", () => {
  const out = join(dir, "fuzz-enc.key");
  openssl(["pkcs8", "-topk8", "-in", fx("gw-p256.key"), "-passout", "pass:k", "-out", out, "-iter", "1"]);
  const b = decodePem(readFileSync(out, "utf8"));
  if (!b.ok) throw new Error(b.error);
  const der = b.value[0]!.der;
  const rnd = seededRandom(5958);
  const pw = passwordOf("k");
  let opened = 0;
  for (let i = 0; i < 300; i++) {
    const m = der.slice();
    const r4 = rnd.bytes(4);
    m[((r4[0]! << 8) | r4[1]!) % m.length] = r4[2]!;
    const r = decryptPrivateKeyInfo(r4[3]! & 1 ? m : m.subarray(0, r4[3]! % m.length), pw);
    if (r.ok) opened++;
    expect(typeof r.ok).toBe("boolean");
    expect(definiteLengths(rnd.bytes(1 + (r4[3]! % 40))).ok).toBeOneOf([true, false]);
  }
  expect(opened).toBeLessThan(300);
});
