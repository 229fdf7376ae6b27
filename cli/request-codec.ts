// A checked ConnectRequest as one line of JSON, for the --background child's standard input.
// Byte arrays travel as {"$hex": "..."}; nothing here is written to disk or logged.

import { fromHex, toHex } from "../core/util/bytes.ts";
import type { ConnectRequest } from "./connect-options.ts";

export function encodeRequest(req: ConnectRequest): string {
  return JSON.stringify(req, (_k, v: unknown) => (v instanceof Uint8Array ? { $hex: toHex(v) } : v));
}

export function decodeRequest(text: string): ConnectRequest {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === "object" && "$hex" in v && typeof (v as { $hex: unknown }).$hex === "string") return fromHex((v as { $hex: string }).$hex);
    return v;
  }) as ConnectRequest;
}
