// DER reader (a BER subset: definite lengths only, low tag numbers only) and a small DER writer.
// ITU-T X.690 §8 (BER) and §10 (DER restrictions).
//
// Bad bytes never escape as exceptions. Inside this folder the decoders throw a private `DerFail`
// (offset + reason) because certificate structures are deeply nested and a check after every read would
// bury the grammar; every public entry point wraps its work in `decode()`, which turns a DerFail into a
// typed failure `{ ok: false, error: { offset, reason } }`. Any other exception is a bug and propagates.

import { concatBytes, fromUtf8, utf8 } from "../util/bytes.ts";

/** X.690 §8.1.2: universal tags (identifier octets with class and constructed bits already applied). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  PrintableString: 0x13,
  T61String: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  VisibleString: 0x1a,
  UniversalString: 0x1c,
  BMPString: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Context-specific tag [n]: X.690 §8.1.2.2, class bits 10, bit 6 = constructed. */
export function ctx(n: number, constructed: boolean): number {
  return (constructed ? 0xa0 : 0x80) | n;
}

export interface DerFailure {
  /** Offset (in the outermost buffer given to the parser) of the element that is wrong. */
  offset: number;
  reason: string;
}
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: DerFailure };

class DerFail {
  constructor(readonly failure: DerFailure) {}
}

/** Raises a decoding failure; only meaningful inside `decode()`. */
export function fail(offset: number, reason: string): never {
  throw new DerFail({ offset, reason });
}

/** Runs a decoder; a malformed input becomes a typed failure, never an exception. */
export function decode<T>(f: () => T): Decoded<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof DerFail) return { ok: false, error: e.failure };
    throw e;
  }
}

/** One TLV. `raw` is identifier + length + contents, `value` the contents; both are views, not copies. */
export interface Tlv {
  tag: number;
  /** Absolute offset of the identifier octet. */
  offset: number;
  /** Absolute offset of the first contents octet. */
  valueOffset: number;
  raw: Uint8Array;
  value: Uint8Array;
}

export function isConstructed(tag: number): boolean {
  return (tag & 0x20) !== 0;
}

/** Reads one TLV at `pos` of `buf`; `base` is the absolute offset of buf[0] (for error reports). */
export function readTlv(buf: Uint8Array, pos: number, base = 0): Tlv {
  const at = base + pos;
  if (pos >= buf.length) fail(at, "expected an element, found the end of the data");
  const tag = buf[pos]!;
  // X.690 §8.1.2.4: tag numbers >= 31 use following octets; nothing in X.509 needs them.
  if ((tag & 0x1f) === 0x1f) fail(at, `high-numbered tag 0x${tag.toString(16)} is not supported`);
  if (pos + 1 >= buf.length) fail(at, "truncated element: no length octet");
  let len = buf[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // X.690 §8.1.3.6: 0x80 is the indefinite form, which DER forbids (§10.1).
    if (n === 0) fail(at, "indefinite length is not allowed in DER");
    if (n > 4) fail(at, `length of ${n} octets is too large`);
    if (p + n > buf.length) fail(at, "truncated length octets");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > buf.length) fail(at, `element of ${len} octets runs past the end (${buf.length - p} left)`);
  return { tag, offset: at, valueOffset: base + p, raw: buf.subarray(pos, p + len), value: buf.subarray(p, p + len) };
}

const tagNames: Record<number, string> = {
  0x01: "BOOLEAN", 0x02: "INTEGER", 0x03: "BIT STRING", 0x04: "OCTET STRING", 0x05: "NULL", 0x06: "OBJECT IDENTIFIER",
  0x0c: "UTF8String", 0x13: "PrintableString", 0x16: "IA5String", 0x17: "UTCTime", 0x18: "GeneralizedTime",
  0x30: "SEQUENCE", 0x31: "SET",
};
export function tagName(tag: number): string {
  if ((tag & 0xc0) === 0x80) return `[${tag & 0x1f}]`;
  return tagNames[tag] ?? `tag 0x${tag.toString(16).padStart(2, "0")}`;
}

/** Walks the elements inside one constructed value. */
export class DerReader {
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly base = 0,
  ) {}

  static of(t: Tlv): DerReader {
    return new DerReader(t.value, t.valueOffset);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  get offset(): number {
    return this.base + this.pos;
  }

  peekTag(): number | undefined {
    return this.done ? undefined : this.buf[this.pos];
  }

  any(what: string): Tlv {
    if (this.done) fail(this.offset, `${what}: missing`);
    const t = readTlv(this.buf, this.pos, this.base);
    this.pos += t.raw.length;
    return t;
  }

  expect(tag: number, what: string): Tlv {
    const got = this.peekTag();
    if (got === undefined) fail(this.offset, `${what}: missing (expected ${tagName(tag)})`);
    if (got !== tag) fail(this.offset, `${what}: expected ${tagName(tag)}, found ${tagName(got)}`);
    return this.any(what);
  }

  optional(tag: number): Tlv | undefined {
    return this.peekTag() === tag ? this.any(tagName(tag)) : undefined;
  }

  /** Enters a SEQUENCE (or another constructed tag) and returns a reader over its contents. */
  enter(tag: number, what: string): DerReader {
    return DerReader.of(this.expect(tag, what));
  }

  /** X.690 §8.1.1: nothing may follow the last element of a structure. */
  end(what: string): void {
    if (!this.done) fail(this.offset, `${what}: unexpected trailing data`);
  }
}

/** Parses exactly one element filling all of `buf`. */
export function readOne(buf: Uint8Array, what: string, base = 0): Tlv {
  const t = readTlv(buf, 0, base);
  if (t.raw.length !== buf.length) fail(base + t.raw.length, `${what}: ${buf.length - t.raw.length} trailing octets`);
  return t;
}

/** Parses exactly one element of the given tag filling all of `buf`, and enters it. */
export function enterOne(buf: Uint8Array, tag: number, what: string, base = 0): DerReader {
  const t = readOne(buf, what, base);
  if (t.tag !== tag) fail(t.offset, `${what}: expected ${tagName(tag)}, found ${tagName(t.tag)}`);
  return DerReader.of(t);
}

function want(t: Tlv, tag: number): void {
  if (t.tag !== tag) fail(t.offset, `expected ${tagName(tag)}, found ${tagName(t.tag)}`);
}

// ---- contents decoders (X.690 §8.x); each checks the universal tag it decodes ----

/** §8.19: OBJECT IDENTIFIER as dotted decimal. */
export function oidOf(t: Tlv): string {
  want(t, Tag.OID);
  const v = t.value;
  if (v.length === 0) fail(t.offset, "empty OBJECT IDENTIFIER");
  const arcs: bigint[] = [];
  let acc = 0n;
  let first = true;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    // §8.19.2: each subidentifier as few octets as possible: a leading 0x80 is not allowed.
    if (acc === 0n && b === 0x80) fail(t.valueOffset + i, "OBJECT IDENTIFIER arc with a leading 0x80 octet");
    acc = (acc << 7n) | BigInt(b & 0x7f);
    if (b & 0x80) {
      if (i === v.length - 1) fail(t.valueOffset + i, "truncated OBJECT IDENTIFIER arc");
      continue;
    }
    if (first) {
      // §8.19.4: the first subidentifier packs the first two arcs as 40*X + Y.
      const x = acc < 40n ? 0n : acc < 80n ? 1n : 2n;
      arcs.push(x, acc - 40n * x);
      first = false;
    } else arcs.push(acc);
    acc = 0n;
  }
  return arcs.join(".");
}

/** §8.3: INTEGER as a (two's complement) bigint. */
export function bigintOf(t: Tlv): bigint {
  want(t, Tag.INTEGER);
  const v = t.value;
  if (v.length === 0) fail(t.offset, "empty INTEGER");
  // §8.3.2: the first nine bits must not be all zeros or all ones.
  if (v.length > 1 && ((v[0] === 0 && !(v[1]! & 0x80)) || (v[0] === 0xff && v[1]! & 0x80))) {
    fail(t.offset, "INTEGER is not minimally encoded");
  }
  let n = 0n;
  for (const b of v) n = (n << 8n) | BigInt(b);
  if (v[0]! & 0x80) n -= 1n << BigInt(8 * v.length);
  return n;
}

/** A non-negative INTEGER, as a bigint. */
export function unsignedOf(t: Tlv, what: string): bigint {
  const n = bigintOf(t);
  if (n < 0n) fail(t.offset, `${what} is negative`);
  return n;
}

/** A small non-negative INTEGER (versions, pathLen, salt lengths). */
export function smallIntOf(t: Tlv, what: string): number {
  const n = unsignedOf(t, what);
  if (n > 0x7fffffffn) fail(t.offset, `${what} is too large`);
  return Number(n);
}

/** §8.2: BOOLEAN (BER: any non-zero octet is TRUE). */
export function booleanOf(t: Tlv): boolean {
  want(t, Tag.BOOLEAN);
  if (t.value.length !== 1) fail(t.offset, "BOOLEAN must be one octet");
  return t.value[0] !== 0;
}

/** §8.6: BIT STRING: the first contents octet counts the unused bits of the last one. */
export function bitStringOf(t: Tlv): { bytes: Uint8Array; unusedBits: number } {
  want(t, Tag.BIT_STRING);
  const v = t.value;
  if (v.length === 0) fail(t.offset, "empty BIT STRING");
  const unusedBits = v[0]!;
  if (unusedBits > 7 || (v.length === 1 && unusedBits !== 0)) fail(t.offset, "bad unused-bits count in BIT STRING");
  return { bytes: v.subarray(1), unusedBits };
}

/** A BIT STRING that must hold whole octets (keys, signatures). */
export function octetAlignedBitsOf(t: Tlv, what: string): Uint8Array {
  const b = bitStringOf(t);
  if (b.unusedBits !== 0) fail(t.offset, `${what}: BIT STRING is not a whole number of octets`);
  return b.bytes;
}

function digits(t: Tlv, s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (!(c >= 0 && c <= 9)) fail(t.offset, `bad time "${s}"`);
    v = v * 10 + c;
  }
  return v;
}

/** UTCTime / GeneralizedTime as epoch milliseconds (RFC 5280 §4.1.2.5: Zulu, seconds, no fractions). */
export function timeOf(t: Tlv): number {
  const s = latin1(t.value);
  let year: number;
  let p: number;
  if (t.tag === Tag.UTCTime) {
    // RFC 5280 §4.1.2.5.1: YYMMDDHHMMSSZ; YY >= 50 is 19YY, else 20YY.
    if (s.length !== 13 || s[12] !== "Z") fail(t.offset, `UTCTime "${s}" is not YYMMDDHHMMSSZ`);
    const yy = digits(t, s, 0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    p = 2;
  } else if (t.tag === Tag.GeneralizedTime) {
    // RFC 5280 §4.1.2.5.2: YYYYMMDDHHMMSSZ.
    if (s.length !== 15 || s[14] !== "Z") fail(t.offset, `GeneralizedTime "${s}" is not YYYYMMDDHHMMSSZ`);
    year = digits(t, s, 0, 4);
    p = 4;
  } else return fail(t.offset, `expected a time, found ${tagName(t.tag)}`);
  const mo = digits(t, s, p, 2);
  const d = digits(t, s, p + 2, 2);
  const h = digits(t, s, p + 4, 2);
  const mi = digits(t, s, p + 6, 2);
  const sec = digits(t, s, p + 8, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) fail(t.offset, `time "${s}" is out of range`);
  // Date.UTC maps years 0..99 to 19xx, so the year is set separately (pure arithmetic, no clock).
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, sec));
  date.setUTCFullYear(year, mo - 1, d);
  if (date.getUTCDate() !== d) fail(t.offset, `time "${s}" names a day that does not exist`);
  return date.getTime();
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/** The directory string types of X.520 / RFC 5280 §4.1.2.4, decoded to a JS string. */
export function stringOf(t: Tlv): string {
  const v = t.value;
  switch (t.tag) {
    case Tag.UTF8String:
      return fromUtf8(v);
    case Tag.PrintableString:
    case Tag.IA5String:
    case Tag.VisibleString:
    case Tag.T61String: // treated as Latin-1, as most implementations do
      return latin1(v);
    case Tag.BMPString: {
      if (v.length % 2) fail(t.offset, "BMPString of odd length");
      let s = "";
      for (let i = 0; i < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
      return s;
    }
    case Tag.UniversalString: {
      if (v.length % 4) fail(t.offset, "UniversalString length is not a multiple of 4");
      let s = "";
      for (let i = 0; i < v.length; i += 4) {
        const cp = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
        if (cp > 0x10ffff) fail(t.offset, "UniversalString code point out of range");
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return fail(t.offset, `expected a string, found ${tagName(t.tag)}`);
  }
}

// ---- writer (X.690 §10: definite, minimal lengths) ----

function lengthOctets(n: number): Uint8Array {
  if (n < 0x80) return new Uint8Array([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return new Uint8Array([0x80 | bytes.length, ...bytes]);
}

export function encTlv(tag: number, value: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([tag]), lengthOctets(value.length), value);
}

export function encSeq(...parts: Uint8Array[]): Uint8Array {
  return encTlv(Tag.SEQUENCE, concatBytes(...parts));
}

/** X.690 §11.6: a DER SET OF orders its encodings as octet strings. */
export function encSet(...parts: Uint8Array[]): Uint8Array {
  const sorted = [...parts].sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });
  return encTlv(Tag.SET, concatBytes(...sorted));
}

export function encNull(): Uint8Array {
  return new Uint8Array([Tag.NULL, 0]);
}

export function encOctets(b: Uint8Array): Uint8Array {
  return encTlv(Tag.OCTET_STRING, b);
}

export function encBitString(b: Uint8Array): Uint8Array {
  return encTlv(Tag.BIT_STRING, concatBytes(new Uint8Array([0]), b));
}

/** §8.19 in reverse. Throws on a malformed dotted string: callers pass constants. */
export function encOid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map((a) => BigInt(a));
  if (arcs.length < 2 || arcs[0]! > 2n) throw new Error(`encOid: bad OID "${dotted}"`);
  const subs = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  const out: number[] = [];
  for (const s of subs) {
    const chunk: number[] = [Number(s & 0x7fn)];
    for (let v = s >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...chunk);
  }
  return encTlv(Tag.OID, new Uint8Array(out));
}

/** §8.3: a non-negative INTEGER. */
export function encUint(n: bigint): Uint8Array {
  if (n < 0n) throw new Error("encUint: negative");
  const bytes: number[] = [];
  for (let v = n; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return encTlv(Tag.INTEGER, new Uint8Array(bytes));
}

export function encUtf8String(s: string): Uint8Array {
  return encTlv(Tag.UTF8String, utf8(s));
}

/** PrintableString alphabet (X.680 §41.4). */
export function isPrintable(s: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);
}

export function encPrintableString(s: string): Uint8Array {
  return encTlv(Tag.PrintableString, utf8(s));
}
