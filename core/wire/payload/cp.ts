// Field tables for the Configuration payload (RFC 7296 §3.15) and its attributes (§3.15.1, RFC 8598).

import type { Field, Schema } from "../schema.ts";
import { CfgAttr } from "../constants.ts";

const ip4: Field[] = [{ k: "optional", fields: [{ k: "bytes", name: "address", len: 4 }] }];
const ip6: Field[] = [{ k: "optional", fields: [{ k: "bytes", name: "address", len: 16 }] }];
// §3.15.1: INTERNAL_IP6_ADDRESS and INTERNAL_IP6_SUBNET are "0 or 17 octets": address + prefix length.
const ip6Prefix: Field[] = [
  { k: "optional", fields: [{ k: "bytes", name: "address", len: 16 }, { k: "u8", name: "prefixLength" }] },
];
// §3.15.1: INTERNAL_IP4_SUBNET is "0 or 8 octets": address + netmask.
const ip4Subnet: Field[] = [
  { k: "optional", fields: [{ k: "bytes", name: "address", len: 4 }, { k: "bytes", name: "netmask", len: 4 }] },
];

// RFC 7296 §3.15.1: Configuration Attributes
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |R|         Attribute Type      |            Length             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                                               |
// ~                             Value                             ~
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const cfgAttributeSchema: Schema = {
  name: "configuration attribute",
  fields: [
    { k: "bits", size: 2, parts: [{ name: null, bits: 1 }, { name: "attrType", bits: 15 }] }, // R: reserved
    { k: "length", size: 2, name: "Length", covers: "after" },
    {
      k: "switch",
      on: "attrType",
      cases: {
        [CfgAttr.INTERNAL_IP4_ADDRESS]: ip4,
        [CfgAttr.INTERNAL_IP4_NETMASK]: ip4,
        [CfgAttr.INTERNAL_IP4_DNS]: ip4,
        [CfgAttr.INTERNAL_IP4_NBNS]: ip4,
        [CfgAttr.INTERNAL_IP4_DHCP]: ip4,
        [CfgAttr.APPLICATION_VERSION]: [{ k: "text", name: "text", len: "rest" }],
        [CfgAttr.INTERNAL_IP6_ADDRESS]: ip6Prefix,
        [CfgAttr.INTERNAL_IP6_DNS]: ip6,
        [CfgAttr.INTERNAL_IP6_DHCP]: ip6,
        [CfgAttr.INTERNAL_IP4_SUBNET]: ip4Subnet,
        [CfgAttr.INTERNAL_IP6_SUBNET]: ip6Prefix,
        // RFC 8598 §4: the domain in presentation format, no trailing NUL; empty in a request.
        [CfgAttr.INTERNAL_DNS_DOMAIN]: [{ k: "text", name: "domain", len: "rest" }],
      },
      fallback: [{ k: "bytes", name: "raw", len: "rest" }],
    },
  ],
};

// RFC 7296 §3.15: Configuration Payload
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   CFG Type    |                    RESERVED                   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                   Configuration Attributes                    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const cpSchema: Schema = {
  name: "CP payload",
  fields: [
    { k: "u8", name: "cfgType" },
    { k: "reserved", size: 3 },
    { k: "list", name: "attributes", item: cfgAttributeSchema },
  ],
};
