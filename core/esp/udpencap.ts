// UDP encapsulation of ESP and IKE on port 4500 (RFC 3948). What arrives on the NAT-T port is one of:
//
//   0xFF                            NAT-keepalive (§2.3): one octet, dropped by the receiver
//   0x00000000 | IKE message        non-ESP marker (§2.2) then IKE
//   SPI (non-zero) | Seq | ...      ESP (§2.1): the SPI field is never zero (RFC 4303 §2.1)

/** RFC 3948 §2.2: four zero octets where ESP would have its SPI. */
export const NON_ESP_MARKER: Uint8Array = new Uint8Array(4);

/** RFC 3948 §2.3: the NAT-keepalive payload. */
export const NAT_KEEPALIVE_BYTE = 0xff;

/** Smallest ESP packet worth handing on: SPI + Sequence Number (RFC 4303 §2); the SA checks the rest. */
const MIN_ESP = 8;

export type Udp4500Datagram =
  | { kind: "keepalive" }
  /** An IKE message without its marker; a view into the datagram, not a copy. */
  | { kind: "ike"; message: Uint8Array }
  | { kind: "esp" }
  | { kind: "invalid"; reason: "empty" | "short-ike" | "short-esp" };

const KEEPALIVE: Udp4500Datagram = { kind: "keepalive" };
const ESP: Udp4500Datagram = { kind: "esp" };

/** Sorts a datagram received on port 4500. Never throws; ESP costs no allocation. */
export function classifyUdp4500(d: Uint8Array): Udp4500Datagram {
  if (d.length === 0) return { kind: "invalid", reason: "empty" };
  // RFC 3948 §2.3: a single 0xFF octet. (§4 also lets the receiver ignore any 1-octet datagram.)
  if (d.length === 1) return d[0] === NAT_KEEPALIVE_BYTE ? KEEPALIVE : { kind: "invalid", reason: "short-esp" };
  if (d.length >= 4 && d[0] === 0 && d[1] === 0 && d[2] === 0 && d[3] === 0) {
    // RFC 3948 §2.2: IKE after the marker. An IKE header is 28 octets (RFC 7296 §3.1).
    if (d.length < 4 + 28) return { kind: "invalid", reason: "short-ike" };
    return { kind: "ike", message: d.subarray(4) };
  }
  if (d.length < MIN_ESP) return { kind: "invalid", reason: "short-esp" };
  return ESP;
}

/** RFC 3948 §2.2: the non-ESP marker followed by an IKE message, in a new buffer. */
export function withNonEspMarker(ike: Uint8Array): Uint8Array {
  const out = new Uint8Array(ike.length + 4);
  out.set(ike, 4);
  return out;
}

/** RFC 3948 §2.3: a NAT-keepalive datagram. */
export function natKeepalive(): Uint8Array {
  return Uint8Array.of(NAT_KEEPALIVE_BYTE);
}
