// RC2 (RFC 2268), for the legacy PKCS#12 certificate encryption pbeWithSHAAnd40BitRC2-CBC that OpenSSL 1.x
// and `openssl pkcs12 -legacy` write by default (RFC 7292 App. C). Deciphering is what roam needs;
// enciphering is here for the RFC's test vectors.

import { cbcDecrypt } from "./cbc.ts";

/** RFC 2268 §2: PITABLE, a permutation of 0..255 based on the digits of pi. */
const PITABLE = Uint8Array.from(
  [
    "d9 78 f9 c4 19 dd b5 ed 28 e9 fd 79 4a a0 d8 9d",
    "c6 7e 37 83 2b 76 53 8e 62 4c 64 88 44 8b fb a2",
    "17 9a 59 f5 87 b3 4f 13 61 45 6d 8d 09 81 7d 32",
    "bd 8f 40 eb 86 b7 7b 0b f0 95 21 22 5c 6b 4e 82",
    "54 d6 65 93 ce 60 b2 1c 73 56 c0 14 a7 8c f1 dc",
    "12 75 ca 1f 3b be e4 d1 42 3d d4 30 a3 3c b6 26",
    "6f bf 0e da 46 69 07 57 27 f2 1d 9b bc 94 43 03",
    "f8 11 c7 f6 90 ef 3e e7 06 c3 d5 2f c8 66 1e d7",
    "08 e8 ea de 80 52 ee f7 84 aa 72 ac 35 4d 6a 2a",
    "96 1a d2 71 5a 15 49 74 4b 9f d0 5e 04 18 a4 ec",
    "c2 e0 41 6e 0f 51 cb cc 24 91 af 50 a1 f4 70 39",
    "99 7c 3a 85 23 b8 b4 7a fc 02 36 5b 25 55 97 31",
    "2d 5d fa 98 e3 8a 92 ae 05 df 29 10 67 6c ba c9",
    "d3 00 e6 cf e1 9e a8 2c 63 16 01 3f 58 e2 89 a9",
    "0d 38 34 1b ab 33 ff b0 bb 48 0c 5f b9 b1 cd 2e",
    "c5 f3 db 47 e5 a5 9c 77 0a a6 20 68 fe 7f c1 ad",
  ]
    .join(" ")
    .split(" "),
  (h) => parseInt(h, 16),
);

/** RFC 2268 §2 key expansion: the 64 16-bit words K[0..63] for a key of 1..128 octets and T1 effective bits. */
export function rc2ExpandKey(key: Uint8Array, effectiveBits: number): Uint16Array {
  const t = key.length;
  if (t < 1 || t > 128 || effectiveBits < 1 || effectiveBits > 1024) throw new Error("rc2: key of 1-128 octets, 1-1024 effective bits");
  const l = new Uint8Array(128);
  l.set(key);
  for (let i = t; i < 128; i++) l[i] = PITABLE[(l[i - 1]! + l[i - t]!) & 0xff]!;
  const t8 = Math.ceil(effectiveBits / 8);
  const tm = 0xff >> (8 * t8 - effectiveBits);
  l[128 - t8] = PITABLE[l[128 - t8]! & tm]!;
  for (let i = 127 - t8; i >= 0; i--) l[i] = PITABLE[l[i + 1]! ^ l[i + t8]!]!;
  const k = new Uint16Array(64);
  for (let i = 0; i < 64; i++) k[i] = l[2 * i]! | (l[2 * i + 1]! << 8);
  l.fill(0);
  return k;
}

const S = [1, 2, 3, 5];

function words(block: Uint8Array): number[] {
  return [0, 1, 2, 3].map((i) => block[2 * i]! | (block[2 * i + 1]! << 8));
}

function store(r: number[], out: Uint8Array): void {
  for (let i = 0; i < 4; i++) {
    out[2 * i] = r[i]! & 0xff;
    out[2 * i + 1] = (r[i]! >>> 8) & 0xff;
  }
}

/** RFC 2268 §3: five MIXING rounds, a MASHING round, six MIXING, a MASHING, five MIXING. */
export function rc2EncryptBlock(k: Uint16Array, block: Uint8Array, out: Uint8Array = new Uint8Array(8)): Uint8Array {
  const r = words(block);
  let j = 0;
  const mix = () => {
    for (let i = 0; i < 4; i++) {
      // §3.1: R[i] = R[i] + K[j] + (R[i-1] & R[i-2]) + (~R[i-1] & R[i-3]); j++; R[i] = R[i] rol s[i]
      const v = (r[i]! + k[j++]! + (r[(i + 3) & 3]! & r[(i + 2) & 3]!) + (~r[(i + 3) & 3]! & r[(i + 1) & 3]!)) & 0xffff;
      r[i] = ((v << S[i]!) | (v >>> (16 - S[i]!))) & 0xffff;
    }
  };
  // §3.2: R[i] = R[i] + K[R[i-1] & 63]
  const mash = () => {
    for (let i = 0; i < 4; i++) r[i] = (r[i]! + k[r[(i + 3) & 3]! & 63]!) & 0xffff;
  };
  for (let n = 0; n < 5; n++) mix();
  mash();
  for (let n = 0; n < 6; n++) mix();
  mash();
  for (let n = 0; n < 5; n++) mix();
  store(r, out);
  return out;
}

/** RFC 2268 §4: the rounds of §3 undone in reverse order, j running from 63 down to 0. */
export function rc2DecryptBlock(k: Uint16Array, block: Uint8Array, out: Uint8Array = new Uint8Array(8)): Uint8Array {
  const r = words(block);
  let j = 63;
  const rmix = () => {
    for (let i = 3; i >= 0; i--) {
      // §4.1: R[i] = R[i] ror s[i]; R[i] = R[i] - K[j] - (R[i-1] & R[i-2]) - (~R[i-1] & R[i-3]); j--
      const v = r[i]!;
      const x = ((v >>> S[i]!) | (v << (16 - S[i]!))) & 0xffff;
      r[i] = (x - k[j--]! - (r[(i + 3) & 3]! & r[(i + 2) & 3]!) - (~r[(i + 3) & 3]! & r[(i + 1) & 3]!)) & 0xffff;
    }
  };
  // §4.2: R[i] = R[i] - K[R[i-1] & 63]
  const rmash = () => {
    for (let i = 3; i >= 0; i--) r[i] = (r[i]! - k[r[(i + 3) & 3]! & 63]!) & 0xffff;
  };
  for (let n = 0; n < 5; n++) rmix();
  rmash();
  for (let n = 0; n < 6; n++) rmix();
  rmash();
  for (let n = 0; n < 5; n++) rmix();
  store(r, out);
  return out;
}

/** RC2-CBC with PKCS#5 padding (RFC 2268 §5 mode, padding of RFC 8018 §6.1.1); null on bad length or padding. */
export function rc2CbcDecrypt(key: Uint8Array, effectiveBits: number, iv: Uint8Array, data: Uint8Array): Uint8Array | null {
  const k = rc2ExpandKey(key, effectiveBits);
  try {
    return cbcDecrypt((src, dst) => rc2DecryptBlock(k, src, dst), 8, iv, data);
  } finally {
    k.fill(0);
  }
}
