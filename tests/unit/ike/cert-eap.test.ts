// cert+EAP: RFC 4739 multiple authentication against the scripted gateway. The first round is the
// client certificate (checked by node:crypto in cert-responder.ts), the second EAP-MSCHAPv2 (checked by
// the scripted authenticator with the RFC 2759 functions), and the gateway proves itself once, with its
// certificate.
import { describe, expect, test } from "bun:test";
import type { SessionConfig } from "../../../core/ike/config.ts";
import { IkeSession } from "../../../core/ike/session.ts";
import type { Action } from "../../../core/ike/types.ts";
import { utf8 } from "../../../core/util/bytes.ts";
import { ExchangeType, HashAlgorithm, IdType, NotifyStatus, PayloadType } from "../../../core/wire/constants.ts";
import { parseMessage } from "../../../core/wire/message.ts";
import { findNotify, findPayload } from "../../../core/wire/payloads.ts";
import { ScriptedAuthenticator } from "../eap/authenticator.ts";
import { certResponder, clientConfig, type Seen } from "./cert-responder.ts";
import { FakeGateway, seededRandom } from "./fake-gateway.ts";
import { env, pump } from "./pump.ts";

const SHA2 = [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512];

function certEapConfig(identity = "alice@roam.test", password = "s3cret pass"): SessionConfig {
  const base = clientConfig(["gw-p256", "inter-p384"], "gw-p256");
  if (base.credentials.kind !== "cert") throw new Error("fixture");
  return { ...base, credentials: { ...base.credentials, kind: "cert+eap", identity, password } };
}

interface GwOpts {
  multipleAuth?: boolean;
  askIdentity?: boolean;
  password?: string;
  rogueSignsWith?: string;
  noCert?: boolean;
}

function run(cfg: SessionConfig, o: GwOpts = {}) {
  const seen: Seen[] = [];
  const authenticator = new ScriptedAuthenticator({ password: o.password ?? "s3cret pass", challenge: new Uint8Array(16).fill(7), rogueSignsWith: o.rogueSignsWith });
  const gw = new FakeGateway({
    psk: new Uint8Array(0),
    id: "gw.roam.test",
    random: seededRandom(11),
    hashAlgorithms: SHA2,
    certAuth: certResponder(seen, { noCert: o.noCert }),
    multipleAuth: o.multipleAuth ?? true,
    secondRound: { authenticator, askIdentity: o.askIdentity ?? true },
  });
  const s = new IkeSession(cfg, env(3));
  const all = pump(s, gw, s.handle({ kind: "start" }, 0));
  const initRequests = all.flatMap((a) => {
    if (a.kind !== "send") return [];
    const m = parseMessage(a.data);
    return m.ok && m.value.header.exchangeType === ExchangeType.IKE_SA_INIT ? [m.value.payloads] : [];
  });
  const authRequests = gw.received.filter((r) => r.exchangeType === ExchangeType.IKE_AUTH && !r.response).map((r) => r.payloads);
  return { all, seen, gw, authenticator, initRequests, authRequests };
}
const outcome = (all: Action[]) => all.find((a) => a.kind === "established" || a.kind === "failed")!;
const failure = (all: Action[]) => {
  const o = outcome(all);
  if (o.kind !== "failed") throw new Error(`expected a failure, got ${o.kind}`);
  return o.failure;
};

describe("cert+EAP (RFC 4739)", () => {
  test("certificate round, then EAP-MSCHAPv2 with the EAP identity as the second IDi; CHILD_SA at the end", () => {
    const r = run(certEapConfig());
    const o = outcome(r.all);
    expect(o.kind).toBe("established");
    if (o.kind === "established") expect(o.info.remoteId).toBe("gw.roam.test");
    // §3.1: MULTIPLE_AUTH_SUPPORTED in IKE_SA_INIT.
    expect(findNotify(r.initRequests[0]!, NotifyStatus.MULTIPLE_AUTH_SUPPORTED)).toBeDefined();
    // §3.2: the first IKE_AUTH signs with the certificate and says another round follows.
    const first = r.authRequests[0]!;
    expect(r.seen).toHaveLength(1);
    expect(r.seen[0]!.certs).toHaveLength(2);
    expect(findNotify(first, NotifyStatus.ANOTHER_AUTH_FOLLOWS)).toBeDefined();
    expect(findPayload(first, PayloadType.SA)).toBeDefined();
    // The second round: IDi = the EAP identity, no AUTH; the gateway asked EAP-Identity and got it.
    expect(r.gw.eapRound!.seen.idi).toEqual({ idType: IdType.RFC822_ADDR, data: utf8("alice@roam.test") });
    expect(r.gw.eapRound!.seen.idiWithAuth).toBe(false);
    expect(r.gw.eapRound!.seen.identity).toBe("alice@roam.test");
    expect(r.authenticator.seen!.name).toBe("alice@roam.test");
    // Only the first IKE_AUTH carries the CHILD_SA request; the last answer brought the CHILD_SA.
    expect(r.authRequests.slice(1).some((p) => findPayload(p, PayloadType.SA))).toBe(false);
    expect(r.all.some((a) => a.kind === "install-child")).toBe(true);
    expect(r.gw.eapRound!.finished).toBe(true);
    // cert round; IDi; EAP-Response/Identity; MS-CHAPv2 Response; MS-CHAPv2 Success Response; AUTH (MSK)
    expect(r.authRequests).toHaveLength(6);
    expect(findPayload(r.authRequests[5]!, PayloadType.AUTH)).toBeDefined();
  });

  test("a gateway that starts with the Challenge (its eap_id is the IDi): a plain identity goes as an FQDN", () => {
    const r = run(certEapConfig("carol"), { askIdentity: false });
    expect(outcome(r.all).kind).toBe("established");
    expect(r.gw.eapRound!.seen.idi).toEqual({ idType: IdType.FQDN, data: utf8("carol") });
    expect(r.gw.eapRound!.seen.identity).toBeUndefined();
  });

  test("a gateway without MULTIPLE_AUTH_SUPPORTED: a negotiation failure, and no credential leaves", () => {
    const r = run(certEapConfig(), { multipleAuth: false });
    const f = failure(r.all);
    expect(f.code).toBe("protocol");
    expect(f.message).toContain("MULTIPLE_AUTH_SUPPORTED");
    expect(r.authRequests).toHaveLength(0);
  });

  test("the right certificate and a wrong password: Failure Response, EAP-Failure, auth failure; no DELETE", () => {
    const r = run(certEapConfig("alice@roam.test", "wrong"));
    const f = failure(r.all);
    expect(f.code).toBe("auth");
    expect(f.message).toBe(
      'authentication failed: the gateway refused the EAP credentials: authentication failure (wrong user name or password) (MS-CHAPv2 E=691 ERROR_AUTHENTICATION_FAILURE); the gateway says "Authentication failure"',
    );
    expect(r.seen).toHaveLength(1);
    // [MS-CHAP] §2.2 (Microsoft open specification): EAP-Response (2), the Failure Request's Identifier, Length 6, Type 26, OpCode 4.
    const answer = r.gw.eapRound!.seen.failureAnswer!;
    expect(Array.from(answer)).toEqual([2, r.authenticator.id, 0, 6, 26, 4]);
    expect(r.gw.eapRound!.finished).toBe(true);
    // cert round; IDi; EAP-Response/Identity; MS-CHAPv2 Response; MS-CHAPv2 Failure Response
    expect(r.authRequests).toHaveLength(5);
    // RFC 7296 §2.16: the answer with EAP-Failure ended the exchange; there is no IKE SA to delete.
    expect(r.gw.deleted).toBe(false);
    expect(r.gw.received.some((m) => m.exchangeType === ExchangeType.INFORMATIONAL)).toBe(false);
  });

  test("a gateway that does not know the password (wrong S=): refused before our AUTH", () => {
    const r = run(certEapConfig(), { rogueSignsWith: "other" });
    const f = failure(r.all);
    expect(f.code).toBe("auth");
    expect(f.message).toContain("authentication failed");
    expect(r.authRequests).toHaveLength(4);
    expect(r.authRequests.slice(1).some((p) => findPayload(p, PayloadType.AUTH))).toBe(false);
  });

  test("a gateway without a certificate: refused in the first round, the EAP identity is never sent", () => {
    const r = run(certEapConfig(), { noCert: true });
    expect(failure(r.all).code).toBe("certificate");
    expect(r.authRequests).toHaveLength(1);
    expect(r.gw.eapRound!.seen.idi).toBeUndefined();
  });

  test("a plain certificate client announces no multiple authentication and sends no ANOTHER_AUTH_FOLLOWS", () => {
    const r = run(clientConfig(["gw-p256", "inter-p384"], "gw-p256"));
    expect(findNotify(r.initRequests[0]!, NotifyStatus.MULTIPLE_AUTH_SUPPORTED)).toBeUndefined();
    expect(findNotify(r.authRequests[0]!, NotifyStatus.ANOTHER_AUTH_FOLLOWS)).toBeUndefined();
    // The scripted gateway wants two rounds, so it refuses, as strongSwan does.
    expect(failure(r.all).code).toBe("auth");
  });
});
