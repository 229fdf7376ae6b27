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
import { concatBytes, fromHex, toHex } from "../../../core/util/bytes.ts";
import { KeId } from "../../../core/wire/constants.ts";
import { RFC5903, seeded } from "./dh-vectors.ts";

function shared(kx: { computeShared(p: Uint8Array): { ok: true; secret: Uint8Array } | { ok: false; reason: string } }, peer: Uint8Array) {
  const r = kx.computeShared(peer);
  if (!r.ok) throw new Error(r.reason);
  return toHex(r.secret);
}

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
