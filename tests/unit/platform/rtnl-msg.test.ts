// rtnetlink requests and answers as bytes (platform/linux/rtnl-msg.ts), without root. The expected
// requests are what iproute2 6.1 sent for the same commands, captured with
// `strace -e trace=sendmsg -X raw -xx ip netns exec NS ip ...` on Linux 6.18 (device index 2, sequence
// number 1795446541); the answers are the kernel's, captured the same way (recvmsg) or with
// tests/unit/platform/fixtures/rtm-newlink-tun.hex (RTM_GETLINK of a TUN "cap0", MTU 1380, up).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import {
  addressRequest,
  describeFailure,
  encodeMessage,
  getLinkRequest,
  NLMSG_ERROR,
  type NlMessage,
  parseAttrs,
  parseError,
  parseLink,
  parsePrefix,
  type Prefix,
  routeRequest,
  setLinkRequest,
  splitMessages,
} from "../../../platform/linux/rtnl-msg.ts";
import { fixture } from "./netns.ts";

const SEQ = 1795446541;
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const le32 = (v: number): string => hex(new Uint8Array(new Uint32Array([v]).buffer));
const le16 = (v: number): string => hex(new Uint8Array(new Uint16Array([v]).buffer));
/** struct nlmsghdr as strace printed it, then the payload bytes. */
const msg = (len: number, type: number, flags: number, payload: string): string => `${le32(len)}${le16(type)}${le16(flags)}${le32(SEQ)}${le32(0)}${payload.replace(/\s+/g, "")}`;
const p = (cidr: string): Prefix => parsePrefix(cidr)!;

describe("requests match iproute2's", () => {
  test("ip link set dev cap0 mtu 1380 | up | down", () => {
    expect(hex(setLinkRequest(SEQ, 2, { mtu: 1380 }))).toBe(msg(40, 0x10, 0x5, "00000000 02000000 00000000 00000000 08000400 64050000"));
    expect(hex(setLinkRequest(SEQ, 2, { up: true }))).toBe(msg(32, 0x10, 0x5, "00000000 02000000 01000000 01000000"));
    expect(hex(setLinkRequest(SEQ, 2, { up: false }))).toBe(msg(32, 0x10, 0x5, "00000000 02000000 00000000 01000000"));
  });

  test("ip address add|del 198.18.77.5/32 dev cap0", () => {
    const body = "02200000 02000000 08000200 c6124d05 08000100 c6124d05";
    expect(hex(addressRequest(SEQ, "add", 2, p("198.18.77.5/32")))).toBe(msg(40, 0x14, 0x605, body));
    expect(hex(addressRequest(SEQ, "del", 2, p("198.18.77.5/32")))).toBe(msg(40, 0x15, 0x5, body));
  });

  test("ip -6 address add 2001:db8:77::5/128 dev cap0 nodad; ip address del", () => {
    const a = "20010db8007700000000000000000005";
    expect(hex(addressRequest(SEQ, "add", 2, p("2001:db8:77::5/128")))).toBe(msg(64, 0x14, 0x605, `0a800200 02000000 14000200 ${a} 14000100 ${a}`));
    expect(hex(addressRequest(SEQ, "del", 2, p("2001:db8:77::5/128")))).toBe(msg(64, 0x15, 0x5, `0a800000 02000000 14000200 ${a} 14000100 ${a}`));
  });

  test("ip route add 10.99.0.0/24 dev cap0 [metric 50]; ip route del ... metric 50", () => {
    expect(hex(routeRequest(SEQ, "add", 2, p("10.99.0.0/24")))).toBe(msg(44, 0x18, 0x605, "02180000 fe03fd01 00000000 08000100 0a630000 08000400 02000000"));
    expect(hex(routeRequest(SEQ, "add", 2, p("10.98.0.0/24"), 50))).toBe(msg(52, 0x18, 0x605, "02180000 fe03fd01 00000000 08000100 0a620000 08000600 32000000 08000400 02000000"));
    expect(hex(routeRequest(SEQ, "del", 2, p("10.98.0.0/24"), 50))).toBe(msg(52, 0x19, 0x5, "02180000 fe00ff00 00000000 08000100 0a620000 08000600 32000000 08000400 02000000"));
  });

  test("ip route add|del 2001:db8:1234::/48 dev cap0", () => {
    const dst = "14000100 20010db8123400000000000000000000";
    expect(hex(routeRequest(SEQ, "add", 2, p("2001:db8:1234::/48")))).toBe(msg(56, 0x18, 0x605, `0a300000 fe030001 00000000 ${dst} 08000400 02000000`));
    expect(hex(routeRequest(SEQ, "del", 2, p("2001:db8:1234::/48")))).toBe(msg(56, 0x19, 0x5, `0a300000 fe000000 00000000 ${dst} 08000400 02000000`));
  });

  test("RTM_GETLINK by name: ip's request, plus NLM_F_ACK, and counters left out instead of VF info", () => {
    // ip: flags 0x1, IFLA_EXT_MASK 9 (RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS).
    expect(hex(getLinkRequest(SEQ, "cap0"))).toBe(msg(52, 0x12, 0x5, "00000000000000000000000000000000 08001d00 08000000 09000300 63617030 00000000"));
  });

  test("attributes are padded to 4 octets; rta_len excludes the padding", () => {
    const m = encodeMessage(99, 1, 1, new Uint8Array([1, 2, 3]), [[3, new Uint8Array([0x61, 0])], [4, new Uint8Array(0)]]);
    expect(hex(m)).toBe(`${le32(32)}${le16(99)}${le16(1)}${le32(1)}${le32(0)}01020300 06000300 61000000 04000400`.replace(/ /g, ""));
    const attrs = parseAttrs(m, 20);
    expect([...attrs.keys()]).toEqual([3, 4]);
    expect([...attrs.get(3)!]).toEqual([0x61, 0]);
  });
});

describe("answers", () => {
  test("the kernel's RTM_NEWLINK for a TUN: index, MTU, IFF_UP; then the ACK", () => {
    const datagram = unhex(readFileSync(fixture("rtm-newlink-tun.hex"), "utf8"));
    const split = splitMessages(datagram);
    expect(split.ok).toBe(true);
    const [m] = split.ok ? split.messages : [];
    expect(m!.seq).toBe(7);
    expect(parseLink(m!)).toEqual({ index: 2, mtu: 1380, up: true });
    // The ACK (NLM_F_CAPPED: only our header echoed), as the kernel sent it for that request.
    const ack = unhex(`${le32(36)}${le16(2)}${le16(0x100)}${le32(7)}${le32(11846)}00000000${hex(getLinkRequest(7, "cap0").subarray(0, 16))}`);
    const a = splitMessages(ack);
    expect(a.ok && a.messages.map((x) => [x.type, parseError(x)])).toEqual([[NLMSG_ERROR, { errno: 0 }]]);
  });

  test("EEXIST without extended ACK; EINVAL with the kernel's explanation after the echoed request", () => {
    const request = msg(44, 0x18, 0x605, "02180000 fe03fd01 00000000 08000100 0a630000 08000400 02000000");
    const eexist = `${le32(64)}${le16(2)}${le16(0)}${le32(SEQ)}${le32(11796)}${le32(-17 >>> 0)}${request}`;
    const e1 = splitMessages(unhex(eexist));
    expect(e1.ok && parseError(e1.messages[0]!)).toEqual({ errno: 17 });
    const text = Buffer.from("Invalid prefix for given prefix length\0").toString("hex"); // 39 octets
    const einval = `${le32(108)}${le16(2)}${le16(0x200)}${le32(SEQ)}${le32(11802)}${le32(-22 >>> 0)}${request.replace("0a630000", "0a610005")}${le16(43)}${le16(1)}${text}00`;
    const e2 = splitMessages(unhex(einval));
    expect(e2.ok && parseError(e2.messages[0]!)).toEqual({ errno: 22, detail: "Invalid prefix for given prefix length" });
  });

  test("one clear line per failure, naming the operation and errno", () => {
    expect(describeFailure("route add 10.0.0.0/24 dev roam0", 17, "File exists")).toBe("route add 10.0.0.0/24 dev roam0: File exists (EEXIST)");
    expect(describeFailure("route add 10.0.0.0/24 dev roam0", 19, "No such device")).toBe("route add 10.0.0.0/24 dev roam0: No such device (ENODEV)");
    expect(describeFailure("address del 198.18.0.7/32 dev roam0", 99, "Cannot assign requested address", "ipv4: Address not found")).toBe(
      "address del 198.18.0.7/32 dev roam0: Cannot assign requested address (EADDRNOTAVAIL): ipv4: Address not found",
    );
    expect(describeFailure("x", 4242, "Unknown error 4242")).toBe("x: Unknown error 4242 (errno 4242)");
  });

  test("inconsistent lengths are a reason, not a throw; short messages parse to null", () => {
    expect(splitMessages(unhex(`${le32(8)}${"00".repeat(12)}`)).ok).toBe(false);
    expect(splitMessages(unhex(`${le32(64)}${"00".repeat(12)}`)).ok).toBe(false);
    expect(splitMessages(unhex(`${le32(16)}${"00".repeat(12)}0102`)).ok).toBe(false);
    const short: NlMessage = { type: 16, flags: 0, seq: 1, payload: new Uint8Array(10) };
    expect(parseLink(short)).toBeNull();
    expect(parseError({ ...short, type: 2 })).toBeNull();
  });

  test("parsers never throw (fuzz)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xffff }), (bytes, flags) => {
        const s = splitMessages(bytes);
        if (!s.ok) return;
        for (const m of s.messages) {
          parseLink({ ...m, type: 16 });
          parseError({ ...m, flags });
          parseAttrs(m.payload, 0);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

test("parsePrefix: both families, prefix within the address size, no garbage", () => {
  expect(parsePrefix("10.1.0.0/16")).toEqual({ family: 4, address: new Uint8Array([10, 1, 0, 0]), length: 16 });
  expect(parsePrefix("::/0")?.length).toBe(0);
  expect(parsePrefix("2001:db8::1/128")?.family).toBe(6);
  for (const bad of ["10.1.0.0", "10.1.0.0/33", "10.1.0.0/016", "2001:db8::/129", "10.1.0/8", "x/8", "/8", "10.0.0.0/"]) expect(parsePrefix(bad)).toBeNull();
});
