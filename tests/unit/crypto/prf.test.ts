// PRFs, prf+ and integrity transforms against RFC 4231, RFC 4868 §2.7, RFC 2202 / RFC 2404 vectors.
import { expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { integById, integKeyLength } from "../../../core/crypto/integ.ts";
import { prfById, prfPlus } from "../../../core/crypto/prf.ts";
import type { Prf } from "../../../core/crypto/prf.ts";
import { concatBytes, fromHex, toHex, utf8 } from "../../../core/util/bytes.ts";
import { IntegId, PrfId } from "../../../core/wire/constants.ts";
import { PRF_HASHES } from "./suites.ts";

const rep = (byte: number, n: number) => new Uint8Array(n).fill(byte);
const prf = (id: number): Prf => {
  const p = prfById(id);
  if (!p) throw new Error(`no PRF ${id}`);
  return p;
};

// RFC 4231 §4.2-§4.8, typed in from the RFC text. Keys/data in hex; results for SHA-256/384/512.
const RFC4231 = [
  {
    tc: 1,
    key: rep(0x0b, 20),
    data: fromHex("4869205468657265"),
    sha256: "b0344c61d8db38535ca8afceaf0bf12b 881dc200c9833da726e9376c2e32cff7",
    sha384: "afd03944d84895626b0825f4ab46907f 15f9dadbe4101ec682aa034c7cebc59c faea9ea9076ede7f4af152e8b2fa9cb6",
    sha512:
      "87aa7cdea5ef619d4ff0b4241a1d6cb0 2379f4e2ce4ec2787ad0b30545e17cde daa833b7d6b8a702038b274eaea3f4e4 be9d914eeb61f1702e696c203a126854",
  },
  {
    tc: 2,
    key: fromHex("4a656665"),
    data: fromHex("7768617420646f2079612077616e7420 666f72206e6f7468696e673f"),
    sha256: "5bdcc146bf60754e6a042426089575c7 5a003f089d2739839dec58b964ec3843",
    sha384: "af45d2e376484031617f78d2b58a6b1b 9c7ef464f5a01b47e42ec3736322445e 8e2240ca5e69e2c78b3239ecfab21649",
    sha512:
      "164b7a7bfcf819e2e395fbe73b56e0a3 87bd64222e831fd610270cd7ea250554 9758bf75c05a994a6d034f65f8f0e6fd caeab1a34d4a6b4b636e070a38bce737",
  },
  {
    tc: 3,
    key: rep(0xaa, 20),
    data: rep(0xdd, 50),
    sha256: "773ea91e36800e46854db8ebd09181a7 2959098b3ef8c122d9635514ced565fe",
    sha384: "88062608d3e6ad8a0aa2ace014c8a86f 0aa635d947ac9febe83ef4e55966144b 2a5ab39dc13814b94e3ab6e101a34f27",
    sha512:
      "fa73b0089d56a284efb0f0756c890be9 b1b5dbdd8ee81a3655f83e33b2279d39 bf3e848279a722c806b485a47e67c807 b946a337bee8942674278859e13292fb",
  },
  {
    tc: 4,
    key: fromHex("0102030405060708090a0b0c0d0e0f10 111213141516171819"),
    data: rep(0xcd, 50),
    sha256: "82558a389a443c0ea4cc819899f2083a 85f0faa3e578f8077a2e3ff46729665b",
    sha384: "3e8a69b7783c25851933ab6290af6ca7 7a9981480850009cc5577c6e1f573b4e 6801dd23c4a7d679ccf8a386c674cffb",
    sha512:
      "b0ba465637458c6990e5a8c5f61d4af7 e576d97ff94b872de76f8050361ee3db a91ca5c11aa25eb4d679275cc5788063 a5f19741120c4f2de2adebeb10a298dd",
  },
  {
    // Test Case 5 prints only the output truncated to 128 bits.
    tc: 5,
    key: rep(0x0c, 20),
    data: fromHex("546573742057697468205472756e6361 74696f6e"),
    sha256: "a3b6167473100ee06e0c796c2955552b",
    sha384: "3abf34c3503b2a23a46efc619baef897",
    sha512: "415fad6271580a531d4179bc891d87a6",
  },
  {
    tc: 6,
    key: rep(0xaa, 131),
    data: utf8("Test Using Larger Than Block-Size Key - Hash Key First"),
    sha256: "60e431591ee0b67f0d8a26aacbf5b77f 8e0bc6213728c5140546040f0ee37f54",
    sha384: "4ece084485813e9088d2c63a041bc5b4 4f9ef1012a2b588f3cd11f05033ac4c6 0c2ef6ab4030fe8296248df163f44952",
    sha512:
      "80b24263c7c1a3ebb71493c1dd7be8b4 9b46d1f41b4aeec1121b013783f8f352 6b56d037e05f2598bd0fd2215d6a1e52 95e64f73f63f0aec8b915a985d786598",
  },
  {
    tc: 7,
    key: rep(0xaa, 131),
    data: utf8(
      "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
    ),
    sha256: "9b09ffa71b942fcb27635fbcd5b0e944 bfdc63644f0713938a7f51535c3a35e2",
    sha384: "6617178e941f020d351e2f254e8fd32c 602420feb0b8fb9adccebb82461e99c5 a678cc31e799176d3860e6110c46523e",
    sha512:
      "e37b6a775dc87dbaa4dfa9f96e5e3ffd debd71f8867289865df5a32d20cdc944 b6022cac3c4982b10d5eeb55c3e4de15 134676fb6de0446065c97440fa8c6a58",
  },
];

for (const v of RFC4231) {
  test(`RFC 4231 test case ${v.tc}: PRF_HMAC_SHA2_256/384/512`, () => {
    for (const [id, want] of [
      [PrfId.HMAC_SHA2_256, v.sha256],
      [PrfId.HMAC_SHA2_384, v.sha384],
      [PrfId.HMAC_SHA2_512, v.sha512],
    ] as const) {
      const expected = fromHex(want);
      const got = prf(id).compute(v.key, v.data);
      expect(got.length).toBe(prf(id).outputLength);
      expect(toHex(got.subarray(0, expected.length))).toBe(toHex(expected));
    }
  });
}

// RFC 4868 §2.7.2: authenticator test vectors. Keys are as long as the hash output.
const jefe = (n: number) => utf8("Jefe".repeat(n / 4));
const RFC4868_AUTH = [
  // [integ, key, data, full PRF-HMAC output (§2.7.2), truncated authenticator]
  [IntegId.HMAC_SHA2_256_128, rep(0x0b, 32), utf8("Hi There"), "198a607eb44bfbc69903a0f1cf2bbdc5 ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"],
  [IntegId.HMAC_SHA2_256_128, jefe(32), utf8("what do ya want for nothing?"), "167f928588c5cc2eef8e3093caa0e87c 9ff566a14794aa61648d81621a2a40c6"],
  [IntegId.HMAC_SHA2_256_128, rep(0xaa, 32), rep(0xdd, 50), "cdcb1220d1ecccea91e53aba3092f962 e549fe6ce9ed7fdc43191fbde45c30b0"],
  [
    IntegId.HMAC_SHA2_256_128,
    fromHex("0102030405060708090a0b0c0d0e0f10 1112131415161718191a1b1c1d1e1f20"),
    rep(0xcd, 50),
    "372efcf9b40b35c2115b1346903d2ef4 2fced46f0846e7257bb156d3d7b30d3f",
  ],
  [
    IntegId.HMAC_SHA2_384_192,
    rep(0x0b, 48),
    utf8("Hi There"),
    "b6a8d5636f5c6a7224f9977dcf7ee6c7 fb6d0c48cbdee9737a959796489bddbc 4c5df61d5b3297b4fb68dab9f1b582c2",
  ],
  [
    IntegId.HMAC_SHA2_384_192,
    jefe(48),
    utf8("what do ya want for nothing?"),
    "2c7353974f1842fd66d53c452ca42122 b28c0b594cfb184da86a368e9b8e16f5 349524ca4e82400cbde0686d403371c9",
  ],
  [
    IntegId.HMAC_SHA2_384_192,
    rep(0xaa, 48),
    rep(0xdd, 50),
    "809f439be00274321d4a538652164b53 554a508184a0c3160353e3428597003d 35914a18770f9443987054944b7c4b4a",
  ],
  [
    IntegId.HMAC_SHA2_384_192,
    fromHex("0102030405060708090a0b0c0d0e0f10 1112131415161718191a1b1c1d1e1f20 0a0b0c0d0e0f10111213141516171819"),
    rep(0xcd, 50),
    "5b540085c6e6358096532b2493609ed1 cb298f774f87bb5c2ebf182c83cc7428 707fb92eab2536a5812258228bc96687",
  ],
  [
    IntegId.HMAC_SHA2_512_256,
    rep(0x0b, 64),
    utf8("Hi There"),
    "637edc6e01dce7e6742a99451aae82df 23da3e92439e590e43e761b33e910fb8 ac2878ebd5803f6f0b61dbce5e251ff8 789a4722c1be65aea45fd464e89f8f5b",
  ],
  [
    IntegId.HMAC_SHA2_512_256,
    jefe(64),
    utf8("what do ya want for nothing?"),
    "cb370917ae8a7ce28cfd1d8f4705d614 1c173b2a9362c15df235dfb251b15454 6aa334ae9fb9afc2184932d8695e397b fa0ffb93466cfcceaae38c833b7dba38",
  ],
  [
    IntegId.HMAC_SHA2_512_256,
    rep(0xaa, 64),
    rep(0xdd, 50),
    "2ee7acd783624ca9398710f3ee05ae41 b9f9b0510c87e49e586cc9bf961733d8 623c7b55cebefccf02d5581acc1c9d5f b1ff68a1de45509fbe4da9a433922655",
  ],
] as const;

const PRF_FOR_INTEG: Record<number, number> = {
  [IntegId.HMAC_SHA2_256_128]: PrfId.HMAC_SHA2_256,
  [IntegId.HMAC_SHA2_384_192]: PrfId.HMAC_SHA2_384,
  [IntegId.HMAC_SHA2_512_256]: PrfId.HMAC_SHA2_512,
};

test("RFC 4868 §2.7.2: PRF-HMAC-SHA-256/384/512 and the truncated authenticators", () => {
  for (const [integId, key, data, full] of RFC4868_AUTH) {
    const integ = integById(integId)!;
    const want = fromHex(full);
    expect(toHex(prf(PRF_FOR_INTEG[integId]!).compute(key, data))).toBe(toHex(want));
    const icv = integ.compute(key, data);
    expect(icv.length).toBe(want.length / 2); // RFC 4868 §2.3: truncated to half
    expect(toHex(icv)).toBe(toHex(want.subarray(0, want.length / 2)));
    expect(integ.verify(key, data, icv)).toBe(true);
    const bad = icv.slice();
    bad[bad.length - 1]! ^= 1;
    expect(integ.verify(key, data, bad)).toBe(false);
    expect(integ.verify(key, data, icv.subarray(0, icv.length - 1))).toBe(false);
  }
});

test("RFC 2202 §3 (HMAC-SHA-1) test cases 1, 2 and 5; RFC 2404 HMAC-SHA1-96", () => {
  const p = prf(PrfId.HMAC_SHA1);
  expect(toHex(p.compute(rep(0x0b, 20), utf8("Hi There")))).toBe("b617318655057264e28bc0b6fb378c8ef146be00");
  expect(toHex(p.compute(utf8("Jefe"), utf8("what do ya want for nothing?")))).toBe("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  // Test case 5 also prints the 96-bit truncation.
  const integ = integById(IntegId.HMAC_SHA1_96)!;
  expect(toHex(integ.compute(rep(0x0c, 20), utf8("Test With Truncation")))).toBe("4c1a03424b55e07fe7f27be1");
});

test("integrity key and ICV lengths (RFC 4868 §2.1.1/§2.3, RFC 2404)", () => {
  expect([12, 13, 14, 2].map((id) => [integById(id)!.keyLength, integById(id)!.icvLength])).toEqual([
    [32, 16],
    [48, 24],
    [64, 32],
    [20, 12],
  ]);
  expect(integKeyLength(IntegId.NONE)).toBe(0);
  expect(integKeyLength(IntegId.AES_XCBC_96)).toBeUndefined();
  expect(() => integById(IntegId.HMAC_SHA2_256_128)!.compute(new Uint8Array(31), new Uint8Array(1))).toThrow(RangeError);
  expect(prfById(PrfId.AES128_XCBC)).toBeUndefined();
});

/** prf+ written independently from RFC 7296 §2.13 with node:crypto. */
function nodePrfPlus(hash: string, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out: Uint8Array[] = [];
  let t: Uint8Array = new Uint8Array(0);
  let total = 0;
  for (let n = 1; total < length; n++) {
    t = createHmac(hash, key).update(concatBytes(t, seed, Uint8Array.of(n))).digest();
    out.push(t);
    total += t.length;
  }
  return concatBytes(...out).subarray(0, length);
}

test("prf+ matches an independent node:crypto implementation (RFC 7296 §2.13)", () => {
  const key = fromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const seed = utf8("Ni | Nr | SPIi | SPIr, or anything");
  for (const [id, hash] of PRF_HASHES) {
    for (const len of [0, 1, 20, 31, 32, 33, 64, 100, 250, 1000]) {
      expect(toHex(prfPlus(prf(id), key, seed, len))).toBe(toHex(nodePrfPlus(hash, key, seed, len)));
    }
  }
});

test("prf+ first block is prf(K, S | 0x01) and refuses more than 255 blocks", () => {
  const p = prf(PrfId.HMAC_SHA2_256);
  const key = rep(7, 32);
  const seed = rep(9, 10);
  expect(toHex(prfPlus(p, key, seed, 32))).toBe(toHex(p.compute(key, concatBytes(seed, Uint8Array.of(1)))));
  expect(prfPlus(p, key, seed, 255 * 32).length).toBe(255 * 32);
  expect(() => prfPlus(p, key, seed, 255 * 32 + 1)).toThrow(RangeError);
});
