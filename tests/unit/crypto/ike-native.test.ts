// The native IKE primitives (platform/crypto/ike-native.ts) against noble's reference
// (core/crypto/primitives.ts): the same HMAC for every PRF hash, the same AES-GCM ciphertext and tag for
// every key size and ICV length, each opening the other's output, and both refusing the same forgeries.
// Then a whole IKE_SA_INIT → IKE_AUTH exchange with them, against the fake gateway (noble).
import { expect, test } from "bun:test";
import { noblePrimitives, type HashName, type SymmetricPrimitives } from "../../../core/crypto/primitives.ts";
import { prfById } from "../../../core/crypto/prf.ts";
import { createSkSuite } from "../../../core/crypto/encr.ts";
import { toHex } from "../../../core/util/bytes.ts";
import { EncrId, IntegId, PrfId } from "../../../core/wire/constants.ts";
import { nativePrimitives } from "../../../platform/crypto/ike-native.ts";
import { IkeSession } from "../../../core/ike/session.ts";
import type { Action } from "../../../core/ike/types.ts";
import { seededRandom } from "../../lib/seeded.ts";
import { FakeGateway } from "../ike/fake-gateway.ts";
import { env, pump } from "../ike/pump.ts";
import { TEST_PSK, testSessionConfig } from "../ike/session-config.ts";

const rnd = seededRandom(0x1ce);
const LENGTHS = [0, 1, 15, 16, 17, 63, 64, 65, 400, 1500];

test("HMAC: native = noble for SHA-1/256/384/512, keys and data of many lengths (RFC 2104 long keys hashed first)", () => {
  for (const hash of ["sha1", "sha256", "sha384", "sha512"] as HashName[]) {
    for (const keyLength of [0, 1, 20, 32, 64, 65, 128, 200]) {
      for (const n of LENGTHS) {
        const key = rnd.bytes(keyLength);
        const data = rnd.bytes(n);
        expect(toHex(nativePrimitives.hmac(hash, key, data))).toBe(toHex(noblePrimitives.hmac(hash, key, data)));
      }
    }
  }
});

test("AES-GCM: native = noble for 128/192/256-bit keys and 8/12/16-octet ICVs; each opens the other's", () => {
  for (const keyLength of [16, 24, 32]) {
    for (const tagLength of [8, 12, 16]) {
      for (const n of LENGTHS) {
        const key = rnd.bytes(keyLength);
        const nonce = rnd.bytes(12);
        const aad = rnd.bytes(n % 40);
        const plaintext = rnd.bytes(n);
        const a = nativePrimitives.gcmSeal(key, nonce, aad, plaintext, tagLength);
        const b = noblePrimitives.gcmSeal(key, nonce, aad, plaintext, tagLength);
        expect(toHex(a)).toBe(toHex(b));
        const ct = a.subarray(0, n);
        const tag = a.subarray(n);
        expect(toHex(nativePrimitives.gcmOpen(key, nonce, aad, ct, tag)!)).toBe(toHex(plaintext));
        expect(toHex(noblePrimitives.gcmOpen(key, nonce, aad, b.subarray(0, n), b.subarray(n))!)).toBe(toHex(plaintext));
      }
    }
  }
});

test("AES-GCM open: both refuse a changed tag, ciphertext, AAD or nonce, and tags of other lengths", () => {
  const key = rnd.bytes(32);
  const nonce = rnd.bytes(12);
  const aad = rnd.bytes(28);
  const pt = rnd.bytes(100);
  const sealed = noblePrimitives.gcmSeal(key, nonce, aad, pt, 16);
  const flip = (b: Uint8Array, i: number) => {
    const c = b.slice();
    c[i]! ^= 1;
    return c;
  };
  const ct = sealed.subarray(0, 100);
  const tag = sealed.subarray(100);
  for (const p of [nativePrimitives, noblePrimitives]) {
    expect(p.gcmOpen(key, nonce, aad, ct, flip(tag, 15))).toBeUndefined();
    expect(p.gcmOpen(key, nonce, aad, flip(ct, 0), tag)).toBeUndefined();
    expect(p.gcmOpen(key, nonce, flip(aad, 3), ct, tag)).toBeUndefined();
    expect(p.gcmOpen(key, flip(nonce, 11), aad, ct, tag)).toBeUndefined();
    expect(p.gcmOpen(key, nonce, aad, ct, new Uint8Array(0))).toBeUndefined();
    expect(p.gcmOpen(key, nonce, aad, ct, tag.subarray(0, 4))).toBeUndefined();
    // A truncated ICV verifies as such (RFC 4106 §6): the leftmost 12 octets.
    expect(toHex(p.gcmOpen(key, nonce, aad, ct, tag.subarray(0, 12))!)).toBe(toHex(pt));
  }
});

test("PRFs and SK suites built on native primitives match the reference (prf+, GCM SK seal/open)", () => {
  for (const id of [PrfId.HMAC_SHA2_256, PrfId.HMAC_SHA2_384, PrfId.HMAC_SHA2_512, PrfId.HMAC_SHA1]) {
    const key = rnd.bytes(40);
    const data = rnd.bytes(90);
    expect(toHex(prfById(id, nativePrimitives)!.compute(key, data))).toBe(toHex(prfById(id)!.compute(key, data)));
  }
  for (const [encr, bits] of [
    [EncrId.AES_GCM_16, 256],
    [EncrId.AES_GCM_12, 128],
    [EncrId.AES_GCM_8, 192],
  ] as const) {
    const native = createSkSuite(encr, bits, IntegId.NONE, nativePrimitives);
    const noble = createSkSuite(encr, bits, IntegId.NONE);
    if (!native.ok || !noble.ok) throw new Error("suite");
    const keys = { encr: rnd.bytes(native.suite.encrKeyLength), integ: new Uint8Array(0) };
    const aad = rnd.bytes(32);
    const iv = rnd.bytes(8);
    const pt = rnd.bytes(333);
    const body = native.suite.seal(keys, aad, pt, iv);
    expect(toHex(body)).toBe(toHex(noble.suite.seal(keys, aad, pt, iv)));
    const opened = noble.suite.open(keys, aad, body);
    expect(opened.ok && toHex(opened.plaintext)).toBe(toHex(pt));
  }
});

test("a session with native primitives (SessionEnv.primitives) connects to the fake gateway (noble) and rekeys its IKE SA; all its HMAC and AES-GCM go through them", () => {
  const calls = { hmac: 0, seal: 0, open: 0 };
  const counting: SymmetricPrimitives = {
    hmac: (h, k, d) => (calls.hmac++, nativePrimitives.hmac(h, k, d)),
    gcmSeal: (k, n, a, p, t) => (calls.seal++, nativePrimitives.gcmSeal(k, n, a, p, t)),
    gcmOpen: (k, n, a, c, t) => (calls.open++, nativePrimitives.gcmOpen(k, n, a, c, t)),
  };
  const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(7) });
  const s = new IkeSession(testSessionConfig({ ikeRekeyMs: 3_600_000 }), { ...env(107), primitives: counting });
  const up = pump(s, gw, s.handle({ kind: "start" }, 0));
  expect(s.status().state).toBe("established");
  expect(calls.hmac).toBeGreaterThan(0);
  expect(calls.seal).toBe(1); // IKE_AUTH request
  expect(calls.open).toBe(1); // its response
  const arm = up.find((a) => a.kind === "arm-timer" && a.timer === "ike-rekey") as Extract<Action, { kind: "arm-timer" }>;
  const before = { ...calls };
  const r = pump(s, gw, s.handle({ kind: "timer", timer: "ike-rekey" }, arm.at), arm.at);
  expect(r.some((x) => x.kind === "failed")).toBe(false);
  expect(s.status().state).toBe("established");
  expect(calls.hmac).toBeGreaterThan(before.hmac);
  // The new IKE SA protects with the injected primitives too: a liveness check (DPD) is sealed by them.
  const afterRekey = calls.seal;
  const later = arm.at + 10 * 60_000;
  const dpd = s.handle({ kind: "liveness", lastInbound: arm.at }, later);
  expect(dpd.some((a) => a.kind === "send")).toBe(true);
  expect(calls.seal).toBe(afterRekey + 1);
});
