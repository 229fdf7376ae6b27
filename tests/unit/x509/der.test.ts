// DER reader and writer (X.690), base64 (RFC 4648) and PEM (RFC 7468).
import { expect, test } from "bun:test";
import { fromHex, toHex, utf8 } from "../../../core/util/bytes.ts";
import {
  DerReader,
  Tag,
  bigintOf,
  bitStringOf,
  decode,
  encOid,
  encSet,
  encTlv,
  encUint,
  oidOf,
  readOne,
  stringOf,
  timeOf,
} from "../../../core/x509/der.ts";
import { decodeBase64, decodePem, decodePemCertificates } from "../../../core/x509/pem.ts";
import { certDer, fixtureText } from "./helpers.ts";

const one = (hex: string) => readOne(fromHex(hex), "test");

test("OBJECT IDENTIFIER: X.690 §8.19.5 example 2.999.3 and common OIDs both ways", () => {
  const cases: [string, string][] = [
    ["0603883703", "2.999.3"], // X.690 §8.19.5
    ["06092a864886f70d01010b", "1.2.840.113549.1.1.11"], // sha256WithRSAEncryption
    ["06082a8648ce3d030107", "1.2.840.10045.3.1.7"], // secp256r1
    ["06052b81040022", "1.3.132.0.34"], // secp384r1
    ["0603551d13", "2.5.29.19"], // basicConstraints
  ];
  for (const [hex, dotted] of cases) {
    expect(decode(() => oidOf(one(hex)))).toEqual({ ok: true, value: dotted });
    expect(toHex(encOid(dotted))).toBe(hex);
  }
  // A subidentifier starting with 0x80 is not minimal (§8.19.2), a truncated arc is malformed.
  expect(decode(() => oidOf(one("0603808001"))).ok).toBe(false);
  expect(decode(() => oidOf(one("06022a86"))).ok).toBe(false);
  expect(decode(() => oidOf(one("0600"))).ok).toBe(false);
});

test("INTEGER: two's complement, minimal encoding (X.690 §8.3)", () => {
  const cases: [string, bigint][] = [
    ["020100", 0n],
    ["02017f", 127n],
    ["02020080", 128n],
    ["020180", -128n],
    ["0202ff7f", -129n],
  ];
  for (const [hex, n] of cases) {
    expect(decode(() => bigintOf(one(hex)))).toEqual({ ok: true, value: n });
    if (n >= 0n) expect(toHex(encUint(n))).toBe(hex);
  }
  expect(toHex(encUint(2n ** 64n))).toBe("0209010000000000000000");
  expect(decode(() => bigintOf(one("0202007f"))).ok).toBe(false); // leading 0x00 before a positive octet
  expect(decode(() => bigintOf(one("0202ff80"))).ok).toBe(false); // leading 0xff before a negative octet
  expect(decode(() => bigintOf(one("0200"))).ok).toBe(false);
});

test("lengths: short, long, indefinite (refused), too long, past the end", () => {
  const long = new Uint8Array(3 + 200);
  long.set([0x04, 0x81, 200]);
  expect(readOne(long, "x").value.length).toBe(200);
  const bad: [string, RegExp][] = [
    ["3080000000", /indefinite/],
    ["0485000000000100", /too large/],
    ["040501", /runs past the end/],
    ["04", /no length/],
    ["0482", /truncated length/],
    ["1f0100", /high-numbered tag/],
    ["0401000000", /trailing/],
  ];
  for (const [hex, re] of bad) {
    const r = decode(() => readOne(fromHex(hex), "x"));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.reason).toMatch(re);
  }
});

test("failures carry the absolute offset of the bad element", () => {
  // SEQUENCE { INTEGER 1, SEQUENCE { OID 2a 86 86: the arc's last octet (offset 11) still says "more" } }
  const der = fromHex("300a020101300506032a8686");
  const r = decode(() => {
    const s = DerReader.of(readOne(der, "outer"));
    s.expect(Tag.INTEGER, "n");
    const inner = s.enter(Tag.SEQUENCE, "inner");
    return oidOf(inner.expect(Tag.OID, "oid"));
  });
  expect(r).toEqual({ ok: false, error: { offset: 11, reason: "truncated OBJECT IDENTIFIER arc" } });
  const wrongTag = decode(() => DerReader.of(readOne(der, "outer")).expect(Tag.OID, "first"));
  expect(wrongTag).toEqual({ ok: false, error: { offset: 2, reason: "first: expected OBJECT IDENTIFIER, found INTEGER" } });
});

test("UTCTime and GeneralizedTime (RFC 5280 §4.1.2.5)", () => {
  const t = (tag: number, s: string) => decode(() => timeOf(encodeTime(tag, s)));
  const encodeTime = (tag: number, s: string) => readOne(encTlv(tag, utf8(s)), "time");
  expect(t(Tag.UTCTime, "491231235959Z")).toEqual({ ok: true, value: Date.UTC(2049, 11, 31, 23, 59, 59) });
  expect(t(Tag.UTCTime, "500101000000Z")).toEqual({ ok: true, value: Date.UTC(1950, 0, 1) }); // YY >= 50 is 19YY
  expect(t(Tag.GeneralizedTime, "20500101000000Z")).toEqual({ ok: true, value: Date.UTC(2050, 0, 1) });
  const y50 = t(Tag.GeneralizedTime, "00500101000000Z"); // year 50, not 1950
  expect(y50.ok && new Date(y50.value).toISOString()).toBe("0050-01-01T00:00:00.000Z");
  expect(t(Tag.GeneralizedTime, "20240229120000Z")).toEqual({ ok: true, value: Date.UTC(2024, 1, 29, 12) });
  expect(t(Tag.GeneralizedTime, "20230229120000Z").ok).toBe(false);
  for (const [tag, s] of [
    [Tag.UTCTime, "4912312359Z"], // no seconds
    [Tag.UTCTime, "491231235959+0100"],
    [Tag.UTCTime, "491331235959Z"], // month 13
    [Tag.UTCTime, "490230000000Z"], // 30 February
    [Tag.GeneralizedTime, "20500101000000.5Z"],
    [Tag.GeneralizedTime, "2050010100000aZ"],
  ] as const) {
    expect(t(tag, s).ok).toBe(false);
  }
});

test("BIT STRING unused bits and directory strings", () => {
  expect(decode(() => bitStringOf(one("03020780")))).toEqual({ ok: true, value: { bytes: fromHex("80"), unusedBits: 7 } });
  expect(decode(() => bitStringOf(one("03020880"))).ok).toBe(false);
  expect(decode(() => bitStringOf(one("030101"))).ok).toBe(false);
  expect(decode(() => stringOf(one("0c04c3a46f78")))).toEqual({ ok: true, value: "äox" });
  expect(decode(() => stringOf(one("1e0400e4006f")))).toEqual({ ok: true, value: "äo" }); // BMPString
  expect(decode(() => stringOf(one("1e0300e400"))).ok).toBe(false);
  expect(decode(() => stringOf(one("020101"))).ok).toBe(false);
});

test("DER SET OF sorts its elements (X.690 §11.6)", () => {
  expect(toHex(encSet(fromHex("0c0162"), fromHex("0c0161"), fromHex("020101")))).toBe("3109020101" + "0c0161" + "0c0162");
});

test("base64: RFC 4648 §10 test vectors, whitespace, and malformed input", () => {
  const vectors: [string, string][] = [["", ""], ["f", "Zg=="], ["fo", "Zm8="], ["foo", "Zm9v"], ["foob", "Zm9vYg=="], ["fooba", "Zm9vYmE="], ["foobar", "Zm9vYmFy"]];
  for (const [plain, b64] of vectors) expect(decodeBase64(b64)).toEqual(utf8(plain));
  expect(decodeBase64("Zm9v\r\nYmFy\n")).toEqual(utf8("foobar"));
  for (const bad of ["Zm9vY", "Zm9=v", "Zm9v*", "Zg===", "Z==="]) expect(decodeBase64(bad)).toBeNull();
});

test("PEM: certificates in a bundle, labels checked, DER passes through, garbage is a typed failure", () => {
  const bundle = `junk before\n${fixtureText("root-rsa.crt")}text between\n${fixtureText("inter-p384.crt")}`;
  const r = decodePemCertificates(utf8(bundle));
  expect(r.ok && r.value.length).toBe(2);
  if (r.ok) expect(r.value[0]).toEqual(certDer("root-rsa"));
  expect(decodePemCertificates(certDer("gw-p256"))).toEqual({ ok: true, value: [certDer("gw-p256")] });
  expect(decodePemCertificates(utf8("no certificate here"))).toEqual({ ok: true, value: [] });
  const bad = decodePemCertificates(utf8("-----BEGIN CERTIFICATE-----\nMI$$\n-----END CERTIFICATE-----\n"));
  expect(bad.ok).toBe(false);
  const mismatch = decodePem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n");
  expect(mismatch.ok).toBe(false);
  const keys = decodePem(fixtureText("gw-rsa2048.pkcs1.key"));
  expect(keys.ok && keys.value[0]!.label).toBe("RSA PRIVATE KEY");
});
