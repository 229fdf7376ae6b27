// The EAP packet (RFC 3748 §4), as carried whole in the IKEv2 EAP payload (RFC 7296 §3.16).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Code      |  Identifier   |            Length             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      |  Type-Data ...
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Type and Type-Data exist only in Request and Response packets (RFC 3748 §4.1); Success and Failure
// are exactly four octets (§4.2).

import { readU16, writeU16 } from "../util/bytes.ts";
import { EapCode } from "../wire/constants.ts";

export type EapPacket =
  | { code: typeof EapCode.REQUEST | typeof EapCode.RESPONSE; identifier: number; type: number; data: Uint8Array }
  | { code: typeof EapCode.SUCCESS | typeof EapCode.FAILURE; identifier: number };

export type EapParse = { ok: true; value: EapPacket } | { ok: false; offset: number; reason: string };

/** RFC 3748 §5.7: the Expanded Type, whose Type-Data starts with Vendor-Id (3) and Vendor-Type (4). */
export const EAP_EXPANDED_TYPE = 254;

/**
 * Parses one EAP packet. `data` is a view into `bytes`. Never throws: a typed failure names the offset.
 */
export function parseEap(bytes: Uint8Array): EapParse {
  if (bytes.length < 4) return bad(0, `an EAP packet has at least 4 octets, got ${bytes.length}`);
  const code = bytes[0]!;
  const identifier = bytes[1]!;
  const length = readU16(bytes, 2);
  // RFC 3748 §4.1: a Length beyond the received octets makes the packet invalid; octets beyond Length
  // are data-link padding and are ignored.
  if (length > bytes.length) return bad(2, `EAP Length ${length} exceeds the ${bytes.length} octets received`);
  switch (code) {
    case EapCode.REQUEST:
    case EapCode.RESPONSE:
      // RFC 3748 §4.1: Request and Response carry at least the Type octet.
      if (length < 5) return bad(2, `EAP Length ${length} leaves no room for the Type of a ${codeName(code)}`);
      return { ok: true, value: { code, identifier, type: bytes[4]!, data: bytes.subarray(5, length) } };
    case EapCode.SUCCESS:
    case EapCode.FAILURE:
      // RFC 3748 §4.2: Success and Failure have no data.
      if (length !== 4) return bad(2, `EAP ${codeName(code)} must have Length 4, got ${length}`);
      return { ok: true, value: { code, identifier } };
    default:
      // RFC 3748 §4: codes other than 1..4 are silently discarded; here they are reported.
      return bad(0, `unknown EAP Code ${code}`);
  }
}

/** Serializes an EAP packet (RFC 3748 §4). */
export function encodeEap(p: EapPacket): Uint8Array {
  if (!("data" in p)) {
    // RFC 3748 §4.2: Success and Failure
    const out = new Uint8Array(4);
    out[0] = p.code;
    out[1] = p.identifier & 0xff;
    writeU16(out, 2, 4);
    return out;
  }
  // A Length that does not fit in 16 bits is a bug in the caller, not bad input.
  if (5 + p.data.length > 0xffff) throw new RangeError(`encodeEap: ${p.data.length} octets of Type-Data do not fit an EAP Length`);
  const out = new Uint8Array(5 + p.data.length);
  out[0] = p.code;
  out[1] = p.identifier & 0xff;
  writeU16(out, 2, out.length);
  out[4] = p.type;
  out.set(p.data, 5);
  return out;
}

function codeName(code: number): string {
  return code === EapCode.REQUEST ? "Request" : code === EapCode.RESPONSE ? "Response" : code === EapCode.SUCCESS ? "Success" : "Failure";
}

function bad(offset: number, reason: string): EapParse {
  return { ok: false, offset, reason };
}
