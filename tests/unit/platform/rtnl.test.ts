// The rtnetlink socket (platform/linux/rtnl.ts) on this machine's own namespace, read-only: RTM_GETLINK
// needs no privilege, so these run without root. The changes themselves are tested in a private
// namespace by netcfg.test.ts.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as libc from "../../../platform/linux/libc.ts";
import { encodeMessage, getLinkRequest, NLM_F_REQUEST, RTM_GETLINK } from "../../../platform/linux/rtnl-msg.ts";
import { Rtnl, RtnlError } from "../../../platform/linux/rtnl.ts";

/** The socket's descriptor, to put messages on it behind the client's back. */
const fdOf = (r: Rtnl): number => (r as unknown as { fd: number }).fd;

test("link: the loopback device as /sys/class/net shows it; a missing device is ENODEV in one line", () => {
  const r = Rtnl.open();
  const sys = (f: string): number => Number(readFileSync(`/sys/class/net/lo/${f}`, "utf8").trim());
  try {
    expect(r.link("lo")).toEqual({ index: sys("ifindex"), mtu: sys("mtu"), up: (sys("flags") & 1) === 1 });
    expect(() => r.link("roam-nothere")).toThrow("link show dev roam-nothere: No such device (ENODEV)");
  } finally {
    r.close();
  }
});

test("answers to another sequence number (a late answer to an earlier request) are skipped", () => {
  const r = Rtnl.open();
  try {
    // A request of our own with a foreign sequence number: its RTM_NEWLINK and ACK arrive first.
    const stale = getLinkRequest(0x7fff0000, "lo");
    expect(libc.send(fdOf(r), stale, 0)).toBe(stale.length);
    expect(r.link("lo").index).toBe(1);
    expect(r.link("lo").index).toBe(1);
  } finally {
    r.close();
  }
});

test("a request the kernel never acknowledges fails with ETIMEDOUT after the bound, and the socket stays usable", () => {
  const r = Rtnl.open(200);
  try {
    // RTM_GETLINK without NLM_F_ACK: the kernel answers with the link but sends no ACK.
    const request = (r as unknown as { request(op: string, build: (seq: number) => Uint8Array): unknown }).request.bind(r);
    const t0 = performance.now();
    let err: unknown;
    try {
      request("link show dev lo (no ACK)", (seq) => encodeMessage(RTM_GETLINK, NLM_F_REQUEST, seq, new Uint8Array(16), [[3, new TextEncoder().encode("lo\0")]]));
    } catch (e) {
      err = e;
    }
    const waited = performance.now() - t0;
    expect(err).toBeInstanceOf(RtnlError);
    expect((err as RtnlError).errno).toBe(110);
    expect((err as Error).message).toBe("link show dev lo (no ACK): Connection timed out (ETIMEDOUT): no answer from the kernel");
    expect(waited).toBeGreaterThanOrEqual(150); // SO_RCVTIMEO, not an immediate EAGAIN
    expect(r.link("lo").index).toBe(1);
  } finally {
    r.close();
  }
  expect(() => r.link("lo")).toThrow("the rtnetlink socket is closed");
});
