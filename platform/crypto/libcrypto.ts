// The system libcrypto (OpenSSL 3, Debian's libssl3) through bun:ffi: the EVP AEAD calls the ESP
// ciphers need, and nothing else. Opened by soname on first use; when it is absent (or too old to
// have EVP_chacha20_poly1305) `libcrypto()` returns null and callers fall back to node:crypto/noble.
//
// Why FFI and not node:crypto: node:crypto makes a cipher object and two new Buffers per packet and
// cannot write into the caller's buffer; EVP through FFI keeps one EVP_CIPHER_CTX per SA (key schedule
// done once) and seals/opens in place. Bun has no chacha20-poly1305 in node:crypto at all.

import { dlopen, FFIType, type Pointer } from "bun:ffi";

/** <openssl/evp.h> */
export const EVP_CTRL_AEAD_SET_IVLEN = 0x9;
export const EVP_CTRL_AEAD_GET_TAG = 0x10;
export const EVP_CTRL_AEAD_SET_TAG = 0x11;

const SONAMES = ["libcrypto.so.3", "libcrypto.so"];

function open(soname: string) {
  return dlopen(soname, {
    EVP_CIPHER_CTX_new: { args: [], returns: FFIType.ptr },
    EVP_CIPHER_CTX_free: { args: [FFIType.ptr], returns: FFIType.void },
    EVP_CIPHER_CTX_ctrl: { args: [FFIType.ptr, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    EVP_CipherInit_ex: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    EVP_CipherUpdate: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    EVP_CipherFinal_ex: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    EVP_aes_128_gcm: { args: [], returns: FFIType.ptr },
    EVP_aes_192_gcm: { args: [], returns: FFIType.ptr },
    EVP_aes_256_gcm: { args: [], returns: FFIType.ptr },
    EVP_chacha20_poly1305: { args: [], returns: FFIType.ptr },
    OpenSSL_version_num: { args: [], returns: FFIType.u64 },
  }).symbols;
}

export type Lib = ReturnType<typeof open>;

let loaded: Lib | null | undefined;

/** The libcrypto symbols, or null when no usable libcrypto is installed. */
export function libcrypto(): Lib | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.ROAM_NO_LIBCRYPTO === "1") return null; // lets tests and benches measure the fallback
  for (const soname of SONAMES) {
    try {
      const lib = open(soname);
      // OpenSSL 3.0 or later: the EVP_CIPHER_CTX semantics below (key kept on IV-only re-init).
      if (Number(lib.OpenSSL_version_num()) >= 0x30000000) {
        loaded = lib;
        break;
      }
    } catch {
      // not installed under this name, or a symbol is missing: try the next name
    }
  }
  return loaded;
}

/** "OpenSSL 3.0.x" style version of the libcrypto in use, or null. */
export function libcryptoVersion(): string | null {
  const lib = libcrypto();
  if (lib === null) return null;
  const v = Number(lib.OpenSSL_version_num());
  return `OpenSSL ${(v >>> 28) & 0xf}.${(v >>> 20) & 0xff}.${(v >>> 4) & 0xffff}`;
}

export type AeadName = "aes-128-gcm" | "aes-192-gcm" | "aes-256-gcm" | "chacha20-poly1305";

export function aeadCipher(lib: Lib, name: AeadName): Pointer | null {
  return evpCipher(lib, name) as Pointer | null; // bun:ffi types a no-argument ptr return loosely
}

function evpCipher(lib: Lib, name: AeadName) {
  switch (name) {
    case "aes-128-gcm":
      return lib.EVP_aes_128_gcm();
    case "aes-192-gcm":
      return lib.EVP_aes_192_gcm();
    case "aes-256-gcm":
      return lib.EVP_aes_256_gcm();
    case "chacha20-poly1305":
      return lib.EVP_chacha20_poly1305();
  }
}
