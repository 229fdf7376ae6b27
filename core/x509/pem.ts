// PEM (RFC 7468) and base64 (RFC 4648 §4) decoding without Buffer or atob.

import { fromUtf8 } from "../util/bytes.ts";

export interface PemBlock {
  /** The label of "-----BEGIN <label>-----", e.g. "CERTIFICATE", "PRIVATE KEY". */
  label: string;
  der: Uint8Array;
}

export type PemResult<T> = { ok: true; value: T } | { ok: false; error: string };

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const sextet = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) sextet[alphabet.charCodeAt(i)] = i;

/** RFC 4648 §4 base64; whitespace is skipped (RFC 7468 §3 allows line breaks). Returns null if malformed. */
export function decodeBase64(text: string): Uint8Array | null {
  const chars: number[] = [];
  let pad = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (c === 0x3d) {
      pad++;
      continue;
    }
    if (pad > 0) return null; // data after padding
    const v = c < 128 ? sextet[c]! : -1;
    if (v < 0) return null;
    chars.push(v);
  }
  // RFC 4648 §4: the final quantum is 2 or 3 characters plus padding to a multiple of 4.
  if (pad > 2 || (pad > 0 && (chars.length + pad) % 4 !== 0) || chars.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((chars.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < chars.length; i += 4) {
    const n = (chars[i]! << 18) | ((chars[i + 1] ?? 0) << 12) | ((chars[i + 2] ?? 0) << 6) | (chars[i + 3] ?? 0);
    out[o++] = n >>> 16;
    if (i + 2 < chars.length) out[o++] = (n >>> 8) & 0xff;
    if (i + 3 < chars.length) out[o++] = n & 0xff;
  }
  return out;
}

/** All PEM blocks of a text, in order (RFC 7468 §2: text outside the blocks is ignored). */
export function decodePem(text: string): PemResult<PemBlock[]> {
  const blocks: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]*)-----([\s\S]*?)-----END ([A-Z0-9 ]*)-----/g;
  for (const m of text.matchAll(re)) {
    const label = m[1]!;
    if (m[3] !== label) return { ok: false, error: `PEM block "BEGIN ${label}" ends with "END ${m[3]}"` };
    const body = m[2]!;
    // RFC 1421 encapsulated headers ("Proc-Type: 4,ENCRYPTED") mark a legacy encrypted key.
    if (body.includes(":")) return { ok: false, error: `PEM block "${label}" is encrypted or has headers (not supported)` };
    const der = decodeBase64(body);
    if (!der) return { ok: false, error: `PEM block "${label}" is not valid base64` };
    blocks.push({ label, der });
  }
  return { ok: true, value: blocks };
}

function looksLikePem(bytes: Uint8Array): boolean {
  for (let i = 0; i + 5 <= bytes.length && i < 4096; i++) {
    // "-----"
    if (bytes[i] === 0x2d && bytes[i + 1] === 0x2d && bytes[i + 2] === 0x2d && bytes[i + 3] === 0x2d && bytes[i + 4] === 0x2d) {
      return true;
    }
  }
  return false;
}

/**
 * The certificates of a CA file: PEM with one or more "CERTIFICATE" blocks (other blocks are skipped), or a
 * single DER certificate (a file starting with a SEQUENCE). The DER is not parsed here.
 */
export function decodePemCertificates(bytes: Uint8Array): PemResult<Uint8Array[]> {
  if (!looksLikePem(bytes)) {
    if (bytes.length > 0 && bytes[0] === 0x30) return { ok: true, value: [bytes] };
    return { ok: true, value: [] };
  }
  const blocks = decodePem(fromUtf8(bytes));
  if (!blocks.ok) return blocks;
  return { ok: true, value: blocks.value.filter((b) => b.label === "CERTIFICATE" || b.label === "X509 CERTIFICATE").map((b) => b.der) };
}
