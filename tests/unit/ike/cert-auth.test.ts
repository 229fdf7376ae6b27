// Client certificate authentication (RFC 7296 §2.15, RFC 7427) against a scripted gateway that checks our
// AUTH with node:crypto (OpenSSL/BoringSSL), not with core/x509: RSA PKCS#1 v1.5, RSA-PSS and ECDSA P-256,
// with and without the gateway's SIGNATURE_HASH_ALGORITHMS. The AlgorithmIdentifiers are RFC 7427 App. A's.
import { describe, expect, test } from "bun:test";
import type { SessionConfig } from "../../../core/ike/config.ts";
import { IkeSession } from "../../../core/ike/session.ts";
import type { Action } from "../../../core/ike/types.ts";
import { toHex } from "../../../core/util/bytes.ts";
import { AuthMethod, HashAlgorithm } from "../../../core/wire/constants.ts";
import { ALG, certResponder, clientConfig, pemCert, pkcs8, type Seen } from "./cert-responder.ts";
import { FakeGateway, seededRandom } from "./fake-gateway.ts";

const env = (seed: number) => ({ random: seededRandom(seed), wallTime: () => Date.UTC(2026, 10, 23) });
const SHA2 = [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512];

function run(cfg: SessionConfig, gwOpts: { hashes?: number[]; refuse?: boolean; noCert?: boolean } = {}) {
  const seen: Seen[] = [];
  const gw = new FakeGateway({ psk: new Uint8Array(0), id: "gw.roam.test", random: seededRandom(11), hashAlgorithms: gwOpts.hashes, certAuth: certResponder(seen, gwOpts) });
  const s = new IkeSession(cfg, env(3));
  const all: Action[] = [];
  let queue = s.handle({ kind: "start" }, 0);
  for (let i = 0; i < 10 && queue.length > 0; i++) {
    all.push(...queue);
    const next: Action[] = [];
    for (const a of queue) if (a.kind === "send") for (const d of gw.receive(a.data)) next.push(...s.handle({ kind: "datagram", data: d, port: a.port }, 0));
    queue = next;
  }
  return { all, seen, gw };
}
const outcome = (all: Action[]) => all.find((a) => a.kind === "established" || a.kind === "failed")!;

describe("client certificate AUTH, checked by node:crypto", () => {
  test("RSA PKCS#1 v1.5 with SHA-256 (RFC 7427) when the gateway announced SHA-2", () => {
    const r = run(clientConfig(["gw-rsa2048"], "gw-rsa2048"), { hashes: SHA2 });
    expect(outcome(r.all).kind).toBe("established");
    expect(r.seen[0]!.method).toBe(AuthMethod.DIGITAL_SIGNATURE);
    expect(r.seen[0]!.algId).toBe(ALG.sha256WithRSAEncryption);
    expect(r.seen[0]!.certs.map(toHex)).toEqual([toHex(pemCert("gw-rsa2048"))]);
    expect(r.seen[0]!.certreq).toBe(true);
  });

  test("RSA-PSS with SHA-256, MGF1-SHA-256, salt 32 (RFC 7427 A.4.3)", () => {
    const r = run(clientConfig(["gw-rsa2048"], "gw-rsa2048", true), { hashes: SHA2 });
    expect(outcome(r.all).kind).toBe("established");
    expect(r.seen[0]!.algId).toBe(ALG.pssSha256);
  });

  test("ECDSA P-256 (RFC 7427, DER signature), end entity then intermediate in CERT payloads", () => {
    const r = run(clientConfig(["gw-p256", "inter-p384"], "gw-p256"), { hashes: SHA2 });
    expect(outcome(r.all).kind).toBe("established");
    expect(r.seen[0]!.algId).toBe(ALG.ecdsaWithSha256);
    expect(r.seen[0]!.certs.map(toHex)).toEqual([toHex(pemCert("gw-p256")), toHex(pemCert("inter-p384"))]);
  });

  test("without SIGNATURE_HASH_ALGORITHMS: RSA_SIG (1) and ECDSA_SHA256_P256 (9)", () => {
    const rsa = run(clientConfig(["gw-rsa2048"], "gw-rsa2048"));
    expect(outcome(rsa.all).kind).toBe("established");
    expect(rsa.seen[0]!.method).toBe(AuthMethod.RSA_SIG);
    const ec = run(clientConfig(["gw-p256", "inter-p384"], "gw-p256"));
    expect(outcome(ec.all).kind).toBe("established");
    expect(ec.seen[0]!.method).toBe(AuthMethod.ECDSA_SHA256_P256);
  });

  test("the AUTH is over InitiatorSignedOctets: a key that does not match the certificate is refused", () => {
    const cfg = clientConfig(["gw-rsa2048"], "gw-rsa2048");
    cfg.credentials = { kind: "cert", certChain: [pemCert("gw-rsa2048")], privateKey: pkcs8("gw-pss") };
    const r = run(cfg, { hashes: SHA2 });
    const o = outcome(r.all);
    expect(o.kind).toBe("failed");
    if (o.kind === "failed") expect(o.failure).toEqual({ code: "auth", message: "authentication failed: gateway sent AUTHENTICATION_FAILED" });
  });

  test("RSA-PSS asked for, gateway without RFC 7427: a config failure, one line", () => {
    const r = run(clientConfig(["gw-rsa2048"], "gw-rsa2048", true));
    const o = outcome(r.all);
    expect(o.kind).toBe("failed");
    if (o.kind === "failed") expect(o.failure.code).toBe("config");
    if (o.kind === "failed") expect(o.failure.message).toContain("RSA-PSS");
  });

  test("the gateway must prove itself with a certificate", () => {
    const r = run(clientConfig(["gw-p256", "inter-p384"], "gw-p256"), { hashes: SHA2, noCert: true });
    const o = outcome(r.all);
    expect(o.kind).toBe("failed");
    if (o.kind === "failed") expect(o.failure.code).toBe("certificate");
    expect(r.gw.deleted).toBe(true);
  });

  test("a gateway that refuses our certificate: auth failure", () => {
    const r = run(clientConfig(["gw-p256", "inter-p384"], "gw-p256"), { hashes: SHA2, refuse: true });
    const o = outcome(r.all);
    expect(o.kind === "failed" && o.failure.code).toBe("auth");
  });
});
