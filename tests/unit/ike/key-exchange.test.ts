// The key exchange factory injected through SessionEnv (platform's native one here) makes every KE of the
// session: IKE_SA_INIT, our IKE SA rekey, the gateway's IKE SA rekey and our PFS CHILD_SA rekey. The
// scripted gateway uses core's noble reference, so an established SA proves the two agree on g^ir.
import { expect, test } from "bun:test";
import type { KeyExchangeFactory } from "../../../core/crypto/dh.ts";
import { parseProposals } from "../../../core/ike/proposal.ts";
import { IkeSession } from "../../../core/ike/session.ts";
import type { Action } from "../../../core/ike/types.ts";
import { toHex } from "../../../core/util/bytes.ts";
import { nativeKeyExchangeFactory } from "../../../platform/crypto/dh-native.ts";
import { FakeGateway, seededRandom } from "./fake-gateway.ts";
import { env, find, pump } from "./pump.ts";
import { TEST_PSK, testSessionConfig } from "./session-config.ts";

function counting(groups: number[]): KeyExchangeFactory {
  return {
    name: "counting native",
    create(group, random) {
      groups.push(group);
      return nativeKeyExchangeFactory.create(group, random);
    },
  };
}

function proposals(text: string, kind: "ike" | "esp") {
  const r = parseProposals(text, kind);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

for (const [ike, group] of [
  ["aes256gcm16-prfsha256-x25519", 31],
  ["aes256gcm16-prfsha256-ecp256", 19],
  ["aes256gcm16-prfsha384-ecp384", 20],
] as const) {
  test(`${ike}: IKE_SA_INIT and our IKE SA rekey use the injected factory, and the gateway agrees`, () => {
    const groups: number[] = [];
    const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(5) });
    const s = new IkeSession(testSessionConfig({ ikeProposals: proposals(ike, "ike"), ikeRekeyMs: 3_600_000 }), { ...env(105), keyExchanges: counting(groups) });
    const up = pump(s, gw, s.handle({ kind: "start" }, 0));
    expect(s.status().state).toBe("established");
    expect(groups).toEqual([group]);
    const arm = up.find((a) => a.kind === "arm-timer" && a.timer === "ike-rekey") as Extract<Action, { kind: "arm-timer" }>;
    const a = pump(s, gw, s.handle({ kind: "timer", timer: "ike-rekey" }, arm.at), arm.at);
    expect(a.some((x) => x.kind === "failed")).toBe(false);
    expect(groups).toEqual([group, group]);
    expect(s.status().ikeSpiI).toBe(toHex(gw.clientIkeRekeys[0]!.spiI));
    // Only equal SK_* on both sides let the gateway open our answer on the new SA.
    const b = s.handle({ kind: "datagram", data: gw.request(0, []), port: "natt" }, arm.at + 100);
    expect(gw.openResponse(find(b, "send")!.data)).toEqual([]);
  });
}

test("the gateway's IKE SA rekey (x25519) is answered with a KE from the injected factory", () => {
  const groups: number[] = [];
  const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(6) });
  const s = new IkeSession(testSessionConfig(), { ...env(106), keyExchanges: counting(groups) });
  pump(s, gw, s.handle({ kind: "start" }, 0));
  expect(groups).toEqual([31]);
  const { datagram, ctx } = gw.rekeyIkeRequest(0);
  const a = s.handle({ kind: "datagram", data: datagram, port: "natt" }, 1000);
  gw.completeIkeRekey(find(a, "send")!.data, ctx);
  expect(groups).toEqual([31, 31]);
  const b = s.handle({ kind: "datagram", data: gw.request(0, []), port: "natt" }, 1100);
  expect(gw.openResponse(find(b, "send")!.data)).toEqual([]);
});

test("our PFS CHILD_SA rekey takes its KEi from the injected factory", () => {
  const groups: number[] = [];
  const gw = new FakeGateway({ psk: TEST_PSK, id: "gw.roam.test", random: seededRandom(7) });
  const s = new IkeSession(testSessionConfig({ espProposals: proposals("aes256gcm16-ecp256", "esp") }), { ...env(107), keyExchanges: counting(groups) });
  const up = pump(s, gw, s.handle({ kind: "start" }, 0));
  const child = find(up, "install-child")!.child;
  expect(groups).toEqual([31]);
  s.handle({ kind: "child-limit", spiIn: child.spiIn, limit: "soft" }, 1000);
  expect(groups).toEqual([31, 19]);
});
