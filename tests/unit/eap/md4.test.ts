// MD4 (RFC 1320): the test suite of §A.5, then agreement with node:crypto's MD4 across the padding
// boundaries (55/56/63/64 octets and their multiples).
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { md4 } from "../../../core/eap/md4.ts";
import { toHex, utf8 } from "../../../core/util/bytes.ts";

test("RFC 1320 §A.5 test suite", () => {
  const suite: [string, string][] = [
    ["", "31d6cfe0d16ae931b73c59d7e0c089c0"],
    ["a", "bde52cb31de33e46245e05fbdbd6fb24"],
    ["abc", "a448017aaf21d8525fc10ae87aa6729d"],
    ["message digest", "d9130a8164549fe818874806e1c7014b"],
    ["abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"],
    ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"],
    ["12345678901234567890123456789012345678901234567890123456789012345678901234567890", "e33b4ddc9c38f2199c3e7b164fcc0536"],
  ];
  for (const [msg, digest] of suite) expect(toHex(md4(utf8(msg)))).toBe(digest);
});

test("agrees with node:crypto md4 for every length 0..300", () => {
  let seed = 7;
  for (let n = 0; n <= 300; n++) {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = seed = (seed * 1103515245 + 12345) & 0xff;
    const want = createHash("md4").update(data).digest("hex");
    expect(toHex(md4(data))).toBe(want);
  }
});

test("does not modify its input", () => {
  const data = utf8("clientPass");
  const copy = data.slice();
  md4(data);
  expect(data).toEqual(copy);
});
