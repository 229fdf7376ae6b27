// IKEv2 messages: the IKE header (RFC 7296 §3.1) followed by a chain of payloads linked by their
// Next Payload fields (§3.2). This file walks and builds the chain; each payload body is read and
// written by the generic interpreter in schema.ts from the field tables in payload/*.ts.

import { NotifyError, PayloadType, payloadName } from "./constants.ts";
import type { IkeHeader, IkeMessage, Payload, SkfPayload, SkPayload } from "./payloads.ts";
import type { Schema } from "./schema.ts";
import { parseStruct } from "./schema-read.ts";
import { Writer, writeStruct } from "./schema-write.ts";
import { keSchema, saSchema } from "./payload/sa.ts";
import { authSchema, certReqSchema, certSchema, idSchema, nonceSchema, vendorIdSchema } from "./payload/auth.ts";
import { deleteSchema, notifySchema } from "./payload/notify.ts";
import { tsSchema } from "./payload/ts.ts";
import { cpSchema } from "./payload/cp.ts";
import { eapSchema } from "./payload/eap.ts";
import {
  GENERIC_HEADER_LENGTH,
  genericHeaderSchema,
  IKE_HEADER_LENGTH,
  ikeHeaderSchema,
  SKF_FIELDS_LENGTH,
  skfSchema,
  skSchema,
} from "./payload/header.ts";

/** Why bytes are not an IKEv2 message, and which notify (RFC 7296 §3.10.1) the failure maps to. */
export interface ParseError {
  /** Offset of the offending octet, from the start of the message (or of the inner chain + baseOffset). */
  offset: number;
  /** The payload type being read, null for the IKE header. */
  payload: number | null;
  reason: string;
  /** INVALID_SYNTAX, INVALID_MAJOR_VERSION or UNSUPPORTED_CRITICAL_PAYLOAD. */
  notify: number;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ParseError };

/** The field table for each payload type we implement. */
const payloadSchemas = new Map<number, Schema>([
  [PayloadType.SA, saSchema],
  [PayloadType.KE, keSchema],
  [PayloadType.IDi, idSchema],
  [PayloadType.IDr, idSchema],
  [PayloadType.CERT, certSchema],
  [PayloadType.CERTREQ, certReqSchema],
  [PayloadType.AUTH, authSchema],
  [PayloadType.NONCE, nonceSchema],
  [PayloadType.NOTIFY, notifySchema],
  [PayloadType.DELETE, deleteSchema],
  [PayloadType.VENDOR_ID, vendorIdSchema],
  [PayloadType.TSi, tsSchema],
  [PayloadType.TSr, tsSchema],
  [PayloadType.SK, skSchema],
  [PayloadType.CP, cpSchema],
  [PayloadType.EAP, eapSchema],
  [PayloadType.SKF, skfSchema],
]);

function fail(offset: number, payload: number | null, reason: string, notify: number = NotifyError.INVALID_SYNTAX): { ok: false; error: ParseError } {
  return { ok: false, error: { offset, payload, reason, notify } };
}

function isEncrypted(type: number): boolean {
  return type === PayloadType.SK || type === PayloadType.SKF;
}

/** Walks the payload chain in buf[start, end), starting with a payload of type `firstType`. */
function walkChain(buf: Uint8Array, start: number, end: number, firstType: number, base: number): ParseResult<Payload[]> {
  const payloads: Payload[] = [];
  let type = firstType;
  let pos = start;
  while (type !== PayloadType.NONE) {
    const name = payloadName(type);
    const gh = parseStruct(genericHeaderSchema, buf, pos, end, false);
    if (!gh.ok) return fail(base + pos, type, `${name}: generic payload header truncated (${end - pos} bytes left)`);
    const next = gh.value.nextPayload as number;
    const critical = gh.value.critical as boolean;
    const length = gh.value.payloadLength as number;
    // §3.2: Payload Length includes the generic header.
    if (length < GENERIC_HEADER_LENGTH) return fail(base + pos + 2, type, `${name}: Payload Length ${length} is less than 4`);
    if (pos + length > end) return fail(base + pos + 2, type, `${name}: Payload Length ${length} overruns the message by ${pos + length - end} bytes`);
    const bodyStart = pos + GENERIC_HEADER_LENGTH;
    const bodyEnd = pos + length;
    const schema = payloadSchemas.get(type);
    if (!schema) {
      // §2.5: an unknown payload with the Critical bit set fails the message; otherwise it is skipped.
      if (critical) return fail(base + pos, type, `unsupported critical payload ${name}`, NotifyError.UNSUPPORTED_CRITICAL_PAYLOAD);
      payloads.push({ type, critical, unknown: true, data: buf.subarray(bodyStart, bodyEnd) });
    } else {
      const body = parseStruct(schema, buf, bodyStart, bodyEnd, true);
      if (!body.ok) return fail(base + body.failure.offset, type, body.failure.reason);
      const p = { type, critical, ...body.value } as Record<string, unknown>;
      if (isEncrypted(type)) {
        // §3.14: the Next Payload of SK (RFC 7383 §2.5: of SKF) names the first payload inside it,
        // and "the Encrypted payload, if present in a message, MUST be the last payload in the message".
        p.firstInner = next;
        if (bodyEnd !== end) return fail(base + bodyEnd, type, `${end - bodyEnd} bytes follow the ${name} payload, which must be last`);
        payloads.push(p as unknown as Payload);
        return { ok: true, value: payloads };
      }
      payloads.push(p as unknown as Payload);
    }
    pos = bodyEnd;
    type = next;
  }
  if (pos !== end) return fail(base + pos, null, `${end - pos} bytes after the last payload`);
  return { ok: true, value: payloads };
}

/**
 * Parses the decrypted content of an SK/SKF payload (the inner chain, without padding or ICV).
 * `baseOffset` is added to failure offsets.
 */
export function parsePayloads(firstType: number, bytes: Uint8Array, baseOffset = 0): ParseResult<Payload[]> {
  return walkChain(bytes, 0, bytes.length, firstType, baseOffset);
}

/** Parses one IKEv2 message (a whole UDP datagram, without the NAT-T non-ESP marker). */
export function parseMessage(bytes: Uint8Array): ParseResult<IkeMessage> {
  if (bytes.length < IKE_HEADER_LENGTH) return fail(0, null, `IKE header truncated: ${bytes.length} of 28 bytes`);
  const h = parseStruct(ikeHeaderSchema, bytes, 0, IKE_HEADER_LENGTH, true);
  if (!h.ok) return fail(h.failure.offset, null, h.failure.reason);
  const header = h.value as unknown as IkeHeader;
  // §2.5 / §3.1: a major version other than 2 is not IKEv2 (1 is IKEv1); minor versions are ignored.
  if (header.majorVersion !== 2) {
    return fail(17, null, `major version ${header.majorVersion}, expected 2`, NotifyError.INVALID_MAJOR_VERSION);
  }
  // §3.1: Length is the "total message (header + payloads) in octets".
  if (header.length < IKE_HEADER_LENGTH) return fail(24, null, `message Length ${header.length} is shorter than the IKE header`);
  if (header.length > bytes.length) return fail(24, null, `message Length ${header.length} but only ${bytes.length} bytes received`);
  if (header.length < bytes.length) return fail(header.length, null, `${bytes.length - header.length} bytes after the message Length ${header.length}`);
  const payloads = walkChain(bytes, IKE_HEADER_LENGTH, bytes.length, header.nextPayload, 0);
  if (!payloads.ok) return payloads;
  return { ok: true, value: { header, payloads: payloads.value } };
}

// ---------------------------------------------------------------------------------------------
// Serializing

function writeChain(w: Writer, payloads: readonly Payload[]): void {
  payloads.forEach((p, i) => {
    let next: number = payloads[i + 1]?.type ?? PayloadType.NONE;
    if (isEncrypted(p.type) && !("unknown" in p)) {
      if (i !== payloads.length - 1) throw new RangeError(`serialize: ${payloadName(p.type)} must be the last payload (RFC 7296 §3.14)`);
      next = (p as SkPayload | SkfPayload).firstInner;
    }
    const start = w.pos;
    writeStruct(w, genericHeaderSchema, { nextPayload: next, critical: p.critical, payloadLength: 0 });
    if ("unknown" in p) w.bytes(p.data);
    else {
      const schema = payloadSchemas.get(p.type);
      if (!schema) throw new RangeError(`serialize: no encoding for payload type ${p.type}`);
      writeStruct(w, schema, p as unknown as Record<string, unknown>);
    }
    const length = w.pos - start;
    if (length > 0xffff) throw new RangeError(`serialize: ${payloadName(p.type)} is ${length} bytes, more than a Payload Length can say`);
    w.putUint(start + 2, length, 2);
  });
}

/** The payload chain to encrypt into an SK/SKF payload, and the type of its first payload. */
export function serializePayloads(payloads: readonly Payload[]): { firstType: number; bytes: Uint8Array } {
  const w = new Writer();
  writeChain(w, payloads);
  return { firstType: payloads[0]?.type ?? PayloadType.NONE, bytes: w.result() };
}

export type HeaderFields = Omit<IkeHeader, "length" | "nextPayload">;

function writeHeader(w: Writer, header: HeaderFields, nextPayload: number, length: number): void {
  if (header.spiI.length !== 8 || header.spiR.length !== 8) throw new RangeError("serialize: IKE SPIs must be 8 bytes");
  writeStruct(w, ikeHeaderSchema, { ...header, nextPayload, length } as unknown as Record<string, unknown>);
}

/** A whole message: the header's Next Payload and Length are filled in. */
export function serializeMessage(msg: { header: HeaderFields; payloads: readonly Payload[] }): Uint8Array {
  const w = new Writer();
  writeHeader(w, msg.header, msg.payloads[0]?.type ?? PayloadType.NONE, 0);
  writeChain(w, msg.payloads);
  w.putUint(24, w.pos, 4); // §3.1 Length
  return w.result();
}

/**
 * The bytes that precede an encrypted body: the IKE header and the SK payload's generic header
 * (RFC 7296 §3.14), or for a fragment the SKF header with Fragment Number and Total Fragments
 * (RFC 7383 §2.5), all lengths final for a body of `bodyLength` bytes (IV | ciphertext | ICV).
 * For AEAD these bytes are the associated data (RFC 5282 §5.1; RFC 7383 §2.5.3); append the body.
 * RFC 7383 §2.5: fragments other than the first carry Next Payload 0.
 */
export function encodeSkEnvelope(
  header: HeaderFields,
  innerFirstType: number,
  bodyLength: number,
  fragment?: { number: number; total: number },
): Uint8Array {
  if (fragment && fragment.number !== 1 && innerFirstType !== PayloadType.NONE) {
    throw new RangeError("encodeSkEnvelope: only the first fragment names the first inner payload (RFC 7383 §2.5)");
  }
  if (fragment && (fragment.number < 1 || fragment.number > fragment.total || fragment.total > 0xffff)) {
    throw new RangeError(`encodeSkEnvelope: fragment ${fragment.number} of ${fragment.total}`);
  }
  const payloadLength = GENERIC_HEADER_LENGTH + (fragment ? SKF_FIELDS_LENGTH : 0) + bodyLength;
  if (!Number.isInteger(bodyLength) || bodyLength < 0 || payloadLength > 0xffff) {
    throw new RangeError(`encodeSkEnvelope: body length ${bodyLength} does not fit a payload`);
  }
  const w = new Writer();
  writeHeader(w, header, fragment ? PayloadType.SKF : PayloadType.SK, IKE_HEADER_LENGTH + payloadLength);
  writeStruct(w, genericHeaderSchema, { nextPayload: innerFirstType, critical: false, payloadLength });
  if (fragment) {
    w.uint(fragment.number, 2);
    w.uint(fragment.total, 2);
  }
  return w.result();
}

/**
 * For a parsed message ending in SK or SKF: that payload, its body, where the body starts, and the
 * bytes before it (IKE header through the SK/SKF header: the AEAD associated data, RFC 5282 §5.1).
 * `bytes` must be the buffer the message was parsed from.
 */
export function encryptedPart(
  bytes: Uint8Array,
  msg: IkeMessage,
): { payload: SkPayload | SkfPayload; body: Uint8Array; bodyOffset: number; aad: Uint8Array } | null {
  const last = msg.payloads[msg.payloads.length - 1];
  if (!last || !isEncrypted(last.type) || "unknown" in last) return null;
  const payload = last as SkPayload | SkfPayload;
  // The encrypted payload is last and its body runs to the end of the message (§3.14).
  const bodyOffset = msg.header.length - payload.body.length;
  return { payload, body: payload.body, bodyOffset, aad: bytes.subarray(0, bodyOffset) };
}
