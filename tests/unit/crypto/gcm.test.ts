// AES-GCM against the McGrew–Viega GCM specification test cases (Appendix B), including the tag
// truncations RFC 4106/RFC 5282 use (ICV of 8 and 12 octets are the leftmost octets of the tag).
import { expect, test } from "bun:test";
import { gcmOpen, gcmSeal, gcmTag } from "../../../core/crypto/gcm.ts";
import { concatBytes, fromHex, toHex } from "../../../core/util/bytes.ts";

const K1 = "feffe9928665731c6d6a8f9467308308";
const IV = "cafebabefacedbaddecaf888";
const AAD = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const P64 =
  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
const P60 = P64.slice(0, 120);

const CASES = [
  { tc: 2, key: "00".repeat(16), iv: "00".repeat(12), aad: "", pt: "00".repeat(16), ct: "0388dace60b6a392f328c2b971b2fe78", tag: "ab6e47d42cec13bdf53a67b21257bddf" },
  {
    tc: 3,
    key: K1,
    iv: IV,
    aad: "",
    pt: P64,
    ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
    tag: "4d5c2af327cd64a62cf35abd2ba6fab4",
  },
  {
    tc: 4,
    key: K1,
    iv: IV,
    aad: AAD,
    pt: P60,
    ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
    tag: "5bc94fbc3221a5db94fae95ae7121a47",
  },
  { tc: 14, key: "00".repeat(32), iv: "00".repeat(12), aad: "", pt: "00".repeat(16), ct: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919" },
  {
    tc: 15,
    key: K1 + K1,
    iv: IV,
    aad: "",
    pt: P64,
    ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
    tag: "b094dac5d93471bdec1a502270e3cc6c",
  },
  {
    tc: 16,
    key: K1 + K1,
    iv: IV,
    aad: AAD,
    pt: P60,
    ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    tag: "76fc6ece0f4e1768cddf8853bb2d551b",
  },
];

for (const c of CASES) {
  test(`GCM spec test case ${c.tc}: tag, seal and open with 16/12/8-octet ICVs`, () => {
    const [key, iv, aad, pt, ct, tag] = [c.key, c.iv, c.aad, c.pt, c.ct, c.tag].map(fromHex) as [
      Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array,
    ];
    expect(toHex(gcmTag(key, iv, aad, ct))).toBe(c.tag);
    for (const icv of [16, 12, 8]) {
      expect(toHex(gcmSeal(key, iv, aad, pt, icv))).toBe(c.ct + c.tag.slice(0, icv * 2));
      expect(toHex(gcmOpen(key, iv, aad, ct, tag.subarray(0, icv))!)).toBe(c.pt);
    }
  });
}

test("GCM open refuses a changed tag, ciphertext, AAD or nonce", () => {
  const c = CASES[2]!; // test case 4: has AAD
  const key = fromHex(c.key);
  const iv = fromHex(c.iv);
  const aad = fromHex(c.aad);
  const ct = fromHex(c.ct);
  const tag = fromHex(c.tag);
  const flip = (b: Uint8Array, i: number) => {
    const x = b.slice();
    x[i]! ^= 0x01;
    return x;
  };
  for (const icv of [16, 12, 8]) {
    const t = tag.subarray(0, icv);
    expect(gcmOpen(key, iv, aad, ct, flip(t, icv - 1))).toBeUndefined();
    expect(gcmOpen(key, iv, aad, ct, flip(t, 0))).toBeUndefined();
    expect(gcmOpen(key, iv, aad, flip(ct, 0), t)).toBeUndefined();
    expect(gcmOpen(key, iv, aad, flip(ct, ct.length - 1), t)).toBeUndefined();
    expect(gcmOpen(key, iv, flip(aad, 5), ct, t)).toBeUndefined();
    expect(gcmOpen(key, flip(iv, 11), aad, ct, t)).toBeUndefined();
    expect(gcmOpen(key, iv, concatBytes(aad, Uint8Array.of(0)), ct, t)).toBeUndefined();
  }
  // Only the IPsec tag lengths: a short (or empty) prefix of the right tag is not accepted.
  for (const n of [0, 1, 4, 7, 15]) expect(gcmOpen(key, iv, aad, ct, tag.subarray(0, n))).toBeUndefined();
  expect(() => gcmSeal(key, iv, aad, ct, 4)).toThrow(RangeError);
});
