// Field tables for the Notify (RFC 7296 §3.10) and Delete (§3.11) payloads.

import type { Schema } from "../schema.ts";

// RFC 7296 §3.10: Notify Payload
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Protocol ID  |   SPI Size    |      Notify Message Type      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                Security Parameter Index (SPI)                 ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                       Notification Data                       ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
export const notifySchema: Schema = {
  name: "Notify payload",
  fields: [
    { k: "u8", name: "protocolId" }, // §3.10: 0 when the notify is not about an SA
    { k: "length", size: 1, name: "SPI Size", covers: "spi" },
    { k: "u16", name: "notifyType" },
    { k: "bytes", name: "spi", len: { field: "SPI Size" } },
    { k: "bytes", name: "data", len: "rest" },
  ],
};

// RFC 7296 §3.11: Delete Payload
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Protocol ID   |   SPI Size    |          Num of SPIs          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~               Security Parameter Index(es) (SPI)              ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const deleteSpiSchema: Schema = {
  name: "Delete SPI",
  fields: [{ k: "bytes", name: "spi", len: { field: "spiSize" } }],
};

export const deleteSchema: Schema = {
  name: "Delete payload",
  fields: [
    { k: "u8", name: "protocolId" },
    { k: "u8", name: "spiSize" },
    { k: "count", size: 2, name: "Num of SPIs", of: "spis" },
    { k: "list", name: "spis", item: deleteSpiSchema, count: "Num of SPIs", unwrap: "spi" },
  ],
  // §3.11: the IKE SA is deleted with SPI Size 0 and no SPIs; SPIs of size 0 would be meaningless.
  check: (v) => (v.spiSize === 0 && (v.spis as unknown[]).length > 0 ? "SPI Size 0 with SPIs listed" : null),
};
