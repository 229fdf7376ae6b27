// EAP-MSCHAPv2 packets (draft-kamath-pppext-eap-mschapv2-02 §2), inside EAP Type 26. Everything below
// is the EAP Type-Data, which starts with the OpCode:
//
//   Challenge (Request):  OpCode=1 | MS-CHAPv2-ID | MS-Length (2) | Value-Size=16 | Challenge (16) | Name
//   Response  (Response): OpCode=2 | MS-CHAPv2-ID | MS-Length (2) | Value-Size=49 | Response (49) | Name
//                         Response = Peer-Challenge (16) | Reserved (8, zero) | NT-Response (24) | Flags (1, zero)
//   Success   (Request):  OpCode=3 | MS-CHAPv2-ID | MS-Length (2) | Message "S=<auth_string> M=<message>"
//   Success   (Response): OpCode=3
//   Failure   (Request):  OpCode=4 | MS-CHAPv2-ID | MS-Length (2) | Message "E=... R=... C=... V=... M=..."
//   Failure   (Response): OpCode=4
//
// MS-Length is the EAP Length minus 5 (the EAP header and Type). On receipt it is not checked against
// the EAP Length, as strongSwan does not check it either; the EAP Length alone delimits the packet.

import { fromHex, fromUtf8, writeU16 } from "../util/bytes.ts";

/** draft-kamath-pppext-eap-mschapv2-02 §2: OpCodes (7 = Change-Password, not supported here). */
export const MschapOpCode = {
  CHALLENGE: 1,
  RESPONSE: 2,
  SUCCESS: 3,
  FAILURE: 4,
  CHANGE_PASSWORD: 7,
} as const;

/** RFC 2759 §6: error codes of the Failure packet. */
export const MschapError = {
  ERROR_RESTRICTED_LOGON_HOURS: 646,
  ERROR_ACCT_DISABLED: 647,
  ERROR_PASSWD_EXPIRED: 648,
  ERROR_NO_DIALIN_PERMISSION: 649,
  ERROR_AUTHENTICATION_FAILURE: 691,
  ERROR_CHANGING_PASSWORD: 709,
} as const;

const errorNames = new Map<number, string>(Object.entries(MschapError).map(([k, v]) => [v, k]));

/** Name of an MS-CHAPv2 error code, e.g. "ERROR_AUTHENTICATION_FAILURE", or "error 1234". */
export function mschapErrorName(code: number): string {
  return errorNames.get(code) ?? `error ${code}`;
}

/** RFC 2759 §6: what each error code means, in words for the user. */
const errorTexts = new Map<number, string>([
  [MschapError.ERROR_RESTRICTED_LOGON_HOURS, "logon not allowed at this time (restricted logon hours)"],
  [MschapError.ERROR_ACCT_DISABLED, "account disabled"],
  [MschapError.ERROR_PASSWD_EXPIRED, "password expired"],
  [MschapError.ERROR_NO_DIALIN_PERMISSION, "no dial-in permission"],
  [MschapError.ERROR_AUTHENTICATION_FAILURE, "authentication failure (wrong user name or password)"],
  [MschapError.ERROR_CHANGING_PASSWORD, "error changing password"],
]);

/** The meaning of an MS-CHAPv2 error code for the user, e.g. "account disabled"; undefined if unknown. */
export function mschapErrorText(code: number): string | undefined {
  return errorTexts.get(code);
}

export type MschapRequest =
  | { opCode: typeof MschapOpCode.CHALLENGE; mschapId: number; challenge: Uint8Array; name: Uint8Array }
  | { opCode: typeof MschapOpCode.SUCCESS; mschapId: number; message: string }
  | { opCode: typeof MschapOpCode.FAILURE; mschapId: number; message: string }
  | { opCode: number; mschapId: number; unsupported: true };

export type MschapParse = { ok: true; value: MschapRequest } | { ok: false; offset: number; reason: string };

/** Parses the Type-Data of an EAP-Request of Type 26. Offsets count from the OpCode. Never throws. */
export function parseMschapRequest(typeData: Uint8Array): MschapParse {
  // Every Request has OpCode, MS-CHAPv2-ID and MS-Length.
  if (typeData.length < 4) return { ok: false, offset: 0, reason: `an MS-CHAPv2 request has at least 4 octets, got ${typeData.length}` };
  const opCode = typeData[0]!;
  const mschapId = typeData[1]!;
  switch (opCode) {
    case MschapOpCode.CHALLENGE: {
      if (typeData.length < 5 + 16) return { ok: false, offset: 4, reason: `an MS-CHAPv2 Challenge needs Value-Size and a 16-octet Challenge, got ${typeData.length} octets` };
      // draft §2.1 / RFC 2759 §3: Value-Size is always 16.
      if (typeData[4] !== 16) return { ok: false, offset: 4, reason: `MS-CHAPv2 Challenge Value-Size must be 16, got ${typeData[4]}` };
      return { ok: true, value: { opCode, mschapId, challenge: typeData.slice(5, 21), name: typeData.slice(21) } };
    }
    case MschapOpCode.SUCCESS:
      return { ok: true, value: { opCode, mschapId, message: fromUtf8(typeData.subarray(4)) } };
    case MschapOpCode.FAILURE:
      return { ok: true, value: { opCode, mschapId, message: fromUtf8(typeData.subarray(4)) } };
    default:
      return { ok: true, value: { opCode, mschapId, unsupported: true } };
  }
}

/** The Type-Data of the Response packet (OpCode 2): Value-Size 49, Response, Name. */
export function encodeMschapResponse(mschapId: number, peerChallenge: Uint8Array, ntResponse: Uint8Array, name: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 1 + 49 + name.length);
  out[0] = MschapOpCode.RESPONSE;
  out[1] = mschapId;
  writeU16(out, 2, out.length); // MS-Length = EAP Length - 5 = the Type-Data length
  out[4] = 49; // Value-Size
  out.set(peerChallenge, 5); // Peer-Challenge (16)
  // Reserved (8 octets) stays zero; RFC 2759 §4
  out.set(ntResponse, 5 + 16 + 8); // NT-Response (24)
  // Flags (1 octet) stays zero
  out.set(name, 5 + 49);
  return out;
}

/** The Type-Data of a Success or Failure Response: the OpCode alone (draft §2.3, §2.4). */
export function encodeMschapAck(opCode: typeof MschapOpCode.SUCCESS | typeof MschapOpCode.FAILURE): Uint8Array {
  return Uint8Array.of(opCode);
}

/**
 * RFC 2759 §5: the Success message "S=<auth_string> M=<message>". The authenticator response is the
 * first 42 characters; the message is everything after "M=" (it may contain spaces).
 */
export function parseSuccessMessage(message: string): { authenticatorResponse?: string; message?: string } {
  const out: { authenticatorResponse?: string; message?: string } = {};
  const m = message.indexOf("M=");
  const head = m >= 0 ? message.slice(0, m) : message;
  if (m >= 0) out.message = message.slice(m + 2);
  const s = head.trim();
  if (s.startsWith("S=")) out.authenticatorResponse = s.split(" ")[0];
  return out;
}

export type MschapFailure = {
  /** E=: the error code (RFC 2759 §6), e.g. 691. */
  error?: number;
  /** R=: 1 when the authenticator allows a retry. */
  retry?: boolean;
  /** C=: a new 16-octet authenticator challenge for the retry. */
  challenge?: Uint8Array;
  /** V=: the password-change protocol version. */
  version?: number;
  /** M=: text for the user. */
  message?: string;
};

/** RFC 2759 §6: the Failure message "E=eeeeeeeeee R=r C=cccc... V=vvvvvvvvvv M=<msg>". Fields may be absent. */
export function parseFailureMessage(message: string): MschapFailure {
  const out: MschapFailure = {};
  const m = message.indexOf("M=");
  if (m >= 0) out.message = message.slice(m + 2);
  const head = m >= 0 ? message.slice(0, m) : message;
  for (const token of head.split(" ")) {
    const value = token.slice(2);
    if (token.startsWith("E=") && /^\d{1,10}$/.test(value)) out.error = Number(value);
    else if (token.startsWith("R=") && /^[01]$/.test(value)) out.retry = value === "1";
    else if (token.startsWith("C=") && /^[0-9A-Fa-f]{32}$/.test(value)) out.challenge = fromHex(value);
    else if (token.startsWith("V=") && /^\d{1,10}$/.test(value)) out.version = Number(value);
  }
  return out;
}
