// Exchange tests: the initiator session against a scripted responder, with fixed randomness and time.
import { describe, expect, test } from "bun:test";
import { parseProposals } from "../../../core/ike/proposal.ts";
import { IkeSession } from "../../../core/ike/session.ts";
import type { Action } from "../../../core/ike/types.ts";
import { utf8 } from "../../../core/util/bytes.ts";
import { KeId, PayloadType, ProtocolId } from "../../../core/wire/constants.ts";
import { parseAddress } from "../../../core/wire/addr.ts";
import { FakeGateway, seededRandom } from "./fake-gateway.ts";
import { env, find, kinds, pump } from "./pump.ts";
import { TEST_PSK, testSessionConfig } from "./session-config.ts";

const PSK = TEST_PSK;

const config = testSessionConfig;


describe("PSK connect", () => {
  test("IKE_SA_INIT then IKE_AUTH: a CHILD_SA, the virtual IP, DNS and split routes", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(7) });
    const s = new IkeSession(config(), env(1));
    const actions = pump(s, gw, s.handle({ kind: "start" }, 0));
    const est = find(actions, "established");
    expect(est).toBeDefined();
    expect(est!.info.ikeProposal).toBe("aes256gcm16-prfsha256-x25519");
    expect(est!.info.espProposal).toBe("aes256gcm16");
    expect(est!.info.natRemote).toBe(true); // the fake gateway's NAT-D hashes are random
    const cfg = find(actions, "apply-config")!.config;
    expect(cfg).toEqual({ ip4: ["198.19.0.1"], ip6: [], dns: ["203.0.113.53"], domains: [], routes: ["203.0.113.0/24", "198.51.100.0/24"] });
    const child = find(actions, "install-child")!.child;
    expect(child.spiOut).toBe(gw.espSpi);
    expect(child.spiIn).toBe(gw.clientEspSpi);
    // Both sides derived the same CHILD_SA keys (§2.17), in the right directions.
    expect(child.encrKeyOut).toEqual(gw.childKeys!.initiatorToResponder.encr);
    expect(child.encrKeyIn).toEqual(gw.childKeys!.responderToInitiator.encr);
    expect(child.encrKeyOut.length).toBe(36); // AES-256 key + 4-byte salt (RFC 4106 §8.1)
    // The first IKE_SA_INIT went to port 500, everything after to 4500 (NAT-T, RFC 3948).
    const sends = actions.filter((a) => a.kind === "send");
    expect(sends[0]!.port).toBe("ike");
    expect(sends.slice(1).every((a) => a.port === "natt")).toBe(true);
    expect(s.status().state).toBe("established");
  });

  test("the client asks for an address and DNS, and proposes any TSi and TSr", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(7) });
    const s = new IkeSession(config(), env(2));
    pump(s, gw, s.handle({ kind: "start" }, 0));
    const auth = gw.received.find((m) => m.exchangeType === 35)!;
    const cp = auth.payloads.find((p) => p.type === PayloadType.CP);
    expect(cp && "attributes" in cp && cp.attributes.map((a) => a.attrType)).toEqual([1, 3, 25, 7]);
    const tsi = auth.payloads.find((p) => p.type === PayloadType.TSi);
    expect(tsi && "selectors" in tsi && tsi.selectors.length).toBe(1);
  });

  test("COOKIE: the request is sent again with the cookie first (§2.6)", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(7), cookie: true });
    const s = new IkeSession(config(), env(3));
    const actions = pump(s, gw, s.handle({ kind: "start" }, 0));
    expect(find(actions, "established")).toBeDefined();
  });

  test("INVALID_KE_PAYLOAD: retried with the group the gateway wants (§1.2)", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(7), demandGroup: KeId.ECP_256 });
    const s = new IkeSession(config(), env(4));
    const actions = pump(s, gw, s.handle({ kind: "start" }, 0));
    expect(find(actions, "established")!.info.ikeProposal).toBe("aes256gcm16-prfsha256-ecp256");
  });

  test("INVALID_KE_PAYLOAD for a group we did not offer fails with the reason", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(7), demandGroup: KeId.MODP_4096 });
    const ike = parseProposals("aes256gcm16-prfsha256-x25519", "ike");
    const s = new IkeSession(config({ ikeProposals: ike.ok ? ike.value : [] }), env(5));
    const actions = pump(s, gw, s.handle({ kind: "start" }, 0));
    expect(find(actions, "failed")!.failure.message).toContain("group 16, which is not in our proposals");
  });

  test("a wrong PSK: the gateway's AUTHENTICATION_FAILED is reported as an auth failure", () => {
    const gw = new FakeGateway({ psk: utf8("another key"), id: "gw.roam.test", random: seededRandom(7) });
    const s = new IkeSession(config(), env(6));
    const actions = pump(s, gw, s.handle({ kind: "start" }, 0));
    const f = find(actions, "failed")!.failure;
    expect(f).toEqual({ code: "auth", message: "authentication failed: gateway sent AUTHENTICATION_FAILED" });
    expect(kinds(actions)).not.toContain("install-child");
  });

  test("a gateway with another identity is refused", () => {
    const gw = new FakeGateway({ psk: PSK, id: "evil.example", random: seededRandom(7) });
    const s = new IkeSession(config(), env(7));
    const f = find(pump(s, gw, s.handle({ kind: "start" }, 0)), "failed")!.failure;
    expect(f.code).toBe("auth");
    expect(f.message).toBe("gateway identified itself as evil.example, expected gw.roam.test");
  });

  test("widened traffic selectors are refused", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(7), narrowTo: ["0.0.0.0", "255.255.255.255"] });
    const sel = { family: 4 as const, start: parseAddress("203.0.113.0")!, end: parseAddress("203.0.113.255")!, protocol: 0, startPort: 0, endPort: 65535 };
    const s = new IkeSession(config({ remoteSelectors: [sel] }), env(8));
    const f = find(pump(s, gw, s.handle({ kind: "start" }, 0)), "failed")!.failure;
    expect(f.message).toContain("widened");
  });
});

describe("IKE fragmentation (RFC 7383)", () => {
  test("both sides announce it: IKE_AUTH leaves in fragments within the budget, the fragmented answer is reassembled", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(7), fragmentBudget: 200 });
    // ikeMtu 232 → 232 − 20 (IPv4) − 8 (UDP) − 4 (non-ESP marker) = 200-byte IKE messages.
    const s = new IkeSession(config({ ikeMtu: 232 }), env(20));
    const actions = pump(s, gw, s.handle({ kind: "start" }, 0));
    expect(find(actions, "established")).toBeDefined();
    const sends = actions.filter((a) => a.kind === "send") as Extract<Action, { kind: "send" }>[];
    expect(gw.fragmentsReceived).toBeGreaterThan(1);
    expect(sends.slice(1).every((a) => a.data.length <= 200)).toBe(true);
  });

  test("a retransmitted fragmented request: the cached answer is sent again once, on fragment 1 (§2.6.1)", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(8), fragmentBudget: 200 });
    const s = new IkeSession(config({ ikeMtu: 232 }), env(23));
    pump(s, gw, s.handle({ kind: "start" }, 0));
    const big = { type: PayloadType.VENDOR_ID, critical: false, vendorId: new Uint8Array(500).fill(7) } as const;
    const frags = gw.requestFragments(0, [big]);
    expect(frags.length).toBeGreaterThan(2);
    const first = frags.flatMap((f) => s.handle({ kind: "datagram", data: f, port: "natt" }, 1000)).filter((a) => a.kind === "send");
    expect(first.length).toBe(1);
    const again = frags.flatMap((f) => s.handle({ kind: "datagram", data: f, port: "natt" }, 2000)).filter((a) => a.kind === "send");
    expect(again).toEqual(first);
  });

  test("not offered by the gateway: messages go whole", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(7) });
    const s = new IkeSession(config({ ikeMtu: 232 }), env(21));
    expect(find(pump(s, gw, s.handle({ kind: "start" }, 0)), "established")).toBeDefined();
    expect(gw.fragmentsReceived).toBe(0);
  });

  test("--no-fragmentation: not announced, not used", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(7), fragmentBudget: 200 });
    const s = new IkeSession(config({ ikeMtu: 232, fragmentation: false }), env(22));
    expect(find(pump(s, gw, s.handle({ kind: "start" }, 0)), "established")).toBeDefined();
    expect(gw.fragmentsReceived).toBe(0);
  });
});

describe("dead peer detection (RFC 7296 §2.4)", () => {
  function upAt(seed: number) {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(seed) });
    const s = new IkeSession(config({ dpdIntervalMs: 10_000 }), env(seed + 100));
    const actions = pump(s, gw, s.handle({ kind: "start" }, 0));
    return { gw, s, actions };
  }

  test("once up, the liveness timer is armed for the interval", () => {
    const { actions } = upAt(30);
    expect(actions.find((a) => a.kind === "arm-timer" && a.timer === "liveness")).toEqual({ kind: "arm-timer", timer: "liveness", at: 10_000 });
  });

  test("traffic from the gateway since: no check, the timer moves on", () => {
    const { s } = upAt(31);
    const a = s.handle({ kind: "liveness", lastInbound: 8_000 }, 10_000);
    expect(a).toEqual([{ kind: "arm-timer", timer: "liveness", at: 18_000 }]);
  });

  test("quiet for the interval: an empty INFORMATIONAL; its answer re-arms the timer", () => {
    const { gw, s } = upAt(32);
    const a = s.handle({ kind: "liveness", lastInbound: 0 }, 10_000);
    const send = find(a, "send")!;
    const answer = gw.receive(send.data);
    expect(gw.received.at(-1)).toEqual({ exchangeType: 37, response: false, payloads: [] });
    const b = s.handle({ kind: "datagram", data: answer[0]!, port: "natt" }, 10_050);
    expect(b).toContainEqual({ kind: "arm-timer", timer: "liveness", at: 20_050 });
    expect(s.status().state).toBe("established");
  });

  test("no answer: 5 sends in about 25 s, then the tunnel is lost and the CHILD_SA removed", () => {
    const { s } = upAt(33);
    let now = 10_000;
    let a = s.handle({ kind: "liveness", lastInbound: 0 }, now);
    let sends = a.filter((x) => x.kind === "send").length;
    for (let i = 0; i < 10 && !find(a, "failed"); i++) {
      const arm = a.find((x) => x.kind === "arm-timer" && x.timer === "retransmit") as Extract<Action, { kind: "arm-timer" }>;
      now = arm.at;
      a = s.handle({ kind: "timer", timer: "retransmit" }, now);
      sends += a.filter((x) => x.kind === "send").length;
    }
    expect(sends).toBe(5);
    expect(now - 10_000).toBeLessThan(30_000);
    expect(find(a, "failed")!.failure).toEqual({ code: "lost", message: "gateway 192.0.2.1 stopped answering (INFORMATIONAL, 5 tries)" });
    expect(kinds(a)).toContain("remove-child");
  });

  test("dpdIntervalMs 0 turns it off", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(34) });
    const s = new IkeSession(config({ dpdIntervalMs: 0 }), env(134));
    const actions = pump(s, gw, s.handle({ kind: "start" }, 0));
    expect(actions.some((a) => a.kind === "arm-timer" && a.timer === "liveness")).toBe(false);
    expect(s.handle({ kind: "liveness", lastInbound: 0 }, 99_000)).toEqual([]);
  });
});

describe("retransmission", () => {
  test("an unreachable gateway: 5 sends with backoff, then one line naming the gateway", () => {
    const s = new IkeSession(config(), env(9));
    let now = 0;
    let actions = s.handle({ kind: "start" }, now);
    let sends = actions.filter((a) => a.kind === "send").length;
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      const arm = find(actions, "arm-timer");
      if (!arm) break;
      waits.push(arm.at - now);
      now = arm.at;
      actions = s.handle({ kind: "timer", timer: "retransmit" }, now);
      sends += actions.filter((a) => a.kind === "send").length;
      if (find(actions, "failed")) break;
    }
    expect(sends).toBe(5);
    expect(waits).toEqual([2000, 3000, 4500, 6750, 10125]);
    expect(now).toBeLessThan(30_000);
    expect(find(actions, "failed")!.failure).toEqual({ code: "unreachable", message: "gateway 192.0.2.1 did not answer IKE_SA_INIT after 5 tries" });
  });

  test("the same bytes are retransmitted", () => {
    const s = new IkeSession(config(), env(10));
    const first = find(s.handle({ kind: "start" }, 0), "send")!;
    const again = find(s.handle({ kind: "timer", timer: "retransmit" }, 2000), "send")!;
    expect(again.data).toEqual(first.data);
  });
});

describe("after the tunnel is up", () => {
  function up(seed: number) {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(seed) });
    const s = new IkeSession(config(), env(seed + 100));
    pump(s, gw, s.handle({ kind: "start" }, 0));
    expect(s.status().state).toBe("established");
    return { gw, s };
  }

  test("an empty INFORMATIONAL (liveness check) is answered, and a retransmit of it answered again", () => {
    const { gw, s } = up(11);
    const req = gw.request(0, []);
    const a1 = s.handle({ kind: "datagram", data: req, port: "natt" }, 1000);
    expect(kinds(a1)).toEqual(["send"]);
    gw.receive((a1[0] as { data: Uint8Array }).data);
    const a2 = s.handle({ kind: "datagram", data: req, port: "natt" }, 1100);
    expect((a2[0] as { data: Uint8Array }).data).toEqual((a1[0] as { data: Uint8Array }).data);
  });

  test("the gateway rekeys the CHILD_SA: new SAs installed with the same KEYMAT, the old one kept until deleted", () => {
    const { gw, s } = up(15);
    const oldChild = { spiIn: gw.clientEspSpi, spiOut: gw.espSpi };
    const { datagram, ni } = gw.rekeyChildRequest(0, 0xabcdef01);
    const actions = s.handle({ kind: "datagram", data: datagram, port: "natt" }, 1000);
    const install = find(actions, "install-child")!.child;
    expect(install.spiOut).toBe(0xabcdef01);
    expect(install.spiIn).not.toBe(oldChild.spiIn);
    expect(kinds(actions)).not.toContain("remove-child");
    const resp = gw.openResponse(find(actions, "send")!.data);
    const sa = resp.find((p) => p.type === PayloadType.SA);
    const nr = resp.find((p) => p.type === PayloadType.NONCE);
    expect(sa && "proposals" in sa && new DataView(sa.proposals[0]!.spi.buffer, sa.proposals[0]!.spi.byteOffset).getUint32(0)).toBe(install.spiIn);
    const k = gw.rekeyKeys(ni, nr && "nonce" in nr ? nr.nonce : new Uint8Array(0));
    // The gateway initiated this exchange: its outbound keys (first in KEYMAT) are our inbound.
    expect(install.encrKeyIn).toEqual(k.initiatorToResponder.encr);
    expect(install.encrKeyOut).toEqual(k.responderToInitiator.encr);
    // Then the gateway deletes the old SA by its inbound SPI; we answer with ours and drop the old pair.
    const del = { type: PayloadType.DELETE, critical: false, protocolId: ProtocolId.ESP, spiSize: 4, spis: [u32(oldChild.spiOut)] as Uint8Array[] } as const;
    const a2 = s.handle({ kind: "datagram", data: gw.request(1, [del]), port: "natt" }, 1100);
    expect(find(a2, "remove-child")).toEqual({ kind: "remove-child", spiIn: oldChild.spiIn, spiOut: oldChild.spiOut });
    const ans = gw.openResponse(find(a2, "send")!.data).find((p) => p.type === PayloadType.DELETE);
    expect(ans && "spis" in ans && ans.spis.map((x) => new DataView(x.buffer, x.byteOffset).getUint32(0))).toEqual([oldChild.spiIn]);
    expect(kinds(a2)).not.toContain("failed");
    expect(s.status().state).toBe("established");
  });

  test("roam rekeys the CHILD_SA itself when its timer fires: same KEYMAT, then the old SA is deleted and removed", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(18) });
    const s = new IkeSession(config({ childRekeyMs: 60_000 }), env(118));
    const upActions = pump(s, gw, s.handle({ kind: "start" }, 0));
    const arm = upActions.find((a) => a.kind === "arm-timer" && a.timer === "child-rekey") as Extract<Action, { kind: "arm-timer" }>;
    expect(arm.at).toBeGreaterThan(54_000); // 60 s less at most 10% jitter
    expect(arm.at).toBeLessThanOrEqual(60_000);
    const oldChild = find(upActions, "install-child")!.child;
    const actions = pump(s, gw, s.handle({ kind: "timer", timer: "child-rekey" }, arm.at), arm.at);
    const rk = gw.clientRekeys[0]!;
    expect(rk.rekeyed).toBe(oldChild.spiIn); // REKEY_SA names our inbound SPI (§3.10.1)
    const install = find(actions, "install-child")!.child;
    expect(install.spiIn).toBe(rk.newSpiOfClient);
    expect(install.encrKeyOut).toEqual(rk.keys.initiatorToResponder.encr); // we initiated: ours first (§2.17)
    expect(install.encrKeyIn).toEqual(rk.keys.responderToInitiator.encr);
    // Then DELETE for the old inbound SPI, and the old pair removed once the gateway answered.
    const del = gw.received.at(-1)!;
    expect(del.exchangeType).toBe(37);
    expect(find(actions, "remove-child")).toEqual({ kind: "remove-child", spiIn: oldChild.spiIn, spiOut: oldChild.spiOut });
    expect(s.status().state).toBe("established");
    // The next rekey is scheduled for the new CHILD_SA.
    expect(actions.filter((a) => a.kind === "arm-timer" && a.timer === "child-rekey").length).toBeGreaterThan(0);
  });

  test("the gateway refuses our rekey: the old CHILD_SA stays, another try in a minute", () => {
    const gw = new FakeGateway({ psk: PSK, id: "gw.roam.test", random: seededRandom(19) });
    const s = new IkeSession(config({ childRekeyMs: 60_000 }), env(119));
    pump(s, gw, s.handle({ kind: "start" }, 0));
    gw.rejectClientRekey = true;
    const actions = pump(s, gw, s.handle({ kind: "timer", timer: "child-rekey" }, 60_000), 60_000);
    expect(kinds(actions)).not.toContain("install-child");
    expect(kinds(actions)).not.toContain("remove-child");
    expect(actions).toContainEqual({ kind: "arm-timer", timer: "child-rekey", at: 120_000 });
    expect(s.status().state).toBe("established");
  });

  test("a rekey of an unknown CHILD_SA is answered with CHILD_SA_NOT_FOUND", () => {
    const { gw, s } = up(16);
    const a = s.handle({ kind: "datagram", data: gw.rekeyChildRequest(0, 0x1111, { rekeySpi: 0x9999 }).datagram, port: "natt" }, 1000);
    const n = gw.openResponse(find(a, "send")!.data)[0];
    expect(n && "notifyType" in n && n.notifyType).toBe(44); // CHILD_SA_NOT_FOUND
    expect(kinds(a)).not.toContain("install-child");
  });

  test("the gateway rekeys the IKE SA: same new keys on both sides, roam answers as responder, the old SA's DELETE is answered", () => {
    const { gw, s } = up(17);
    const { datagram, ctx } = gw.rekeyIkeRequest(0);
    const a = s.handle({ kind: "datagram", data: datagram, port: "natt" }, 1000);
    const old = gw.completeIkeRekey(find(a, "send")!.data, ctx);
    expect(s.status().ikeSpiI).toBe(Buffer.from(ctx.newSpiI).toString("hex"));
    // The gateway is the original initiator of the new SA now: its liveness check on the new SA (message
    // ID 0) is answered with the I flag clear, which only works if both derived the same keys (§2.18).
    const b = s.handle({ kind: "datagram", data: gw.request(0, []), port: "natt" }, 1100);
    const answer = find(b, "send")!.data;
    expect(answer[19]! & 0x08).toBe(0); // §3.1 flags: I clear
    expect(gw.openResponse(answer)).toEqual([]);
    // The DELETE of the old IKE SA arrives on the old SA: answered there, and the tunnel stays up.
    const del = { type: PayloadType.DELETE, critical: false, protocolId: ProtocolId.IKE, spiSize: 0, spis: [] as Uint8Array[] } as const;
    const c = s.handle({ kind: "datagram", data: gw.onOldSa(() => gw.request(1, [del])), port: "natt" }, 1200);
    expect(gw.onOldSa(() => gw.openResponse(find(c, "send")!.data))).toEqual([]);
    expect(kinds(c)).not.toContain("failed");
    expect(s.status().state).toBe("established");
    expect(old.oldSpiI).not.toEqual(ctx.newSpiI);
    // Closing now deletes the new SA, with roam's messages still flagged as the responder's.
    const d = s.handle({ kind: "close" }, 2000);
    const sent = find(d, "send")!.data;
    expect(sent[19]! & 0x08).toBe(0);
    expect(gw.openResponse(sent).map((p) => p.type)).toEqual([PayloadType.DELETE]);
  });

  test("close sends DELETE for the IKE SA, removes the CHILD_SA and ends when answered", () => {
    const { gw, s } = up(12);
    const actions = pump(s, gw, s.handle({ kind: "close" }, 5000), 5000);
    expect(gw.deleted).toBe(true);
    expect(kinds(actions)).toContain("remove-child");
    expect(find(actions, "closed")!.reason).toBe("disconnected");
  });

  test("the gateway deleting the IKE SA ends the session as lost", () => {
    const { gw, s } = up(13);
    const del = { type: PayloadType.DELETE, critical: false, protocolId: ProtocolId.IKE, spiSize: 0, spis: [] as Uint8Array[] } as const;
    const actions = s.handle({ kind: "datagram", data: gw.request(0, [del]), port: "natt" }, 1000);
    expect(find(actions, "failed")!.failure.code).toBe("lost");
    expect(kinds(actions)).toContain("remove-child");
  });

  test("garbage and messages for another SA are dropped silently", () => {
    const { s } = up(14);
    expect(s.handle({ kind: "datagram", data: new Uint8Array([1, 2, 3]), port: "natt" }, 1000)).toEqual([]);
    expect(s.handle({ kind: "datagram", data: new Uint8Array(200), port: "natt" }, 1000)).toEqual([]);
  });
});

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
