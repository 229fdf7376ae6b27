// Byte vectors typed in by hand from the RFC 7296 §3 layouts (and RFC 7383 §2.5, RFC 8598 §4, RFC 3748 §4),
// checked in both directions: our serialization must be exactly these bytes, and parsing them must
// give the typed value back.

import { describe, expect, test } from "bun:test";
import { fromHex, toHex } from "../../../core/util/bytes.ts";
import { CfgAttr, CfgType, EncrId, ExchangeType, IntegId, KeId, NotifyStatus, PayloadType, PrfId, TransformType } from "../../../core/wire/constants.ts";
import { encodeSkEnvelope, encryptedPart, parseMessage, parsePayloads, serializeMessage, serializePayloads, type HeaderFields } from "../../../core/wire/message.ts";
import { findNotify, findPayload, keyLength, transform, type Payload } from "../../../core/wire/payloads.ts";

function both(hex: string, payloads: Payload[]): void {
  const bytes = fromHex(hex);
  const out = serializePayloads(payloads);
  expect(toHex(out.bytes)).toBe(toHex(bytes));
  const parsed = parsePayloads(payloads[0]!.type, bytes);
  expect(parsed).toEqual({ ok: true, value: payloads });
}

describe("RFC 7296 §3.3 SA payload", () => {
  // One IKE proposal: ENCR_AES_CBC with KEY_LENGTH 256 (TV attribute, AF=1, type 14), PRF_HMAC_SHA2_256,
  // AUTH_HMAC_SHA2_256_128, group 19; followed by a KE payload so that Next Payload is exercised.
  const sa: Payload = {
    type: PayloadType.SA,
    critical: false,
    proposals: [
      {
        proposalNum: 1,
        protocolId: 1,
        spi: new Uint8Array(0),
        transforms: [
          transform(TransformType.ENCR, EncrId.AES_CBC, 256),
          transform(TransformType.PRF, PrfId.HMAC_SHA2_256),
          transform(TransformType.INTEG, IntegId.HMAC_SHA2_256_128),
          transform(TransformType.KE, KeId.ECP_256),
        ],
      },
    ],
  };
  const ke: Payload = { type: PayloadType.KE, critical: false, dhGroup: 19, keyExchangeData: new Uint8Array(64).fill(0xab) };
  const hex =
    "22 00 0030" + // generic header: Next Payload KE (34), C=0, Payload Length 48
    "00 00 002c 01 01 00 04" + // proposal: last, length 44, #1, IKE, SPI Size 0, 4 transforms
    "03 00 000c 01 00 000c 800e 0100" + // transform (more): ENCR, AES_CBC (12), KEY_LENGTH (0x8000|14) = 256
    "03 00 0008 02 00 0005" + // PRF_HMAC_SHA2_256
    "03 00 0008 03 00 000c" + // AUTH_HMAC_SHA2_256_128
    "00 00 0008 04 00 0013" + // last: D-H group 19
    "00 00 0048 0013 0000" + // KE: last payload, length 72, group 19, RESERVED
    "ab".repeat(64);

  test("serializes to and parses from the hand-built bytes", () => both(hex, [sa, ke]));

  test("KEY_LENGTH reads back from the TV attribute", () => {
    const r = parsePayloads(PayloadType.SA, fromHex(hex));
    if (!r.ok) throw new Error(r.error.reason);
    const p = findPayload(r.value, PayloadType.SA)!;
    expect(keyLength(p.proposals[0]!.transforms[0]!)).toBe(256);
    expect(keyLength(p.proposals[0]!.transforms[1]!)).toBeUndefined();
  });

  test("an ESP proposal carries its 4-octet SPI (§3.3.1)", () => {
    both("00 00 0018 00 00 0014 01 03 04 01 c0ffee01 00 00 0008 05 00 0000", [
      { type: PayloadType.SA, critical: false, proposals: [{ proposalNum: 1, protocolId: 3, spi: fromHex("c0ffee01"), transforms: [transform(TransformType.ESN, 0)] }] },
    ]);
  });
});

describe("RFC 7296 §3.13 TS payloads", () => {
  test("TSi 0.0.0.0-255.255.255.255, any protocol, ports 0-65535", () => {
    both("00 00 0018 01 000000 07 00 0010 0000 ffff 00000000 ffffffff", [
      {
        type: PayloadType.TSi,
        critical: false,
        selectors: [{ tsType: 7, ipProtocol: 0, startPort: 0, endPort: 65535, startAddress: fromHex("00000000"), endAddress: fromHex("ffffffff") }],
      },
    ]);
  });

  test("TSr with an IPv4 TCP selector and the whole IPv6 range (Selector Length 40)", () => {
    both(
      "00 00 0040 02 000000" +
        "07 06 0010 0050 0050 c6130000 c613ffff" +
        "08 00 0028 0000 ffff" +
        "00".repeat(16) +
        "ff".repeat(16),
      [
        {
          type: PayloadType.TSr,
          critical: false,
          selectors: [
            { tsType: 7, ipProtocol: 6, startPort: 80, endPort: 80, startAddress: fromHex("c6130000"), endAddress: fromHex("c613ffff") },
            { tsType: 8, ipProtocol: 0, startPort: 0, endPort: 65535, startAddress: new Uint8Array(16), endAddress: new Uint8Array(16).fill(0xff) },
          ],
        },
      ],
    );
  });
});

describe("RFC 7296 §3.10/§3.11 Notify and Delete", () => {
  test("NAT_DETECTION_SOURCE_IP (16388), no SPI, then REKEY_SA (16393) for an ESP SPI", () => {
    const hash = fromHex("00112233445566778899aabbccddeeff01020304");
    both("29 00 001c 00 00 4004 00112233445566778899aabbccddeeff01020304" + "00 00 000c 03 04 4009 11223344", [
      { type: PayloadType.NOTIFY, critical: false, protocolId: 0, spi: new Uint8Array(0), notifyType: NotifyStatus.NAT_DETECTION_SOURCE_IP, data: hash },
      { type: PayloadType.NOTIFY, critical: false, protocolId: 3, spi: fromHex("11223344"), notifyType: NotifyStatus.REKEY_SA, data: new Uint8Array(0) },
    ]);
  });

  test("Delete of the IKE SA (SPI Size 0) and of two ESP SPIs", () => {
    both("2a 00 0008 01 00 0000" + "00 00 0010 03 04 0002 aabbccdd 11223344", [
      { type: PayloadType.DELETE, critical: false, protocolId: 1, spiSize: 0, spis: [] },
      { type: PayloadType.DELETE, critical: false, protocolId: 3, spiSize: 4, spis: [fromHex("aabbccdd"), fromHex("11223344")] },
    ]);
  });
});

describe("RFC 7296 §3.15 / RFC 8598 CP payload", () => {
  test("CFG_REQUEST: empty INTERNAL_IP4_ADDRESS, INTERNAL_IP4_DNS, INTERNAL_IP6_ADDRESS, INTERNAL_DNS_DOMAIN", () => {
    both("00 00 0018 01 000000 0001 0000 0003 0000 0008 0000 0019 0000", [
      {
        type: PayloadType.CP,
        critical: false,
        cfgType: CfgType.REQUEST,
        attributes: [{ attrType: 1 }, { attrType: 3 }, { attrType: 8 }, { attrType: 25, domain: "" }],
      },
    ]);
  });

  test("CFG_REPLY: address 10.1.0.2, IPv6 2001:db8::2/64, DNS domain example.com, an unknown attribute", () => {
    both(
      "00 00 0046 02 000000" +
        "0001 0004 0a010002" +
        "0008 0011 20010db8000000000000000000000002 40" +
        "0019 000b 6578616d706c652e636f6d" +
        "000d 0008 0a020000 ffff0000" +
        "4e20 0002 beef",
      [
        {
          type: PayloadType.CP,
          critical: false,
          cfgType: CfgType.REPLY,
          attributes: [
            { attrType: CfgAttr.INTERNAL_IP4_ADDRESS, address: fromHex("0a010002") },
            { attrType: CfgAttr.INTERNAL_IP6_ADDRESS, address: fromHex("20010db8000000000000000000000002"), prefixLength: 64 },
            { attrType: CfgAttr.INTERNAL_DNS_DOMAIN, domain: "example.com" },
            { attrType: CfgAttr.INTERNAL_IP4_SUBNET, address: fromHex("0a020000"), netmask: fromHex("ffff0000") },
            { attrType: 20000, raw: fromHex("beef") },
          ],
        },
      ],
    );
  });
});

describe("identities, AUTH, EAP", () => {
  test("IDi IPV4_ADDR 198.19.0.1 and IDr FQDN vpn.example.org, AUTH shared key", () => {
    both("24 00 000c 01 000000 c6130001" + "27 00 0017 02 000000 76706e2e6578616d706c652e6f7267" + "00 00 000c 02 000000 0102 0304", [
      { type: PayloadType.IDi, critical: false, idType: 1, data: fromHex("c6130001") },
      { type: PayloadType.IDr, critical: false, idType: 2, data: new TextEncoder().encode("vpn.example.org") },
      { type: PayloadType.AUTH, critical: false, authMethod: 2, authData: fromHex("01020304") },
    ]);
  });

  test("EAP Response/Identity 'alice' then EAP Success (RFC 3748 §4.2: four octets, no Type)", () => {
    both("30 00 000e 02 01 000a 01 616c696365" + "00 00 0008 03 07 0004", [
      { type: PayloadType.EAP, critical: false, code: 2, identifier: 1, eapType: 1, typeData: new TextEncoder().encode("alice") },
      { type: PayloadType.EAP, critical: false, code: 3, identifier: 7 },
    ]);
  });
});

describe("RFC 7296 §3.1 header, §3.14 SK and RFC 7383 §2.5 SKF", () => {
  const header: HeaderFields = {
    spiI: fromHex("0102030405060708"),
    spiR: fromHex("1112131415161718"),
    majorVersion: 2,
    minorVersion: 0,
    exchangeType: ExchangeType.IKE_AUTH,
    flags: { initiator: true, response: false, version: false },
    messageId: 1,
  };
  const hdr = (next: string, len: string) => "0102030405060708 1112131415161718" + next + "20 23 08 00000001" + len;

  test("an IKE_SA_INIT request header with one Nonce payload", () => {
    const nonce = new Uint8Array(16).fill(0x5a);
    const bytes = serializeMessage({ header: { ...header, exchangeType: ExchangeType.IKE_SA_INIT, messageId: 0 }, payloads: [{ type: PayloadType.NONCE, critical: false, nonce }] });
    expect(toHex(bytes)).toBe(toHex(fromHex("0102030405060708 1112131415161718 28 20 22 08 00000000 00000030 00 00 0014" + "5a".repeat(16))));
  });

  test("SK envelope: header + SK generic header with final lengths; the message with the body appended parses back", () => {
    const body = fromHex("00".repeat(16) + "c0".repeat(20)); // IV | ciphertext | ICV, opaque here
    const env = encodeSkEnvelope(header, PayloadType.IDi, body.length);
    expect(toHex(env)).toBe(toHex(fromHex(hdr("2e", "00000044") + "23 00 0028")));
    const whole = new Uint8Array([...env, ...body]);
    expect(toHex(whole)).toBe(toHex(serializeMessage({ header, payloads: [{ type: PayloadType.SK, critical: false, firstInner: PayloadType.IDi, body }] })));
    const m = parseMessage(whole);
    if (!m.ok) throw new Error(m.error.reason);
    const part = encryptedPart(whole, m.value)!;
    expect(part.bodyOffset).toBe(32);
    expect(part.aad).toEqual(env); // RFC 5282 §5.1: AAD = IKE header through the SK payload header
    expect(part.body).toEqual(body);
    expect(part.payload).toEqual({ type: PayloadType.SK, critical: false, firstInner: PayloadType.IDi, body });
  });

  test("SKF envelope: Fragment Number and Total Fragments belong to the AAD", () => {
    const body = fromHex("aa".repeat(24));
    const env = encodeSkEnvelope(header, PayloadType.IDi, body.length, { number: 1, total: 3 });
    expect(toHex(env)).toBe(toHex(fromHex(hdr("35", "0000003c") + "23 00 0020 0001 0003")));
    const second = encodeSkEnvelope(header, PayloadType.NONE, body.length, { number: 2, total: 3 });
    expect(toHex(second)).toBe(toHex(fromHex(hdr("35", "0000003c") + "00 00 0020 0002 0003")));
    const whole = new Uint8Array([...second, ...body]);
    const m = parseMessage(whole);
    if (!m.ok) throw new Error(m.error.reason);
    const part = encryptedPart(whole, m.value)!;
    expect(part.aad).toEqual(second);
    expect(part.payload).toEqual({ type: PayloadType.SKF, critical: false, firstInner: 0, fragmentNumber: 2, totalFragments: 3, body });
  });

  test("an unknown non-critical payload is kept raw and skipped by the typed finders", () => {
    const bytes = fromHex("0102030405060708 1112131415161718 31 20 25 28 00000002 0000002c" + "29 00 0008 cafebabe" + "00 00 0008 00 00 4000");
    const m = parseMessage(bytes);
    if (!m.ok) throw new Error(m.error.reason);
    expect(m.value.header).toEqual({ ...header, exchangeType: ExchangeType.INFORMATIONAL, messageId: 2, flags: { initiator: true, response: true, version: false }, nextPayload: 49, length: 44 });
    expect(m.value.payloads[0]).toEqual({ type: 49, critical: false, unknown: true, data: fromHex("cafebabe") });
    expect(findNotify(m.value.payloads, NotifyStatus.INITIAL_CONTACT)?.data).toEqual(new Uint8Array(0));
  });
});
