// CBC decryption with PKCS#5/#7 padding for the 8-octet block ciphers of legacy PKCS#12 (Triple DES, RC2).
// AES-CBC comes from @noble/ciphers. NIST SP 800-38A §6.2: P(j) = D(C(j)) xor C(j-1), C(0) = IV.

/** Deciphers one block `src` into `dst` (both `blockSize` octets). */
export type BlockDecrypt = (src: Uint8Array, dst: Uint8Array) => void;

/**
 * Deciphers `data` and strips the padding of RFC 8018 §6.1.1 step 4 (= RFC 5652 §6.3): 1..blockSize octets
 * each holding the pad length. Returns null when the length is not whole blocks or the padding is wrong —
 * with a password-derived key, almost always a wrong password.
 */
export function cbcDecrypt(decrypt: BlockDecrypt, blockSize: number, iv: Uint8Array, data: Uint8Array): Uint8Array | null {
  if (iv.length !== blockSize || data.length === 0 || data.length % blockSize !== 0) return null;
  const out = new Uint8Array(data.length);
  const block = new Uint8Array(blockSize);
  let prev = iv;
  for (let off = 0; off < data.length; off += blockSize) {
    const c = data.subarray(off, off + blockSize);
    decrypt(c, block);
    for (let i = 0; i < blockSize; i++) out[off + i] = block[i]! ^ prev[i]!;
    prev = c;
  }
  block.fill(0);
  const pad = out[out.length - 1]!;
  let bad = pad === 0 || pad > blockSize ? 1 : 0;
  for (let i = 1; i <= blockSize && !bad; i++) if (i <= pad && out[out.length - i] !== pad) bad = 1;
  if (bad) {
    out.fill(0);
    return null;
  }
  return out.subarray(0, out.length - pad);
}
