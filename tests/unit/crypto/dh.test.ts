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
import { ecpBadPeers, expectRfc5903Sec8, expectRfc7748Sec52, expectRfc7748Sec61, shared, X25519_LOW_ORDER } from "./dh-kats.ts";
import { RFC5903, seeded } from "./dh-vectors.ts";

for (const v of RFC5903) {
  test(`RFC 5903 §8 group ${v.group}: both public values x | y and the shared x coordinate`, () => {
    expectRfc5903Sec8(v, keyExchangeFromPrivate);
    expect(keyExchangeDataLength(v.group)).toBe(fromHex(v.gix).length + fromHex(v.giy).length);
  });

  test(`RFC 5903 group ${v.group}: points off the curve and wrong lengths are refused`, () => {
    const ini = keyExchangeFromPrivate(v.group, fromHex(v.i));
    for (const peer of ecpBadPeers(v)) expect(ini.computeShared(peer).ok).toBe(false);
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

test("RFC 7748 §5.2 X25519 test vectors (including a u-coordinate with the top bit set)", () => expectRfc7748Sec52(keyExchangeFromPrivate));

test("RFC 7748 §6.1 Curve25519 Diffie-Hellman: both public keys and K", () => expectRfc7748Sec61(keyExchangeFromPrivate));

test("RFC 8031 §3: low-order Curve25519 points giving an all-zero secret are refused; length is 32", () => {
  const kx = createKeyExchange(KeId.CURVE25519, seeded(31));
  for (const u of X25519_LOW_ORDER) {
    const r = kx.computeShared(u);
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
