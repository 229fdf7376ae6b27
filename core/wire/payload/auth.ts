// Field tables for the payloads that identify and authenticate a peer: IDi/IDr (RFC 7296 §3.5),
// CERT (§3.6), CERTREQ (§3.7), AUTH (§3.8), Nonce (§3.9) and Vendor ID (§3.12).
// Each diagram shows the payload after its generic header, which message.ts reads.

import type { Schema } from "../schema.ts";
import { IdType } from "../constants.ts";

// RFC 7296 §3.5: Identification Payloads
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   ID Type     |                 RESERVED                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                                               |
// ~                   Identification Data                         ~
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const idSchema: Schema = {
  name: "ID payload",
  fields: [
    { k: "u8", name: "idType" },
    { k: "reserved", size: 3 },
    {
      k: "switch",
      on: "idType",
      cases: {
        [IdType.IPV4_ADDR]: [{ k: "bytes", name: "data", len: 4 }], // §3.5: "a single four (4) octet IPv4 address"
        [IdType.IPV6_ADDR]: [{ k: "bytes", name: "data", len: 16 }], // §3.5: "a single sixteen (16) octet IPv6 address"
      },
      fallback: [{ k: "bytes", name: "data", len: "rest" }], // FQDN, RFC822, DER_ASN1_DN, KEY_ID, ...
    },
  ],
};

// RFC 7296 §3.6: Certificate Payload
// +-+-+-+-+-+-+-+-+
// | Cert Encoding |                                               |
// +-+-+-+-+-+-+-+-+                                               |
// ~                       Certificate Data                        ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const certSchema: Schema = {
  name: "CERT payload",
  fields: [
    { k: "u8", name: "certEncoding" },
    { k: "bytes", name: "certData", len: "rest" },
  ],
};

// RFC 7296 §3.7: Certificate Request Payload
// +-+-+-+-+-+-+-+-+
// | Cert Encoding |                                               |
// +-+-+-+-+-+-+-+-+                                               |
// ~                    Certification Authority                    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const certReqSchema: Schema = {
  name: "CERTREQ payload",
  fields: [
    { k: "u8", name: "certEncoding" },
    { k: "bytes", name: "certAuthority", len: "rest" },
  ],
};

// RFC 7296 §3.8: Authentication Payload
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Auth Method   |                RESERVED                       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                      Authentication Data                      ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const authSchema: Schema = {
  name: "AUTH payload",
  fields: [
    { k: "u8", name: "authMethod" },
    { k: "reserved", size: 3 },
    { k: "bytes", name: "authData", len: "rest" },
  ],
};

// RFC 7296 §3.9: Nonce Payload
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                            Nonce Data                         ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const nonceSchema: Schema = {
  name: "Nonce payload",
  fields: [{ k: "bytes", name: "nonce", len: "rest" }],
  // §3.9: "The size of the Nonce Data MUST be between 16 and 256 octets, inclusive."
  check: (v) => {
    const n = (v.nonce as Uint8Array).length;
    return n >= 16 && n <= 256 ? null : `Nonce Data is ${n} octets, must be 16 to 256`;
  },
};

// RFC 7296 §3.12: Vendor ID Payload
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                        Vendor ID (VID)                        ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const vendorIdSchema: Schema = {
  name: "Vendor ID payload",
  fields: [{ k: "bytes", name: "vendorId", len: "rest" }],
};
