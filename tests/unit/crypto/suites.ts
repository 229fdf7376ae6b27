// Shared by the crypto tests: one SK suite of each kind with fixed keys and IV, and the PRFs by hash.
import { createSkSuite } from "../../../core/crypto/encr.ts";
import type { SkKeys, SkSuite } from "../../../core/crypto/encr.ts";
import { EncrId, IntegId, PrfId } from "../../../core/wire/constants.ts";

/** Each HMAC PRF roam implements, with the node:crypto hash name an independent check computes it with. */
export const PRF_HASHES = [
  [PrfId.HMAC_SHA2_256, "sha256"],
  [PrfId.HMAC_SHA2_384, "sha384"],
  [PrfId.HMAC_SHA2_512, "sha512"],
  [PrfId.HMAC_SHA1, "sha1"],
] as const;

/** Deterministic filler bytes. */
export const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

export function suite(encrId: number, bits: number | undefined, integId: number): SkSuite {
  const r = createSkSuite(encrId, bits, integId);
  if (!r.ok) throw new Error(r.reason);
  return r.suite;
}

/** [name, suite, keys, iv] for every SK protection roam implements. */
export function sampleSuites(): [string, SkSuite, SkKeys, Uint8Array][] {
  return [
    ["aes128-sha256", suite(EncrId.AES_CBC, 128, IntegId.HMAC_SHA2_256_128), { encr: bytes(16, 5), integ: bytes(32, 6) }, bytes(16, 7)],
    ["aes256-sha384", suite(EncrId.AES_CBC, 256, IntegId.HMAC_SHA2_384_192), { encr: bytes(32, 5), integ: bytes(48, 6) }, bytes(16, 7)],
    ["aes192-sha1", suite(EncrId.AES_CBC, 192, IntegId.HMAC_SHA1_96), { encr: bytes(24, 5), integ: bytes(20, 6) }, bytes(16, 7)],
    ["aes128gcm16", suite(EncrId.AES_GCM_16, 128, IntegId.NONE), { encr: bytes(20, 5) }, bytes(8, 7)],
    ["aes256gcm16", suite(EncrId.AES_GCM_16, 256, IntegId.NONE), { encr: bytes(36, 5) }, bytes(8, 7)],
    ["aes256gcm12", suite(EncrId.AES_GCM_12, 256, IntegId.NONE), { encr: bytes(36, 5) }, bytes(8, 7)],
    ["aes128gcm8", suite(EncrId.AES_GCM_8, 128, IntegId.NONE), { encr: bytes(20, 5) }, bytes(8, 7)],
    ["chacha20poly1305", suite(EncrId.CHACHA20_POLY1305, undefined, IntegId.NONE), { encr: bytes(36, 5) }, bytes(8, 7)],
  ];
}
