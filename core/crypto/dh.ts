// Key exchange (Transform Type 4): MODP groups 14/15/16 (RFC 3526), ECP groups 19/20/21 (RFC 5903)
// and Curve25519 (RFC 8031). Each party's public value is the KE payload's Key Exchange Data.

import type { Random } from "../types.ts";
import { KeId } from "../wire/constants.ts";
import { concatBytes, wipe } from "../util/bytes.ts";
import { bigIntToBytes, bytesToBigInt, MODP_GROUPS, modPow } from "./modp.ts";
import type { ModpGroup } from "./modp.ts";
import { noble, type NobleEcdsa } from "./noble.ts";

export type SharedResult = { ok: true; secret: Uint8Array } | { ok: false; reason: string };

export interface KeyExchange {
  /** Transform ID (KeId). */
  readonly group: number;
  /** Our Key Exchange Data, in the group's wire encoding. */
  readonly publicKey: Uint8Array;
  /** g^ir from the peer's Key Exchange Data; validates it first and never throws on bad bytes. */
  computeShared(peer: Uint8Array): SharedResult;
  /** Zeroes the private key; computeShared() fails afterwards. */
  dispose(): void;
}

/**
 * Makes key exchanges for a session. core/ uses noble's (`nobleKeyExchangeFactory`, the reference); platform/
 * injects a native one through SessionEnv. Every factory gives the same wire encodings and the same typed
 * failures for bad peer values as the reference.
 */
export interface KeyExchangeFactory {
  readonly name: string;
  /** A fresh ephemeral key pair. Throws for a group not in SUPPORTED_KE_GROUPS (check first). */
  create(group: number, random: Random): KeyExchange;
}

// The curve is named, not referenced: noble's curves load on first use (./noble.ts).
const ECP = new Map<number, { curve: "p256" | "p384" | "p521"; coordLength: number }>([
  [KeId.ECP_256, { curve: "p256", coordLength: 32 }],
  [KeId.ECP_384, { curve: "p384", coordLength: 48 }],
  [KeId.ECP_521, { curve: "p521", coordLength: 66 }],
]);

/** The groups createKeyExchange() accepts, strongest-preference order is the caller's business. */
export const SUPPORTED_KE_GROUPS: readonly number[] = [
  KeId.CURVE25519,
  KeId.ECP_256,
  KeId.ECP_384,
  KeId.ECP_521,
  KeId.MODP_2048,
  KeId.MODP_3072,
  KeId.MODP_4096,
];

export function isSupportedKeGroup(group: number): boolean {
  return SUPPORTED_KE_GROUPS.includes(group);
}

/** Length of the Key Exchange Data for a group (for INVALID_SYNTAX checks), undefined if unsupported. */
export function keyExchangeDataLength(group: number): number | undefined {
  const modp = MODP_GROUPS.get(group);
  if (modp) return modp.length;
  const ecp = ECP.get(group);
  if (ecp) return 2 * ecp.coordLength;
  return group === KeId.CURVE25519 ? 32 : undefined;
}

/** A fresh ephemeral key pair. Throws for a group not in SUPPORTED_KE_GROUPS (check first). */
export function createKeyExchange(group: number, random: Random): KeyExchange {
  const modp = MODP_GROUPS.get(group);
  if (modp) {
    const x = random.bytes(modp.exponentLength);
    x[0]! |= 0x80; // a full-size exponent, never 0
    return modpExchange(modp, x);
  }
  const ecp = ECP.get(group);
  if (ecp) {
    const curve = noble()[ecp.curve];
    const seed = random.bytes(curve.lengths.seed!);
    const secret = curve.utils.randomSecretKey(seed); // reduced into [1, n-1] without bias
    wipe(seed);
    return ecpExchange(group, curve, ecp.coordLength, secret);
  }
  if (group === KeId.CURVE25519) return x25519Exchange(random.bytes(32));
  throw new RangeError(`key exchange group ${group} is not supported`);
}

export const nobleKeyExchangeFactory: KeyExchangeFactory = { name: "noble", create: createKeyExchange };

/**
 * A key pair from a fixed private key, for tests against published vectors: the MODP exponent, the
 * ECP scalar (big-endian, curve order length) or the X25519 scalar. Throws on an invalid key.
 */
export function keyExchangeFromPrivate(group: number, privateKey: Uint8Array): KeyExchange {
  const modp = MODP_GROUPS.get(group);
  if (modp) return modpExchange(modp, privateKey.slice());
  const ecp = ECP.get(group);
  if (ecp) {
    const curve = noble()[ecp.curve];
    if (!curve.utils.isValidSecretKey(privateKey)) throw new RangeError(`not a valid private key for group ${group}`);
    return ecpExchange(group, curve, ecp.coordLength, privateKey.slice());
  }
  if (group === KeId.CURVE25519) {
    if (privateKey.length !== 32) throw new RangeError("X25519 private key must be 32 bytes");
    return x25519Exchange(privateKey.slice());
  }
  throw new RangeError(`key exchange group ${group} is not supported`);
}

function modpExchange(grp: ModpGroup, privateBytes: Uint8Array): KeyExchange {
  let x: bigint | undefined = bytesToBigInt(privateBytes);
  wipe(privateBytes);
  // RFC 7296 §3.4: the public value is padded on the left to the length of the prime.
  const publicKey = bigIntToBytes(modPow(grp.g, x, grp.p), grp.length);
  const pMinus1 = grp.p - 1n;
  return {
    group: grp.id,
    publicKey,
    computeShared(peer) {
      if (x === undefined) return { ok: false, reason: "key exchange already disposed" };
      if (peer.length !== grp.length) {
        return { ok: false, reason: `MODP public value is ${peer.length} bytes, expected ${grp.length}` };
      }
      // RFC 6989 §2.1: for these safe-prime groups, checking 1 < y < p-1 is sufficient.
      const y = bytesToBigInt(peer);
      if (y <= 1n || y >= pMinus1) return { ok: false, reason: "MODP public value is not in (1, p-1)" };
      // RFC 7296 §2.14: g^ir is as long as the modulus, zero-padded on the left.
      return { ok: true, secret: bigIntToBytes(modPow(y, x, grp.p), grp.length) };
    },
    dispose() {
      x = undefined; // a BigInt cannot be overwritten in place; drop the only reference
    },
  };
}

function ecpExchange(group: number, curve: NobleEcdsa, coordLength: number, secret: Uint8Array): KeyExchange {
  // RFC 5903 §7: the public value is x | y, each coordinate padded to the field length, no 0x04 prefix.
  const publicKey = curve.getPublicKey(secret, false).slice(1);
  let disposed = false;
  return {
    group,
    publicKey,
    computeShared(peer) {
      if (disposed) return { ok: false, reason: "key exchange already disposed" };
      if (peer.length !== 2 * coordLength) {
        return { ok: false, reason: `ECP public value is ${peer.length} bytes, expected ${2 * coordLength}` };
      }
      try {
        // Decoding the SEC 1 uncompressed point checks that it is on the curve (RFC 6989 §2.3).
        const point = concatBytes(Uint8Array.of(0x04), peer);
        const shared = curve.getSharedSecret(secret, point, true);
        // RFC 5903 §7: the shared secret is the x coordinate of the common point.
        const x = shared.slice(1);
        wipe(shared);
        return { ok: true, secret: x };
      } catch {
        return { ok: false, reason: "ECP public value is not a point on the curve" };
      }
    },
    dispose() {
      disposed = true;
      wipe(secret);
    },
  };
}

function x25519Exchange(secret: Uint8Array): KeyExchange {
  const { x25519 } = noble();
  const publicKey = x25519.getPublicKey(secret); // RFC 8031 §2: 32 octets, u-coordinate little-endian
  let disposed = false;
  return {
    group: KeId.CURVE25519,
    publicKey,
    computeShared(peer) {
      if (disposed) return { ok: false, reason: "key exchange already disposed" };
      if (peer.length !== 32) return { ok: false, reason: `Curve25519 public value is ${peer.length} bytes, expected 32` };
      let shared: Uint8Array;
      try {
        shared = x25519.getSharedSecret(secret, peer);
      } catch {
        // noble refuses low-order points itself, which would give the all-zero value below.
        return { ok: false, reason: "Curve25519 shared secret is all zeros (low-order public value)" };
      }
      // RFC 8031 §3 (after RFC 7748 §6.1): the recipient MUST check for the all-zero secret and abort.
      let acc = 0;
      for (let i = 0; i < shared.length; i++) acc |= shared[i]!;
      if (acc === 0) return { ok: false, reason: "Curve25519 shared secret is all zeros (low-order public value)" };
      return { ok: true, secret: shared };
    },
    dispose() {
      disposed = true;
      wipe(secret);
    },
  };
}
