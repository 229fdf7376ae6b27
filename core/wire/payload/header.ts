// Field tables for the IKE header (RFC 7296 §3.1), the generic payload header (§3.2), and the bodies of
// the Encrypted (§3.14) and Encrypted Fragment (RFC 7383 §2.5) payloads.

import type { Schema } from "../schema.ts";

export const IKE_HEADER_LENGTH = 28;
export const GENERIC_HEADER_LENGTH = 4;

// RFC 7296 §3.1: IKE Header
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Initiator's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Responder's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                          Message ID                           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                            Length                             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Flags: |X|X|R|V|I|X|X|X|  (R = Response, V = Version, I = Initiator; X sent 0, ignored)
export const ikeHeaderSchema: Schema = {
  name: "IKE header",
  fields: [
    { k: "bytes", name: "spiI", len: 8 },
    { k: "bytes", name: "spiR", len: 8 },
    { k: "u8", name: "nextPayload" },
    { k: "bits", size: 1, parts: [{ name: "majorVersion", bits: 4 }, { name: "minorVersion", bits: 4 }] },
    { k: "u8", name: "exchangeType" },
    {
      k: "group",
      name: "flags",
      fields: [
        {
          k: "bits",
          size: 1,
          parts: [
            { name: null, bits: 2 },
            { name: "response", bits: 1, bool: true },
            { name: "version", bits: 1, bool: true },
            { name: "initiator", bits: 1, bool: true },
            { name: null, bits: 3 },
          ],
        },
      ],
    },
    { k: "u32", name: "messageId" },
    { k: "u32", name: "length" }, // whole message; checked against the datagram by message.ts
  ],
};

// RFC 7296 §3.2: Generic Payload Header
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const genericHeaderSchema: Schema = {
  name: "generic payload header",
  fields: [
    { k: "u8", name: "nextPayload" },
    { k: "bits", size: 1, parts: [{ name: "critical", bits: 1, bool: true }, { name: null, bits: 7 }] },
    { k: "u16", name: "payloadLength" }, // includes these four octets
  ],
};

// RFC 7296 §3.14: Encrypted Payload
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Initialization Vector                     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                    Encrypted IKE Payloads                     ~
// +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |               |             Padding (0-255 octets)            |
// +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
// |                                               |  Pad Length   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                    Integrity Checksum Data                    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// The body after the generic header is kept whole; the IKE layer knows the IV and ICV sizes.
export const skSchema: Schema = {
  name: "SK payload",
  fields: [{ k: "bytes", name: "body", len: "rest" }],
};

// RFC 7383 §2.5: Encrypted Fragment Payload
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |        Fragment Number        |        Total Fragments        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Initialization Vector                     |
// ~                      Encrypted content                        ~
// ~                    Integrity Checksum Data                    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const SKF_FIELDS_LENGTH = 4;
export const skfSchema: Schema = {
  name: "SKF payload",
  fields: [
    { k: "u16", name: "fragmentNumber" },
    { k: "u16", name: "totalFragments" },
    { k: "bytes", name: "body", len: "rest" },
  ],
  // RFC 7383 §2.5: numbering starts at 1 and never exceeds Total Fragments.
  check: (v) => {
    const n = v.fragmentNumber as number;
    const t = v.totalFragments as number;
    return n >= 1 && n <= t ? null : `Fragment Number ${n} outside 1..Total Fragments (${t})`;
  },
};
