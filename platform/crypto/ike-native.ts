// Native HMAC and AES-GCM for IKE (core/crypto/primitives.ts) through Bun's node:crypto (BoringSSL). The
// same results as noble's reference (tests/unit/crypto/ike-native.test.ts), without its cold start: in the
// compiled binary a connect's few prf+ and SK seals cost ~1-4 ms each with noble, microseconds here.

import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import { checkGcmNonce, GCM_TAG_LENGTHS } from "../../core/crypto/gcm.ts";
import type { SymmetricPrimitives } from "../../core/crypto/primitives.ts";
import { concatBytes, wipe } from "../../core/util/bytes.ts";

function gcmName(key: Uint8Array): "aes-128-gcm" | "aes-192-gcm" | "aes-256-gcm" {
  if (key.length === 16) return "aes-128-gcm";
  if (key.length === 24) return "aes-192-gcm";
  if (key.length === 32) return "aes-256-gcm";
  throw new RangeError(`AES-GCM: key must be 16, 24 or 32 bytes, got ${key.length}`);
}

export const nativePrimitives: SymmetricPrimitives = {
  hmac(hash, key, data) {
    const d = createHmac(hash, key).update(data).digest();
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  },

  gcmSeal(key, nonce, aad, plaintext, tagLength) {
    checkGcmNonce(nonce);
    if (!GCM_TAG_LENGTHS.has(tagLength)) throw new RangeError(`AES-GCM: tag length must be 8, 12 or 16, got ${tagLength}`);
    const c = createCipheriv(gcmName(key), key, nonce, { authTagLength: tagLength });
    c.setAAD(aad);
    const body = c.update(plaintext);
    const rest = c.final();
    return concatBytes(body, rest, c.getAuthTag());
  },

  gcmOpen(key, nonce, aad, ciphertext, tag) {
    checkGcmNonce(nonce);
    if (!GCM_TAG_LENGTHS.has(tag.length)) return undefined; // an empty "tag" must never verify
    const d = createDecipheriv(gcmName(key), key, nonce, { authTagLength: tag.length });
    d.setAAD(aad);
    d.setAuthTag(tag);
    const body = d.update(ciphertext);
    let rest: Uint8Array;
    try {
      rest = d.final(); // checks the tag
    } catch {
      wipe(body);
      return undefined;
    }
    const out = concatBytes(body, rest);
    wipe(body);
    return out;
  },
};
