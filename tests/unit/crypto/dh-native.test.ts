// The native key exchange (platform/crypto/dh-native.ts) against RFC 7748 §5.2/§6.1 and RFC 5903 §8 vectors,
// cross-checked with core's noble reference both ways, and refusing bad peer values exactly as the
// reference does (the same typed failure, never a throw).
import { expect, test } from "bun:test";
import { createKeyExchange, keyExchangeFromPrivate, nobleKeyExchangeFactory } from "../../../core/crypto/dh.ts";
import type { Random } from "../../../core/types.ts";
import { concatBytes, fromHex, toHex } from "../../../core/util/bytes.ts";
import { KeId } from "../../../core/wire/constants.ts";
import { createNativeKeyExchange, nativeKeyExchangeFactory, nativeKeyExchangeFromPrivate } from "../../../platform/crypto/dh-native.ts";
import { ecpBadPeers, expectRfc5903Sec8, expectRfc7748Sec52, expectRfc7748Sec61, shared, X25519_LOW_ORDER } from "./dh-kats.ts";
import { RFC5903, seeded } from "./dh-vectors.ts";

const ECP_GROUPS = [KeId.ECP_256, KeId.ECP_384, KeId.ECP_521];
const NATIVE_GROUPS = [KeId.CURVE25519, ...ECP_GROUPS];

test("factories are named; the native one is not the reference", () => {
  expect(nativeKeyExchangeFactory.name).toBe("native");
  expect(nobleKeyExchangeFactory.name).toBe("noble");
  expect(nativeKeyExchangeFactory.create(KeId.CURVE25519, seeded(1)).group).toBe(KeId.CURVE25519);
});

test("RFC 7748 §6.1 Curve25519 Diffie-Hellman: both public keys and K", () => expectRfc7748Sec61(nativeKeyExchangeFromPrivate));

test("RFC 7748 §5.2 X25519 vectors (unclamped scalars, a u-coordinate with the top bit set) and 1000 iterations", () =>
  expectRfc7748Sec52(nativeKeyExchangeFromPrivate),
);

for (const v of RFC5903) {
  test(`RFC 5903 §8 group ${v.group}: both public values x | y and the shared x coordinate`, () => expectRfc5903Sec8(v, nativeKeyExchangeFromPrivate));
}

test("X25519: the same Random gives the same key pair as the reference", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const nat = createNativeKeyExchange(KeId.CURVE25519, seeded(seed));
    const ref = createKeyExchange(KeId.CURVE25519, seeded(seed));
    expect(toHex(nat.publicKey)).toBe(toHex(ref.publicKey));
  }
});

test("a native and a noble party agree on the shared secret, either one starting (all native groups)", () => {
  for (const group of NATIVE_GROUPS) {
    for (let seed = 1; seed <= 8; seed++) {
      const nat = createNativeKeyExchange(group, seeded(1000 * group + seed));
      const ref = createKeyExchange(group, seeded(2000 * group + seed));
      expect(nat.publicKey.length).toBe(ref.publicKey.length);
      const a = shared(nat, ref.publicKey);
      expect(shared(ref, nat.publicKey)).toBe(a);
      expect(a.length / 2).toBe(group === KeId.CURVE25519 ? 32 : nat.publicKey.length / 2);
    }
  }
});

test("ECP private keys: a draw outside [1, n-1] is rejected and another one drawn (no bias from reduction)", () => {
  for (const v of RFC5903) {
    const len = fromHex(v.i).length;
    const draws = [new Uint8Array(len).fill(0xff), new Uint8Array(len), fromHex(v.i)]; // >= n, 0, then valid
    const asked: number[] = [];
    const random: Random = {
      bytes(n) {
        asked.push(n);
        return draws.shift()!.slice();
      },
    };
    const kx = createNativeKeyExchange(v.group, random);
    expect(asked).toEqual([len, len, len]);
    expect(toHex(kx.publicKey)).toBe(toHex(concatBytes(fromHex(v.gix), fromHex(v.giy))));
  }
});

test("MODP groups go to the reference: same key pair as createKeyExchange from the same Random", () => {
  const nat = createNativeKeyExchange(KeId.MODP_2048, seeded(14));
  const ref = createKeyExchange(KeId.MODP_2048, seeded(14));
  expect(toHex(nat.publicKey)).toBe(toHex(ref.publicKey));
  expect(() => createNativeKeyExchange(KeId.MODP_1024, seeded(0))).toThrow(RangeError);
});

test("fixed private keys: invalid ones throw RangeError as the reference's do", () => {
  expect(() => nativeKeyExchangeFromPrivate(KeId.ECP_256, new Uint8Array(32))).toThrow(RangeError); // 0
  expect(() => nativeKeyExchangeFromPrivate(KeId.ECP_256, new Uint8Array(32).fill(0xff))).toThrow(RangeError); // >= n
  expect(() => nativeKeyExchangeFromPrivate(KeId.ECP_256, new Uint8Array(31).fill(1))).toThrow(RangeError);
  expect(() => nativeKeyExchangeFromPrivate(KeId.CURVE25519, new Uint8Array(31))).toThrow(RangeError);
  expect(() => nativeKeyExchangeFromPrivate(KeId.MODP_2048, new Uint8Array(32).fill(1))).toThrow(RangeError);
});

/** Bad peer values per group: each must give the reference's exact failure, without throwing. */
function badPeers(group: number): Uint8Array[] {
  if (group === KeId.CURVE25519) {
    return X25519_LOW_ORDER.concat([new Uint8Array(31).fill(9), new Uint8Array(33).fill(9), new Uint8Array(0)]);
  }
  return ecpBadPeers(RFC5903.find((x) => x.group === group)!);
}

test("bad peer values (wrong length, low order / all-zero X25519 result, off the curve): the reference's typed failure", () => {
  for (const group of NATIVE_GROUPS) {
    const v = RFC5903.find((x) => x.group === group);
    const priv = v ? fromHex(v.i) : fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const nat = nativeKeyExchangeFromPrivate(group, priv);
    const ref = keyExchangeFromPrivate(group, priv);
    for (const peer of badPeers(group)) {
      const r = nat.computeShared(peer);
      expect(r.ok).toBe(false);
      expect(r).toEqual(ref.computeShared(peer));
    }
  }
});

test("X25519: a peer u-coordinate with the top bit set is masked (RFC 7748 §5) as by the reference", () => {
  const kx = nativeKeyExchangeFromPrivate(KeId.CURVE25519, fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  const ref = keyExchangeFromPrivate(KeId.CURVE25519, fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  const bob = fromHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const high = bob.slice();
  high[31]! |= 0x80;
  expect(shared(kx, high)).toBe("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  expect(shared(kx, high)).toBe(shared(ref, high));
});

test("after dispose() computeShared fails as the reference's does", () => {
  for (const group of NATIVE_GROUPS) {
    const nat = createNativeKeyExchange(group, seeded(group));
    const ref = createKeyExchange(group, seeded(group + 1));
    nat.dispose();
    ref.dispose();
    const r = nat.computeShared(ref.publicKey);
    expect(r).toEqual({ ok: false, reason: "key exchange already disposed" });
    expect(r).toEqual(ref.computeShared(nat.publicKey));
  }
});

test("the private key's JS copies are zeroed once BoringSSL holds it", () => {
  for (const group of NATIVE_GROUPS) {
    const handed: Uint8Array[] = [];
    const src = seeded(group);
    const random: Random = {
      bytes(n) {
        const b = src.bytes(n);
        handed.push(b);
        return b;
      },
    };
    const kx = createNativeKeyExchange(group, random);
    expect(handed.length).toBeGreaterThan(0);
    for (const b of handed) expect(b.every((x) => x === 0)).toBe(true);
    expect(kx.publicKey.some((x) => x !== 0)).toBe(true);
  }
});
