// MOBIKE (RFC 4555) exchange tests: the initiator session against the scripted gateway.
import { describe, expect, test } from "bun:test";
import { IkeSession } from "../../../core/ike/session.ts";
import type { Action } from "../../../core/ike/types.ts";
import { NotifyStatus, PayloadType, ProtocolId } from "../../../core/wire/constants.ts";
import { parseAddress } from "../../../core/wire/addr.ts";
import { findNotify, findPayload } from "../../../core/wire/payloads.ts";
import { FakeGateway, seededRandom } from "./fake-gateway.ts";
import { env, kinds, pump } from "./pump.ts";
import { TEST_PSK, testSessionConfig } from "./session-config.ts";

const NEW_ADDRESS = parseAddress("198.18.1.3")!;

function up(seed: number, opts: { gatewayMobike: boolean; clientMobike?: boolean }) {
  const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(seed), mobike: opts.gatewayMobike });
  const s = new IkeSession(testSessionConfig({ mobike: opts.clientMobike ?? true }), env(seed + 100));
  pump(s, gw, s.handle({ kind: "start" }, 0));
  expect(s.status().state).toBe("established");
  return { gw, s };
}

const lastInformational = (gw: FakeGateway) => gw.received.filter((r) => r.exchangeType === 37 && !r.response).at(-1)!.payloads;

describe("MOBIKE (RFC 4555)", () => {
  test("MOBIKE_SUPPORTED is announced in IKE_AUTH, and not with mobike off", () => {
    const on = up(1, { gatewayMobike: true });
    expect(findNotify(on.gw.received[0]!.payloads, NotifyStatus.MOBIKE_SUPPORTED)).toBeDefined();
    expect(on.s.status().mobike).toBe(true);
    const off = up(2, { gatewayMobike: true, clientMobike: false });
    expect(findNotify(off.gw.received[0]!.payloads, NotifyStatus.MOBIKE_SUPPORTED)).toBeUndefined();
    expect(off.s.status().mobike).toBe(false);
    const gwOff = up(3, { gatewayMobike: false });
    expect(gwOff.s.status().mobike).toBe(false);
  });

  test("a new local address: UPDATE_SA_ADDRESSES with NAT detection and COOKIE2 (§3.5), same IKE SA, no CHILD_SA change", () => {
    const { gw, s } = up(4, { gatewayMobike: true });
    const spis = [s.status().ikeSpiI, s.status().ikeSpiR];
    const a = s.handle({ kind: "path-changed", localAddress: NEW_ADDRESS, localPort: 40000 }, 5000);
    expect(a.filter((x) => x.kind === "send").length).toBe(1);
    const all = pump(s, gw, a, 5000);
    expect(gw.updates).toBe(1);
    const req = lastInformational(gw);
    expect(findNotify(req, NotifyStatus.UPDATE_SA_ADDRESSES)).toBeDefined();
    expect(findNotify(req, NotifyStatus.NAT_DETECTION_SOURCE_IP)!.data.length).toBe(20);
    expect(findNotify(req, NotifyStatus.NAT_DETECTION_DESTINATION_IP)!.data.length).toBe(20);
    expect(findNotify(req, NotifyStatus.COOKIE2)!.data.length).toBeGreaterThanOrEqual(8);
    expect(kinds(all)).not.toContain("failed");
    expect(kinds(all)).not.toContain("install-child");
    expect(kinds(all)).not.toContain("remove-child");
    const done = all.find((x) => x.kind === "progress" && x.detail?.includes("moved the SAs"));
    expect(done).toBeDefined();
    expect([s.status().ikeSpiI, s.status().ikeSpiR]).toEqual(spis);
    // The fake gateway's NAT-D hashes are random: it looks like a NAT on both sides (§3.10: UDP 4500 stays).
    expect(s.status().natLocal).toBe(true);
    expect(s.status().state).toBe("established");
  });

  test("the same address again: nothing is sent", () => {
    const { s } = up(5, { gatewayMobike: true });
    expect(s.handle({ kind: "path-changed", localAddress: parseAddress("198.18.1.2")!, localPort: 40000 }, 5000)).toEqual([]);
  });

  test("a new port alone is a new path too", () => {
    const { gw, s } = up(6, { gatewayMobike: true });
    pump(s, gw, s.handle({ kind: "path-changed", localAddress: parseAddress("198.18.1.2")!, localPort: 40001 }, 5000), 5000);
    expect(gw.updates).toBe(1);
  });

  test("a change while a liveness check is out: the update follows its answer (§3.5)", () => {
    const { gw, s } = up(7, { gatewayMobike: true });
    const dpd = s.handle({ kind: "liveness", lastInbound: 0 }, 40_000);
    expect(dpd.filter((x) => x.kind === "send").length).toBe(1);
    expect(s.handle({ kind: "path-changed", localAddress: NEW_ADDRESS, localPort: 40000 }, 40_100)).toEqual([]);
    // The check's answer (the gateway sees it from the new address): then UPDATE_SA_ADDRESSES.
    const after = pump(s, gw, dpd, 40_200);
    expect(gw.updates).toBe(1);
    expect(kinds(after)).not.toContain("failed");
  });

  test("the gateway without MOBIKE: the address change ends the IKE SA (DELETE) as lost, so the runtime reconnects", () => {
    const { gw, s } = up(8, { gatewayMobike: false });
    const a = s.handle({ kind: "path-changed", localAddress: NEW_ADDRESS, localPort: 40000 }, 5000);
    const failed = a.find((x) => x.kind === "failed");
    expect(failed && failed.kind === "failed" && failed.failure).toEqual({ code: "lost", message: "our address changed and the gateway does not support MOBIKE" });
    expect(kinds(a)).toContain("remove-child");
    pump(s, gw, a, 5000);
    expect(gw.deleted).toBe(true);
  });

  test("UNACCEPTABLE_ADDRESSES or a COOKIE2 that is not ours: the tunnel is lost, not silently kept", () => {
    for (const answer of ["unacceptable", "bad-cookie"] as const) {
      const { gw, s } = up(9, { gatewayMobike: true });
      gw.mobikeAnswer = answer;
      const all = pump(s, gw, s.handle({ kind: "path-changed", localAddress: NEW_ADDRESS, localPort: 40000 }, 5000), 5000);
      const failed = all.find((x) => x.kind === "failed");
      expect(failed?.kind === "failed" && failed.failure.message).toBe(
        answer === "unacceptable" ? "the gateway refused our new address: UNACCEPTABLE_ADDRESSES" : "the gateway's UPDATE_SA_ADDRESSES answer does not return our COOKIE2",
      );
    }
  });

  test("no answer to UPDATE_SA_ADDRESSES: retransmitted, then lost", () => {
    const { s } = up(10, { gatewayMobike: true });
    const a = s.handle({ kind: "path-changed", localAddress: NEW_ADDRESS, localPort: 40000 }, 5000);
    let now = 5000;
    let sends = a.filter((x) => x.kind === "send").length;
    let failed: Action | undefined;
    for (let i = 0; i < 10 && !failed; i++) {
      now += 200_000;
      const r = s.handle({ kind: "timer", timer: "retransmit" }, now);
      sends += r.filter((x) => x.kind === "send").length;
      failed = r.find((x) => x.kind === "failed");
    }
    expect(sends).toBe(6);
    expect(failed?.kind === "failed" && failed.failure.code).toBe("lost");
  });

  test("the gateway's return routability check (COOKIE2) gets the same COOKIE2 back", () => {
    const { gw, s } = up(11, { gatewayMobike: true });
    const cookie = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const req = gw.request(0, [{ type: PayloadType.NOTIFY, critical: false, protocolId: 0, spi: new Uint8Array(0), notifyType: NotifyStatus.COOKIE2, data: cookie }]);
    const a = s.handle({ kind: "datagram", data: req, port: "natt" }, 1000);
    const answer = gw.openResponse((a[0] as { data: Uint8Array }).data);
    expect(findNotify(answer, NotifyStatus.COOKIE2)!.data).toEqual(cookie);
    expect(findPayload(answer, PayloadType.DELETE)?.protocolId).not.toBe(ProtocolId.IKE);
  });

  test("after a sleep (resumed): a liveness check at once, even right after traffic and with DPD off", () => {
    for (const dpd of [30_000, 0]) {
      const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(12), mobike: true });
      const s = new IkeSession(testSessionConfig({ dpdIntervalMs: dpd }), env(112));
      pump(s, gw, s.handle({ kind: "start" }, 0));
      expect(s.handle({ kind: "liveness", lastInbound: 900 }, 1000).filter((a) => a.kind === "send").length).toBe(0);
      const a = s.handle({ kind: "liveness", lastInbound: 900, resumed: true }, 1000);
      expect(a.filter((x) => x.kind === "send").length).toBe(1);
      pump(s, gw, a, 1000);
      // With MOBIKE the check carries NAT detection ("Changes in NAT Mappings").
      expect(lastInformational(gw).map((p) => (p as { notifyType?: number }).notifyType)).toEqual([NotifyStatus.NAT_DETECTION_SOURCE_IP, NotifyStatus.NAT_DETECTION_DESTINATION_IP]);
    }
  });

  test("without MOBIKE the liveness check stays an empty INFORMATIONAL", () => {
    const { gw, s } = up(13, { gatewayMobike: false });
    pump(s, gw, s.handle({ kind: "liveness", lastInbound: 0 }, 40_000), 40_000);
    expect(lastInformational(gw)).toEqual([]);
  });

  test("the NAT changes its mapping, our address stays: the liveness check sees the gateway's new view, UPDATE_SA_ADDRESSES follows", () => {
    const { gw, s } = up(14, { gatewayMobike: true });
    // Same view as at IKE_SA_INIT: nothing to do.
    let all = pump(s, gw, s.handle({ kind: "liveness", lastInbound: 0 }, 40_000), 40_000);
    expect(gw.updates).toBe(0);
    gw.natView = new Uint8Array(20).fill(0x77);
    all = pump(s, gw, s.handle({ kind: "liveness", lastInbound: 0 }, 80_000), 80_000);
    expect(gw.updates).toBe(1);
    expect(all.some((a) => a.kind === "progress" && a.detail === "the NAT in between changed its mapping")).toBe(true);
    expect(all.some((a) => a.kind === "progress" && a.detail?.startsWith("the gateway moved the SAs"))).toBe(true);
    // The view the update answered with is the new baseline: the next check is quiet.
    all = pump(s, gw, s.handle({ kind: "liveness", lastInbound: 0 }, 120_000), 120_000);
    expect(gw.updates).toBe(1);
    expect(kinds(all)).not.toContain("failed");
  });
});
