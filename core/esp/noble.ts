// The reference ESP ciphers in pure JS (@noble/ciphers, @noble/hashes): AES-GCM (RFC 4106),
// ChaCha20-Poly1305 (RFC 7634) and AES-CBC with HMAC-SHA2 (RFC 3602, RFC 4868).
//
// What noble v2 allows without per-packet allocation: chacha20poly1305 and cbc take an output buffer
// (used here in place); gcm() has none, so its ciphertext is copied back; every noble cipher object is
// single-use, so one is made per packet. HMAC keeps a keyed template and clones it into a reused
// instance. This path is the yardstick the native one is compared against, not the fast path.

import { hmac } from "@noble/hashes/hmac.js";
import type { _HMAC } from "@noble/hashes/hmac.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { noble, type NobleModules } from "../crypto/noble.ts";
import { wipe } from "../util/bytes.ts";
import { AEAD_SALT_LENGTH, checkedSuite, ESP_HEADER_LENGTH, writeAeadAad, writeAeadNonce } from "./cipher.ts";
import type { EspCipher, EspCipherFactory, EspCipherParams, EspSuite } from "./cipher.ts";

type Aead = NobleModules["gcm"] | NobleModules["chacha20poly1305"];

/** AES-GCM-16 and ChaCha20-Poly1305: nonce = salt | IV, AAD = SPI | [Seq hi |] Seq lo. */
class NobleAead implements EspCipher {
  readonly ivLength = 8;
  readonly icvLength = 16;
  readonly blockSize = 4;
  readonly ivKind = "unique";
  private readonly key: Uint8Array;
  private readonly salt: Uint8Array;
  private readonly nonce = new Uint8Array(12);
  private readonly aad: Uint8Array;

  constructor(
    private readonly aead: Aead,
    private readonly withOutput: boolean,
    suite: EspSuite,
    encrKey: Uint8Array,
    private readonly esn: boolean,
  ) {
    this.key = encrKey.slice(0, suite.cipherKeyLength);
    this.salt = encrKey.slice(suite.cipherKeyLength, suite.cipherKeyLength + AEAD_SALT_LENGTH);
    this.aad = new Uint8Array(esn ? 12 : 8);
  }

  seal(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): void {
    const ivOff = espOff + ESP_HEADER_LENGTH;
    const dataOff = ivOff + 8;
    writeAeadNonce(this.nonce, this.salt, buf, ivOff);
    writeAeadAad(this.aad, buf, espOff, this.esn, seqHi);
    const c = this.aead(this.key, this.nonce, this.aad);
    const pt = buf.subarray(dataOff, dataOff + dataLen);
    if (this.withOutput) {
      (c as ReturnType<NobleModules["chacha20poly1305"]>).encrypt(pt, buf.subarray(dataOff, dataOff + dataLen + 16));
    } else {
      const out = c.encrypt(pt); // ciphertext | tag
      buf.set(out, dataOff);
      wipe(out);
    }
  }

  open(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): boolean {
    const ivOff = espOff + ESP_HEADER_LENGTH;
    const dataOff = ivOff + 8;
    writeAeadNonce(this.nonce, this.salt, buf, ivOff);
    writeAeadAad(this.aad, buf, espOff, this.esn, seqHi);
    const c = this.aead(this.key, this.nonce, this.aad);
    const sealed = buf.subarray(dataOff, dataOff + dataLen + 16);
    try {
      // Both noble AEADs compute and compare the tag before any keystream touches the data.
      if (this.withOutput) (c as ReturnType<NobleModules["chacha20poly1305"]>).decrypt(sealed, buf.subarray(dataOff, dataOff + dataLen));
      else {
        const pt = c.decrypt(sealed);
        buf.set(pt, dataOff);
        wipe(pt);
      }
      return true;
    } catch {
      return false; // "invalid tag"
    }
  }

  dispose(): void {
    wipe(this.key, this.salt, this.nonce);
  }
}

const HASHES = { sha256, sha384, sha512 } as const;

/**
 * AES-CBC + HMAC-SHA2, encrypt-then-MAC (RFC 4303 §3.3.2): the ICV covers ESP header | IV | ciphertext,
 * followed by Seq hi with ESN (RFC 4303 §2.2.1), truncated to icvLength (RFC 4868 §2.1).
 */
class NobleCbcHmac implements EspCipher {
  readonly ivLength = 16;
  readonly blockSize = 16;
  readonly ivKind = "unpredictable";
  readonly icvLength: number;
  private readonly key: Uint8Array;
  private readonly cbc = noble().cbc;
  private readonly iv = new Uint8Array(16);
  private readonly macTemplate: _HMAC<any>;
  private readonly mac: _HMAC<any>;
  private readonly digest: Uint8Array;
  private readonly seqHiBytes = new Uint8Array(4);

  constructor(
    suite: EspSuite,
    encrKey: Uint8Array,
    integKey: Uint8Array,
    private readonly esn: boolean,
  ) {
    this.icvLength = suite.icvLength;
    this.key = encrKey.slice();
    const hash = HASHES[suite.hash!];
    this.macTemplate = hmac.create(hash, integKey);
    this.mac = this.macTemplate.clone();
    this.digest = new Uint8Array(hash.outputLen);
  }

  seal(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): void {
    const ivOff = espOff + ESP_HEADER_LENGTH;
    const dataOff = ivOff + 16;
    this.iv.set(buf.subarray(ivOff, dataOff));
    const data = buf.subarray(dataOff, dataOff + dataLen);
    this.cbc(this.key, this.iv, { disablePadding: true }).encrypt(data, data); // RFC 3602 §2.4: we padded
    this.computeIcv(buf, espOff, dataOff + dataLen, seqHi);
    buf.set(this.digest.subarray(0, this.icvLength), dataOff + dataLen);
  }

  open(buf: Uint8Array, espOff: number, dataLen: number, seqHi: number): boolean {
    const ivOff = espOff + ESP_HEADER_LENGTH;
    const dataOff = ivOff + 16;
    const icvOff = dataOff + dataLen;
    this.computeIcv(buf, espOff, icvOff, seqHi);
    let d = 0; // RFC 4303 §3.4.4.1: compare the ICVs, in time independent of where they differ
    for (let i = 0; i < this.icvLength; i++) d |= this.digest[i]! ^ buf[icvOff + i]!;
    if (d !== 0) return false;
    this.iv.set(buf.subarray(ivOff, dataOff));
    const data = buf.subarray(dataOff, icvOff);
    this.cbc(this.key, this.iv, { disablePadding: true }).decrypt(data, data);
    return true;
  }

  private computeIcv(buf: Uint8Array, espOff: number, end: number, seqHi: number): void {
    const m = this.macTemplate._cloneInto(this.mac);
    m.update(buf.subarray(espOff, end));
    if (this.esn) {
      const s = this.seqHiBytes;
      s[0] = seqHi >>> 24;
      s[1] = (seqHi >>> 16) & 0xff;
      s[2] = (seqHi >>> 8) & 0xff;
      s[3] = seqHi & 0xff;
      m.update(s); // RFC 4303 §2.2.1: the high-order bits are authenticated but not sent
    }
    m.digestInto(this.digest);
  }

  dispose(): void {
    wipe(this.key, this.iv, this.digest);
    this.macTemplate.destroy();
    this.mac.destroy();
  }
}

/** The ESP cipher for params in pure JS, or undefined when the suite is not implemented. */
export function createNobleEspCipher(p: EspCipherParams): EspCipher | undefined {
  const suite = checkedSuite(p);
  if (!suite) return undefined;
  const { gcm, chacha20poly1305 } = noble();
  switch (suite.kind) {
    case "aes-gcm":
      return new NobleAead(gcm, false, suite, p.encrKey, p.esn);
    case "chacha20-poly1305":
      return new NobleAead(chacha20poly1305, true, suite, p.encrKey, p.esn);
    case "aes-cbc-hmac":
      return new NobleCbcHmac(suite, p.encrKey, p.integKey, p.esn);
  }
}

export const nobleEspFactory: EspCipherFactory = { name: "noble", create: createNobleEspCipher };
