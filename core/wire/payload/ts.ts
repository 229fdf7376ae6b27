// Field tables for the Traffic Selector payloads TSi/TSr (RFC 7296 §3.13).

import type { Field, Schema } from "../schema.ts";
import { TsType } from "../constants.ts";

// RFC 7296 §3.13.1: Traffic Selector
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   TS Type     |IP Protocol ID*|       Selector Length         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           Start Port*         |           End Port*           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                         Starting Address*                     ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                         Ending Address*                       ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// (* these fields depend on the TS Type; shown here for TS_IPV4_ADDR_RANGE and TS_IPV6_ADDR_RANGE)
function addressRange(size: number): Field[] {
  return [
    { k: "u8", name: "ipProtocol" },
    { k: "length", size: 2, name: "Selector Length", covers: "struct" }, // 16 for IPv4, 40 for IPv6
    { k: "u16", name: "startPort" },
    { k: "u16", name: "endPort" },
    { k: "bytes", name: "startAddress", len: size },
    { k: "bytes", name: "endAddress", len: size },
  ];
}

export const trafficSelectorSchema: Schema = {
  name: "traffic selector",
  fields: [
    { k: "u8", name: "tsType" },
    {
      k: "switch",
      on: "tsType",
      cases: {
        [TsType.IPV4_ADDR_RANGE]: addressRange(4),
        [TsType.IPV6_ADDR_RANGE]: addressRange(16),
      },
      // Other TS Types (e.g. RFC 9478 TS_SECLABEL) share the first four octets; keep the rest raw.
      fallback: [
        { k: "const", name: "opaque", value: true },
        { k: "reserved", size: 1 },
        { k: "length", size: 2, name: "Selector Length", covers: "struct" },
        { k: "bytes", name: "data", len: "rest" },
      ],
    },
  ],
};

// RFC 7296 §3.13: Traffic Selector Payload
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Number of TSs |                 RESERVED                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                       <Traffic Selectors>                     ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const tsSchema: Schema = {
  name: "TS payload",
  fields: [
    { k: "count", size: 1, name: "Number of TSs", of: "selectors" },
    { k: "reserved", size: 3 },
    { k: "list", name: "selectors", item: trafficSelectorSchema, count: "Number of TSs" },
  ],
};
