// Known-answer checks shared by the reference (core/crypto/dh.ts) and native (platform/crypto/dh-native.ts) key
// exchange tests: each takes the implementation's "key pair from a fixed private key" function.
import { expect } from "bun:test";
import type { KeyExchange } from "../../../core/crypto/dh.ts";
import { concatBytes, fromHex, toHex } from "../../../core/util/bytes.ts";
import { KeId } from "../../../core/wire/constants.ts";
import type { RFC5903 } from "./dh-vectors.ts";

export type FromPrivate = (group: number, priv: Uint8Array) => KeyExchange;
type Rfc5903Vector = (typeof RFC5903)[number];

/** The shared secret in hex; a failure throws (the caller expected agreement). */
export function shared(kx: KeyExchange, peer: Uint8Array): string {
  const r = kx.computeShared(peer);
  if (!r.ok) throw new Error(r.reason);
  return toHex(r.secret);
}

/** RFC 7748 §6.1: Alice's and Bob's public keys and K, computed from both sides. */
export function expectRfc7748Sec61(fromPrivate: FromPrivate): void {
  const alice = fromPrivate(KeId.CURVE25519, fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  const bob = fromPrivate(KeId.CURVE25519, fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  expect(toHex(alice.publicKey)).toBe("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  expect(toHex(bob.publicKey)).toBe("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const K = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  expect(shared(alice, bob.publicKey)).toBe(K);
  expect(shared(bob, alice.publicKey)).toBe(K);
}

/** RFC 7748 §5.2: the two X25519 vectors (unclamped scalars, a u-coordinate with the top bit set) and the
 *  iterated test after 1 and 1000 iterations. */
export function expectRfc7748Sec52(fromPrivate: FromPrivate): void {
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
  for (const [k, u, out] of vectors) expect(shared(fromPrivate(KeId.CURVE25519, fromHex(k!)), fromHex(u!))).toBe(out!);
  // The iterated test, 1 and 1000 iterations: k, u = X25519(k, u), k.
  let k: Uint8Array = fromHex("09".padEnd(64, "0"));
  let u: Uint8Array = k.slice();
  for (let i = 1; i <= 1000; i++) {
    const r = fromPrivate(KeId.CURVE25519, k).computeShared(u);
    if (!r.ok) throw new Error(r.reason);
    u = k;
    k = r.secret;
    if (i === 1) expect(toHex(k)).toBe("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
  }
  expect(toHex(k)).toBe("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

/** RFC 5903 §8: both public values x | y (§7: no 0x04 prefix) and the shared x coordinate from both sides. */
export function expectRfc5903Sec8(v: Rfc5903Vector, fromPrivate: FromPrivate): void {
  const ini = fromPrivate(v.group, fromHex(v.i));
  const res = fromPrivate(v.group, fromHex(v.r));
  const gi = concatBytes(fromHex(v.gix), fromHex(v.giy));
  const gr = concatBytes(fromHex(v.grx), fromHex(v.gry));
  expect(toHex(ini.publicKey)).toBe(toHex(gi));
  expect(toHex(res.publicKey)).toBe(toHex(gr));
  expect(shared(ini, gr)).toBe(toHex(fromHex(v.girx)));
  expect(shared(res, gi)).toBe(toHex(fromHex(v.girx)));
}

/** ECP peer values that must be refused, built from the vector's g^r: off the curve, (0, 0), coordinates >= p,
 *  the SEC 1 prefix, a short value, an empty one. */
export function ecpBadPeers(v: Rfc5903Vector): Uint8Array[] {
  const gr = concatBytes(fromHex(v.grx), fromHex(v.gry));
  const offCurve = gr.slice();
  offCurve[offCurve.length - 1]! ^= 1; // same x, y off by one bit
  return [
    offCurve,
    new Uint8Array(gr.length), // (0, 0)
    new Uint8Array(gr.length).fill(0xff), // coordinates >= p
    concatBytes(Uint8Array.of(4), gr), // SEC 1 prefix is not the RFC 5903 encoding
    gr.subarray(0, gr.length - 1),
    new Uint8Array(0),
  ];
}

/** RFC 8031 §3 / RFC 7748 §6.1: Curve25519 u-coordinates of low order, whose X25519 result is all zero. */
export const X25519_LOW_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000", // u = 0
  "0100000000000000000000000000000000000000000000000000000000000000", // u = 1
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // u = p - 1
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // u = p (= 0)
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // u = p + 1 (= 1)
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // u = p with the top bit set (= 0)
].map(fromHex);
