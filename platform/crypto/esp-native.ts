// The fast ESP ciphers: Bun's node:crypto (BoringSSL) for AES-GCM (RFC 4106) and AES-CBC with
// HMAC-SHA2 (RFC 3602, RFC 4868). Bun has no chacha20-poly1305 in node:crypto, so that suite comes
// from the pure-JS reference (core/esp/noble.ts).
//
// node:crypto cannot write into a caller's buffer: each update() returns a new Buffer, which is
// copied back into the packet. For AES-GCM open, OpenSSL decrypts and authenticates in one pass, so
// the plaintext goes to a temporary and reaches the packet only after final() accepted the tag.

import { createCipheriv, createDecipheriv, createHmac, createSecretKey } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { AEAD_SALT_LENGTH, checkedSuite, ESP_HEADER_LENGTH, writeAeadAad, writeAeadNonce } from "../../core/esp/cipher.ts";
import type { EspCipher, EspCipherFactory, EspCipherParams, EspSuite } from "../../core/esp/cipher.ts";
import { createNobleEspCipher } from "../../core/esp/noble.ts";

/**
 * Copies src into dst at `off` in pieces of at most 2 KiB. Above a size threshold glibc's memmove
 * switches to `rep movsb`, which measured 20-25x slower on this project's AMD EPYC machines for some
 * source/destination alignments (8000 octets: ~360k copies/s in one piece, ~2.7M/s in 2 KiB pieces).
 */
const COPY_CHUNK = 2048;
function copyInto(dst: Uint8Array, src: Uint8Array, off: number): void {
  const n = src.length;
  if (n <= COPY_CHUNK) {
    dst.set(src, off);
    return;
  }
  for (let o = 0; o < n; o += COPY_CHUNK) dst.set(src.subarray(o, Math.min(n, o + COPY_CHUNK)), off + o);
}

type GcmAlgorithm = "aes-128-gcm" | "aes-192-gcm" | "aes-256-gcm";
type CbcAlgorithm = "aes-128-cbc" | "aes-192-cbc" | "aes-256-cbc";

/** RFC 4106: nonce = salt | IV, AAD = SPI | [Seq hi |] Seq lo, 16-octet ICV. */
class NativeGcm implements EspCipher {
  readonly ivLength = 8;
  readonly icvLength = 16;
  readonly blockSize = 4;
  readonly ivKind = "unique";
  private readonly algorithm: GcmAlgorithm;
  private readonly key: KeyObject;
  private readonly salt: Uint8Array;
  private readonly nonce = Buffer.alloc(12);
  private readonly aad: Buffer;

  constructor(
    suite: EspSuite,
    encrKey: Uint8Array,
    private readonly esn: boolean,
  ) {
    this.algorithm = `aes-${suite.cipherKeyLength * 8}-gcm` as GcmAlgorithm;
    this.key = createSecretKey(encrKey.subarray(0, suite.cipherKeyLength));
    this.salt = encrKey.slice(suite.cipherKeyLength, suite.cipherKeyLength + AEAD_SALT_LENGTH);
    this.aad = Buffer.alloc(esn ? 12 : 8);
  }

  seal(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): void {
    const ivOff = espOff + ESP_HEADER_LENGTH;
    const dataOff = ivOff + 8;
    writeAeadNonce(this.nonce, this.salt, buf, ivOff);
    writeAeadAad(this.aad, buf, espOff, this.esn, seqHi);
    const c = createCipheriv(this.algorithm, this.key, this.nonce);
    c.setAAD(this.aad);
    const ct = c.update(buf.subarray(dataOff, dataOff + dataLen));
    copyInto(buf, ct, dataOff);
    const rest = c.final(); // empty for GCM
    if (rest.length > 0) buf.set(rest, dataOff + ct.length);
    buf.set(c.getAuthTag(), dataOff + dataLen);
  }

  open(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): boolean {
    const ivOff = espOff + ESP_HEADER_LENGTH;
    const dataOff = ivOff + 8;
    writeAeadNonce(this.nonce, this.salt, buf, ivOff);
    writeAeadAad(this.aad, buf, espOff, this.esn, seqHi);
    const d = createDecipheriv(this.algorithm, this.key, this.nonce);
    d.setAAD(this.aad);
    d.setAuthTag(buf.subarray(dataOff + dataLen, dataOff + dataLen + 16));
    const pt = d.update(buf.subarray(dataOff, dataOff + dataLen));
    try {
      d.final(); // throws when the tag does not verify
    } catch {
      pt.fill(0);
      return false;
    }
    copyInto(buf, pt, dataOff);
    pt.fill(0);
    return true;
  }

  dispose(): void {
    this.salt.fill(0);
    this.nonce.fill(0);
    // A KeyObject cannot be wiped from JS; dropping the reference is all node:crypto allows.
  }
}

/** RFC 4303 §3.3.2 encrypt-then-MAC: ICV = HMAC(ESP header | IV | ciphertext [| Seq hi]) truncated. */
class NativeCbcHmac implements EspCipher {
  readonly ivLength = 16;
  readonly blockSize = 16;
  readonly ivKind = "unpredictable";
  readonly icvLength: number;
  private readonly algorithm: CbcAlgorithm;
  private readonly hash: string;
  private readonly key: KeyObject;
  private readonly macKey: KeyObject;
  private readonly seqHiBytes = Buffer.alloc(4);

  constructor(
    suite: EspSuite,
    encrKey: Uint8Array,
    integKey: Uint8Array,
    private readonly esn: boolean,
  ) {
    this.icvLength = suite.icvLength;
    this.algorithm = `aes-${suite.cipherKeyLength * 8}-cbc` as CbcAlgorithm;
    this.hash = suite.hash!;
    this.key = createSecretKey(encrKey);
    this.macKey = createSecretKey(integKey);
  }

  seal(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): void {
    const ivOff = espOff + ESP_HEADER_LENGTH;
    const dataOff = ivOff + 16;
    const c = createCipheriv(this.algorithm, this.key, buf.subarray(ivOff, dataOff)).setAutoPadding(false);
    const ct = c.update(buf.subarray(dataOff, dataOff + dataLen));
    copyInto(buf, ct, dataOff);
    const rest = c.final(); // empty: the data is a whole number of blocks
    if (rest.length > 0) buf.set(rest, dataOff + ct.length);
    const icv = this.icv(buf, espOff, dataOff + dataLen, seqHi);
    buf.set(icv.subarray(0, this.icvLength), dataOff + dataLen);
  }

  open(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): boolean {
    const ivOff = espOff + ESP_HEADER_LENGTH;
    const dataOff = ivOff + 16;
    const icvOff = dataOff + dataLen;
    const icv = this.icv(buf, espOff, icvOff, seqHi);
    let diff = 0; // RFC 4303 §3.4.4.1, compared in constant time
    for (let i = 0; i < this.icvLength; i++) diff |= icv[i]! ^ buf[icvOff + i]!;
    if (diff !== 0) return false;
    const d = createDecipheriv(this.algorithm, this.key, buf.subarray(ivOff, dataOff)).setAutoPadding(false);
    const pt = d.update(buf.subarray(dataOff, icvOff));
    const rest = d.final();
    copyInto(buf, pt, dataOff);
    if (rest.length > 0) buf.set(rest, dataOff + pt.length);
    pt.fill(0);
    return true;
  }

  private icv(buf: Uint8Array, espOff: number, end: number, seqHi: number): Buffer {
    const h = createHmac(this.hash, this.macKey).update(buf.subarray(espOff, end));
    if (this.esn) {
      this.seqHiBytes.writeUInt32BE(seqHi >>> 0, 0);
      h.update(this.seqHiBytes); // RFC 4303 §2.2.1: authenticated, not sent
    }
    return h.digest();
  }

  dispose(): void {
    this.seqHiBytes.fill(0);
  }
}

/** The native ESP cipher for params; ChaCha20-Poly1305 falls back to the pure-JS one. */
export function createNativeEspCipher(p: EspCipherParams): EspCipher | undefined {
  const suite = checkedSuite(p);
  if (!suite) return undefined;
  switch (suite.kind) {
    case "aes-gcm":
      return new NativeGcm(suite, p.encrKey, p.esn);
    case "aes-cbc-hmac":
      return new NativeCbcHmac(suite, p.encrKey, p.integKey, p.esn);
    case "chacha20-poly1305":
      return createNobleEspCipher(p); // Bun's node:crypto: "Unknown cipher"
  }
}

export const nativeEspFactory: EspCipherFactory = { name: "native", create: createNativeEspCipher };
