// MODP Diffie-Hellman groups 14, 15, 16 (RFC 3526 §3-§5), generator 2, with BigInt arithmetic.
// (node's DiffieHellman constructor is far too slow in Bun; see RUNTIME-NOTES.)

import { KeId } from "../wire/constants.ts";

export interface ModpGroup {
  readonly id: number;
  readonly p: bigint;
  readonly g: bigint;
  /** Octets of the prime: the exact length of public values and of g^ir (RFC 7296 §3.4, §2.14). */
  readonly length: number;
  /** Octets of the private exponent: more than twice the group strength (RFC 3526 §1 and §8, estimate 2). */
  readonly exponentLength: number;
}

// The primes exactly as printed in RFC 3526 ("Its hexadecimal value is:").
const MODP_2048 = `
      FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
      29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
      EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
      E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
      EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D
      C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F
      83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D
      670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
      E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9
      DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510
      15728E5A 8AACAA68 FFFFFFFF FFFFFFFF`;

const MODP_3072 = `
      FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
      29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
      EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
      E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
      EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D
      C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F
      83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D
      670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
      E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9
      DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510
      15728E5A 8AAAC42D AD33170D 04507A33 A85521AB DF1CBA64
      ECFB8504 58DBEF0A 8AEA7157 5D060C7D B3970F85 A6E1E4C7
      ABF5AE8C DB0933D7 1E8C94E0 4A25619D CEE3D226 1AD2EE6B
      F12FFA06 D98A0864 D8760273 3EC86A64 521F2B18 177B200C
      BBE11757 7A615D6C 770988C0 BAD946E2 08E24FA0 74E5AB31
      43DB5BFC E0FD108E 4B82D120 A93AD2CA FFFFFFFF FFFFFFFF`;

const MODP_4096 = `
      FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
      29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
      EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
      E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
      EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D
      C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F
      83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D
      670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
      E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9
      DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510
      15728E5A 8AAAC42D AD33170D 04507A33 A85521AB DF1CBA64
      ECFB8504 58DBEF0A 8AEA7157 5D060C7D B3970F85 A6E1E4C7
      ABF5AE8C DB0933D7 1E8C94E0 4A25619D CEE3D226 1AD2EE6B
      F12FFA06 D98A0864 D8760273 3EC86A64 521F2B18 177B200C
      BBE11757 7A615D6C 770988C0 BAD946E2 08E24FA0 74E5AB31
      43DB5BFC E0FD108E 4B82D120 A9210801 1A723C12 A787E6D7
      88719A10 BDBA5B26 99C32718 6AF4E23C 1A946834 B6150BDA
      2583E9CA 2AD44CE8 DBBBC2DB 04DE8EF9 2E8EFC14 1FBECAA6
      287C5947 4E6BC05D 99B2964F A090C3A2 233BA186 515BE7ED
      1F612970 CEE2D7AF B81BDD76 2170481C D0069127 D5B05AA9
      93B4EA98 8D8FDDC1 86FFB7DC 90A6C08F 4DF435C9 34063199
      FFFFFFFF FFFFFFFF`;

function group(id: number, hex: string, bits: number, exponentBits: number): ModpGroup {
  const p = BigInt("0x" + hex.replace(/\s+/g, ""));
  return { id, p, g: 2n, length: bits / 8, exponentLength: exponentBits / 8 };
}

// RFC 3526 §8, "Strength Estimate 2" exponent sizes: 320, 420 (rounded up to 424), 480 bits.
export const MODP_GROUPS: ReadonlyMap<number, ModpGroup> = new Map([
  [KeId.MODP_2048, group(KeId.MODP_2048, MODP_2048, 2048, 320)],
  [KeId.MODP_3072, group(KeId.MODP_3072, MODP_3072, 3072, 424)],
  [KeId.MODP_4096, group(KeId.MODP_4096, MODP_4096, 4096, 480)],
]);

/** base^exp mod m, left-to-right square-and-multiply. Not constant time (BigInt cannot be). */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  const b = base % m;
  const bits = exp.toString(2);
  for (let i = 0; i < bits.length; i++) {
    result = (result * result) % m;
    if (bits.charCodeAt(i) === 49) result = (result * b) % m; // '1'
  }
  return result;
}

export function bytesToBigInt(b: Uint8Array): bigint {
  let hex = "0x0";
  for (let i = 0; i < b.length; i++) hex += b[i]!.toString(16).padStart(2, "0");
  return BigInt(hex);
}

/** Big-endian, left-padded with zeros to exactly `length` octets (RFC 7296 §3.4, §2.14). */
export function bigIntToBytes(v: bigint, length: number): Uint8Array {
  const hex = v.toString(16).padStart(length * 2, "0");
  if (hex.length > length * 2) throw new RangeError(`value does not fit in ${length} bytes`);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
