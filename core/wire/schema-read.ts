// The generic parser: reads any structure declared as a Schema (see schema.ts). Never throws.

import { lookup, type Field, type Failure, type Len, type Obj, type Schema, type Scope } from "./schema.ts";

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
