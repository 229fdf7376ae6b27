// The native key exchange (platform/crypto/dh-native.ts) against RFC 7748 §5.2/§6.1 and RFC 5903 §8 vectors,
// cross-checked with core's noble reference both ways, and refusing bad peer values exactly as the
// reference does (the same typed failure, never a throw).
import { expect, test } from "bun:test";
import { createKeyExchange, keyExchangeFromPrivate, nobleKeyExchangeFactory } from "../../../core/crypto/dh.ts";
import type { KeyExchange } from "../../../core/crypto/dh.ts";
import type { Random } from "../../../core/types.ts";
import { concatBytes, fromHex, toHex } from "../../../core/util/bytes.ts";
import { KeId } from "../../../core/wire/constants.ts";
import { createNativeKeyExchange, nativeKeyExchangeFactory, nativeKeyExchangeFromPrivate } from "../../../platform/crypto/dh-native.ts";
import { RFC5903, seeded } from "./dh-vectors.ts";

function shared(kx: KeyExchange, peer: Uint8Array): string {
  const r = kx.computeShared(peer);
  if (!r.ok) throw new Error(r.reason);
  return toHex(r.secret);
}

const ECP_GROUPS = [KeId.ECP_256, KeId.ECP_384, KeId.ECP_521];
const NATIVE_GROUPS = [KeId.CURVE25519, ...ECP_GROUPS];

test("factories are named; the native one is not the reference", () => {
  expect(nativeKeyExchangeFactory.name).toBe("native");
  expect(nobleKeyExchangeFactory.name).toBe("noble");
  expect(nativeKeyExchangeFactory.create(KeId.CURVE25519, seeded(1)).group).toBe(KeId.CURVE25519);
});

test("RFC 7748 §6.1 Curve25519 Diffie-Hellman: both public keys and K", () => {
  const alice = nativeKeyExchangeFromPrivate(KeId.CURVE25519, fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  const bob = nativeKeyExchangeFromPrivate(KeId.CURVE25519, fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  expect(toHex(alice.publicKey)).toBe("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  expect(toHex(bob.publicKey)).toBe("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const K = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  expect(shared(alice, bob.publicKey)).toBe(K);
  expect(shared(bob, alice.publicKey)).toBe(K);
});

test("RFC 7748 §5.2 X25519 vectors (unclamped scalars, a u-coordinate with the top bit set) and 1000 iterations", () => {
  const vectors = [
    ["a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"],
    ["4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"],
  ];
  for (const [k, u, out] of vectors) expect(shared(nativeKeyExchangeFromPrivate(KeId.CURVE25519, fromHex(k!)), fromHex(u!))).toBe(out!);
  let k: Uint8Array = fromHex("09".padEnd(64, "0"));
  let u: Uint8Array = k.slice();
  for (let i = 1; i <= 1000; i++) {
    const r = nativeKeyExchangeFromPrivate(KeId.CURVE25519, k).computeShared(u);
    if (!r.ok) throw new Error(r.reason);
    u = k;
    k = r.secret;
    if (i === 1) expect(toHex(k)).toBe("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
  }
  expect(toHex(k)).toBe("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
});

for (const v of RFC5903) {
  test(`RFC 5903 §8 group ${v.group}: both public values x | y and the shared x coordinate`, () => {
    const ini = nativeKeyExchangeFromPrivate(v.group, fromHex(v.i));
    const res = nativeKeyExchangeFromPrivate(v.group, fromHex(v.r));
    const gi = concatBytes(fromHex(v.gix), fromHex(v.giy));
    const gr = concatBytes(fromHex(v.grx), fromHex(v.gry));
    expect(toHex(ini.publicKey)).toBe(toHex(gi));
    expect(toHex(res.publicKey)).toBe(toHex(gr));
    expect(shared(ini, gr)).toBe(toHex(fromHex(v.girx)));
    expect(shared(res, gi)).toBe(toHex(fromHex(v.girx)));
  });
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
    return [
      "0000000000000000000000000000000000000000000000000000000000000000", // u = 0
      "0100000000000000000000000000000000000000000000000000000000000000", // u = 1
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // u = p - 1
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // u = p (= 0)
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // u = p + 1 (= 1)
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // u = p with the top bit set (= 0)
    ]
      .map(fromHex)
      .concat([new Uint8Array(31).fill(9), new Uint8Array(33).fill(9), new Uint8Array(0)]);
  }
  const v = RFC5903.find((x) => x.group === group)!;
  const gr = concatBytes(fromHex(v.grx), fromHex(v.gry));
  const offCurve = gr.slice();
  offCurve[offCurve.length - 1]! ^= 1;
  return [
    offCurve,
    new Uint8Array(gr.length), // (0, 0)
    new Uint8Array(gr.length).fill(0xff), // coordinates >= p
    concatBytes(Uint8Array.of(4), gr), // SEC 1 prefix is not the RFC 5903 encoding
    gr.subarray(0, gr.length - 1),
    new Uint8Array(0),
  ];
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
