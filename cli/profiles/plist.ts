// A small XML property list reader (Apple's PropertyList-1.0 DTD): plist, dict, key, array, string,
// integer, real, true, false, data (base64), date. Enough for configuration profiles; no DTD processing,
// no external entities. Never throws on bad input: failures name the line and what was expected.

import { decodeBase64 } from "../../core/x509/pem.ts";

export type PlistValue = string | number | boolean | Uint8Array | Date | PlistValue[] | PlistDict;
export interface PlistDict {
  [key: string]: PlistValue;
}

export type PlistResult = { ok: true; value: PlistValue } | { ok: false; error: string };

interface Tag {
  name: string;
  close: boolean;
  empty: boolean;
  line: number;
}

class PlistFail {
  constructor(readonly message: string) {}
}

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  line(at = this.pos): number {
    let n = 1;
    for (let i = 0; i < at && i < this.text.length; i++) if (this.text.charCodeAt(i) === 10) n++;
    return n;
  }

  fail(what: string, at = this.pos): never {
    throw new PlistFail(`line ${this.line(at)}: ${what}`);
  }

  /** Skips whitespace, comments, the XML declaration, processing instructions and the DOCTYPE. */
  skipMisc(): void {
    for (;;) {
      while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
      if (this.text.startsWith("<!--", this.pos)) this.skipTo("-->");
      else if (this.text.startsWith("<?", this.pos)) this.skipTo("?>");
      else if (this.text.startsWith("<!DOCTYPE", this.pos)) {
        if (this.text.slice(this.pos, this.text.indexOf(">", this.pos)).includes("[")) this.fail("a DOCTYPE with an internal subset is not accepted");
        this.skipTo(">");
      } else return;
    }
  }

  skipTo(end: string): void {
    const i = this.text.indexOf(end, this.pos);
    if (i < 0) this.fail(`unterminated markup (expected "${end}")`);
    this.pos = i + end.length;
  }

  tag(): Tag {
    this.skipMisc();
    const start = this.pos;
    if (this.text[this.pos] !== "<") this.fail(`expected an element, found "${this.text.slice(this.pos, this.pos + 12)}"`);
    const end = this.text.indexOf(">", this.pos);
    if (end < 0) this.fail("unterminated element");
    const inner = this.text.slice(this.pos + 1, end);
    this.pos = end + 1;
    const m = /^(\/?)([A-Za-z][A-Za-z0-9]*)(\s[^>]*?)?(\/?)$/.exec(inner.trim());
    if (!m) this.fail(`malformed element "<${inner}>"`, start);
    return { name: m[2]!, close: m[1] === "/", empty: m[4] === "/", line: this.line(start) };
  }

  /** Character data up to the closing tag `</name>`, with entities decoded. */
  textUntil(name: string): string {
    const end = this.text.indexOf(`</${name}`, this.pos);
    if (end < 0) this.fail(`<${name}> is not closed`);
    const raw = this.text.slice(this.pos, end);
    if (raw.includes("<")) this.fail(`<${name}> may hold only text`);
    this.pos = end;
    const close = this.tag();
    if (close.name !== name) this.fail(`expected </${name}>`);
    return decodeEntities(raw, this);
  }
}

function decodeEntities(s: string, r: Reader): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);?/g, (all, e: string) => {
    if (!all.endsWith(";")) r.fail(`bad entity "${all}"`);
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10));
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
    if (named[e] === undefined) r.fail(`unknown entity "&${e};"`);
    return named[e]!;
  });
}

function value(r: Reader, t: Tag): PlistValue {
  if (t.close) r.fail(`unexpected </${t.name}>`);
  switch (t.name) {
    case "dict": {
      const d: PlistDict = {};
      if (t.empty) return d;
      for (;;) {
        const k = r.tag();
        if (k.close && k.name === "dict") return d;
        if (k.name !== "key" || k.close) r.fail(`expected <key> or </dict> in the <dict> opened on line ${t.line}, found <${k.close ? "/" : ""}${k.name}>`);
        const key = k.empty ? "" : r.textUntil("key");
        const v = r.tag();
        if (v.close) r.fail(`key "${key}" has no value`);
        d[key] = value(r, v);
      }
    }
    case "array": {
      const a: PlistValue[] = [];
      if (t.empty) return a;
      for (;;) {
        const v = r.tag();
        if (v.close && v.name === "array") return a;
        a.push(value(r, v));
      }
    }
    case "string":
      return t.empty ? "" : r.textUntil("string");
    case "integer": {
      const s = t.empty ? "" : r.textUntil("integer").trim();
      if (!/^[+-]?(\d+|0x[0-9a-fA-F]+)$/.test(s)) r.fail(`<integer> "${s}" is not an integer`);
      return Number(s.replace(/^\+/, ""));
    }
    case "real": {
      const s = t.empty ? "" : r.textUntil("real").trim();
      const n = Number(s);
      if (s === "" || Number.isNaN(n)) r.fail(`<real> "${s}" is not a number`);
      return n;
    }
    case "true":
    case "false":
      if (!t.empty) {
        const c = r.tag();
        if (!c.close || c.name !== t.name) r.fail(`expected <${t.name}/>`);
      }
      return t.name === "true";
    case "data": {
      const s = t.empty ? "" : r.textUntil("data");
      const b = decodeBase64(s);
      if (!b) r.fail("<data> is not valid base64");
      return b;
    }
    case "date": {
      const s = t.empty ? "" : r.textUntil("date").trim();
      const d = new Date(s);
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(s) || Number.isNaN(d.getTime())) r.fail(`<date> "${s}" is not an ISO 8601 UTC date`);
      return d;
    }
    default:
      return r.fail(`unknown element <${t.name}> (expected dict, array, string, integer, real, true, false, data or date)`);
  }
}

/** Parses an XML property list document. */
export function parsePlist(text: string): PlistResult {
  const r = new Reader(text);
  try {
    const root = r.tag();
    if (root.name !== "plist" || root.close) r.fail(`expected <plist>, found <${root.name}>`);
    const v = value(r, r.tag());
    const end = r.tag();
    if (!end.close || end.name !== "plist") r.fail("expected </plist> after the top-level value");
    r.skipMisc();
    if (r.pos < text.length) r.fail("text after </plist>");
    return { ok: true, value: v };
  } catch (e) {
    if (e instanceof PlistFail) return { ok: false, error: e.message };
    throw e;
  }
}

export function isDict(v: PlistValue | undefined): v is PlistDict {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}
