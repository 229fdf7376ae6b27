// IP address text ↔ octets: examples from RFC 4291 §2.2 (input forms) and RFC 5952 §4 (canonical output).

import { expect, test } from "bun:test";
import fc from "fast-check";
import { toHex } from "../../../core/util/bytes.ts";
import { formatAddress, formatIPv6, parseAddress, parseIPv4, parseIPv6 } from "../../../core/wire/addr.ts";

test("IPv4 dotted quads", () => {
  expect(toHex(parseIPv4("198.19.0.1")!)).toBe("c6130001");
  expect(toHex(parseIPv4("0.0.0.0")!)).toBe("00000000");
  expect(toHex(parseIPv4("255.255.255.255")!)).toBe("ffffffff");
  for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "1..3.4", " 1.2.3.4", "a.b.c.d", "1.2.3.4/24"]) {
    expect(parseIPv4(bad)).toBeNull();
  }
});

test("RFC 4291 §2.2 input forms", () => {
  const full = "20010db8000000000008080020 0c417a".replace(" ", "");
  expect(toHex(parseIPv6("2001:DB8:0:0:8:800:200C:417A")!)).toBe(full);
  expect(toHex(parseIPv6("2001:DB8::8:800:200C:417A")!)).toBe(full);
  expect(toHex(parseIPv6("FF01::101")!)).toBe("ff010000000000000000000000000101");
  expect(toHex(parseIPv6("::1")!)).toBe("00000000000000000000000000000001");
  expect(toHex(parseIPv6("::")!)).toBe("00".repeat(16));
  expect(toHex(parseIPv6("0:0:0:0:0:0:13.1.68.3")!)).toBe("0000000000000000000000000d014403");
  expect(toHex(parseIPv6("::FFFF:129.144.52.38")!)).toBe("00000000000000000000ffff81903426");
  expect(toHex(parseIPv6("::13.1.68.3")!)).toBe("0000000000000000000000000d014403");
  expect(toHex(parseIPv6("1::")!)).toBe("0001" + "00".repeat(14));
});

test("malformed IPv6 text is refused", () => {
  for (const bad of [
    "",
    ":",
    ":::",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "12345::",
    "g::1",
    "1:2:3:4:5:6:7::8", // "::" must stand for at least one group: nine in all
    "1:2:3:4:5:6:7:1.2.3.4",
    "::1.2.3",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
  ]) {
    expect(parseIPv6(bad)).toBeNull();
  }
});

test("RFC 5952 §4 canonical text", () => {
  const f = (s: string) => formatIPv6(parseIPv6(s)!);
  expect(f("2001:0db8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8::1"); // §4.1 no leading zeros, §4.3 lowercase
  expect(f("2001:db8:0:0:0:0:2:1")).toBe("2001:db8::2:1"); // §4.2.1 shorten as much as possible
  expect(f("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1"); // §4.2.2 not a single 16-bit 0 field
  expect(f("2001:0:0:1:0:0:0:1")).toBe("2001:0:0:1::1"); // §4.2.3 the longest run
  expect(f("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1"); // §4.2.3 the first of equal runs
  expect(f("::")).toBe("::");
  expect(f("::1")).toBe("::1");
  expect(f("fe80::")).toBe("fe80::");
});

test("formatAddress picks the family by length; parseAddress by the text", () => {
  expect(formatAddress(new Uint8Array([10, 1, 0, 2]))).toBe("10.1.0.2");
  expect(formatAddress(new Uint8Array(16))).toBe("::");
  expect(formatAddress(new Uint8Array(5))).toBeNull();
  expect(toHex(parseAddress("10.1.0.2")!)).toBe("0a010002");
  expect(toHex(parseAddress("fe80::1")!)).toBe("fe800000000000000000000000000001");
});

test("any 4 or 16 octets survive format → parse", () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })), (a) => {
      expect(parseAddress(formatAddress(a)!)).toEqual(a);
    }),
    { numRuns: 2000 },
  );
  // Sparse IPv6 addresses exercise the zero-run compression.
  fc.assert(
    fc.property(fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff), { minLength: 8, maxLength: 8 }), (groups) => {
      const a = new Uint8Array(16);
      groups.forEach((g, i) => {
        a[2 * i] = g >> 8;
        a[2 * i + 1] = g & 0xff;
      });
      expect(parseIPv6(formatIPv6(a))).toEqual(a);
    }),
  );
});
