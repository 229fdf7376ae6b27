// DES (FIPS 46-3) block encryption and decryption, and the 56→64-bit key expansion of RFC 2759 §8.6.
// MS-CHAPv2's ChallengeResponse (RFC 2759 §8.5) encrypts the 8-octet Challenge three times with keys cut
// from the NT password hash; legacy PKCS#12 files and keys are deciphered with Triple DES built on this
// (core/x509/tdes.ts). A few kilobytes at most: this favours plain tables over speed. DES is broken and
// must not be used for anything else.

// FIPS 46-3 tables, 1-based bit numbers, bit 1 = most significant bit of the first octet.

// Initial Permutation IP
const IP = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
  57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];
// Inverse Initial Permutation IP^-1
const FP = [
  40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
  36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27, 34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
];
// E bit-selection table (32 → 48 bits)
const E = [
  32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
  16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
];
// Permutation P of the S-box outputs
const P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25];
// Permuted Choice 1 (64-bit key → C0 | D0, parity bits 8, 16, ..., 64 dropped)
const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];
// Permuted Choice 2 (Cn | Dn → Kn)
const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];
// Left shifts of C and D before each of the 16 iterations
const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
// Selection functions S1..S8: row = outer bits (1st and 6th), column = the middle four bits
const S: number[][] = [
  [
    14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
    4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
  ],
  [
    15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
    0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
  ],
  [
    10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
    13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
  ],
  [
    7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
    10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
  ],
  [
    2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
    4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
  ],
  [
    12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
    9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
  ],
  [
    4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
    1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
  ],
  [
    13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
    7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
  ],
];

/** Bits of `bytes`, most significant first, one per array element. */
function toBits(bytes: Uint8Array): Uint8Array {
  const bits = new Uint8Array(bytes.length * 8);
  for (let i = 0; i < bits.length; i++) bits[i] = (bytes[i >>> 3]! >>> (7 - (i & 7))) & 1;
  return bits;
}

function fromBits(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(bits.length >>> 3);
  for (let i = 0; i < bits.length; i++) out[i >>> 3]! |= bits[i]! << (7 - (i & 7));
  return out;
}

function permute(bits: Uint8Array, table: number[]): Uint8Array {
  const out = new Uint8Array(table.length);
  for (let i = 0; i < table.length; i++) out[i] = bits[table[i]! - 1]!;
  return out;
}

/** FIPS 46-3 "Key Schedule Calculation": the sixteen 48-bit subkeys K1..K16. */
function keySchedule(key: Uint8Array): Uint8Array[] {
  const cd = permute(toBits(key), PC1);
  let c = cd.subarray(0, 28);
  let d = cd.subarray(28, 56);
  const ks: Uint8Array[] = [];
  for (const shift of SHIFTS) {
    c = rotateLeft(c, shift);
    d = rotateLeft(d, shift);
    const joined = new Uint8Array(56);
    joined.set(c);
    joined.set(d, 28);
    ks.push(permute(joined, PC2));
    joined.fill(0);
  }
  cd.fill(0);
  return ks;
}

function rotateLeft(half: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(28);
  for (let i = 0; i < 28; i++) out[i] = half[(i + n) % 28]!;
  return out;
}

/** FIPS 46-3 "The Cipher Function f": P(S1(B1)...S8(B8)) where B1..B8 = K xor E(R). */
function f(r: Uint8Array, k: Uint8Array): Uint8Array {
  const x = permute(r, E);
  for (let i = 0; i < 48; i++) x[i]! ^= k[i]!;
  const sOut = new Uint8Array(32);
  for (let box = 0; box < 8; box++) {
    const b = x.subarray(box * 6, box * 6 + 6);
    const row = (b[0]! << 1) | b[5]!;
    const col = (b[1]! << 3) | (b[2]! << 2) | (b[3]! << 1) | b[4]!;
    const v = S[box]![row * 16 + col]!;
    for (let j = 0; j < 4; j++) sOut[box * 4 + j] = (v >>> (3 - j)) & 1;
  }
  x.fill(0);
  return permute(sOut, P);
}

/**
 * Encrypts one 8-octet block with an 8-octet DES key (FIPS 46-3 "Enciphering"); the key's parity bits
 * (the low bit of each octet) are ignored. Returns undefined when a length is wrong.
 */
export function desEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array | undefined {
  if (key.length !== 8 || block.length !== 8) return undefined;
  const ks = keySchedule(key);
  const out = desBlock(ks, block);
  for (const k of ks) k.fill(0);
  return out;
}

/** The sixteen subkeys of an 8-octet key, K1..K16 (reverse them to decipher); the caller wipes them. */
export function desSubkeys(key: Uint8Array): Uint8Array[] {
  if (key.length !== 8) throw new Error("desSubkeys: a DES key is 8 octets");
  return keySchedule(key);
}

/**
 * One 8-octet block through the sixteen iterations with the given subkeys: K1..K16 enciphers, K16..K1
 * deciphers (FIPS 46-3 "Deciphering": the same algorithm with the key schedule applied in reverse).
 */
export function desBlock(ks: Uint8Array[], block: Uint8Array): Uint8Array {
  const lr = permute(toBits(block), IP);
  let l: Uint8Array = lr.slice(0, 32);
  let r: Uint8Array = lr.slice(32, 64);
  // L(n) = R(n-1), R(n) = L(n-1) xor f(R(n-1), K(n)) for n = 1..16
  for (const k of ks) {
    const fr = f(r, k);
    for (let i = 0; i < 32; i++) fr[i]! ^= l[i]!;
    l = r;
    r = fr;
  }
  // The preoutput block is R16 L16 (the halves swapped), then IP^-1.
  const preoutput = new Uint8Array(64);
  preoutput.set(r);
  preoutput.set(l, 32);
  const out = fromBits(permute(preoutput, FP));
  lr.fill(0);
  preoutput.fill(0);
  return out;
}

/**
 * RFC 2759 §8.6 (and §9.3): spreads a 7-octet (56-bit) key over 8 octets, seven key bits in the high
 * bits of each octet, and sets the low bit of each octet so that the octet has odd parity (FIPS 46-3).
 */
export function expandDesKey(key7: Uint8Array): Uint8Array | undefined {
  if (key7.length !== 7) return undefined;
  const bits = toBits(key7);
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) {
    let v = 0;
    for (let j = 0; j < 7; j++) v = (v << 1) | bits[i * 7 + j]!;
    let ones = 0;
    for (let j = 0; j < 7; j++) ones += (v >>> j) & 1;
    out[i] = (v << 1) | (ones & 1 ? 0 : 1); // odd parity over the eight bits
  }
  bits.fill(0);
  return out;
}
