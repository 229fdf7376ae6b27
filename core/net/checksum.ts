// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of the
// data taken as big-endian 16-bit words, an odd last octet padded with a zero octet (RFC 1071 §4.1).

/** Adds the 16-bit words of buf[off, off+len) to `acc` (unfolded; a double holds any sum of < 2^37 octets). */
export function onesSum(buf: Uint8Array, off: number, len: number, acc: number): number {
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) acc += (buf[i]! << 8) | buf[i + 1]!;
  if (i === end) acc += buf[i]! << 8; // RFC 1071 §4.1: the odd octet, padded on the right
  return acc;
}

/** Folds the carries back in (end-around carry) until 16 bits remain. */
export function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc % 0x10000) + Math.floor(acc / 0x10000);
  return acc;
}

/** The checksum field value for data whose unfolded sum is `acc`. */
export function finish(acc: number): number {
  return ~fold(acc) & 0xffff;
}

/** The checksum of buf[off, off+len) alone (e.g. an IPv4 header with its checksum field zeroed). */
export function internetChecksum(buf: Uint8Array, off: number, len: number): number {
  return finish(onesSum(buf, off, len, 0));
}
