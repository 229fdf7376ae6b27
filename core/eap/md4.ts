// MD4 message digest (RFC 1320). MS-CHAPv2 needs it for NtPasswordHash and HashNtPasswordHash
// (RFC 2759 §8.3, §8.4); noble does not ship MD4, so it lives here. MD4 is broken as a general hash and
// must not be used for anything else.

// RFC 1320 §3.3: the initial buffer A, B, C, D (low-order bytes first).
const A0 = 0x67452301;
const B0 = 0xefcdab89;
const C0 = 0x98badcfe;
const D0 = 0x10325476;

// RFC 1320 §3.4: the square roots of 2 and 3 used by rounds 2 and 3.
const R2 = 0x5a827999;
const R3 = 0x6ed9eba1;

// RFC 1320 §3.4: word order and shift amounts of rounds 2 and 3 (round 1 takes X[0..15] in order).
const ORDER2 = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
const ORDER3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
const SHIFT1 = [3, 7, 11, 19];
const SHIFT2 = [3, 5, 9, 13];
const SHIFT3 = [3, 9, 11, 15];

const rotl = (x: number, s: number): number => (x << s) | (x >>> (32 - s));

/** MD4 digest (16 octets) of `data`. */
export function md4(data: Uint8Array): Uint8Array {
  // RFC 1320 §3.1, §3.2: append 0x80, zeros up to 56 mod 64, then the bit length as 64 bits, low word first.
  const padded = new Uint8Array((((data.length + 8) >>> 6) + 1) << 6);
  padded.set(data);
  padded[data.length] = 0x80;
  const bits = data.length * 8;
  const end = padded.length - 8;
  writeLe32(padded, end, bits >>> 0);
  writeLe32(padded, end + 4, Math.floor(bits / 0x100000000) >>> 0);

  let a = A0;
  let b = B0;
  let c = C0;
  let d = D0;
  const X = new Uint32Array(16);
  for (let off = 0; off < padded.length; off += 64) {
    // RFC 1320 §3.4: copy block i into X (little-endian words).
    for (let j = 0; j < 16; j++) X[j] = readLe32(padded, off + j * 4);
    const aa = a;
    const bb = b;
    const cc = c;
    const dd = d;
    // Round 1: a = (a + F(b,c,d) + X[k]) <<< s, F(X,Y,Z) = XY v not(X) Z
    for (let i = 0; i < 16; i++) {
      const t = rotl((a + ((b & c) | (~b & d)) + X[i]!) | 0, SHIFT1[i & 3]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 2: a = (a + G(b,c,d) + X[k] + 5A827999) <<< s, G(X,Y,Z) = XY v XZ v YZ
    for (let i = 0; i < 16; i++) {
      const t = rotl((a + ((b & c) | (b & d) | (c & d)) + X[ORDER2[i]!]! + R2) | 0, SHIFT2[i & 3]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 3: a = (a + H(b,c,d) + X[k] + 6ED9EBA1) <<< s, H(X,Y,Z) = X xor Y xor Z
    for (let i = 0; i < 16; i++) {
      const t = rotl((a + (b ^ c ^ d) + X[ORDER3[i]!]! + R3) | 0, SHIFT3[i & 3]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  // RFC 1320 §3.5: the digest is A, B, C, D, each low-order byte first.
  const out = new Uint8Array(16);
  writeLe32(out, 0, a >>> 0);
  writeLe32(out, 4, b >>> 0);
  writeLe32(out, 8, c >>> 0);
  writeLe32(out, 12, d >>> 0);
  // The padded copy and the schedule may hold secrets (a password): clear them.
  padded.fill(0);
  X.fill(0);
  return out;
}

function readLe32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function writeLe32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
