import { describe, expect, test } from "bun:test";
import { checkNarrowing, formatSelector, InboundPolicy, rangeToCidrs, selectorFromCidr, subtractRanges, type Selector } from "../../../core/ike/selectors.ts";

// A test-local address parser, independent of the one in core/wire.
function parse(s: string): Uint8Array | null {
  if (s.includes(":")) {
    const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    if (groups.length !== 8) return null;
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      const v = parseInt(g, 16);
      out[i * 2] = v >> 8;
      out[i * 2 + 1] = v & 0xff;
    });
    return out;
  }
  const p = s.split(".").map(Number);
  return p.length === 4 && p.every((x) => Number.isInteger(x) && x >= 0 && x <= 255) ? Uint8Array.from(p) : null;
}
const sel = (c: string, protocol = 0, startPort = 0, endPort = 65535): Selector => ({ ...selectorFromCidr(c, parse)!, protocol, startPort, endPort });

describe("rangeToCidrs", () => {
  const rows: [string, string, string[]][] = [
    ["0.0.0.0", "255.255.255.255", ["0.0.0.0/0"]],
    ["203.0.113.0", "203.0.113.255", ["203.0.113.0/24"]],
    ["198.51.100.10", "198.51.100.10", ["198.51.100.10/32"]],
    ["10.0.0.1", "10.0.0.6", ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]],
    ["192.0.2.0", "192.0.3.255", ["192.0.2.0/23"]],
    ["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ["::/0"]],
    ["2001:db8::", "2001:db8::ffff", ["2001:db8::/112"]],
  ];
  for (const [a, b, want] of rows) test(`${a}-${b}`, () => expect(rangeToCidrs(parse(a)!, parse(b)!)).toEqual(want));
  test("an inverted range covers nothing", () => expect(rangeToCidrs(parse("10.0.0.2")!, parse("10.0.0.1")!)).toEqual([]));
});

describe("selectorFromCidr", () => {
  test("masks host bits", () => expect(formatSelector(selectorFromCidr("203.0.113.77/24", parse)!)).toBe("203.0.113.0/24"));
  test("rejects bad prefixes and addresses", () => {
    for (const bad of ["203.0.113.0/33", "203.0.113.0/x", "203.0.113/24", "::/129", "1.2.3.4/-1"]) expect(selectorFromCidr(bad, parse)).toBeNull();
  });
  test("formats protocol and ports", () => expect(formatSelector(sel("10.0.0.0/8", 6, 443, 443))).toBe("10.0.0.0/8[6/443]"));
});

describe("checkNarrowing (RFC 7296 §2.9)", () => {
  const proposed = [sel("0.0.0.0/0")];
  test("narrowed to two subnets is accepted", () => expect(checkNarrowing(proposed, [sel("203.0.113.0/24"), sel("198.51.100.0/24")])).toEqual({ ok: true }));
  test("widening is refused", () => {
    const r = checkNarrowing([sel("203.0.113.0/24")], [sel("203.0.112.0/23")]);
    expect(r.ok).toBe(false);
  });
  test("an empty answer is refused", () => expect(checkNarrowing(proposed, []).ok).toBe(false));
  test("another family is not within", () => expect(checkNarrowing(proposed, [sel("::/0")]).ok).toBe(false));
  test("narrowing the protocol and ports is accepted; widening the ports is not", () => {
    expect(checkNarrowing([sel("10.0.0.0/8", 6, 1, 1024)], [sel("10.1.0.0/16", 6, 22, 22)]).ok).toBe(true);
    expect(checkNarrowing([sel("10.0.0.0/8", 6, 1, 1024)], [sel("10.1.0.0/16", 6, 22, 2000)]).ok).toBe(false);
    expect(checkNarrowing([sel("10.0.0.0/8", 6)], [sel("10.1.0.0/16", 17)]).ok).toBe(false);
  });
});

function ipv4(src: string, dst: string, proto = 1, sport = 0, dport = 0, fragOffset = 0): Uint8Array {
  const p = new Uint8Array(28);
  p[0] = 0x45;
  p[6] = (fragOffset >> 8) & 0x1f;
  p[7] = fragOffset & 0xff;
  p[9] = proto;
  p.set(parse(src)!, 12);
  p.set(parse(dst)!, 16);
  p[20] = sport >> 8;
  p[21] = sport & 0xff;
  p[22] = dport >> 8;
  p[23] = dport & 0xff;
  return p;
}
function ipv6(src: string, dst: string, proto = 58): Uint8Array {
  const p = new Uint8Array(48);
  p[0] = 0x60;
  p[6] = proto;
  p.set(parse(src)!, 8);
  p.set(parse(dst)!, 24);
  return p;
}

describe("InboundPolicy (RFC 4301 §5.2 inbound check)", () => {
  const pol = new InboundPolicy([sel("198.19.0.5/32"), sel("fd00::5/128")], [sel("203.0.113.0/24"), sel("198.51.100.0/24"), sel("2001:db8:1::/48")]);
  const rows: [string, Uint8Array, boolean][] = [
    ["from corp LAN 1 to our virtual IP", ipv4("203.0.113.10", "198.19.0.5"), true],
    ["from corp LAN 2", ipv4("198.51.100.10", "198.19.0.5"), true],
    ["source outside the remote selectors", ipv4("192.0.2.99", "198.19.0.5"), false],
    ["destination not our virtual IP", ipv4("203.0.113.10", "198.19.0.6"), false],
    ["IPv6 inside", ipv6("2001:db8:1::1", "fd00::5"), true],
    ["IPv6 source outside", ipv6("2001:db8:2::1", "fd00::5"), false],
    ["truncated IPv4 header", ipv4("203.0.113.10", "198.19.0.5").subarray(0, 19), false],
    ["not IP at all", new Uint8Array([0x00, 1, 2, 3]), false],
  ];
  for (const [name, pkt, want] of rows) test(name, () => expect(pol.allows(pkt, 0, pkt.length)).toBe(want));

  test("port-restricted selectors check the transport header, and refuse non-first fragments", () => {
    const p = new InboundPolicy([sel("198.19.0.5/32")], [sel("203.0.113.0/24", 6, 443, 443)]);
    expect(p.allows(...args(ipv4("203.0.113.10", "198.19.0.5", 6, 443, 50000)))).toBe(true);
    expect(p.allows(...args(ipv4("203.0.113.10", "198.19.0.5", 6, 80, 50000)))).toBe(false);
    expect(p.allows(...args(ipv4("203.0.113.10", "198.19.0.5", 17, 443, 50000)))).toBe(false);
    expect(p.allows(...args(ipv4("203.0.113.10", "198.19.0.5", 6, 443, 50000, 100)))).toBe(false);
  });
  test("works at an offset inside a larger buffer", () => {
    const pkt = ipv4("203.0.113.10", "198.19.0.5");
    const buf = new Uint8Array(100);
    buf.set(pkt, 37);
    expect(pol.allows(buf, 37, pkt.length)).toBe(true);
  });
});
function args(p: Uint8Array): [Uint8Array, number, number] {
  return [p, 0, p.length];
}

describe("subtractRanges (split-tunnel exclusions)", () => {
  const routes = (from: string[], minus: string[]) =>
    subtractRanges(from.map((c) => sel(c)), minus.map((c) => sel(c))).flatMap((s) => rangeToCidrs(s.start, s.end));
  const rows: [string[], string[], string[]][] = [
    [["198.51.100.0/24"], ["198.51.100.0/25"], ["198.51.100.128/25"]],
    [["198.51.100.0/24"], ["198.51.100.10/32"], ["198.51.100.0/29", "198.51.100.8/31", "198.51.100.11/32", "198.51.100.12/30", "198.51.100.16/28", "198.51.100.32/27", "198.51.100.64/26", "198.51.100.128/25"]],
    [["203.0.113.0/24", "198.51.100.0/24"], ["198.51.100.0/24"], ["203.0.113.0/24"]],
    [["0.0.0.0/0"], ["192.0.2.0/24"], ["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/23", "192.0.3.0/24", "192.0.4.0/22", "192.0.8.0/21", "192.0.16.0/20", "192.0.32.0/19", "192.0.64.0/18", "192.0.128.0/17", "192.1.0.0/16", "192.2.0.0/15", "192.4.0.0/14", "192.8.0.0/13", "192.16.0.0/12", "192.32.0.0/11", "192.64.0.0/10", "192.128.0.0/9", "193.0.0.0/8", "194.0.0.0/7", "196.0.0.0/6", "200.0.0.0/5", "208.0.0.0/4", "224.0.0.0/3"]],
    [["203.0.113.0/24"], ["10.0.0.0/8", "2001:db8::/32"], ["203.0.113.0/24"]],
    [["203.0.113.0/24"], ["203.0.113.0/24"], []],
    [["2001:db8::/32"], ["2001:db8:8000::/33"], ["2001:db8::/33"]],
  ];
  for (const [from, minus, want] of rows) test(`${from.join(",")} − ${minus.join(",")}`, () => expect(routes(from, minus)).toEqual(want));
});
