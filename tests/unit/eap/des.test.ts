// DES (FIPS 46-3) known answers and the RFC 2759 §8.6 key expansion, then agreement with node:crypto.
import { expect, test } from "bun:test";
import { createCipheriv } from "node:crypto";
import { desEncryptBlock, expandDesKey } from "../../../core/eap/des.ts";
import { desEncrypt } from "../../../core/eap/mschap.ts";
import { fromHex, toHex } from "../../../core/util/bytes.ts";

const enc = (key: string, block: string) => toHex(desEncryptBlock(fromHex(key), fromHex(block))!).toUpperCase();

test("the worked example of FIPS 46 (key 133457799BBCDFF1)", () => {
  expect(enc("133457799BBCDFF1", "0123456789ABCDEF")).toBe("85E813540F0AB405");
});

test('FIPS 81 ECB example: "Now is t" under 0123456789ABCDEF', () => {
  expect(enc("0123456789ABCDEF", "4E6F772069732074")).toBe("3FA40E8A984D4815");
});

test("NBS SP 500-20 / NIST SP 800-17 known-answer tests", () => {
  // Variable plaintext, key 01..01
  expect(enc("0101010101010101", "8000000000000000")).toBe("95F8A5E5DD31D900");
  expect(enc("0101010101010101", "4000000000000000")).toBe("DD7F121CA5015619");
  expect(enc("0101010101010101", "2000000000000000")).toBe("2E8653104F3834EA");
  // Variable key, plaintext 0
  expect(enc("8001010101010101", "0000000000000000")).toBe("95A8D72813DAA94D");
  expect(enc("4001010101010101", "0000000000000000")).toBe("0EEC1487DD8C26D5");
  expect(enc("2001010101010101", "0000000000000000")).toBe("7AD16FFB79C45926");
  // Permutation operation test
  expect(enc("1046913489980131", "0000000000000000")).toBe("88D55E54F54C97B4");
  // Substitution table test
  expect(enc("7CA110454A1A6E57", "01A1D6D039776742")).toBe("690F5B0D9A26939B");
});

test("the parity bits of the key are ignored", () => {
  expect(enc("133457799BBCDFF1".replace(/./g, (c, i) => (i % 2 ? (parseInt(c, 16) ^ 1).toString(16) : c)), "0123456789ABCDEF")).toBe("85E813540F0AB405");
});

test("RFC 2759 §9.3: parity-corrected DES keys from the PasswordHash of \"MyPw\"", () => {
  // PasswordHash = FC 15 6A F7 ED CD 6C 0E DD E3 33 7D 42 7F 4E AC
  expect(toHex(expandDesKey(fromHex("FC 15 6A F7 ED CD 6C"))!).toUpperCase()).toBe("FD0B5B5E7F6E34D9");
  expect(toHex(expandDesKey(fromHex("0E DD E3 33 7D 42 7F"))!).toUpperCase()).toBe("0E6E796737EA08FE");
});

test("expanded keys have odd parity and keep the 56 key bits in order", () => {
  let seed = 99;
  for (let n = 0; n < 200; n++) {
    const k7 = new Uint8Array(7);
    for (let i = 0; i < 7; i++) k7[i] = seed = (seed * 1103515245 + 12345) & 0xff;
    const k8 = expandDesKey(k7)!;
    let bits = "";
    for (const b of k8) {
      let ones = 0;
      for (let j = 0; j < 8; j++) ones += (b >>> j) & 1;
      expect(ones % 2).toBe(1);
      bits += (b >>> 1).toString(2).padStart(7, "0");
    }
    expect(bits).toBe([...k7].map((b) => b.toString(2).padStart(8, "0")).join(""));
  }
});

test("agrees with node:crypto des-ecb on random keys and blocks", () => {
  let seed = 1;
  const rnd = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (seed = (seed * 1664525 + 1013904223) >>> 0) >>> 24;
    return b;
  };
  for (let n = 0; n < 300; n++) {
    const key = rnd(8);
    const block = rnd(8);
    const c = createCipheriv("des-ecb", key, null);
    c.setAutoPadding(false);
    const want = Buffer.concat([c.update(block), c.final()]).toString("hex");
    expect(toHex(desEncryptBlock(key, block)!)).toBe(want);
  }
});

test("wrong lengths give undefined, not an exception", () => {
  expect(desEncryptBlock(new Uint8Array(7), new Uint8Array(8))).toBeUndefined();
  expect(desEncryptBlock(new Uint8Array(8), new Uint8Array(9))).toBeUndefined();
  expect(expandDesKey(new Uint8Array(8))).toBeUndefined();
  expect(desEncrypt(new Uint8Array(8), new Uint8Array(6))).toBeUndefined();
});
