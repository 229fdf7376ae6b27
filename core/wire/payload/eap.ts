// Field table for the EAP payload (RFC 7296 §3.16), which carries one EAP packet (RFC 3748 §4).

import type { Field, Schema } from "../schema.ts";
import { EapCode } from "../constants.ts";

const withType: Field[] = [
  { k: "u8", name: "eapType" },
  { k: "bytes", name: "typeData", len: "rest" },
];

// RFC 7296 §3.16: EAP Payload, and RFC 3748 §4 the EAP packet inside
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Code      | Identifier    |           Length              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      | Type_Data...
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// "Type" and "Type_Data" are present only in Request and Response packets (RFC 3748 §4.2: Success and
// Failure are exactly four octets). The EAP Length must equal the payload body length.
export const eapSchema: Schema = {
  name: "EAP payload",
  fields: [
    { k: "u8", name: "code" },
    { k: "u8", name: "identifier" },
    { k: "length", size: 2, name: "EAP Length", covers: "struct" },
    {
      k: "switch",
      on: "code",
      cases: {
        [EapCode.REQUEST]: withType,
        [EapCode.RESPONSE]: withType,
        [EapCode.SUCCESS]: [],
        [EapCode.FAILURE]: [],
      },
    },
  ],
};
