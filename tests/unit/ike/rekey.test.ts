// Exchange tests for rekeying started by roam (IKE SA, CHILD_SA on a lifetime limit) and for the collision
// cases of RFC 7296 §2.8.1, §2.8.2 and §2.25, against the scripted gateway with pinned nonces: a nonce of
// 32 zero octets is lower, and one of 32 0xff octets higher, than any the seeded client draws.
import { describe, expect, test } from "bun:test";
import { IkeSession } from "../../../core/ike/session.ts";
import type { Action } from "../../../core/ike/types.ts";
import { toHex } from "../../../core/util/bytes.ts";
import { ExchangeType, NotifyError, PayloadType, ProtocolId } from "../../../core/wire/constants.ts";
import type { Payload } from "../../../core/wire/payloads.ts";
import { FakeGateway, seededRandom } from "./fake-gateway.ts";
import { env, find, kinds, pump } from "./pump.ts";
import { TEST_PSK, testSessionConfig } from "./session-config.ts";
import type { SessionConfig } from "../../../core/ike/config.ts";
import { parseProposals } from "../../../core/ike/proposal.ts";

const LOW = new Uint8Array(32);
const HIGH = new Uint8Array(32).fill(0xff);

const sends = (as: Action[]) => as.filter((a) => a.kind === "send").map((a) => (a as { data: Uint8Array }).data);
const findAll = <K extends Action["kind"]>(as: Action[], k: K) => as.filter((a) => a.kind === k) as Extract<Action, { kind: K }>[];
const messageId = (d: Uint8Array) => new DataView(d.buffer, d.byteOffset).getUint32(20);
const exchange = (d: Uint8Array) => d[18]!;
const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};
const readU32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0);
const ikeDelete = { type: PayloadType.DELETE, critical: false, protocolId: ProtocolId.IKE, spiSize: 0, spis: [] as Uint8Array[] } as const;
const espDelete = (spi: number): Payload => ({ type: PayloadType.DELETE, critical: false, protocolId: ProtocolId.ESP, spiSize: 4, spis: [u32(spi)] });

function up(seed: number, over: Partial<SessionConfig> = {}) {
  const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(seed) });
  const s = new IkeSession(testSessionConfig(over), env(seed + 100));
  const actions = pump(s, gw, s.handle({ kind: "start" }, 0));
  expect(s.status().state).toBe("established");
  return { gw, s, child: find(actions, "install-child")!.child, actions };
}

function deletedSpis(payloads: Payload[], protocolId: number): number[] {
  return payloads.flatMap((p) => (p.type === PayloadType.DELETE && "spis" in p && p.protocolId === protocolId ? p.spis.map(readU32) : []));
}

describe("roam rekeys the IKE SA (RFC 7296 §1.3.2, §2.18)", () => {
  test("on its timer: a new SA with our SPIi, the old one deleted on the old SA, message IDs from 0, CHILD_SAs kept", () => {
    const { gw, s, actions: upActions } = up(31, { ikeRekeyMs: 3_600_000 });
    const arm = upActions.find((a) => a.kind === "arm-timer" && a.timer === "ike-rekey") as Extract<Action, { kind: "arm-timer" }>;
    expect(arm.at).toBeGreaterThan(3_240_000); // 1 h less at most 10% jitter
    expect(arm.at).toBeLessThanOrEqual(3_600_000);
    const oldSpiI = s.status().ikeSpiI;
    const a = pump(s, gw, s.handle({ kind: "timer", timer: "ike-rekey" }, arm.at), arm.at);
    const rk = gw.clientIkeRekeys[0]!;
    expect(s.status().ikeSpiI).toBe(toHex(rk.spiI));
    expect(s.status().ikeSpiR).toBe(toHex(rk.spiR));
    expect(s.status().ikeSpiI).not.toBe(oldSpiI);
    // The request was CREATE_CHILD_SA with SA(IKE), Ni, KEi; then a DELETE of the IKE SA on the old SA.
    const [req, del] = gw.received.slice(-2);
    expect(req!.exchangeType).toBe(ExchangeType.CREATE_CHILD_SA);
    expect(req!.payloads.map((p) => p.type)).toEqual([PayloadType.SA, PayloadType.NONCE, PayloadType.KE]);
    expect(del!.exchangeType).toBe(ExchangeType.INFORMATIONAL);
    expect(del!.payloads).toEqual([ikeDelete]);
    expect(kinds(a)).not.toContain("remove-child");
    expect(kinds(a)).not.toContain("failed");
    // The next IKE rekey is scheduled from now.
    expect(findAll(a, "arm-timer").some((t) => t.timer === "ike-rekey" && t.at > arm.at + 3_000_000)).toBe(true);
    // We are the original initiator of the new SA: our answers carry the I flag (§3.1); only equal keys open.
    const b = s.handle({ kind: "datagram", data: gw.request(0, []), port: "natt" }, arm.at + 100);
    const answer = sends(b)[0]!;
    expect(answer[19]! & 0x08).toBe(0x08);
    expect(gw.openResponse(answer)).toEqual([]);
    // Our next request on the new SA has message ID 0, and its CHILD_SA KEYMAT comes from the new SK_d.
    const c = s.handle({ kind: "child-limit", spiIn: s["child"]!.currentSpiIn!, limit: "soft" }, arm.at + 200);
    expect(messageId(sends(c)[0]!)).toBe(0);
    const d = pump(s, gw, c, arm.at + 200);
    const install = find(d, "install-child")!.child;
    expect(install.encrKeyOut).toEqual(gw.clientRekeys[0]!.keys.initiatorToResponder.encr);
  });

  test("TEMPORARY_FAILURE: the old SA stays and we try again in 15 s, not at once (§2.25)", () => {
    const { gw, s } = up(32, { ikeRekeyMs: 600_000 });
    const a = s.handle({ kind: "timer", timer: "ike-rekey" }, 600_000);
    // The gateway is busy: it answers the request with TEMPORARY_FAILURE.
    const answer = gw.onSa(gw.currentSa, () => gw["protect"](ExchangeType.CREATE_CHILD_SA, messageId(sends(a)[0]!), true, [{ type: PayloadType.NOTIFY, critical: false, protocolId: 0, spi: new Uint8Array(0), notifyType: NotifyError.TEMPORARY_FAILURE, data: new Uint8Array(0) }]));
    const before = s.status().ikeSpiI;
    const b = s.handle({ kind: "datagram", data: answer, port: "natt" }, 600_100);
    expect(s.status().ikeSpiI).toBe(before);
    expect(b).toContainEqual({ kind: "arm-timer", timer: "ike-rekey", at: 615_100 });
    expect(kinds(b)).not.toContain("send");
    expect(s.status().state).toBe("established");
  });

  test("INVALID_KE_PAYLOAD naming a group we propose: asked again at once with a KE of that group", () => {
    const { gw, s } = up(35, { ikeRekeyMs: 600_000 });
    const a = s.handle({ kind: "timer", timer: "ike-rekey" }, 600_000);
    const want = new Uint8Array([0, 19]); // ECP-256, in our default proposals
    const answer = gw["protect"](ExchangeType.CREATE_CHILD_SA, messageId(sends(a)[0]!), true, [{ type: PayloadType.NOTIFY, critical: false, protocolId: 0, spi: new Uint8Array(0), notifyType: NotifyError.INVALID_KE_PAYLOAD, data: want }]);
    const b = s.handle({ kind: "datagram", data: answer, port: "natt" }, 600_100);
    expect(sends(b).length).toBe(1);
    expect(messageId(sends(b)[0]!)).toBe(messageId(sends(a)[0]!) + 1);
    const again = pump(s, gw, b, 600_100);
    const ke = gw.received.find((m) => m.exchangeType === ExchangeType.CREATE_CHILD_SA && m.payloads.some((p) => p.type === PayloadType.KE && "dhGroup" in p && p.dhGroup === 19));
    expect(ke).toBeDefined();
    expect(s.status().ikeSpiI).toBe(toHex(gw.clientIkeRekeys[0]!.spiI));
    expect(kinds(again)).not.toContain("failed");
  });

  test("the gateway deletes the IKE SA while our rekey of it is in flight: answered as usual, our rekey is forgotten, the tunnel is lost (§2.25.2)", () => {
    const { gw, s } = up(36, { ikeRekeyMs: 600_000 });
    s.handle({ kind: "timer", timer: "ike-rekey" }, 600_000);
    const a = s.handle({ kind: "datagram", data: gw.request(0, [ikeDelete]), port: "natt" }, 600_010);
    expect(gw.openResponse(sends(a)[0]!)).toEqual([]);
    expect(find(a, "failed")!.failure).toEqual({ code: "lost", message: "gateway 192.0.2.1 deleted the IKE SA" });
  });

  test("no answer to the rekey: retransmitted, then the tunnel is lost like after any unanswered request", () => {
    const { s } = up(33, { ikeRekeyMs: 600_000 });
    let a = s.handle({ kind: "timer", timer: "ike-rekey" }, 600_000);
    const first = sends(a)[0]!;
    let retransmits = 0;
    for (let i = 0; i < 10 && !find(a, "failed"); i++) {
      const at = findAll(a, "arm-timer").find((t) => t.timer === "retransmit")!.at;
      a = s.handle({ kind: "timer", timer: "retransmit" }, at);
      if (sends(a).length > 0) {
        expect(sends(a)[0]).toEqual(first);
        retransmits++;
      }
    }
    expect(retransmits).toBe(5);
    expect(find(a, "failed")!.failure.code).toBe("lost");
  });

  test("no answer to the DELETE of the old SA: it is forgotten, the tunnel stays up on the new one", () => {
    const { gw, s } = up(34, { ikeRekeyMs: 600_000 });
    const a = s.handle({ kind: "timer", timer: "ike-rekey" }, 600_000);
    const answer = gw.receive(sends(a)[0]!)[0]!;
    let b = s.handle({ kind: "datagram", data: answer, port: "natt" }, 600_100); // sends the DELETE, which is lost
    expect(sends(b).length).toBe(1);
    for (let i = 0; i < 10 && findAll(b, "arm-timer").some((t) => t.timer === "retransmit"); i++) {
      b = s.handle({ kind: "timer", timer: "retransmit" }, findAll(b, "arm-timer").find((t) => t.timer === "retransmit")!.at);
    }
    expect(kinds(b)).not.toContain("failed");
    expect(find(b, "progress")!.detail).toContain("forgotten");
    expect(s.status().state).toBe("established");
    expect(s.status().ikeSpiI).toBe(toHex(gw.clientIkeRekeys[0]!.spiI));
  });
});

describe("CHILD_SA rekey collisions (§2.8.1, §2.25.1)", () => {
  /** Our rekey request is out (held); the gateway rekeys the same CHILD_SA with nonce `gwNi`. */
  function collide(seed: number, gwNi: Uint8Array) {
    const u = up(seed, { childRekeyMs: 60_000 });
    const ours = s0(u.s.handle({ kind: "timer", timer: "child-rekey" }, 60_000));
    const theirs = u.gw.rekeyChildRequest(0, 0xabcd0001, { ni: gwNi });
    const a = u.s.handle({ kind: "datagram", data: theirs.datagram, port: "natt" }, 60_010);
    const gwSa = find(a, "install-child")!.child;
    expect(gwSa.deferOutbound).toBe(true);
    // Answered as usual (§2.25.1), not with TEMPORARY_FAILURE.
    expect(u.gw.openResponse(sends(a)[0]!).map((p) => p.type)).toEqual([PayloadType.SA, PayloadType.NONCE, PayloadType.TSi, PayloadType.TSr]);
    return { ...u, ours, gwSa };
  }
  const s0 = (as: Action[]) => sends(as)[0]!;

  test("ours has the lowest nonce: our new SA is redundant; we delete it, receive-only until then, and leave the old to the gateway", () => {
    const { gw, s, child: old, ours, gwSa } = collide(41, HIGH);
    gw.nextNr = LOW;
    const a = pump(s, gw, s.handle({ kind: "datagram", data: gw.receive(ours)[0]!, port: "natt" }, 60_020), 60_020);
    const mine = find(a, "install-child")!.child;
    expect(mine.inboundOnly).toBe(true);
    // The DELETE names our new inbound SPI, not the old SA's.
    const del = gw.received.at(-1)!;
    expect(deletedSpis(del.payloads, ProtocolId.ESP)).toEqual([mine.spiIn]);
    expect(findAll(a, "remove-child")).toEqual([{ kind: "remove-child", spiIn: mine.spiIn, spiOut: mine.spiOut }]);
    // The gateway's SA is the one in use; the gateway deletes the old SA and we answer.
    expect(s["child"]!.currentSpiIn).toBe(gwSa.spiIn);
    const b = s.handle({ kind: "datagram", data: gw.request(1, [espDelete(old.spiOut)]), port: "natt" }, 60_100);
    expect(find(b, "remove-child")).toEqual({ kind: "remove-child", spiIn: old.spiIn, spiOut: old.spiOut });
    expect(kinds(b)).not.toContain("failed");
    expect(s.status().state).toBe("established");
  });

  test("the gateway's has the lowest nonce: ours stays and we delete the old SA; the gateway deletes its redundant one", () => {
    const { gw, s, child: old, ours, gwSa } = collide(42, LOW);
    gw.nextNr = HIGH;
    const a = pump(s, gw, s.handle({ kind: "datagram", data: gw.receive(ours)[0]!, port: "natt" }, 60_020), 60_020);
    const mine = find(a, "install-child")!.child;
    expect(mine.inboundOnly).toBeUndefined();
    expect(deletedSpis(gw.received.at(-1)!.payloads, ProtocolId.ESP)).toEqual([old.spiIn]);
    expect(find(a, "remove-child")).toEqual({ kind: "remove-child", spiIn: old.spiIn, spiOut: old.spiOut });
    expect(s["child"]!.currentSpiIn).toBe(mine.spiIn);
    // The gateway deletes its redundant SA by its inbound SPI: we answer with ours and remove it.
    const b = s.handle({ kind: "datagram", data: gw.request(1, [espDelete(gwSa.spiOut)]), port: "natt" }, 60_100);
    expect(find(b, "remove-child")).toEqual({ kind: "remove-child", spiIn: gwSa.spiIn, spiOut: gwSa.spiOut });
    expect(deletedSpis(gw.openResponse(sends(b)[0]!), ProtocolId.ESP)).toEqual([gwSa.spiIn]);
    expect(s.status().state).toBe("established");
  });

  test("a rekey of the CHILD_SA we are deleting is answered TEMPORARY_FAILURE", () => {
    const { gw, s, child: old } = up(43, { childRekeyMs: 60_000 });
    const a = s.handle({ kind: "timer", timer: "child-rekey" }, 60_000);
    const b = s.handle({ kind: "datagram", data: gw.receive(sends(a)[0]!)[0]!, port: "natt" }, 60_010);
    expect(exchange(sends(b)[0]!)).toBe(ExchangeType.INFORMATIONAL); // our DELETE of the old SA is out, unanswered
    const c = s.handle({ kind: "datagram", data: gw.rekeyChildRequest(0, 0xabcd0002, { rekeySpi: old.spiOut }).datagram, port: "natt" }, 60_020);
    const n = gw.openResponse(sends(c)[0]!)[0];
    expect(n && "notifyType" in n && n.notifyType).toBe(NotifyError.TEMPORARY_FAILURE);
    expect(kinds(c)).not.toContain("install-child");
  });

  test("the gateway deletes the CHILD_SA while our rekey of it is in flight: answered; when the rekey is refused, the tunnel is lost", () => {
    const { gw, s, child: old } = up(44, { childRekeyMs: 60_000 });
    const ours = sends(s.handle({ kind: "timer", timer: "child-rekey" }, 60_000))[0]!;
    const a = s.handle({ kind: "datagram", data: gw.request(0, [espDelete(old.spiOut)]), port: "natt" }, 60_010);
    expect(deletedSpis(gw.openResponse(sends(a)[0]!), ProtocolId.ESP)).toEqual([old.spiIn]);
    expect(kinds(a)).not.toContain("failed"); // waits for the rekey's answer
    gw.rejectClientRekey = NotifyError.CHILD_SA_NOT_FOUND;
    const b = s.handle({ kind: "datagram", data: gw.receive(ours)[0]!, port: "natt" }, 60_020);
    expect(find(b, "failed")!.failure).toEqual({ code: "lost", message: "gateway 192.0.2.1 deleted the CHILD_SA" });
  });

  test("the gateway deletes the CHILD_SA while our rekey of it is in flight, and the rekey succeeds: the new SA carries on, no DELETE for the old", () => {
    const { gw, s, child: old } = up(45, { childRekeyMs: 60_000 });
    const ours = sends(s.handle({ kind: "timer", timer: "child-rekey" }, 60_000))[0]!;
    s.handle({ kind: "datagram", data: gw.request(0, [espDelete(old.spiOut)]), port: "natt" }, 60_010);
    const b = s.handle({ kind: "datagram", data: gw.receive(ours)[0]!, port: "natt" }, 60_020);
    expect(find(b, "install-child")).toBeDefined();
    expect(sends(b)).toEqual([]);
    expect(s.status().state).toBe("established");
  });
});

describe("IKE SA rekey collisions (§2.8.2, §2.25.2)", () => {
  /** Our IKE rekey is out (held); the gateway rekeys the IKE SA too, with nonce `gwNi`; both are answered. */
  function collide(seed: number, gwNi: Uint8Array, ourNr: Uint8Array) {
    const u = up(seed, { ikeRekeyMs: 600_000 });
    const ours = sends(u.s.handle({ kind: "timer", timer: "ike-rekey" }, 600_000))[0]!;
    const theirs = u.gw.rekeyIkeRequest(0, { ni: gwNi });
    const a = u.s.handle({ kind: "datagram", data: theirs.datagram, port: "natt" }, 600_010);
    expect(u.gw.openResponse(sends(a)[0]!).map((p) => p.type)).toEqual([PayloadType.SA, PayloadType.NONCE, PayloadType.KE]);
    const theirSa = u.gw.completeIkeRekey(sends(a)[0]!, theirs.ctx, { adopt: false }).sa;
    const oldSpiI = u.s.status().ikeSpiI;
    u.gw.adoptClientIkeRekey = false;
    u.gw.nextNr = ourNr;
    const answer = u.gw.receive(ours)[0]!;
    return { ...u, theirSa, answer, oldSpiI };
  }

  test("the gateway's has the lowest nonce: ours stays, we delete the old SA, the gateway deletes its redundant one", () => {
    const { gw, s, theirSa, answer } = collide(51, LOW, HIGH);
    const a = pump(s, gw, s.handle({ kind: "datagram", data: answer, port: "natt" }, 600_020), 600_020);
    const ours = gw.clientIkeRekeys[0]!;
    expect(s.status().ikeSpiI).toBe(toHex(ours.spiI));
    expect(gw.received.at(-1)!.payloads).toEqual([ikeDelete]); // on the old SA, which the fake still calls current
    expect(kinds(a)).not.toContain("failed");
    // The gateway deletes its redundant SA: answered on that SA.
    const b = s.handle({ kind: "datagram", data: gw.onSa(theirSa, () => gw.request(0, [ikeDelete])), port: "natt" }, 600_100);
    expect(gw.onSa(theirSa, () => gw.openResponse(sends(b)[0]!))).toEqual([]);
    // And ours works.
    const c = s.handle({ kind: "datagram", data: gw.onSa(ours.sa, () => gw.request(0, [])), port: "natt" }, 600_200);
    expect(gw.onSa(ours.sa, () => gw.openResponse(sends(c)[0]!))).toEqual([]);
    expect(s.status().state).toBe("established");
  });

  test("ours has the lowest nonce: the gateway's stays, we delete our redundant SA, the gateway deletes the old one", () => {
    const { gw, s, theirSa, answer } = collide(52, HIGH, LOW);
    const a = s.handle({ kind: "datagram", data: answer, port: "natt" }, 600_020);
    expect(s.status().ikeSpiI).toBe(toHex(theirSa.spiI));
    // The DELETE goes out on our redundant SA (message ID 0 there).
    const del = sends(a)[0]!;
    expect(messageId(del)).toBe(0);
    const ours = gw.clientIkeRekeys[0]!;
    expect(toHex(del.subarray(0, 8))).toBe(toHex(ours.spiI));
    pump(s, gw, a, 600_020);
    expect(gw.received.at(-1)!.payloads).toEqual([ikeDelete]);
    // The gateway deletes the old SA (its message ID 1 there, after its rekey request).
    const b = s.handle({ kind: "datagram", data: gw.request(1, [ikeDelete]), port: "natt" }, 600_100);
    expect(gw.openResponse(sends(b)[0]!)).toEqual([]);
    expect(kinds(b)).not.toContain("failed");
    // The gateway's SA is the one: its requests there (from message ID 0) are answered.
    const c = s.handle({ kind: "datagram", data: gw.onSa(theirSa, () => gw.request(0, [])), port: "natt" }, 600_200);
    expect(gw.onSa(theirSa, () => gw.openResponse(sends(c)[0]!))).toEqual([]);
    expect(s.status().state).toBe("established");
  });

  test("the gateway wins and deletes the old SA before our rekey is answered: its SA stays, ours is deleted when the answer comes", () => {
    const { gw, s, theirSa, answer } = collide(53, HIGH, LOW);
    const a = s.handle({ kind: "datagram", data: gw.request(1, [ikeDelete]), port: "natt" }, 600_015);
    expect(gw.openResponse(sends(a)[0]!)).toEqual([]);
    expect(kinds(a)).not.toContain("failed");
    expect(s.status().ikeSpiI).toBe(toHex(theirSa.spiI));
    const b = pump(s, gw, s.handle({ kind: "datagram", data: answer, port: "natt" }, 600_020), 600_020);
    expect(toHex(sends(b)[0]!.subarray(0, 8))).toBe(toHex(gw.clientIkeRekeys[0]!.spiI));
    expect(gw.received.at(-1)!.payloads).toEqual([ikeDelete]);
    expect(s.status().state).toBe("established");
  });

  test("a CHILD_SA rekey while our IKE SA rekey is in flight: TEMPORARY_FAILURE (§2.25.2)", () => {
    const { gw, s } = up(54, { ikeRekeyMs: 600_000 });
    s.handle({ kind: "timer", timer: "ike-rekey" }, 600_000);
    const a = s.handle({ kind: "datagram", data: gw.rekeyChildRequest(0, 0xabcd0003).datagram, port: "natt" }, 600_010);
    const n = gw.openResponse(sends(a)[0]!)[0];
    expect(n && "notifyType" in n && n.notifyType).toBe(NotifyError.TEMPORARY_FAILURE);
  });

  test("an IKE SA rekey on the old SA after ours completed (we are deleting it): TEMPORARY_FAILURE there", () => {
    const { gw, s } = up(55, { ikeRekeyMs: 600_000 });
    gw.adoptClientIkeRekey = false;
    const a = s.handle({ kind: "timer", timer: "ike-rekey" }, 600_000);
    s.handle({ kind: "datagram", data: gw.receive(sends(a)[0]!)[0]!, port: "natt" }, 600_010); // our DELETE of the old is out
    const b = s.handle({ kind: "datagram", data: gw.rekeyIkeRequest(0).datagram, port: "natt" }, 600_020);
    const n = gw.openResponse(sends(b)[0]!)[0];
    expect(n && "notifyType" in n && n.notifyType).toBe(NotifyError.TEMPORARY_FAILURE);
    expect(s.status().ikeSpiI).toBe(toHex(gw.clientIkeRekeys[0]!.spiI));
  });
});

describe("CHILD_SA lifetime limits from the data path (RFC 4301 §4.4.2.1, RFC 4303 §3.3.3)", () => {
  test("a soft limit on the SA in use starts a rekey, once; on another SA it does nothing", () => {
    const { gw, s, child } = up(61);
    expect(sends(s.handle({ kind: "child-limit", spiIn: 0x1234, limit: "soft" }, 1000))).toEqual([]);
    const a = s.handle({ kind: "child-limit", spiIn: child.spiIn, limit: "soft" }, 1000);
    expect(sends(a).length).toBe(1);
    expect(exchange(sends(a)[0]!)).toBe(ExchangeType.CREATE_CHILD_SA);
    expect(sends(s.handle({ kind: "child-limit", spiIn: child.spiIn, limit: "soft" }, 1100))).toEqual([]); // already under way
    const b = pump(s, gw, a, 1200);
    expect(find(b, "install-child")).toBeDefined();
    expect(find(b, "remove-child")).toEqual({ kind: "remove-child", spiIn: child.spiIn, spiOut: child.spiOut });
  });

  test("a hard limit on the SA in use ends the tunnel as lost (to reconnect), telling the gateway", () => {
    const { gw, s, child } = up(62);
    const a = s.handle({ kind: "child-limit", spiIn: child.spiIn, limit: "hard" }, 1000);
    expect(find(a, "failed")!.failure.code).toBe("lost");
    expect(find(a, "remove-child")).toEqual({ kind: "remove-child", spiIn: child.spiIn, spiOut: child.spiOut });
    gw.receive(sends(a)[0]!);
    expect(gw.deleted).toBe(true);
  });
});

describe("PFS (RFC 7296 §1.3.1)", () => {
  test("ESP proposals with a key exchange: IKE_AUTH's CHILD_SA comes without one (§1.2), our rekeys carry KEi", () => {
    const esp = parseProposals("aes256gcm16-x25519", "esp");
    if (!esp.ok) throw new Error(esp.error);
    const { s, child } = up(71, { espProposals: esp.value });
    expect(child.encrKeyOut.length).toBe(36);
    const a = s.handle({ kind: "child-limit", spiIn: child.spiIn, limit: "soft" }, 1000);
    expect(sends(a).length).toBe(1);
    expect(s["ownRekey"]!.kx?.group).toBe(31);
  });
});
