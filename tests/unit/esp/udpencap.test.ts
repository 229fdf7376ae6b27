// RFC 3948: what arrives on port 4500 is a NAT-keepalive, IKE after the non-ESP marker, or ESP.
import { expect, test } from "bun:test";
import { classifyUdp4500, natKeepalive, NON_ESP_MARKER, withNonEspMarker } from "../../../core/esp/udpencap.ts";
import { fromHex, toHex } from "../../../core/util/bytes.ts";

// An IKE header (RFC 7296 §3.1): SPIi, SPIr = 0, SA next, version 2.0, IKE_SA_INIT, Initiator, ID 0, length 28.
const IKE = fromHex("0102030405060708 0000000000000000 21 20 22 08 00000000 0000001c");

test("n | datagram | kind", () => {
  const rows: [number, string, string][] = [
    [1, "", "invalid:empty"],
    [2, "ff", "keepalive"], // §2.3
    [3, "00", "invalid:short-esp"],
    [4, "000000", "invalid:short-esp"],
    [5, "00000000", "invalid:short-ike"], // marker without an IKE header
    [6, "00000000" + toHex(IKE).slice(0, 54), "invalid:short-ike"],
    [7, "00000000" + toHex(IKE), "ike"], // §2.2
    [8, "01020304", "invalid:short-esp"], // SPI without a sequence number
    [9, "0102030400000001", "esp"], // §2.1
    [10, "000000010000000100", "esp"], // SPI 1: not the marker
    [11, "ffff", "invalid:short-esp"], // 0xFF alone is a keepalive; two octets are nothing
  ];
  for (const [n, hex, expected] of rows) {
    const c = classifyUdp4500(fromHex(hex));
    const got = c.kind === "invalid" ? `invalid:${c.reason}` : c.kind;
    expect(`${n}: ${got}`).toBe(`${n}: ${expected}`);
  }
});

test("the IKE message comes back without its marker; helpers build marker and keepalive", () => {
  const d = withNonEspMarker(IKE);
  expect(toHex(d.subarray(0, 4))).toBe(toHex(NON_ESP_MARKER));
  const c = classifyUdp4500(d);
  expect(c.kind === "ike" && toHex(c.message)).toBe(toHex(IKE));
  expect(toHex(natKeepalive())).toBe("ff");
  expect(classifyUdp4500(natKeepalive()).kind).toBe("keepalive");
});
