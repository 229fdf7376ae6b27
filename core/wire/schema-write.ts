// The generic serializer: writes any structure declared as a Schema (see schema.ts), filling in
// lengths, counts and Last Substruc. A value that does not fit its field is a bug: RangeError.

import { lookup, type Field, type Obj, type Schema, type Scope } from "./schema.ts";

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
