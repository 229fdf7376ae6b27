// The 8-octet block ciphers of legacy PKCS#12: Triple DES (NIST SP 800-67) and RC2 (RFC 2268) against their
// published vectors, then CBC deciphering against node:crypto (BoringSSL under Bun) on random inputs.
import { expect, test } from "bun:test";
import { createCipheriv, randomBytes } from "node:crypto";
import { cbcDecrypt } from "../../../core/x509/cbc.ts";
import { rc2CbcDecrypt, rc2DecryptBlock, rc2EncryptBlock, rc2ExpandKey } from "../../../core/x509/rc2.ts";
import { tdesCbcDecrypt, tdesDecryptBlock, tdesEncryptBlock } from "../../../core/x509/tdes.ts";
import { fromHex, toHex } from "../../../core/util/bytes.ts";

test("SP 800-67 Rev. 1 App. B example: TDEA ECB of 'The qufck brown fox jump' under three keys", () => {
  const key = fromHex("0123456789ABCDEF 23456789ABCDEF01 456789ABCDEF0123".replace(/ /g, ""));
  const pt = new TextEncoder().encode("The qufck brown fox jump");
  const ct = [0, 8, 16].map((o) => toHex(tdesEncryptBlock(key, pt.subarray(o, o + 8)))).join("").toUpperCase();
  expect(ct).toBe("A826FD8CE53B855FCCE21C8112256FE668D5C05DD9B6B900");
  for (const o of [0, 8, 16]) expect(tdesDecryptBlock(key, fromHex(ct.slice(o * 2, o * 2 + 16)))).toEqual(pt.subarray(o, o + 8));
});

test("TDEA with K1 = K2 = K3 is single DES (FIPS 46 worked example), two-key TDEA has K3 = K1", () => {
  const k = fromHex("133457799BBCDFF1");
  expect(toHex(tdesEncryptBlock(new Uint8Array([...k, ...k, ...k]), fromHex("0123456789ABCDEF"))).toUpperCase()).toBe("85E813540F0AB405");
  expect(toHex(tdesEncryptBlock(k, fromHex("0123456789ABCDEF"))).toUpperCase()).toBe("85E813540F0AB405");
  const k12 = fromHex("0123456789ABCDEF23456789ABCDEF01");
  const block = fromHex("5468652071756663");
  expect(tdesEncryptBlock(k12, block)).toEqual(tdesEncryptBlock(new Uint8Array([...k12, ...k12.subarray(0, 8)]), block));
});

test("RFC 2268 §5 test vectors (effective key bits 63 to 129), and deciphering undoes them", () => {
  const vectors: [string, number, string, string][] = [
    ["0000000000000000", 63, "0000000000000000", "ebb773f993278eff"],
    ["ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"],
    ["3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"],
    ["88", 64, "0000000000000000", "61a8a244adacccf0"],
    ["88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"],
    ["88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"],
    ["88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"],
    ["88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e", 129, "0000000000000000", "5b78d3a43dfff1f1"],
  ];
  for (const [key, bits, pt, ct] of vectors) {
    const k = rc2ExpandKey(fromHex(key), bits);
    expect(toHex(rc2EncryptBlock(k, fromHex(pt)))).toBe(ct);
    expect(toHex(rc2DecryptBlock(k, fromHex(ct)))).toBe(pt);
  }
});

function nodeEncrypt(alg: string, key: Uint8Array, iv: Uint8Array, pt: Uint8Array): Uint8Array {
  const c = createCipheriv(alg, key, iv);
  return new Uint8Array(Buffer.concat([c.update(pt), c.final()]));
}

test("CBC deciphering agrees with node:crypto des-ede3-cbc, des-ede-cbc, rc2-cbc and rc2-40-cbc", () => {
  for (let n = 0; n < 40; n++) {
    const pt = new Uint8Array(randomBytes(n * 3));
    const iv = new Uint8Array(randomBytes(8));
    const k24 = new Uint8Array(randomBytes(24));
    expect(tdesCbcDecrypt(k24, iv, nodeEncrypt("des-ede3-cbc", k24, iv, pt))).toEqual(pt);
    expect(tdesCbcDecrypt(k24.subarray(0, 16), iv, nodeEncrypt("des-ede-cbc", k24.subarray(0, 16), iv, pt))).toEqual(pt);
    expect(rc2CbcDecrypt(k24.subarray(0, 16), 128, iv, nodeEncrypt("rc2-cbc", k24.subarray(0, 16), iv, pt))).toEqual(pt);
    expect(rc2CbcDecrypt(k24.subarray(0, 5), 40, iv, nodeEncrypt("rc2-40-cbc", k24.subarray(0, 5), iv, pt))).toEqual(pt);
  }
});

test("CBC: bad padding, partial blocks and a wrong IV length are null, never an exception", () => {
  const key = new Uint8Array(24).fill(7);
  const iv = new Uint8Array(8);
  const ct = nodeEncrypt("des-ede3-cbc", key, iv, new TextEncoder().encode("sixteen octets!!"));
  expect(tdesCbcDecrypt(key, iv, ct.subarray(0, 20))).toBeNull();
  expect(tdesCbcDecrypt(key, iv, new Uint8Array(0))).toBeNull();
  expect(tdesCbcDecrypt(key, new Uint8Array(7), ct)).toBeNull();
  const wrongKey = key.slice();
  wrongKey[0] = 0x80;
  // Padding that checks by chance is possible (about 1 in 256); this key and text were checked not to.
  expect(tdesCbcDecrypt(wrongKey, iv, ct)).toBeNull();
  // The identity "cipher" shows the padding rule itself: 1..8 octets, each the count.
  const ident = (src: Uint8Array, dst: Uint8Array) => dst.set(src);
  expect(cbcDecrypt(ident, 8, iv, fromHex("4142434445030303"))).toEqual(fromHex("4142434445"));
  expect(cbcDecrypt(ident, 8, iv, fromHex("4142434445020303"))).toBeNull();
  expect(cbcDecrypt(ident, 8, iv, fromHex("4142434445464700"))).toBeNull();
  expect(cbcDecrypt(ident, 8, iv, fromHex("4142434445464709"))).toBeNull();
  expect(cbcDecrypt(ident, 8, iv, fromHex("0808080808080808"))).toEqual(new Uint8Array(0));
});
