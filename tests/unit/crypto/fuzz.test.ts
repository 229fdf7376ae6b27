// Property tests on the entry points that take bytes from the network: SK open() and the key
// exchange computeShared(). They must never throw, and must not accept what they did not produce.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { createKeyExchange } from "../../../core/crypto/dh.ts";
import type { Random } from "../../../core/types.ts";
import { toHex } from "../../../core/util/bytes.ts";
import { KeId } from "../../../core/wire/constants.ts";
import { sampleSuites } from "./suites.ts";

const SUITES = sampleSuites();

test("SK open() on arbitrary bytes never throws and never authenticates", () => {
  for (const [name, s, keys] of SUITES) {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 160 }), fc.uint8Array({ maxLength: 40 }), (body, aad) => {
        const r = s.open(keys, aad, body);
        if (r.ok) throw new Error(`${name}: random body authenticated`);
        return ["length", "icv"].includes(r.reason);
      }),
      { numRuns: 300 },
    );
  }
});

test("SK seal() then open() returns the plaintext; any single changed octet is refused", () => {
  for (const [name, s, keys, iv] of SUITES) {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ minLength: 1, maxLength: 48 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (pt, aad, where, xor) => {
          const body = s.seal(keys, aad, pt, iv);
          if (body.length !== s.bodyLength(pt.length)) return false;
          const r = s.open(keys, aad, body);
          if (!r.ok || toHex(r.plaintext) !== toHex(pt)) return false;
          const all = new Uint8Array(aad.length + body.length);
          all.set(aad);
          all.set(body, aad.length);
          all[where % all.length]! ^= xor;
          const m = s.open(keys, all.subarray(0, aad.length), all.subarray(aad.length));
          if (m.ok) throw new Error(`${name}: a modified message was accepted`);
          return true;
        },
      ),
      { numRuns: 150 },
    );
  }
});

const seeded = (seed: number): Random => {
  let x = seed;
  return {
    bytes(n) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
      return b;
    },
  };
};

test("computeShared() on arbitrary peer values never throws", () => {
  for (const [group, runs] of [
    [KeId.CURVE25519, 200],
    [KeId.ECP_256, 100],
    [KeId.ECP_384, 50],
    [KeId.ECP_521, 30],
    [KeId.MODP_2048, 10],
  ] as const) {
    const kx = createKeyExchange(group, seeded(group));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: kx.publicKey.length, maxLength: kx.publicKey.length })), (peer) => {
        const r = kx.computeShared(peer);
        return r.ok ? r.secret.length > 0 : r.reason.length > 0;
      }),
      { numRuns: runs },
    );
    kx.dispose();
    expect(kx.computeShared(kx.publicKey).ok).toBe(false);
  }
});
