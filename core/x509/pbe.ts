// Password-based encryption of PKCS#12 bags and encrypted PKCS#8 keys: deciphering only.
//   - PBES2 (RFC 8018 §6.2) with PBKDF2 (§5.2) and HMAC-SHA-1/224/256/384/512, AES-128/192/256-CBC
//     (RFC 3565 §4.1 parameters: the IV) or DES-EDE3-CBC: what OpenSSL 3 writes by default.
//   - the PKCS#12 schemes (RFC 7292 App. C) with the key derivation of App. B.2: Triple DES (3-key,
//     2-key) and RC2 (128-bit, 40-bit): what macOS Keychain, Windows and OpenSSL 1.x (-legacy) write.
// RC4 and PBES1 (RFC 8018 §6.1: MD5/SHA-1 with single DES or RC2) are refused by name.

import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import type { CHash } from "@noble/hashes/utils.js";
import { noble } from "../crypto/noble.ts";
import { utf8 } from "../util/bytes.ts";
import { decode, DerReader, fail, readOne, smallIntOf, Tag, type Tlv } from "./der.ts";
import { readAlgorithmIdentifier } from "./keys.ts";
import { rc2CbcDecrypt } from "./rc2.ts";
import { tdesCbcDecrypt } from "./tdes.ts";

/** RFC 8018 App. B / RFC 7292 App. D / RFC 3565 / RFC 8018 App. B.2.2 object identifiers. */
export const PBE_OID = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  pbmac1: "1.2.840.113549.1.5.14",
  hmacWithSHA1: "1.2.840.113549.2.7",
  hmacWithSHA224: "1.2.840.113549.2.8",
  hmacWithSHA256: "1.2.840.113549.2.9",
  hmacWithSHA384: "1.2.840.113549.2.10",
  hmacWithSHA512: "1.2.840.113549.2.11",
  aes128Cbc: "2.16.840.1.101.3.4.1.2",
  aes192Cbc: "2.16.840.1.101.3.4.1.22",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  desEde3Cbc: "1.2.840.113549.3.7",
  // RFC 7292 App. C pkcs-12PbeIds
  sha1Rc4_128: "1.2.840.113549.1.12.1.1",
  sha1Rc4_40: "1.2.840.113549.1.12.1.2",
  sha1TripleDes3Key: "1.2.840.113549.1.12.1.3",
  sha1TripleDes2Key: "1.2.840.113549.1.12.1.4",
  sha1Rc2_128: "1.2.840.113549.1.12.1.5",
  sha1Rc2_40: "1.2.840.113549.1.12.1.6",
} as const;

/** RFC 8018 App. A.3/B.1: PBES1 schemes (PKCS#5 v1.5), named in the refusal. */
const PBES1: Record<string, string> = {
  "1.2.840.113549.1.5.1": "pbeWithMD2AndDES-CBC",
  "1.2.840.113549.1.5.3": "pbeWithMD5AndDES-CBC",
  "1.2.840.113549.1.5.4": "pbeWithMD2AndRC2-CBC",
  "1.2.840.113549.1.5.6": "pbeWithMD5AndRC2-CBC",
  "1.2.840.113549.1.5.10": "pbeWithSHA1AndDES-CBC",
  "1.2.840.113549.1.5.11": "pbeWithSHA1AndRC2-CBC",
};

/** Hash functions for HMAC, PBKDF2 and the PKCS#12 KDF: output length u and block length v, in octets. */
export interface PbeHash {
  name: string;
  fn: CHash;
  u: number;
  v: number;
}
export const PBE_HASHES: Record<"sha1" | "sha224" | "sha256" | "sha384" | "sha512", PbeHash> = {
  sha1: { name: "SHA-1", fn: sha1, u: 20, v: 64 },
  sha224: { name: "SHA-224", fn: sha224, u: 28, v: 64 },
  sha256: { name: "SHA-256", fn: sha256, u: 32, v: 64 },
  sha384: { name: "SHA-384", fn: sha384, u: 48, v: 128 },
  sha512: { name: "SHA-512", fn: sha512, u: 64, v: 128 },
};

const HMAC_PRF: Record<string, PbeHash> = {
  [PBE_OID.hmacWithSHA1]: PBE_HASHES.sha1,
  [PBE_OID.hmacWithSHA224]: PBE_HASHES.sha224,
  [PBE_OID.hmacWithSHA256]: PBE_HASHES.sha256,
  [PBE_OID.hmacWithSHA384]: PBE_HASHES.sha384,
  [PBE_OID.hmacWithSHA512]: PBE_HASHES.sha512,
};

/** More iterations than any tool writes (OpenSSL: 2048, macOS: 2000, strong profiles: ~600000); bounds the work. */
export const MAX_ITERATIONS = 10_000_000;

/** A password in both encodings: UTF-8 for PBES2, BMPString + two zero octets for the PKCS#12 KDF. */
export interface Password {
  utf8: Uint8Array;
  bmp: Uint8Array;
}

/**
 * RFC 7292 App. B.1: the password as a BMPString (UTF-16 big-endian; characters outside the BMP become
 * surrogate pairs) followed by two zero octets. An empty password is just the two zero octets.
 */
export function passwordOf(text: string): Password {
  const bmp = new Uint8Array(text.length * 2 + 2);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    bmp[2 * i] = c >>> 8;
    bmp[2 * i + 1] = c & 0xff;
  }
  return { utf8: utf8(text), bmp };
}

export function wipePassword(p: Password): void {
  p.utf8.fill(0);
  p.bmp.fill(0);
}

/** RFC 7292 App. B.3 purposes. */
export const KDF_ID = { key: 1, iv: 2, mac: 3 } as const;

/** RFC 7292 App. B.2: n octets of key material from a BMPString password, salt and iteration count. */
export function pkcs12Kdf(h: PbeHash, id: number, password: Uint8Array, salt: Uint8Array, iterations: number, n: number): Uint8Array {
  const { u, v } = h;
  // Steps 1-4: D = v octets of ID; I = S || P, each the input repeated to a whole number of v-octet blocks.
  const d = new Uint8Array(v).fill(id);
  const repeat = (x: Uint8Array) => {
    const out = new Uint8Array(v * Math.ceil(x.length / v));
    for (let i = 0; i < out.length; i++) out[i] = x[i % x.length]!;
    return out;
  };
  const i = new Uint8Array([...repeat(salt), ...repeat(password)]);
  const out = new Uint8Array(n);
  const dI = new Uint8Array(v + i.length);
  const b = new Uint8Array(v);
  // Steps 5-7: A_j = H^r(D || I); then every block I_k of I becomes (I_k + B + 1) mod 2^(8v).
  for (let j = 0, off = 0; off < n; j++, off += u) {
    dI.set(d);
    dI.set(i, v);
    let a = h.fn(dI);
    for (let r = 1; r < iterations; r++) a = h.fn(a);
    out.set(a.subarray(0, Math.min(u, n - off)), off);
    if (off + u >= n) break;
    for (let k = 0; k < v; k++) b[k] = a[k % u]!;
    for (let blk = 0; blk < i.length; blk += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const s = i[blk + k]! + b[k]! + carry;
        i[blk + k] = s & 0xff;
        carry = s >>> 8;
      }
    }
  }
  i.fill(0);
  dI.fill(0);
  return out;
}

/** HMAC with a hash of PBE_HASHES. */
export function hmacWith(h: PbeHash, key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(h.fn, key, message);
}

export type PbeFailure = { kind: "password" | "unsupported" | "format"; reason: string };
export type PbeResult = { ok: true; value: Uint8Array } | { ok: false; error: PbeFailure };

const WRONG = "wrong password or corrupted data (the decrypted padding is not valid)";

function iterationsOf(t: Tlv): number {
  const n = smallIntOf(t, "iteration count");
  if (n < 1) fail(t.offset, "iteration count is 0");
  if (n > MAX_ITERATIONS) fail(t.offset, `iteration count ${n} is above ${MAX_ITERATIONS}`);
  return n;
}

type Plan = { kind: "unsupported"; reason: string } | { kind: "run"; run: (pw: Password, ciphertext: Uint8Array) => Uint8Array | null };

/** Reads an encryption AlgorithmIdentifier into a plan; malformed parameters fail (DerFail). */
function plan(alg: { oid: string; params: Tlv | undefined }, at: number): Plan {
  switch (alg.oid) {
    case PBE_OID.pbes2:
      return pbes2Plan(alg.params, at);
    case PBE_OID.sha1TripleDes3Key:
    case PBE_OID.sha1TripleDes2Key:
    case PBE_OID.sha1Rc2_128:
    case PBE_OID.sha1Rc2_40: {
      // RFC 7292 App. C: pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }.
      if (!alg.params || alg.params.tag !== Tag.SEQUENCE) fail(at, "pkcs-12PbeParams: expected a SEQUENCE");
      const r = DerReader.of(alg.params);
      const salt = r.expect(Tag.OCTET_STRING, "pkcs-12PbeParams salt").value;
      const iterations = iterationsOf(r.expect(Tag.INTEGER, "pkcs-12PbeParams iterations"));
      r.end("pkcs-12PbeParams");
      const h = PBE_HASHES.sha1;
      const keyLen = { [PBE_OID.sha1TripleDes3Key]: 24, [PBE_OID.sha1TripleDes2Key]: 16, [PBE_OID.sha1Rc2_128]: 16, [PBE_OID.sha1Rc2_40]: 5 }[alg.oid];
      return {
        kind: "run",
        run: (pw, ct) => {
          const key = pkcs12Kdf(h, KDF_ID.key, pw.bmp, salt, iterations, keyLen);
          const iv = pkcs12Kdf(h, KDF_ID.iv, pw.bmp, salt, iterations, 8);
          try {
            // RC2 keys of 128 and 40 bits use as many effective bits (RFC 7292 App. C).
            if (alg.oid === PBE_OID.sha1Rc2_128 || alg.oid === PBE_OID.sha1Rc2_40) return rc2CbcDecrypt(key, keyLen * 8, iv, ct);
            return tdesCbcDecrypt(key, iv, ct);
          } finally {
            key.fill(0);
          }
        },
      };
    }
    case PBE_OID.sha1Rc4_128:
    case PBE_OID.sha1Rc4_40:
      return { kind: "unsupported", reason: "RC4 encryption (pbeWithSHAAnd128BitRC4/40BitRC4) is not supported" };
    default:
      if (PBES1[alg.oid]) return { kind: "unsupported", reason: `PBES1 encryption ${PBES1[alg.oid]} is not supported` };
      return { kind: "unsupported", reason: `encryption algorithm ${alg.oid} is not supported` };
  }
}

/** RFC 8018 §A.4 PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier }. */
function pbes2Plan(params: Tlv | undefined, at: number): Plan {
  if (!params || params.tag !== Tag.SEQUENCE) fail(at, "PBES2-params: expected a SEQUENCE");
  const r = DerReader.of(params);
  const kdf = readAlgorithmIdentifier(r.any("PBES2 keyDerivationFunc"), "keyDerivationFunc");
  const enc = readAlgorithmIdentifier(r.any("PBES2 encryptionScheme"), "encryptionScheme");
  r.end("PBES2-params");
  if (kdf.oid !== PBE_OID.pbkdf2) return { kind: "unsupported", reason: `PBES2 key derivation ${kdf.oid} is not supported (only PBKDF2)` };
  // RFC 8018 §A.2 PBKDF2-params ::= SEQUENCE { salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
  //   iterationCount INTEGER, keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT algid-hmacWithSHA1 }
  if (!kdf.params || kdf.params.tag !== Tag.SEQUENCE) fail(at, "PBKDF2-params: expected a SEQUENCE");
  const k = DerReader.of(kdf.params);
  if (k.peekTag() !== Tag.OCTET_STRING) return { kind: "unsupported", reason: "PBKDF2 salt from another source is not supported" };
  const salt = k.expect(Tag.OCTET_STRING, "PBKDF2 salt").value;
  const iterations = iterationsOf(k.expect(Tag.INTEGER, "PBKDF2 iterationCount"));
  const keyLenTlv = k.optional(Tag.INTEGER);
  const keyLength = keyLenTlv ? smallIntOf(keyLenTlv, "PBKDF2 keyLength") : undefined;
  let prf = PBE_HASHES.sha1;
  if (!k.done) {
    const p = readAlgorithmIdentifier(k.any("PBKDF2 prf"), "PBKDF2 prf");
    const found = HMAC_PRF[p.oid];
    if (!found) return { kind: "unsupported", reason: `PBKDF2 pseudorandom function ${p.oid} is not supported` };
    prf = found;
  }
  k.end("PBKDF2-params");

  const aesLen = { [PBE_OID.aes128Cbc]: 16, [PBE_OID.aes192Cbc]: 24, [PBE_OID.aes256Cbc]: 32 }[enc.oid];
  const keyLen = aesLen ?? (enc.oid === PBE_OID.desEde3Cbc ? 24 : undefined);
  if (keyLen === undefined) return { kind: "unsupported", reason: `PBES2 encryption scheme ${enc.oid} is not supported (expected AES-CBC or DES-EDE3-CBC)` };
  if (keyLength !== undefined && keyLength !== keyLen) fail(at, `PBKDF2 keyLength ${keyLength} does not fit the cipher (${keyLen} octets)`);
  // RFC 3565 §4.1 / RFC 8018 §B.2.2: the parameters are the IV, an OCTET STRING of one block.
  if (!enc.params || enc.params.tag !== Tag.OCTET_STRING) fail(at, "encryptionScheme parameters: expected the IV as an OCTET STRING");
  const iv = enc.params.value;
  if (iv.length !== (aesLen ? 16 : 8)) fail(enc.params.offset, `IV of ${iv.length} octets (expected ${aesLen ? 16 : 8})`);
  return {
    kind: "run",
    run: (pw, ct) => {
      // RFC 8018 §6.2.2 steps 1-3: DK = PBKDF2(P, S, c, dkLen), then decrypt C with DK.
      const key = pbkdf2(prf.fn, pw.utf8, salt, { c: iterations, dkLen: keyLen });
      try {
        if (!aesLen) return tdesCbcDecrypt(key, iv, ct);
        try {
          return noble().cbc(key, iv).decrypt(ct);
        } catch {
          return null; // @noble/ciphers refuses bad padding or a length that is not whole blocks
        }
      } finally {
        key.fill(0);
      }
    },
  };
}

/**
 * Deciphers `ciphertext` encrypted under the AlgorithmIdentifier `algorithm` (a DER TLV) with `password`.
 * Never throws on bad bytes: malformed parameters are "format", unknown algorithms "unsupported", and a
 * result whose padding does not check is "password" (a wrong password, or a damaged file).
 */
export function pbeDecrypt(algorithm: Tlv, ciphertext: Uint8Array, password: Password): PbeResult {
  const p = decode(() => plan(readAlgorithmIdentifier(algorithm, "encryption algorithm"), algorithm.offset));
  if (!p.ok) return { ok: false, error: { kind: "format", reason: `${p.error.reason} (at offset ${p.error.offset})` } };
  if (p.value.kind === "unsupported") return { ok: false, error: { kind: "unsupported", reason: p.value.reason } };
  const out = p.value.run(password, ciphertext);
  return out ? { ok: true, value: out } : { ok: false, error: { kind: "password", reason: WRONG } };
}

/**
 * RFC 5958 §3 EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }
 * ("ENCRYPTED PRIVATE KEY" in PEM, RFC 7468 §11; pkcs8ShroudedKeyBag in PKCS#12) → the DER PrivateKeyInfo.
 */
export function decryptPrivateKeyInfo(der: Uint8Array, password: Password): PbeResult {
  const parts = decode(() => {
    const t = readOne(der, "EncryptedPrivateKeyInfo");
    if (t.tag !== Tag.SEQUENCE) fail(t.offset, "EncryptedPrivateKeyInfo: expected a SEQUENCE");
    const r = DerReader.of(t);
    const alg = r.any("encryptionAlgorithm");
    const data = r.expect(Tag.OCTET_STRING, "encryptedData").value;
    r.end("EncryptedPrivateKeyInfo");
    return { alg, data };
  });
  if (!parts.ok) return { ok: false, error: { kind: "format", reason: `${parts.error.reason} (at offset ${parts.error.offset})` } };
  return pbeDecrypt(parts.value.alg, parts.value.data, password);
}
