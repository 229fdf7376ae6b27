// The fastest ESP AEAD ciphers: AES-GCM (RFC 4106) and ChaCha20-Poly1305 (RFC 7634) sealed and opened
// IN PLACE by the system libcrypto's EVP interface (platform/crypto/libcrypto.ts). One EVP_CIPHER_CTX
// per SA direction holds the key schedule; a packet costs an IV-only re-init, the AAD, one update over
// the data and the tag, with no allocation.
//
// open() decrypts in place while OpenSSL authenticates (one pass), so until EVP_CipherFinal_ex has
// checked the tag the buffer holds unauthenticated plaintext. When the tag does not verify, the same
// keystream is applied again (both ciphers are counter-mode: encrypting the plaintext with the same
// nonce gives back the ciphertext), so open() returns false with the buffer exactly as it came
// (EspCipher's contract); the unauthenticated bytes are never handed to anyone.

import { ptr, type Pointer } from "bun:ffi";
import { AEAD_SALT_LENGTH, checkedSuite, ESP_HEADER_LENGTH, writeAeadAad } from "../../core/esp/cipher.ts";
import type { EspCipher, EspCipherFactory, EspCipherParams } from "../../core/esp/cipher.ts";
import { aeadCipher, EVP_CTRL_AEAD_GET_TAG, EVP_CTRL_AEAD_SET_TAG, libcrypto, type AeadName, type Lib } from "./libcrypto.ts";

const ICV = 16; // RFC 4106 §6, RFC 7634 §2: 16-octet tag
const NONCE = 12; // RFC 4106 §4, RFC 7634 §2: salt (4) | IV (8)


/** Frees a context whose cipher was dropped without dispose() (the key schedule must not leak forever). */
const contexts = new FinalizationRegistry<{ lib: Lib; ctx: Pointer }>(({ lib, ctx }) => lib.EVP_CIPHER_CTX_free(ctx));

class LibcryptoAead implements EspCipher {
  readonly ivLength = 8;
  readonly icvLength = ICV;
  readonly blockSize = 4; // RFC 4106 §3.2, RFC 7634 §2: 4-octet alignment
  readonly ivKind = "unique";
  private ctx: Pointer | null;
  // Scratch of this cipher, in ArrayBuffers of their own (malloc'ed, never moved by the collector), so
  // their addresses are taken once here instead of with ptr() on every packet.
  private readonly nonce = new Uint8Array(new ArrayBuffer(NONCE));
  private readonly aad = new Uint8Array(new ArrayBuffer(12));
  private readonly outl = new Int32Array(new ArrayBuffer(4));
  private readonly noncePtr = ptr(this.nonce);
  private readonly aadPtr = ptr(this.aad);
  private readonly outlPtr = ptr(this.outl);
  private readonly token = {};

  constructor(
    private readonly lib: Lib,
    cipher: Pointer,
    key: Uint8Array,
    private readonly esn: boolean,
  ) {
    const ctx = lib.EVP_CIPHER_CTX_new() as Pointer | null; // bun:ffi types a no-argument ptr return loosely
    if (ctx === null) throw new Error("EVP_CIPHER_CTX_new failed");
    // The key schedule is computed once here; later inits pass only the nonce and keep it.
    if (lib.EVP_CipherInit_ex(ctx, cipher, null, key, null, 1) !== 1) {
      lib.EVP_CIPHER_CTX_free(ctx);
      throw new Error("EVP_CipherInit_ex (key) failed");
    }
    this.ctx = ctx;
    this.nonce.set(key.subarray(key.length - AEAD_SALT_LENGTH)); // RFC 4106 §4: salt | IV
    contexts.register(this, { lib, ctx }, this.token);
  }

  /**
   * Nonce = salt | IV from the packet; AAD = SPI | [Seq hi |] Seq lo (RFC 4106 §5, RFC 7634 §2.1).
   * `base` is ptr(buf), taken once per packet: the packet's parts are passed as base + offset.
   */
  private begin(ctx: Pointer, buf: Uint8Array, base: number, espOff: number, seqHi: number, enc: number): boolean {
    const n = this.nonce;
    const ivOff = espOff + ESP_HEADER_LENGTH;
    for (let i = 0; i < 8; i++) n[4 + i] = buf[ivOff + i]!;
    const lib = this.lib;
    if (lib.EVP_CipherInit_ex(ctx, null, null, null, this.noncePtr, enc) !== 1) return false;
    if (this.esn) {
      writeAeadAad(this.aad, buf, espOff, true, seqHi);
      return lib.EVP_CipherUpdate(ctx, null, this.outlPtr, this.aadPtr, 12) === 1;
    }
    return lib.EVP_CipherUpdate(ctx, null, this.outlPtr, (base + espOff) as Pointer, 8) === 1; // SPI | Seq: contiguous in the packet
  }

  seal(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): void {
    const ctx = this.live();
    const lib = this.lib;
    const dataOff = espOff + ESP_HEADER_LENGTH + 8;
    if (dataOff + dataLen + ICV > buf.length) throw new RangeError("ESP packet does not fit the buffer");
    const base = ptr(buf);
    if (!this.begin(ctx, buf, base, espOff, seqHi, 1)) throw new Error("EVP_CipherInit_ex/Update (nonce, AAD) failed");
    const data = (base + dataOff) as Pointer;
    if (lib.EVP_CipherUpdate(ctx, data, this.outlPtr, data, dataLen) !== 1) throw new Error("EVP_CipherUpdate failed");
    if (lib.EVP_CipherFinal_ex(ctx, null, this.outlPtr) !== 1) throw new Error("EVP_CipherFinal_ex failed");
    if (lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, ICV, (base + dataOff + dataLen) as Pointer) !== 1) throw new Error("EVP_CTRL_AEAD_GET_TAG failed");
  }

  open(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): boolean {
    const ctx = this.live();
    const lib = this.lib;
    const dataOff = espOff + ESP_HEADER_LENGTH + 8;
    if (dataOff + dataLen + ICV > buf.length) return false;
    const base = ptr(buf);
    // Nothing has been written to the packet until the data update below.
    if (!this.begin(ctx, buf, base, espOff, seqHi, 0)) return false;
    if (lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, ICV, (base + dataOff + dataLen) as Pointer) !== 1) return false;
    const data = (base + dataOff) as Pointer;
    if (lib.EVP_CipherUpdate(ctx, data, this.outlPtr, data, dataLen) !== 1) return false;
    // NULL out: an AEAD final writes nothing (OpenSSL 3 accepts NULL for GCM and ChaCha20-Poly1305).
    if (lib.EVP_CipherFinal_ex(ctx, null, this.outlPtr) === 1) return true;
    // RFC 4303 §3.4.4.1: not authentic. Put the ciphertext back (same nonce, same keystream).
    this.begin(ctx, buf, base, espOff, seqHi, 1);
    lib.EVP_CipherUpdate(ctx, data, this.outlPtr, data, dataLen);
    return false;
  }

  private live(): Pointer {
    if (this.ctx === null) throw new Error("ESP cipher used after dispose()");
    return this.ctx;
  }

  dispose(): void {
    if (this.ctx === null) return;
    contexts.unregister(this.token);
    this.lib.EVP_CIPHER_CTX_free(this.ctx); // OpenSSL cleanses the key schedule when freeing
    this.ctx = null;
    this.nonce.fill(0);
    this.aad.fill(0);
  }
}

/** The libcrypto AEAD cipher for params, or undefined (suite not AEAD, or no libcrypto installed). */
export function createLibcryptoEspCipher(p: EspCipherParams): EspCipher | undefined {
  const suite = checkedSuite(p);
  if (!suite || suite.kind === "aes-cbc-hmac") return undefined;
  const lib = libcrypto();
  if (lib === null) return undefined;
  const name: AeadName = suite.kind === "chacha20-poly1305" ? "chacha20-poly1305" : (`aes-${suite.cipherKeyLength * 8}-gcm` as AeadName);
  const cipher = aeadCipher(lib, name);
  if (cipher === null) return undefined;
  return new LibcryptoAead(lib, cipher, p.encrKey, p.esn);
}

/**
 * Opens libcrypto and has OpenSSL fetch and key an AES-256-GCM context once (~4 ms on first use, see
 * cli/tunnel/warm-up.ts), so that the first CHILD_SA does not pay for it. The zero key is thrown away.
 */
export function warmUpLibcrypto(): void {
  const lib = libcrypto();
  const cipher = lib && aeadCipher(lib, "aes-256-gcm");
  if (lib && cipher) new LibcryptoAead(lib, cipher, new Uint8Array(36), false).dispose();
}

export const libcryptoEspFactory: EspCipherFactory = { name: "libcrypto", create: createLibcryptoEspCipher };
