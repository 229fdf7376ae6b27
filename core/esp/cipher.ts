// The data-path cipher of one ESP SA direction, injected so the core stays pure: the reference
// implementation (core/esp/noble.ts) is pure JS, the fast one (platform/crypto/esp-native.ts) calls
// the runtime's native crypto. Both work IN PLACE on a caller-owned buffer laid out as an ESP packet
// (RFC 4303 §2):
//
//   espOff ─► | SPI (4) | Sequence Number (4) | IV (ivLength) | data (dataLen) | ICV (icvLength) |
//                                                             ▲ dataOff = espOff + 8 + ivLength
//
// "data" is Payload Data | Padding | Pad Length | Next Header, already padded by the caller to a
// multiple of blockSize. seal() encrypts it in place and writes the ICV after it; open() verifies the
// ICV FIRST and only then decrypts in place (unauthenticated plaintext never reaches the buffer).
//
// Why the ESP header offset instead of an AAD range: with Extended Sequence Numbers the AAD of the
// AEAD suites is SPI | Seq hi | Seq lo (RFC 4106 §5, RFC 7634 §2.1) and the ICV input of the
// integrity suites ends with Seq hi (RFC 4303 §2.2.1), neither of which is contiguous in the packet.
// The cipher builds them from the header and `seqHi` in scratch space of its own.

import { EncrId, IntegId } from "../wire/constants.ts";

/** Offset of the IV from the start of the ESP header: SPI (4) + Sequence Number (4), RFC 4303 §2. */
export const ESP_HEADER_LENGTH = 8;

export interface EspCipher {
  /** Octets of explicit IV on the wire. */
  readonly ivLength: number;
  /** Octets of ICV after the data. */
  readonly icvLength: number;
  /** The data length must be a multiple of this (RFC 4303 §2.4): the cipher block, at least 4. */
  readonly blockSize: number;
  /**
   * How IVs must be made: "unique" for the counter-based AEAD nonces (RFC 4106 §3.1, RFC 7634 §2:
   * the sequence number will do), "unpredictable" for CBC (RFC 3602 §2.1: random).
   */
  readonly ivKind: "unique" | "unpredictable";
  /** Encrypts buf[dataOff, dataOff + dataLen) in place and writes the ICV right after it. */
  seal(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): void;
  /** Verifies the ICV after the data, then decrypts in place. false (buffer untouched) when it does not verify. */
  open(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): boolean;
  /** Zeroes the keys this cipher holds. The cipher must not be used afterwards. */
  dispose(): void;
}

/** What an SA hands to a factory: the negotiated transforms and one direction's KEYMAT. */
export interface EspCipherParams {
  encrId: number;
  /** Key Length attribute in bits (AES); ignored for ChaCha20-Poly1305. */
  keyBits?: number;
  integId: number;
  /** Encryption key, with the 4-octet salt at its end for the AEAD suites (RFC 4106 §8.1, RFC 7634 §2). */
  encrKey: Uint8Array;
  /** Integrity key; empty for AEAD suites. */
  integKey: Uint8Array;
  /** Extended Sequence Numbers negotiated (RFC 7296 §3.3.2 Transform Type 5). */
  esn: boolean;
}

/** Builds ciphers for negotiated suites. The cipher copies the keys it is given. */
export interface EspCipherFactory {
  readonly name: string;
  /** undefined when the factory does not implement the suite or the key lengths do not fit it. */
  create(params: EspCipherParams): EspCipher | undefined;
}

export type EspSuiteKind = "aes-gcm" | "chacha20-poly1305" | "aes-cbc-hmac";

/** A suite both factories implement, with the lengths that follow from it. */
export interface EspSuite {
  kind: EspSuiteKind;
  /** AES key octets (16, 24, 32) or the ChaCha20 key (32), salt excluded. */
  cipherKeyLength: number;
  /** Total encryption key octets from KEYMAT (salt included). */
  encrKeyLength: number;
  integKeyLength: number;
  ivLength: number;
  icvLength: number;
  blockSize: number;
  /** Hash of the HMAC for aes-cbc-hmac. */
  hash?: "sha256" | "sha384" | "sha512";
}

/** RFC 4106 §8.1, RFC 7634 §2: the salt at the end of the AEAD encryption key. */
export const AEAD_SALT_LENGTH = 4;

const HMACS: Record<number, { hash: "sha256" | "sha384" | "sha512"; key: number; icv: number }> = {
  [IntegId.HMAC_SHA2_256_128]: { hash: "sha256", key: 32, icv: 16 }, // RFC 4868 §2.1, §2.3
  [IntegId.HMAC_SHA2_384_192]: { hash: "sha384", key: 48, icv: 24 },
  [IntegId.HMAC_SHA2_512_256]: { hash: "sha512", key: 64, icv: 32 },
};

/**
 * The suite for negotiated transforms, or undefined when not implemented: AES-GCM with a 16-octet
 * ICV (RFC 4106), ChaCha20-Poly1305 (RFC 7634), AES-CBC (RFC 3602) with HMAC-SHA2 (RFC 4868).
 */
export function espSuite(encrId: number, keyBits: number | undefined, integId: number): EspSuite | undefined {
  const aesKey = keyBits === 128 || keyBits === 192 || keyBits === 256 ? keyBits / 8 : undefined;
  switch (encrId) {
    case EncrId.AES_GCM_16:
      if (aesKey === undefined || integId !== IntegId.NONE) return undefined; // RFC 4106 §8.1: key length required
      // RFC 4106 §3.1: 8-octet IV; §6: 16-octet ICV; §3.2: 4-octet alignment of the ciphertext.
      return { kind: "aes-gcm", cipherKeyLength: aesKey, encrKeyLength: aesKey + AEAD_SALT_LENGTH, integKeyLength: 0, ivLength: 8, icvLength: 16, blockSize: 4 };
    case EncrId.CHACHA20_POLY1305:
      if (integId !== IntegId.NONE || (keyBits !== undefined && keyBits !== 0 && keyBits !== 256)) return undefined;
      // RFC 7634 §2: 32-octet key + 4-octet salt, 8-octet IV, 16-octet tag, 4-octet alignment.
      return { kind: "chacha20-poly1305", cipherKeyLength: 32, encrKeyLength: 36, integKeyLength: 0, ivLength: 8, icvLength: 16, blockSize: 4 };
    case EncrId.AES_CBC: {
      const h = HMACS[integId];
      if (aesKey === undefined || h === undefined) return undefined;
      // RFC 3602 §2.1: 16-octet IV; §2.4: padding to the 16-octet block.
      return { kind: "aes-cbc-hmac", cipherKeyLength: aesKey, encrKeyLength: aesKey, integKeyLength: h.key, ivLength: 16, icvLength: h.icv, blockSize: 16, hash: h.hash };
    }
    default:
      return undefined;
  }
}

/** The suite for params, checking the key lengths; undefined when they do not fit. */
export function checkedSuite(p: EspCipherParams): EspSuite | undefined {
  const s = espSuite(p.encrId, p.keyBits, p.integId);
  if (!s || p.encrKey.length !== s.encrKeyLength || p.integKey.length !== s.integKeyLength) return undefined;
  return s;
}

/**
 * The AEAD additional authenticated data (RFC 4106 §5, RFC 7634 §2.1): SPI | Sequence Number, or
 * SPI | Seq hi | Seq lo with ESN. Writes into `aad` (8 or 12 octets) from the packet header.
 */
export function writeAeadAad(aad: Uint8Array, buf: Uint8Array, espOff: number, esn: boolean, seqHi: number): void {
  aad[0] = buf[espOff]!;
  aad[1] = buf[espOff + 1]!;
  aad[2] = buf[espOff + 2]!;
  aad[3] = buf[espOff + 3]!;
  let o = 4;
  if (esn) {
    aad[4] = seqHi >>> 24;
    aad[5] = (seqHi >>> 16) & 0xff;
    aad[6] = (seqHi >>> 8) & 0xff;
    aad[7] = seqHi & 0xff;
    o = 8;
  }
  aad[o] = buf[espOff + 4]!;
  aad[o + 1] = buf[espOff + 5]!;
  aad[o + 2] = buf[espOff + 6]!;
  aad[o + 3] = buf[espOff + 7]!;
}

/** The AEAD nonce (RFC 4106 §4, RFC 7634 §2): salt | IV from the packet. */
export function writeAeadNonce(nonce: Uint8Array, salt: Uint8Array, buf: Uint8Array, ivOff: number): void {
  nonce[0] = salt[0]!;
  nonce[1] = salt[1]!;
  nonce[2] = salt[2]!;
  nonce[3] = salt[3]!;
  for (let i = 0; i < 8; i++) nonce[4 + i] = buf[ivOff + i]!;
}
