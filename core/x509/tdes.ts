// Triple DES (TDEA, NIST SP 800-67 Rev. 2 §3), for the legacy encryptions of PKCS#12 (RFC 7292 App. C
// pbeWithSHAAnd3-KeyTripleDES-CBC, what macOS Keychain and OpenSSL 1.x write) and for PBES2 des-ede3-cbc.
// Built on the DES block function of core/eap/des.ts. Deciphering only: roam never writes these.

import { desBlock, desSubkeys } from "../eap/des.ts";
import { cbcDecrypt } from "./cbc.ts";

/**
 * Keying options of SP 800-67 §3.1: 24 octets = K1 K2 K3 (option 1), 16 octets = K1 K2 with K3 = K1
 * (option 2, two-key), 8 octets = single DES (K1 = K2 = K3). The parity bits are ignored.
 */
function subkeys(key: Uint8Array): [Uint8Array[], Uint8Array[], Uint8Array[]] {
  if (key.length !== 8 && key.length !== 16 && key.length !== 24) throw new Error("tdes: a key is 8, 16 or 24 octets");
  const k1 = desSubkeys(key.subarray(0, 8));
  const k2 = key.length >= 16 ? desSubkeys(key.subarray(8, 16)) : k1;
  const k3 = key.length === 24 ? desSubkeys(key.subarray(16, 24)) : k1;
  return [k1, k2, k3];
}

function wipeKeys(...sets: Uint8Array[][]): void {
  for (const s of sets) for (const k of s) k.fill(0);
}

/** SP 800-67 §3.2 encryption of one block: O = E_K3(D_K2(E_K1(I))). */
export function tdesEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const [k1, k2, k3] = subkeys(key);
  const out = desBlock(k3, desBlock([...k2].reverse(), desBlock(k1, block)));
  wipeKeys(k1, k2, k3);
  return out;
}

/** SP 800-67 §3.3 decryption of one block: O = D_K1(E_K2(D_K3(I))). */
export function tdesDecryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const [k1, k2, k3] = subkeys(key);
  const out = desBlock([...k1].reverse(), desBlock(k2, desBlock([...k3].reverse(), block)));
  wipeKeys(k1, k2, k3);
  return out;
}

/** TDEA-CBC with PKCS#5 padding; null on a bad length or bad padding (see cbc.ts). */
export function tdesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array | null {
  const [k1, k2, k3] = subkeys(key);
  const d1 = [...k1].reverse();
  const d3 = [...k3].reverse();
  try {
    return cbcDecrypt((src, dst) => dst.set(desBlock(d1, desBlock(k2, desBlock(d3, src)))), 8, iv, data);
  } finally {
    wipeKeys(k1, k2, k3);
  }
}
