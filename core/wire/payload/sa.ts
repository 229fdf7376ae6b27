// Field tables for the SA payload and its substructures (RFC 7296 §3.3), and the KE payload (§3.4).

import type { Schema } from "../schema.ts";

// RFC 7296 §3.3.5: Transform Attributes
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |A|       Attribute Type        |    AF=0  Attribute Length     |
// |F|                             |    AF=1  Attribute Value      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                   AF=0  Attribute Value                       |
// |                   AF=1  Not Transmitted                       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const transformAttributeSchema: Schema = {
  name: "transform attribute",
  fields: [
    { k: "bits", size: 2, parts: [{ name: "af", bits: 1, bool: true }, { name: "attrType", bits: 15 }] },
    {
      k: "switch",
      on: "af",
      cases: {
        true: [{ k: "u16", name: "value" }], // TV: KEY_LENGTH (14) is always TV (§3.3.5)
        false: [
          { k: "length", size: 2, name: "Attribute Length", covers: "after" },
          { k: "bytes", name: "value", len: "rest" },
        ],
      },
    },
  ],
};

// RFC 7296 §3.3.2: Transform Substructure
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Last Substruc |   RESERVED    |        Transform Length       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Transform Type |   RESERVED    |          Transform ID         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                                               |
// ~                      Transform Attributes                     ~
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const transformSchema: Schema = {
  name: "transform",
  fields: [
    { k: "more", value: 3 }, // §3.3.2: 0 (last) or 3 (more)
    { k: "reserved", size: 1 },
    { k: "length", size: 2, name: "Transform Length", covers: "struct" },
    { k: "u8", name: "transformType" },
    { k: "reserved", size: 1 },
    { k: "u16", name: "transformId" },
    { k: "list", name: "attributes", item: transformAttributeSchema },
  ],
};

// RFC 7296 §3.3.1: Proposal Substructure
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Last Substruc |   RESERVED    |         Proposal Length       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                        SPI (variable)                         ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                                               |
// ~                        <Transforms>                           ~
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const proposalSchema: Schema = {
  name: "proposal",
  fields: [
    { k: "more", value: 2 }, // §3.3.1: 0 (last) or 2 (more)
    { k: "reserved", size: 1 },
    { k: "length", size: 2, name: "Proposal Length", covers: "struct" },
    { k: "u8", name: "proposalNum" },
    { k: "u8", name: "protocolId" },
    { k: "length", size: 1, name: "SPI Size", covers: "spi" },
    { k: "count", size: 1, name: "Num Transforms", of: "transforms" },
    { k: "bytes", name: "spi", len: { field: "SPI Size" } },
    { k: "list", name: "transforms", item: transformSchema, count: "Num Transforms" },
  ],
};

// RFC 7296 §3.3: Security Association Payload
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                                               |
// ~                          <Proposals>                          ~
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// (The generic payload header is read by the chain walker in message.ts; tables start after it.)
export const saSchema: Schema = {
  name: "SA payload",
  fields: [{ k: "list", name: "proposals", item: proposalSchema }],
};

// RFC 7296 §3.4: Key Exchange Payload
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Diffie-Hellman Group Num    |           RESERVED            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                                               |
// ~                       Key Exchange Data                       ~
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const keSchema: Schema = {
  name: "KE payload",
  fields: [
    { k: "u16", name: "dhGroup" },
    { k: "reserved", size: 2 },
    { k: "bytes", name: "keyExchangeData", len: "rest" },
  ],
};
