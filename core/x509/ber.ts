// BER → definite lengths, for PKCS#12 files: RFC 7292 §4 allows BER, and some exporters write the
// constructed elements of a PFX with indefinite lengths (X.690 §8.1.3.6: 0x80, contents, end-of-contents
// 00 00). This rewrites every constructed element with a definite, minimal length (X.690 §10.1), joins
// constructed OCTET STRINGs into one primitive OCTET STRING (X.690 §8.7.3: the value is the concatenation
// of the segments), and copies primitive elements byte for byte, so DER input comes back unchanged and
// certificates keep their exact encoding. (Context-tagged constructed strings, such as encryptedContent
// [0] IMPLICIT, cannot be told from other constructed elements here: the PKCS#12 reader joins those.)

import { decode, encTlv, fail, type Decoded } from "./der.ts";

const MAX_DEPTH = 32;

/** One element at `pos` of `buf` (ending no later than `end`) re-encoded with definite lengths; `next` follows it. */
function element(buf: Uint8Array, pos: number, end: number, depth: number): { out: Uint8Array; next: number } {
  if (depth > MAX_DEPTH) fail(pos, "nested too deeply");
  if (pos + 2 > end) fail(pos, "truncated element");
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) fail(pos, `high-numbered tag 0x${tag.toString(16)} is not supported`);
  const constructed = (tag & 0x20) !== 0;
  let p = pos + 2;
  const first = buf[pos + 1]!;
  if (first === 0x80) {
    // X.690 §8.1.3.6.1: only constructed elements may use the indefinite form.
    if (!constructed) fail(pos, "indefinite length on a primitive element");
    const parts: Uint8Array[] = [];
    for (;;) {
      if (p + 2 > end) fail(pos, "indefinite-length element without end-of-contents");
      if (buf[p] === 0 && buf[p + 1] === 0) return { out: constructedOut(tag, parts, pos), next: p + 2 };
      const child = element(buf, p, end, depth + 1);
      parts.push(child.out);
      p = child.next;
    }
  }
  let len = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n > 4) fail(pos, `length of ${n} octets is too large`);
    if (p + n > end) fail(pos, "truncated length octets");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > end) fail(pos, `element of ${len} octets runs past the end`);
  if (!constructed) return { out: buf.subarray(pos, p + len), next: p + len };
  const parts: Uint8Array[] = [];
  for (let q = p; q < p + len; ) {
    const child = element(buf, q, p + len, depth + 1);
    parts.push(child.out);
    q = child.next;
  }
  return { out: constructedOut(tag, parts, pos), next: p + len };
}

const OCTET_STRING = 0x04;
const CONSTRUCTED_OCTET_STRING = 0x24;

/** A constructed element from its re-encoded children; a constructed OCTET STRING becomes a primitive one. */
function constructedOut(tag: number, parts: Uint8Array[], pos: number): Uint8Array {
  if (tag !== CONSTRUCTED_OCTET_STRING) return encTlv(tag, join(parts));
  const values = parts.map((part) => {
    // Each segment is itself an OCTET STRING (X.690 §8.7.3.2), already joined and with a definite length.
    if (part[0] !== OCTET_STRING) fail(pos, "a segment of a constructed OCTET STRING is not an OCTET STRING");
    const n = part[1]! & 0x80 ? 2 + (part[1]! & 0x7f) : 2;
    return part.subarray(n);
  });
  return encTlv(OCTET_STRING, join(values));
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let off = 0;
  for (const x of parts) {
    out.set(x, off);
    off += x.length;
  }
  return out;
}

/** `buf` (one BER element, nothing after it) with definite lengths throughout; a typed failure if malformed. */
export function definiteLengths(buf: Uint8Array): Decoded<Uint8Array> {
  return decode(() => {
    const r = element(buf, 0, buf.length, 0);
    if (r.next !== buf.length) fail(r.next, `${buf.length - r.next} trailing octets`);
    return r.out;
  });
}
