// Native key exchange through Bun's node:crypto (BoringSSL): Curve25519 (RFC 8031) and ECP groups 19/20/21
// (RFC 5903). Same wire encodings and the same typed failures as core's noble reference (core/crypto/dh.ts);
// MODP groups stay with the reference, since Bun's createDiffieHellman constructor alone takes ~600 ms.
//
// Why: the first noble X25519 key generation in the compiled binary costs ~56 ms cold (JIT and tables);
// BoringSSL's takes well under a millisecond.
//
// The private key is drawn from the injected Random (as the reference does), handed to BoringSSL, and its
// JS copies are zeroed; the native copy is released on dispose() (node:crypto offers no way to zero it).

import { createECDH, createPrivateKey, createPublicKey, diffieHellman } from "node:crypto";
import type { ECDH, KeyObject } from "node:crypto";
import { createKeyExchange } from "../../core/crypto/dh.ts";
import type { KeyExchange, KeyExchangeFactory, SharedResult } from "../../core/crypto/dh.ts";
import type { Random } from "../../core/types.ts";
import { wipe } from "../../core/util/bytes.ts";
import { KeId } from "../../core/wire/constants.ts";

const ECP = new Map<number, { curve: string; coordLength: number; topByteMask: number }>([
  [KeId.ECP_256, { curve: "prime256v1", coordLength: 32, topByteMask: 0xff }],
  [KeId.ECP_384, { curve: "secp384r1", coordLength: 48, topByteMask: 0xff }],
  // The P-521 order has 521 bits: a 66-octet scalar's first octet holds one significant bit.
  [KeId.ECP_521, { curve: "secp521r1", coordLength: 66, topByteMask: 0x01 }],
]);

// DER wrappings of a raw X25519 key (RFC 8410 §7 PrivateKeyInfo, §4 SubjectPublicKeyInfo, OID 1.3.101.110).
const X25519_PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20);
const X25519_SPKI_PREFIX = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00);

const LOW_ORDER = "Curve25519 shared secret is all zeros (low-order public value)";
const DISPOSED: SharedResult = { ok: false, reason: "key exchange already disposed" };

/** A fresh ephemeral key pair; MODP groups come from the reference. Throws for an unsupported group. */
export function createNativeKeyExchange(group: number, random: Random): KeyExchange {
  const ecp = ECP.get(group);
  if (ecp) {
    // Rejection sampling: a uniform scalar in [1, n-1] (setPrivateKey refuses 0 and anything >= n).
    for (let tries = 0; tries < 128; tries++) {
      const scalar = random.bytes(ecp.coordLength);
      scalar[0]! &= ecp.topByteMask;
      const ecdh = ecdhFromScalar(ecp.curve, scalar);
      wipe(scalar);
      if (ecdh) return ecpExchange(group, ecdh, ecp.coordLength);
    }
    throw new Error(`no valid private key for group ${group} from 128 random draws: the random source is broken`);
  }
  if (group === KeId.CURVE25519) {
    const scalar = random.bytes(32);
    try {
      return x25519Exchange(scalar);
    } finally {
      wipe(scalar);
    }
  }
  return createKeyExchange(group, random);
}

/**
 * A key pair from a fixed private key, for tests against published vectors: the ECP scalar (big-endian,
 * curve order length) or the X25519 scalar. Throws on an invalid key or a group without a native path.
 */
export function nativeKeyExchangeFromPrivate(group: number, privateKey: Uint8Array): KeyExchange {
  const ecp = ECP.get(group);
  if (ecp) {
    const ecdh = privateKey.length === ecp.coordLength ? ecdhFromScalar(ecp.curve, privateKey) : undefined;
    if (!ecdh) throw new RangeError(`not a valid private key for group ${group}`);
    return ecpExchange(group, ecdh, ecp.coordLength);
  }
  if (group === KeId.CURVE25519) {
    if (privateKey.length !== 32) throw new RangeError("X25519 private key must be 32 bytes");
    return x25519Exchange(privateKey);
  }
  throw new RangeError(`key exchange group ${group} has no native implementation`);
}

export const nativeKeyExchangeFactory: KeyExchangeFactory = { name: "native", create: createNativeKeyExchange };

function ecdhFromScalar(curve: string, scalar: Uint8Array): ECDH | undefined {
  const ecdh = createECDH(curve);
  try {
    ecdh.setPrivateKey(scalar);
    return ecdh;
  } catch {
    return undefined;
  }
}

function ecpExchange(group: number, keyPair: ECDH, coordLength: number): KeyExchange {
  // RFC 5903 §7: the public value is x | y, each coordinate padded to the field length, no 0x04 prefix.
  const publicKey = new Uint8Array(keyPair.getPublicKey().subarray(1));
  let ecdh: ECDH | null = keyPair;
  return {
    group,
    publicKey,
    computeShared(peer) {
      if (!ecdh) return DISPOSED;
      if (peer.length !== 2 * coordLength) {
        return { ok: false, reason: `ECP public value is ${peer.length} bytes, expected ${2 * coordLength}` };
      }
      const point = new Uint8Array(1 + peer.length);
      point[0] = 0x04; // SEC 1 uncompressed point
      point.set(peer, 1);
      let shared: Uint8Array;
      try {
        // BoringSSL decodes the point and checks that it is on the curve (RFC 6989 §2.3).
        shared = ecdh.computeSecret(point);
      } catch {
        return { ok: false, reason: "ECP public value is not a point on the curve" };
      }
      // RFC 5903 §7: the shared secret is the x coordinate of the common point, padded to the field length.
      const x = new Uint8Array(coordLength);
      x.set(shared, coordLength - shared.length);
      wipe(shared);
      return { ok: true, secret: x };
    },
    dispose() {
      ecdh = null;
    },
  };
}

function x25519Exchange(scalar: Uint8Array): KeyExchange {
  const der = new Uint8Array(X25519_PKCS8_PREFIX.length + 32);
  der.set(X25519_PKCS8_PREFIX);
  der.set(scalar, X25519_PKCS8_PREFIX.length);
  let privateKey: KeyObject | null;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.length), format: "der", type: "pkcs8" });
  } finally {
    wipe(der);
  }
  // RFC 8031 §2: 32 octets, the u-coordinate little-endian (the SPKI's BIT STRING content).
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const publicKey = new Uint8Array(spki.subarray(X25519_SPKI_PREFIX.length));
  return {
    group: KeId.CURVE25519,
    publicKey,
    computeShared(peer) {
      if (!privateKey) return DISPOSED;
      if (peer.length !== 32) return { ok: false, reason: `Curve25519 public value is ${peer.length} bytes, expected 32` };
      const peerDer = new Uint8Array(X25519_SPKI_PREFIX.length + 32);
      peerDer.set(X25519_SPKI_PREFIX);
      peerDer.set(peer, X25519_SPKI_PREFIX.length);
      let shared: Uint8Array;
      try {
        const publicKey = createPublicKey({ key: Buffer.from(peerDer.buffer), format: "der", type: "spki" });
        shared = diffieHellman({ privateKey, publicKey });
      } catch {
        // BoringSSL's X25519() fails on the all-zero result itself (a low-order peer value).
        return { ok: false, reason: LOW_ORDER };
      }
      // RFC 8031 §3 (after RFC 7748 §6.1): the recipient MUST check for the all-zero secret and abort.
      let acc = 0;
      for (let i = 0; i < shared.length; i++) acc |= shared[i]!;
      if (acc === 0) return { ok: false, reason: LOW_ORDER }; // nothing to wipe: it is all zeros
      const secret = new Uint8Array(shared);
      wipe(shared);
      return { ok: true, secret };
    },
    dispose() {
      privateKey = null;
    },
  };
}
