// REDIRECT (RFC 5685): the notification's codec, and following it in IKE_SA_INIT (§3), in IKE_AUTH (§6)
// and in an INFORMATIONAL request of an established IKE SA (§5), against the scripted gateway.
import { describe, expect, test } from "bun:test";
import { gatewayIdentity, GwIdentType, parseRedirectData } from "../../../core/ike/redirect.ts";
import { IkeSession } from "../../../core/ike/session.ts";
import type { Action } from "../../../core/ike/types.ts";
import { NotifyStatus, PayloadType } from "../../../core/wire/constants.ts";
import { parseAddress } from "../../../core/wire/addr.ts";
import { findNotify } from "../../../core/wire/payloads.ts";
import { FakeGateway, seededRandom } from "./fake-gateway.ts";
import { env, kinds, pump } from "./pump.ts";
import { TEST_PSK, testSessionConfig } from "./session-config.ts";

const OTHER = parseAddress("192.0.2.3")!;

const redirectOf = (as: Action[]) => as.find((a) => a.kind === "redirect") as Extract<Action, { kind: "redirect" }> | undefined;

describe("REDIRECT notification data (RFC 5685 §8.2)", () => {
  test("IPv4, IPv6 and FQDN identities, with and without a nonce", () => {
    expect(parseRedirectData(gatewayIdentity({ address: OTHER }))).toEqual({ ok: true, target: { kind: "address", address: OTHER, text: "192.0.2.3" }, nonce: new Uint8Array(0) });
    const v6 = parseAddress("2001:db8::7")!;
    const n = new Uint8Array(32).fill(9);
    expect(parseRedirectData(gatewayIdentity({ address: v6 }, n))).toEqual({ ok: true, target: { kind: "address", address: v6, text: "2001:db8::7" }, nonce: n });
    expect(parseRedirectData(gatewayIdentity({ fqdn: "gw2.example.com" }))).toEqual({ ok: true, target: { kind: "fqdn", text: "gw2.example.com" }, nonce: new Uint8Array(0) });
  });

  test("bad data is a typed failure, never a throw", () => {
    expect(parseRedirectData(new Uint8Array([1]))).toEqual({ ok: false, reason: "REDIRECT data shorter than 2 octets" });
    expect(parseRedirectData(new Uint8Array([GwIdentType.IPV4, 4, 1, 2]))).toEqual({ ok: false, reason: "REDIRECT identity of 4 octets overruns the 4-octet notification" });
    expect(parseRedirectData(new Uint8Array([GwIdentType.IPV4, 3, 1, 2, 3]))).toEqual({ ok: false, reason: "REDIRECT address of 3 octets for identity type 1" });
    expect(parseRedirectData(new Uint8Array([GwIdentType.FQDN, 3, 0x61, 0x20, 0x62]))).toEqual({ ok: false, reason: "REDIRECT FQDN is not a host name" });
    expect(parseRedirectData(new Uint8Array([7, 0]))).toEqual({ ok: false, reason: "REDIRECT with unknown gateway identity type 7" });
    const rnd = seededRandom(5);
    for (let i = 0; i < 2000; i++) {
      const r = parseRedirectData(rnd.bytes(i % 40));
      expect(typeof r.ok).toBe("boolean");
    }
  });
});

describe("following a REDIRECT", () => {
  test("IKE_SA_INIT announces REDIRECT_SUPPORTED; at the new gateway REDIRECTED_FROM names the old one (§3, §8.3)", () => {
    const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(1) });
    const s = new IkeSession(testSessionConfig(), env(1));
    pump(s, gw, s.handle({ kind: "start" }, 0));
    expect(findNotify(gw.initRequestPayloads, NotifyStatus.REDIRECT_SUPPORTED)).toBeDefined();
    expect(findNotify(gw.initRequestPayloads, NotifyStatus.REDIRECTED_FROM)).toBeUndefined();
    const gw2 = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(2) });
    const s2 = new IkeSession(testSessionConfig({ redirectedFrom: parseAddress("192.0.2.1")! }), env(2));
    pump(s2, gw2, s2.handle({ kind: "start" }, 0));
    expect(findNotify(gw2.initRequestPayloads, NotifyStatus.REDIRECTED_FROM)!.data).toEqual(new Uint8Array([1, 4, 192, 0, 2, 1]));
    expect(s2.status().state).toBe("established");
  });

  test("in the IKE_SA_INIT answer, with our Ni as nonce: the session ends with a redirect, nothing else sent", () => {
    const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(3), redirectInit: gatewayIdentity({ address: OTHER }) });
    const s = new IkeSession(testSessionConfig(), env(3));
    const all = pump(s, gw, s.handle({ kind: "start" }, 0));
    const r = redirectOf(all)!;
    expect(r.stage).toBe("ike-sa-init");
    expect(r.target).toEqual({ kind: "address", address: OTHER, text: "192.0.2.3" });
    expect(r.from).toEqual(parseAddress("192.0.2.1")!);
    expect(kinds(all).filter((k) => k === "send").length).toBe(1);
    expect(kinds(all)).not.toContain("failed");
    expect(s.status().state).toBe("done");
  });

  test("in the IKE_SA_INIT answer with another nonce: ignored as forged (§3), the retransmit timer still runs", () => {
    const s = new IkeSession(testSessionConfig(), env(4));
    const first = s.handle({ kind: "start" }, 0);
    const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(4), redirectInit: gatewayIdentity({ address: OTHER }) });
    const sent = first.find((a) => a.kind === "send") as { data: Uint8Array };
    const answer = gw.receive(sent.data)[0]!;
    // The fake appends the client's Ni after the identity: overwrite it with zeros.
    const forged = answer.slice();
    forged.set(new Uint8Array(32), forged.length - 32);
    expect(s.handle({ kind: "datagram", data: forged, port: "ike" }, 10)).toEqual([]);
    expect(s.status().state).toBe("init");
  });

  test("in the last IKE_AUTH answer (§6): the IKE SA is deleted, no CHILD_SA, then the redirect", () => {
    const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(5), redirectAuth: gatewayIdentity({ fqdn: "gw2.roam.test" }) });
    const s = new IkeSession(testSessionConfig(), env(5));
    const all = pump(s, gw, s.handle({ kind: "start" }, 0));
    expect(kinds(all)).not.toContain("install-child");
    expect(kinds(all)).not.toContain("established");
    expect(redirectOf(all)).toMatchObject({ stage: "ike-auth", target: { kind: "fqdn", text: "gw2.roam.test" } });
    expect(gw.deleted).toBe(true);
  });

  test("an INFORMATIONAL REDIRECT of the established SA (§5): answered, CHILD_SA removed, DELETE sent, redirect", () => {
    const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(6) });
    const s = new IkeSession(testSessionConfig(), env(6));
    pump(s, gw, s.handle({ kind: "start" }, 0));
    const req = gw.request(0, [{ type: PayloadType.NOTIFY, critical: false, protocolId: 0, spi: new Uint8Array(0), notifyType: NotifyStatus.REDIRECT, data: gatewayIdentity({ address: OTHER }) }]);
    const a = s.handle({ kind: "datagram", data: req, port: "natt" }, 1000);
    expect(kinds(a)).toEqual(["send", "remove-child", "send", "cancel-timer", "redirect"]);
    expect(gw.openResponse((a[0] as { data: Uint8Array }).data)).toEqual([]);
    gw.receive((a[2] as { data: Uint8Array }).data);
    expect(gw.deleted).toBe(true);
    expect(redirectOf(a)).toMatchObject({ stage: "informational", target: { text: "192.0.2.3" } });
  });
});
