// The one generic parser and the one generic serializer of the IKEv2 codec.
//
// Every structure on the wire (IKE header, generic payload header, each payload body and its
// substructures: proposals, transforms, attributes, traffic selectors, CP attributes) is DECLARED as a
// field table (a `Schema`), in the spirit of strongSwan's encoding rules. This file interprets those
// tables in both directions; it knows nothing about any particular payload.
//
// Parsing never throws: a failure is returned with the absolute offset and a reason. Serializing is
// given typed objects built by our own code, so a value that does not fit its field is a bug and
// throws a RangeError naming the structure and field.

/** Where the bytes of a `bytes`/`text` field end. */
export type Len =
  | number // fixed size
  | "rest" // up to the end of the enclosing structure
  | { field: string }; // the value of an earlier field or length field (searched outwards)

/** One run of bits inside a `bits` field, most significant first. `name: null` = reserved (sent 0). */
export interface BitPart {
  name: string | null;
  bits: number;
  bool?: boolean;
}

export type Field =
  /** Unsigned big-endian integer stored in the object under `name`. */
  | { k: "u8" | "u16" | "u32"; name: string }
  /** An integer split into named bit runs (flags, critical bit, AF bit + attribute type). */
  | { k: "bits"; size: 1 | 2; parts: BitPart[] }
  /** RFC 7296 §3: "RESERVED ... MUST be sent as zero; MUST be ignored on receipt." */
  | { k: "reserved"; size: number }
  /**
   * A length the serializer computes. `covers`: "struct" = the whole structure from its first byte
   * (Payload Length, Proposal Length...); "after" = everything after this field up to the structure's
   * end (attribute Length); otherwise the name of the one field it measures (SPI Size). The value is
   * kept out of the object, under `name` for `{ field }` lookups.
   */
  | { k: "length"; size: 1 | 2 | 4; name: string; covers: "struct" | "after" | string }
  /** A count the serializer computes from the list `of` (Num Transforms, Number of TSs). */
  | { k: "count"; size: 1 | 2; name: string; of: string }
  /** "Last Substruc": 0 on the last element of a list, `value` on the others (RFC 7296 §3.3.1/§3.3.2). */
  | { k: "more"; value: number }
  /** Raw bytes, as a Uint8Array (a view into the parsed buffer). */
  | { k: "bytes"; name: string; len: Len }
  /** Octets as a string, one char per octet (lossless for any bytes; ASCII reads as itself). */
  | { k: "text"; name: string; len: Len }
  /** Repeated substructures: `count` names a count field, otherwise they fill the rest of the structure. */
  | { k: "list"; name: string; item: Schema; count?: string; unwrap?: string }
  /** Fields gathered into a nested object (header flags). */
  | { k: "group"; name: string; fields: Field[] }
  /** The rest of the structure depends on an already-read field (ID Type, TS Type, CFG attribute type). */
  | { k: "switch"; on: string; cases: Record<string, Field[]>; fallback?: Field[] }
  /** Fields present only when bytes remain (CP attributes: zero length is the request form, RFC 7296 §3.15.1). */
  | { k: "optional"; fields: Field[] }
  /** A property set on parse that takes no bytes (marks opaque variants). */
  | { k: "const"; name: string; value: unknown };

export interface Schema {
  /** For messages: "proposal", "TS payload"... */
  name: string;
  fields: Field[];
  /** Extra syntax rules the field table cannot say; returns a reason, or null when the value is valid. */
  check?: (value: Record<string, unknown>) => string | null;
}

export interface Failure {
  offset: number;
  reason: string;
}

type Obj = Record<string, unknown>;

interface Scope {
  obj: Obj;
  temps: Map<string, number>;
  parent: Scope | null;
}

function lookup(scope: Scope | null, name: string): unknown {
  for (let s = scope; s; s = s.parent) {
    if (s.temps.has(name)) return s.temps.get(name);
    if (name in s.obj) return s.obj[name];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Parser

class Reader {
  failure: Failure | null = null;
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
  ) {}

  fail(offset: number, reason: string): false {
    this.failure ??= { offset, reason };
    return false;
  }
}

/** One structure being read: its first byte, its end (moved by its own length field) and whether that end is known. */
interface Frame {
  start: number;
  end: number;
  sized: boolean;
  schema: Schema;
  more: number;
}

/**
 * Reads one structure at `start`, bounded by `limit`. When `owns` is set the structure must fill
 * [start, limit) exactly (payload bodies); otherwise only its own length field bounds it.
 */
export function parseStruct(
  schema: Schema,
  buf: Uint8Array,
  start: number,
  limit: number,
  owns: boolean,
): { ok: true; value: Obj; end: number } | { ok: false; failure: Failure } {
  const r = new Reader(buf, start);
  const res = readStruct(r, schema, limit, owns, null);
  if (!res) return { ok: false, failure: r.failure ?? { offset: start, reason: `bad ${schema.name}` } };
  return { ok: true, value: res.obj, end: r.pos };
}

function readStruct(r: Reader, schema: Schema, limit: number, owns: boolean, parent: Scope | null): { obj: Obj; more: number } | null {
  const scope: Scope = { obj: {}, temps: new Map(), parent };
  const f: Frame = { start: r.pos, end: limit, sized: owns, schema, more: -1 };
  if (!readFields(r, f, schema.fields, scope)) return null;
  // A structure that owns its container must fill it, even when its own length field said less.
  const end = owns ? limit : f.end;
  if ((f.sized || owns) && r.pos !== end) {
    r.fail(r.pos, `${end - r.pos} unexpected trailing bytes in ${schema.name}`);
    return null;
  }
  if (schema.check) {
    const why = schema.check(scope.obj);
    if (why !== null) {
      r.fail(f.start, `${schema.name}: ${why}`);
      return null;
    }
  }
  return { obj: scope.obj, more: f.more };
}

function need(r: Reader, f: Frame, n: number, what: string): boolean {
  if (r.pos + n <= f.end) return true;
  return r.fail(r.pos, `${f.schema.name} truncated: ${what} needs ${n} bytes at offset ${r.pos}, ${Math.max(0, f.end - r.pos)} left`);
}

function readUint(buf: Uint8Array, pos: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size; i++) v = v * 256 + buf[pos + i]!;
  return v;
}

function resolveLen(r: Reader, f: Frame, len: Len, scope: Scope, what: string): number | null {
  if (typeof len === "number") return len;
  if (len === "rest") return f.end - r.pos;
  const v = lookup(scope, len.field);
  if (typeof v !== "number") {
    r.fail(r.pos, `${f.schema.name}: ${what} has no length (${len.field})`);
    return null;
  }
  return v;
}

function readFields(r: Reader, f: Frame, fields: Field[], scope: Scope): boolean {
  const { buf } = r;
  const o = scope.obj;
  for (const fd of fields) {
    switch (fd.k) {
      case "u8":
      case "u16":
      case "u32": {
        const size = fd.k === "u8" ? 1 : fd.k === "u16" ? 2 : 4;
        if (!need(r, f, size, fd.name)) return false;
        o[fd.name] = readUint(buf, r.pos, size);
        r.pos += size;
        break;
      }
      case "bits": {
        if (!need(r, f, fd.size, "flags")) return false;
        const v = readUint(buf, r.pos, fd.size);
        let shift = fd.size * 8;
        for (const p of fd.parts) {
          shift -= p.bits;
          const x = (v >>> shift) & ((1 << p.bits) - 1);
          if (p.name !== null) o[p.name] = p.bool ? x !== 0 : x;
        }
        r.pos += fd.size;
        break;
      }
      case "reserved":
        if (!need(r, f, fd.size, "RESERVED")) return false;
        r.pos += fd.size; // RFC 7296 §3.2: ignored on receipt
        break;
      case "more": {
        if (!need(r, f, 1, "Last Substruc")) return false;
        const v = buf[r.pos]!;
        if (v !== 0 && v !== fd.value) return r.fail(r.pos, `${f.schema.name}: Last Substruc is ${v}, expected 0 or ${fd.value}`);
        f.more = v;
        r.pos += 1;
        break;
      }
      case "length": {
        if (!need(r, f, fd.size, fd.name)) return false;
        const v = readUint(buf, r.pos, fd.size);
        const at = r.pos;
        r.pos += fd.size;
        if (fd.covers === "struct" || fd.covers === "after") {
          const end = fd.covers === "struct" ? f.start + v : r.pos + v;
          if (end < r.pos) return r.fail(at, `${f.schema.name}: ${fd.name} ${v} is shorter than its fixed fields`);
          if (end > f.end) return r.fail(at, `${f.schema.name}: ${fd.name} ${v} overruns its container by ${end - f.end} bytes`);
          f.end = end;
          f.sized = true;
        }
        scope.temps.set(fd.name, v);
        break;
      }
      case "count": {
        if (!need(r, f, fd.size, fd.name)) return false;
        scope.temps.set(fd.name, readUint(buf, r.pos, fd.size));
        r.pos += fd.size;
        break;
      }
      case "bytes":
      case "text": {
        const n = resolveLen(r, f, fd.len, scope, fd.name);
        if (n === null || !need(r, f, n, fd.name)) return false;
        const b = buf.subarray(r.pos, r.pos + n);
        o[fd.name] = fd.k === "bytes" ? b : octetsToText(b);
        r.pos += n;
        break;
      }
      case "list": {
        const items: unknown[] = [];
        const count = fd.count === undefined ? -1 : lookup(scope, fd.count);
        if (typeof count !== "number") return r.fail(r.pos, `${f.schema.name}: no count for ${fd.name}`);
        for (let i = 0; count < 0 ? r.pos < f.end : i < count; i++) {
          const at = r.pos;
          const item = readStruct(r, fd.item, f.end, false, scope);
          if (!item) return false;
          if (count < 0 && r.pos === at) return r.fail(at, `${fd.item.name}: empty element in ${fd.name}`);
          if (item.more >= 0) {
            const last = count < 0 ? r.pos >= f.end : i === count - 1;
            if ((item.more === 0) !== last) {
              return r.fail(at, `${fd.item.name}: Last Substruc says ${item.more === 0 ? "last" : "more"}, but it is ${last ? "the last" : "not the last"}`);
            }
          }
          items.push(fd.unwrap ? item.obj[fd.unwrap] : item.obj);
        }
        o[fd.name] = items;
        break;
      }
      case "group": {
        const inner: Scope = { obj: {}, temps: new Map(), parent: scope };
        if (!readFields(r, f, fd.fields, inner)) return false;
        o[fd.name] = inner.obj;
        break;
      }
      case "switch": {
        const tag = o[fd.on];
        const branch = fd.cases[String(tag)] ?? fd.fallback;
        if (!branch) return r.fail(r.pos, `${f.schema.name}: unknown ${fd.on} ${String(tag)}`);
        if (!readFields(r, f, branch, scope)) return false;
        break;
      }
      case "optional":
        if (r.pos < f.end && !readFields(r, f, fd.fields, scope)) return false;
        break;
      case "const":
        o[fd.name] = fd.value;
        break;
    }
  }
  return true;
}

/** Octets to a string, one char per octet (Latin-1): total and reversible. */
export function octetsToText(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Serializer

/** A growable byte buffer. */
export class Writer {
  buf = new Uint8Array(256);
  pos = 0;

  reserve(n: number): number {
    if (this.pos + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.pos + n) size *= 2;
      const b = new Uint8Array(size);
      b.set(this.buf.subarray(0, this.pos));
      this.buf = b;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  uint(v: number, size: number): void {
    this.putUint(this.reserve(size), v, size);
  }

  putUint(at: number, v: number, size: number): void {
    for (let i = size - 1; i >= 0; i--) {
      this.buf[at + i] = v & 0xff;
      v = Math.floor(v / 256);
    }
  }

  bytes(b: Uint8Array): void {
    const at = this.reserve(b.length); // before reading this.buf: reserve may replace it
    this.buf.set(b, at);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

function bug(schema: Schema, field: string, what: string): never {
  throw new RangeError(`serialize ${schema.name}: ${field} ${what}`);
}

function checkUint(schema: Schema, name: string, v: unknown, size: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= 2 ** (size * 8)) {
    bug(schema, name, `must be an integer of ${size * 8} bits, got ${String(v)}`);
  }
  return v;
}

interface WFrame {
  start: number;
  schema: Schema;
  last: boolean;
  spans: Map<string, number>;
  patches: { at: number; size: number; covers: string; from: number; name: string }[];
}

/** Writes one structure; lengths and counts are filled in once its end is known. */
export function writeStruct(w: Writer, schema: Schema, obj: Obj, last = true, parent: Scope | null = null): void {
  const scope: Scope = { obj, temps: new Map(), parent };
  const f: WFrame = { start: w.pos, schema, last, spans: new Map(), patches: [] };
  writeFields(w, f, schema.fields, scope);
  for (const p of f.patches) {
    const v = p.covers === "struct" ? w.pos - f.start : p.covers === "after" ? w.pos - p.from : f.spans.get(p.covers);
    if (v === undefined) bug(schema, p.name, `measures ${p.covers}, which was not written`);
    if (v >= 2 ** (p.size * 8)) bug(schema, p.name, `${v} does not fit in ${p.size} bytes`);
    w.putUint(p.at, v, p.size);
  }
}

function writeFields(w: Writer, f: WFrame, fields: Field[], scope: Scope): void {
  const o = scope.obj;
  const s = f.schema;
  for (const fd of fields) {
    switch (fd.k) {
      case "u8":
      case "u16":
      case "u32": {
        const size = fd.k === "u8" ? 1 : fd.k === "u16" ? 2 : 4;
        w.uint(checkUint(s, fd.name, o[fd.name], size), size);
        break;
      }
      case "bits": {
        let v = 0;
        for (const p of fd.parts) {
          let x = 0;
          if (p.name !== null) {
            const raw = o[p.name];
            x = p.bool ? (raw ? 1 : 0) : checkUint(s, p.name, raw, 4);
            if (x >= 2 ** p.bits) bug(s, p.name, `${x} does not fit in ${p.bits} bits`);
          }
          v = v * 2 ** p.bits + x;
        }
        w.uint(v, fd.size);
        break;
      }
      case "reserved":
        w.uint(0, fd.size);
        break;
      case "more":
        w.uint(f.last ? 0 : fd.value, 1);
        break;
      case "length":
        f.patches.push({ at: w.reserve(fd.size), size: fd.size, covers: fd.covers, from: w.pos, name: fd.name });
        break;
      case "count": {
        const list = o[fd.of];
        if (!Array.isArray(list)) bug(s, fd.of, "must be an array");
        if (list.length >= 2 ** (fd.size * 8)) bug(s, fd.name, `${list.length} elements do not fit`);
        w.uint(list.length, fd.size);
        break;
      }
      case "bytes":
      case "text": {
        const v = o[fd.name];
        const b = fd.k === "bytes" ? v : typeof v === "string" ? textToOctets(v) : undefined;
        if (!(b instanceof Uint8Array)) bug(s, fd.name, `must be ${fd.k === "bytes" ? "a Uint8Array" : "a string"}`);
        if (typeof fd.len === "number" && b.length !== fd.len) bug(s, fd.name, `must be ${fd.len} bytes, got ${b.length}`);
        if (typeof fd.len === "object") {
          const expect = lookup(scope, fd.len.field);
          // A length given as a value of the object (Delete's SPI Size) must agree with the bytes.
          if (typeof expect === "number" && b.length !== expect) bug(s, fd.name, `must be ${expect} bytes (${fd.len.field}), got ${b.length}`);
        }
        const at = w.pos;
        w.bytes(b);
        f.spans.set(fd.name, w.pos - at);
        break;
      }
      case "list": {
        const list = o[fd.name];
        if (!Array.isArray(list)) bug(s, fd.name, "must be an array");
        const at = w.pos;
        list.forEach((item, i) => {
          const obj = fd.unwrap ? { [fd.unwrap]: item } : (item as Obj);
          writeStruct(w, fd.item, obj, i === list.length - 1, scope);
        });
        f.spans.set(fd.name, w.pos - at);
        break;
      }
      case "group": {
        const inner = o[fd.name];
        if (typeof inner !== "object" || inner === null) bug(s, fd.name, "must be an object");
        writeFields(w, f, fd.fields, { obj: inner as Obj, temps: new Map(), parent: scope });
        break;
      }
      case "switch": {
        const tag = o[fd.on];
        const branch = fd.cases[String(tag)] ?? fd.fallback;
        if (!branch) bug(s, fd.on, `${String(tag)} has no encoding`);
        writeFields(w, f, branch, scope);
        break;
      }
      case "optional": {
        const first = fd.fields.find((x) => "name" in x);
        if (first && "name" in first && o[first.name] !== undefined) writeFields(w, f, fd.fields, scope);
        break;
      }
      case "const":
        break;
    }
  }
}

/** Inverse of octetsToText; a char above U+00FF is a bug. */
export function textToOctets(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`serialize: character U+${c.toString(16)} is not one octet in "${s.slice(0, 40)}"`);
    b[i] = c;
  }
  return b;
}
