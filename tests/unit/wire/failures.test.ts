// Bad bytes give typed failures: the right notify (RFC 7296 §3.10.1), the payload being read and the
// offset of the offending octet. Each case edits a valid, hand-built message.

import { describe, expect, test } from "bun:test";
import { fromHex } from "../../../core/util/bytes.ts";
import { NotifyError, PayloadType } from "../../../core/wire/constants.ts";
import { parseMessage, parsePayloads, type ParseError } from "../../../core/wire/message.ts";

const SPIS = "0102030405060708 0000000000000000";

/** A message of header + the given payload hex; Length and first Next Payload filled in. */
function msg(first: number, payloads: string, opts: { version?: number; lengthDelta?: number } = {}): Uint8Array {
  const body = fromHex(payloads);
  const m = new Uint8Array(28 + body.length);
  m.set(fromHex(SPIS + "00 20 22 08 00000000 00000000"));
  m[16] = first;
  m[17] = opts.version ?? 0x20;
  new DataView(m.buffer).setUint32(24, m.length + (opts.lengthDelta ?? 0));
  m.set(body, 28);
  return m;
}

function failure(r: { ok: true } | { ok: false; error: ParseError }): ParseError {
  if (r.ok) throw new Error("parsed, but a failure was expected");
  return r.error;
}

const NONCE16 = "00 00 0014" + "11".repeat(16); // a valid last Nonce payload at offset 28
const { INVALID_SYNTAX, INVALID_MAJOR_VERSION, UNSUPPORTED_CRITICAL_PAYLOAD } = NotifyError;

test("the hand-built base message parses", () => {
  expect(parseMessage(msg(PayloadType.NONCE, NONCE16)).ok).toBe(true);
});

describe("IKE header (§3.1)", () => {
  test("truncated header", () => {
    const m = msg(PayloadType.NONCE, NONCE16).subarray(0, 27);
    expect(failure(parseMessage(m))).toMatchObject({ offset: 0, payload: null, notify: INVALID_SYNTAX });
    expect(failure(parseMessage(new Uint8Array(0))).notify).toBe(INVALID_SYNTAX);
  });

  test("major version 1 (IKEv1) and 3 → INVALID_MAJOR_VERSION at octet 17; minor versions are ignored", () => {
    for (const v of [0x10, 0x30, 0xf0]) {
      expect(failure(parseMessage(msg(PayloadType.NONCE, NONCE16, { version: v })))).toMatchObject({ offset: 17, payload: null, notify: INVALID_MAJOR_VERSION });
    }
    expect(parseMessage(msg(PayloadType.NONCE, NONCE16, { version: 0x2f })).ok).toBe(true);
  });

  test("Length larger than the datagram, smaller than the header, or leaving trailing bytes", () => {
    expect(failure(parseMessage(msg(PayloadType.NONCE, NONCE16, { lengthDelta: 1 })))).toMatchObject({ offset: 24, payload: null, notify: INVALID_SYNTAX });
    const tiny = msg(PayloadType.NONCE, NONCE16);
    new DataView(tiny.buffer).setUint32(24, 27);
    expect(failure(parseMessage(tiny))).toMatchObject({ offset: 24, notify: INVALID_SYNTAX });
    expect(failure(parseMessage(msg(PayloadType.NONCE, NONCE16, { lengthDelta: -4 })))).toMatchObject({ offset: 44, notify: INVALID_SYNTAX });
  });
});

describe("payload chain (§3.2)", () => {
  test("Payload Length below 4", () => {
    expect(failure(parseMessage(msg(PayloadType.NONCE, "00 00 0003 00")))).toMatchObject({ offset: 30, payload: PayloadType.NONCE, notify: INVALID_SYNTAX });
  });

  test("Payload Length overruns the message", () => {
    expect(failure(parseMessage(msg(PayloadType.NONCE, "00 00 0015" + "11".repeat(16))))).toMatchObject({ offset: 30, payload: PayloadType.NONCE, notify: INVALID_SYNTAX });
  });

  test("generic header cut short after a payload names a next one", () => {
    expect(failure(parseMessage(msg(PayloadType.NONCE, "29 00 0014" + "11".repeat(16) + "00 00")))).toMatchObject({ offset: 48, payload: PayloadType.NOTIFY });
  });

  test("bytes after the last payload", () => {
    expect(failure(parseMessage(msg(PayloadType.NONCE, NONCE16 + "00000000")))).toMatchObject({ offset: 48, payload: null, notify: INVALID_SYNTAX });
  });

  test("unknown payload with the Critical bit → UNSUPPORTED_CRITICAL_PAYLOAD naming the type (§2.5)", () => {
    const e = failure(parseMessage(msg(PayloadType.NONCE, "31 00 0014" + "11".repeat(16) + "00 80 0008 deadbeef")));
    expect(e).toMatchObject({ offset: 48, payload: 49, notify: UNSUPPORTED_CRITICAL_PAYLOAD });
  });

  test("the same payload without the Critical bit is skipped, and a known payload's Critical bit is ignored", () => {
    const r = parseMessage(msg(PayloadType.NONCE, "31 80 0014" + "11".repeat(16) + "00 00 0008 deadbeef"));
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.value.payloads.map((p) => p.type)).toEqual([PayloadType.NONCE, 49]);
  });

  test("SK must be the last payload (§3.14)", () => {
    expect(failure(parseMessage(msg(PayloadType.SK, "23 00 0008 01020304" + NONCE16)))).toMatchObject({ offset: 36, payload: PayloadType.SK });
  });

  test("inner chains report offsets shifted by baseOffset", () => {
    expect(failure(parsePayloads(PayloadType.NONCE, fromHex("00 00 0010" + "11".repeat(12)), 100))).toMatchObject({ offset: 104, payload: PayloadType.NONCE, notify: INVALID_SYNTAX });
    expect(failure(parsePayloads(PayloadType.NONCE, fromHex("00 00 0030"), 100))).toMatchObject({ offset: 102, payload: PayloadType.NONCE });
  });
});

describe("payload bodies", () => {
  const inner = (type: number, hex: string) => failure(parsePayloads(type, fromHex(hex)));

  test("SA: Proposal Length overruns the payload", () => {
    expect(inner(PayloadType.SA, "00 00 0010 00 00 0010 01 01 00 01 00 00 0008")).toMatchObject({ offset: 6, payload: PayloadType.SA, notify: INVALID_SYNTAX });
  });

  test("SA: Num Transforms says 2 but one fits", () => {
    expect(inner(PayloadType.SA, "00 00 0014 00 00 0010 01 01 00 02 03 00 0008 01 00 000c")).toMatchObject({ offset: 20, payload: PayloadType.SA });
  });

  test("SA: Last Substruc 2 on the only proposal, and an invalid Last Substruc value", () => {
    expect(inner(PayloadType.SA, "00 00 0014 02 00 0010 01 01 00 01 00 00 0008 01 00 000c")).toMatchObject({ offset: 4, payload: PayloadType.SA });
    expect(inner(PayloadType.SA, "00 00 0014 00 00 0010 01 01 00 01 07 00 0008 01 00 000c")).toMatchObject({ offset: 12, payload: PayloadType.SA });
  });

  test("SA: transform attribute TLV length overruns its transform", () => {
    expect(inner(PayloadType.SA, "00 00 0018 00 00 0014 01 01 00 01 00 00 000c 01 00 000c 000e 0005")).toMatchObject({ offset: 22, payload: PayloadType.SA });
  });

  test("Nonce shorter than 16 octets (§3.9)", () => {
    expect(inner(PayloadType.NONCE, "00 00 0013" + "11".repeat(15))).toMatchObject({ offset: 4, payload: PayloadType.NONCE, notify: INVALID_SYNTAX });
  });

  test("ID of type IPV4_ADDR with five octets", () => {
    expect(inner(PayloadType.IDi, "00 00 000d 01 000000 c613000102")).toMatchObject({ offset: 12, payload: PayloadType.IDi });
  });

  test("TS: an IPv4 selector whose Selector Length is not 16", () => {
    expect(inner(PayloadType.TSi, "00 00 001c 01 000000 07 00 0014 0000 ffff 00000000 ffffffff 00000000")).toMatchObject({ offset: 24, payload: PayloadType.TSi });
  });

  test("TS: Number of TSs larger than the selectors present", () => {
    expect(inner(PayloadType.TSi, "00 00 0018 02 000000 07 00 0010 0000 ffff 00000000 ffffffff")).toMatchObject({ offset: 24, payload: PayloadType.TSi });
  });

  test("Notify: SPI Size larger than the payload", () => {
    expect(inner(PayloadType.NOTIFY, "00 00 000a 03 08 4009 1122")).toMatchObject({ offset: 8, payload: PayloadType.NOTIFY });
  });

  test("CP: INTERNAL_IP4_ADDRESS of three octets", () => {
    expect(inner(PayloadType.CP, "00 00 000f 01 000000 0001 0003 0a0100")).toMatchObject({ offset: 12, payload: PayloadType.CP });
  });

  test("EAP: Length disagreeing with the payload, and an unknown Code", () => {
    expect(inner(PayloadType.EAP, "00 00 000e 02 01 000b 01 616c696365")).toMatchObject({ offset: 6, payload: PayloadType.EAP });
    expect(inner(PayloadType.EAP, "00 00 000e 02 01 0009 01 616c696365")).toMatchObject({ offset: 13, payload: PayloadType.EAP });
    expect(inner(PayloadType.EAP, "00 00 0008 09 01 0004")).toMatchObject({ offset: 8, payload: PayloadType.EAP });
  });

  test("SKF: Fragment Number 0 or above Total Fragments (RFC 7383 §2.5)", () => {
    expect(inner(PayloadType.SKF, "00 00 000c 0000 0002 aabbccdd")).toMatchObject({ offset: 4, payload: PayloadType.SKF });
    expect(inner(PayloadType.SKF, "00 00 000c 0003 0002 aabbccdd")).toMatchObject({ offset: 4, payload: PayloadType.SKF });
  });

  test("Delete: SPI Size 0 with SPIs listed", () => {
    expect(inner(PayloadType.DELETE, "00 00 0008 01 00 0003")).toMatchObject({ offset: 4, payload: PayloadType.DELETE });
  });
});
