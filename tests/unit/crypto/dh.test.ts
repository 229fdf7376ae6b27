// Key exchange: RFC 5903 §8 (ECP), RFC 7748 §5.2/§6.1 (X25519), RFC 3526 primes (MODP), invalid
// public values refused, and agreement with node:crypto.
import { expect, test } from "bun:test";
import { createECDH, getDiffieHellman } from "node:crypto";
import {
  createKeyExchange,
  isSupportedKeGroup,
  keyExchangeDataLength,
  keyExchangeFromPrivate,
  SUPPORTED_KE_GROUPS,
} from "../../../core/crypto/dh.ts";
import { bigIntToBytes, MODP_GROUPS } from "../../../core/crypto/modp.ts";
import type { Random } from "../../../core/types.ts";
import { concatBytes, fromHex, toHex } from "../../../core/util/bytes.ts";
import { KeId } from "../../../core/wire/constants.ts";

function seeded(seed: number, log?: number[]): Random {
  let x = seed >>> 0;
  return {
    bytes(n) {
      log?.push(n);
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = (x = (x * 1664525 + 1013904223) >>> 0) >>> 24;
      return b;
    },
  };
}

function shared(kx: { computeShared(p: Uint8Array): { ok: true; secret: Uint8Array } | { ok: false; reason: string } }, peer: Uint8Array) {
  const r = kx.computeShared(peer);
  if (!r.ok) throw new Error(r.reason);
  return toHex(r.secret);
}

// RFC 5903 §8.1-§8.3, typed in from the RFC text: i, g^i (x, y), r, g^r (x, y), g^ir x.
const RFC5903 = [
  {
    group: KeId.ECP_256,
    i: "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
    gix: "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180",
    giy: "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
    r: "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
    grx: "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63",
    gry: "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
    girx: "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE",
  },
  {
    group: KeId.ECP_384,
    i: "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655 E35B5380 41E649EE 3FAEF896 783AB194",
    gix: "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6 DE3AC808 ACB4BDB4 C88732AE E95F41AA",
    giy: "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E EB9FCFF3 C2C947DA E69B4C63 4573A81C",
    r: "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942 E0308312 916B8ED2 960E4BD5 5A7448FC",
    grx: "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D 0D1AC43A 0336DEF9 6FDA41D0 774A3571",
    gry: "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF F83FA401 42209DFF 5EAAD96D B9E6386C",
    girx: "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4 D6031355 69B9E9D0 9CF5D4A2 70F59746",
  },
  {
    group: KeId.ECP_521,
    i: `0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0 95AA85A3 0FE1C295 2C6771D9
        37BA9777 F5957B26 39BAB072 462F68C2 7A57382D 4A52`,
    gix: `0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE E1E3BF42 E00B8E38 0AEAE57C
          2D107564 94188594 2AF5A7F4 601723C4 195D176C ED3E`,
    giy: `017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A D8A78801 5AC405D7 799DC75E
          7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F 9582`,
    r: `0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E 9C677D60 0B343757 A3BDBF2A
        3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168 5EB9`,
    grx: `00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21 9B97C356 436ADC6E 95BB0352
          F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9 460F`,
    gry: `015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87 220B6536 C5C408A1 D2AEBB8E
          86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F C56A`,
    girx: `01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04 D1427E73 CA4BAA24 0A347868
           59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3 DDEA`,
  },
];

for (const v of RFC5903) {
  test(`RFC 5903 §8 group ${v.group}: both public values x | y and the shared x coordinate`, () => {
    const ini = keyExchangeFromPrivate(v.group, fromHex(v.i));
    const res = keyExchangeFromPrivate(v.group, fromHex(v.r));
    const gi = concatBytes(fromHex(v.gix), fromHex(v.giy));
    const gr = concatBytes(fromHex(v.grx), fromHex(v.gry));
    expect(toHex(ini.publicKey)).toBe(toHex(gi)); // RFC 5903 §7: no 0x04 prefix
    expect(toHex(res.publicKey)).toBe(toHex(gr));
    expect(keyExchangeDataLength(v.group)).toBe(gi.length);
    expect(shared(ini, gr)).toBe(toHex(fromHex(v.girx)));
    expect(shared(res, gi)).toBe(toHex(fromHex(v.girx)));
  });

  test(`RFC 5903 group ${v.group}: points off the curve and wrong lengths are refused`, () => {
    const ini = keyExchangeFromPrivate(v.group, fromHex(v.i));
    const gr = concatBytes(fromHex(v.grx), fromHex(v.gry));
    const offCurve = gr.slice();
    offCurve[offCurve.length - 1]! ^= 1; // same x, y off by one bit
    const bad = [
      offCurve,
      new Uint8Array(gr.length), // (0, 0)
      new Uint8Array(gr.length).fill(0xff), // coordinates >= p
      concatBytes(Uint8Array.of(4), gr), // SEC 1 prefix is not the RFC 5903 encoding
      gr.subarray(0, gr.length - 1),
      new Uint8Array(0),
    ];
    for (const peer of bad) expect(ini.computeShared(peer).ok).toBe(false);
  });
}

test("ECP key pairs from the injected Random agree with node:crypto ECDH", () => {
  for (const [group, curve] of [
    [KeId.ECP_256, "prime256v1"],
    [KeId.ECP_384, "secp384r1"],
    [KeId.ECP_521, "secp521r1"],
  ] as const) {
    const ours = createKeyExchange(group, seeded(group));
    const node = createECDH(curve);
    const nodePub = new Uint8Array(node.generateKeys()); // 0x04 | x | y
    const nodeSecret = toHex(new Uint8Array(node.computeSecret(concatBytes(Uint8Array.of(4), ours.publicKey))));
    expect(shared(ours, nodePub.subarray(1))).toBe(nodeSecret);
    ours.dispose();
    expect(ours.computeShared(nodePub.subarray(1)).ok).toBe(false);
  }
});

test("RFC 7748 §5.2 X25519 test vectors (including a u-coordinate with the top bit set)", () => {
  const vectors = [
    [
      "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
      "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
      "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ],
    [
      "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
      "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
      "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    ],
  ];
  for (const [k, u, out] of vectors) expect(shared(keyExchangeFromPrivate(KeId.CURVE25519, fromHex(k!)), fromHex(u!))).toBe(out!);
  // The iterated test, 1 and 1000 iterations: k, u = X25519(k, u), k.
  let k: Uint8Array = fromHex("09".padEnd(64, "0"));
  let u: Uint8Array = k.slice();
  for (let i = 1; i <= 1000; i++) {
    const r = keyExchangeFromPrivate(KeId.CURVE25519, k).computeShared(u);
    if (!r.ok) throw new Error(r.reason);
    u = k;
    k = r.secret;
    if (i === 1) expect(toHex(k)).toBe("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
  }
  expect(toHex(k)).toBe("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
});

test("RFC 7748 §6.1 Curve25519 Diffie-Hellman: both public keys and K", () => {
  const alice = keyExchangeFromPrivate(KeId.CURVE25519, fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  const bob = keyExchangeFromPrivate(KeId.CURVE25519, fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  expect(toHex(alice.publicKey)).toBe("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  expect(toHex(bob.publicKey)).toBe("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const K = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  expect(shared(alice, bob.publicKey)).toBe(K);
  expect(shared(bob, alice.publicKey)).toBe(K);
});

test("RFC 8031 §3: low-order Curve25519 points giving an all-zero secret are refused; length is 32", () => {
  const kx = createKeyExchange(KeId.CURVE25519, seeded(31));
  const lowOrder = [
    "0000000000000000000000000000000000000000000000000000000000000000", // u = 0
    "0100000000000000000000000000000000000000000000000000000000000000", // u = 1
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // u = p - 1
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // u = p (= 0)
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // u = p + 1 (= 1)
  ];
  for (const u of lowOrder) {
    const r = kx.computeShared(fromHex(u));
    expect(r.ok).toBe(false);
  }
  expect(kx.computeShared(new Uint8Array(31).fill(9)).ok).toBe(false);
  expect(kx.computeShared(new Uint8Array(33).fill(9)).ok).toBe(false);
  const other = createKeyExchange(KeId.CURVE25519, seeded(32));
  expect(shared(kx, other.publicKey)).toBe(shared(other, kx.publicKey));
});

/** floor(2^bits * pi) from Machin's formula pi = 16 atan(1/5) - 4 atan(1/239), in BigInt fixed point. */
function piTimes2Pow(bits: number): bigint {
  const guard = 64;
  const one = 1n << BigInt(bits + guard);
  const atanInv = (x: bigint) => {
    let sum = 0n;
    let power = one / x; // one / x^(2n+1)
    const x2 = x * x;
    for (let n = 0n; power !== 0n; n++) {
      const term = power / (2n * n + 1n);
      sum += n % 2n === 0n ? term : -term;
      power /= x2;
    }
    return sum;
  };
  return (16n * atanInv(5n) - 4n * atanInv(239n)) >> BigInt(guard);
}

test("RFC 3526 primes as typed in equal 2^N - 2^(N-64) - 1 + 2^64 * ([2^(N-130) pi] + offset)", () => {
  for (const [id, n, offset] of [
    [KeId.MODP_2048, 2048, 124476n],
    [KeId.MODP_3072, 3072, 1690314n],
    [KeId.MODP_4096, 4096, 240904n],
  ] as const) {
    const N = BigInt(n);
    const p = (1n << N) - (1n << (N - 64n)) - 1n + (1n << 64n) * (piTimes2Pow(n - 130) + offset);
    expect(MODP_GROUPS.get(id)!.p).toBe(p);
    expect(MODP_GROUPS.get(id)!.length).toBe(n / 8);
  }
});

test("MODP group 14 agrees with node:crypto getDiffieHellman('modp14') (prime and shared secret)", () => {
  const node = getDiffieHellman("modp14");
  const grp = MODP_GROUPS.get(KeId.MODP_2048)!;
  expect(toHex(new Uint8Array(node.getPrime()))).toBe(toHex(bigIntToBytes(grp.p, 256)));
  const nodePub = new Uint8Array(node.generateKeys());
  const ours = createKeyExchange(KeId.MODP_2048, seeded(14));
  expect(ours.publicKey.length).toBe(256);
  const nodeSecret = new Uint8Array(node.computeSecret(ours.publicKey));
  const padded = concatBytes(new Uint8Array(256 - nodeSecret.length), nodeSecret);
  expect(shared(ours, concatBytes(new Uint8Array(256 - nodePub.length), nodePub))).toBe(toHex(padded));
});

test("MODP groups 14, 15, 16: two parties agree; exponents have 256+ random bits; values are left-padded", () => {
  for (const id of [KeId.MODP_2048, KeId.MODP_3072, KeId.MODP_4096]) {
    const asked: number[] = [];
    const a = createKeyExchange(id, seeded(id, asked));
    const b = createKeyExchange(id, seeded(id + 100));
    expect(asked.every((n) => n * 8 >= 256)).toBe(true);
    expect(a.publicKey.length).toBe(MODP_GROUPS.get(id)!.length);
    const s = shared(a, b.publicKey);
    expect(s.length).toBe(2 * MODP_GROUPS.get(id)!.length);
    expect(shared(b, a.publicKey)).toBe(s);
  }
  // x = 1: g^x = 2, sent as 255 zero octets and 0x02 (RFC 7296 §3.4).
  const tiny = keyExchangeFromPrivate(KeId.MODP_2048, Uint8Array.of(1));
  expect(toHex(tiny.publicKey)).toBe("00".repeat(255) + "02");
  expect(shared(tiny, tiny.publicKey)).toBe("00".repeat(255) + "02");
});

test("MODP public values outside (1, p-1) or of the wrong length are refused (RFC 6989 §2.1)", () => {
  const grp = MODP_GROUPS.get(KeId.MODP_2048)!;
  const kx = createKeyExchange(KeId.MODP_2048, seeded(1));
  for (const y of [0n, 1n, grp.p - 1n, grp.p, grp.p + 1n, (1n << 2048n) - 1n]) {
    expect(kx.computeShared(bigIntToBytes(y, 256)).ok).toBe(false);
  }
  expect(kx.computeShared(bigIntToBytes(2n, 256)).ok).toBe(true);
  expect(kx.computeShared(bigIntToBytes(grp.p - 2n, 256)).ok).toBe(true);
  expect(kx.computeShared(bigIntToBytes(2n, 255)).ok).toBe(false);
  expect(kx.computeShared(bigIntToBytes(2n, 257)).ok).toBe(false);
});

test("supported groups; an unsupported one is refused before any key is made", () => {
  expect([...SUPPORTED_KE_GROUPS].sort((a, b) => a - b)).toEqual([14, 15, 16, 19, 20, 21, 31]);
  expect(isSupportedKeGroup(KeId.MODP_1024)).toBe(false);
  expect(isSupportedKeGroup(KeId.CURVE448)).toBe(false);
  expect(() => createKeyExchange(KeId.MODP_1024, seeded(0))).toThrow(RangeError);
  expect(() => keyExchangeFromPrivate(KeId.ECP_256, new Uint8Array(32))).toThrow(RangeError); // scalar 0
  expect(keyExchangeDataLength(KeId.CURVE25519)).toBe(32);
  expect(keyExchangeDataLength(KeId.MODP_4096)).toBe(512);
  expect(keyExchangeDataLength(KeId.ECP_521)).toBe(132);
  expect(keyExchangeDataLength(KeId.MODP_1024)).toBeUndefined();
});
