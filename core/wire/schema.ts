// The field kinds of the IKEv2 codec's declarative tables. ONE generic parser (schema-read.ts) and
// ONE generic serializer (schema-write.ts) interpret them.
//
// Every structure on the wire (IKE header, generic payload header, each payload body and its
// substructures: proposals, transforms, attributes, traffic selectors, CP attributes) is DECLARED as a
// field table (a `Schema`), in the spirit of strongSwan's encoding rules. The interpreters know nothing
// about any particular payload.
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

export type Obj = Record<string, unknown>;

export interface Scope {
  obj: Obj;
  temps: Map<string, number>;
  parent: Scope | null;
}

export function lookup(scope: Scope | null, name: string): unknown {
  for (let s = scope; s; s = s.parent) {
    if (s.temps.has(name)) return s.temps.get(name);
    if (name in s.obj) return s.obj[name];
  }
  return undefined;
}
