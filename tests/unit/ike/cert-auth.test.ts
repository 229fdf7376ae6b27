// Client certificate authentication (RFC 7296 §2.15, RFC 7427) against a scripted gateway that checks our
// AUTH with node:crypto (OpenSSL/BoringSSL), not with core/x509: RSA PKCS#1 v1.5, RSA-PSS and ECDSA P-256,
// with and without the gateway's SIGNATURE_HASH_ALGORITHMS. The AlgorithmIdentifiers are RFC 7427 App. A's.
import { describe, expect, test } from "bun:test";
import { createPrivateKey, sign, verify, X509Certificate, constants } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Credentials, SessionConfig } from "../../../core/ike/config.ts";
import { IkeSession } from "../../../core/ike/session.ts";
import type { Action } from "../../../core/ike/types.ts";
import { concatBytes, equalBytes, fromHex, toHex, utf8 } from "../../../core/util/bytes.ts";
import { AuthMethod, CertEncoding, HashAlgorithm, IdType, PayloadType } from "../../../core/wire/constants.ts";
import { findPayload, type Payload } from "../../../core/wire/payloads.ts";
import { decodePem, decodePemCertificates } from "../../../core/x509/pem.ts";
import { parseCertificate } from "../../../core/x509/cert.ts";
import { FakeGateway, seededRandom, type SignedOctetsFor } from "./fake-gateway.ts";
import { testSessionConfig } from "./session-config.ts";

const FIX = join(import.meta.dir, "../x509/fixtures");
const pemCert = (name: string) => {
  const d = decodePemCertificates(new Uint8Array(readFileSync(join(FIX, `${name}.crt`))));
  if (!d.ok) throw new Error(d.error);
  return d.value[0]!;
};
const pkcs8 = (name: string) => {
  const b = decodePem(readFileSync(join(FIX, `${name}.key`), "utf8"));
  if (!b.ok || b.value[0]!.label !== "PRIVATE KEY") throw new Error(`${name}.key is not PKCS#8`);
  return b.value[0]!.der;
};

// RFC 7427 Appendix A: AlgorithmIdentifier ASN.1 objects.
const ALG = {
  sha256WithRSAEncryption: "300d06092a864886f70d01010b0500", // A.1.2
  ecdsaWithSha256: "300a06082a8648ce3d040302", // A.3.1
  // A.4.3 RSASSA-PSS, SHA-256 for the hash and MGF1, salt length 32
  pssSha256: "3041" + "06092a864886f70d01010a" + "3034" + "a00f300d06096086480165030402010500" + "a11c301a06092a864886f70d010108300d06096086480165030402010500" + "a203020120",
};

const ROOT = pemCert("root-rsa");
const GW_CERT = pemCert("gw-rsa2048");
const GW_KEY = createPrivateKey({ key: Buffer.from(pkcs8("gw-rsa2048")), format: "der", type: "pkcs8" });

interface Seen {
  method: number;
  algId?: string;
  idi: Uint8Array;
  certs: Uint8Array[];
  certreq: boolean;
}

/**
 * The gateway's side: the client's IDi must be its certificate's subject, the AUTH must verify with that
 * certificate's key over InitiatorSignedOctets; then the gateway proves itself as gw.roam.test with
 * gw-rsa2048 (RFC 7427 sha256WithRSAEncryption).
 */
function certResponder(seen: Seen[], opts: { refuse?: boolean; noCert?: boolean } = {}) {
  return (client: Payload[], octets: SignedOctetsFor): Payload[] | null => {
    const idi = findPayload(client, PayloadType.IDi as typeof PayloadType.IDi | typeof PayloadType.IDr)!;
    const auth = findPayload(client, PayloadType.AUTH);
    if (!auth) return null; // §2.15: no AUTH, no authentication
    const certs = client.flatMap((p) => (p.type === PayloadType.CERT && "certData" in p && p.certEncoding === CertEncoding.X509_SIGNATURE ? [p.certData] : []));
    const s: Seen = { method: auth.authMethod, idi: idi.data, certs, certreq: client.some((p) => p.type === PayloadType.CERTREQ) };
    seen.push(s);
    const x = new X509Certificate(Buffer.from(certs[0]!));
    const key = x.publicKey;
    const signed = Buffer.from(octets.initiator(concatBytes(new Uint8Array([idi.idType, 0, 0, 0]), idi.data)));
    let ok = false;
    if (auth.authMethod === AuthMethod.DIGITAL_SIGNATURE) {
      // RFC 7427 §3: one octet of length, the AlgorithmIdentifier, the signature.
      const len = auth.authData[0]!;
      s.algId = toHex(auth.authData.subarray(1, 1 + len));
      const sig = Buffer.from(auth.authData.subarray(1 + len));
      if (s.algId === ALG.sha256WithRSAEncryption) ok = verify("sha256", signed, key, sig);
      else if (s.algId === ALG.ecdsaWithSha256) ok = verify("sha256", signed, { key, dsaEncoding: "der" }, sig);
      else if (s.algId === ALG.pssSha256) ok = verify("sha256", signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    } else if (auth.authMethod === AuthMethod.RSA_SIG) {
      ok = verify("sha1", signed, key, Buffer.from(auth.authData)); // RFC 7296 §3.8: PKCS#1 v1.5 with SHA-1
    } else if (auth.authMethod === AuthMethod.ECDSA_SHA256_P256) {
      ok = verify("sha256", signed, { key, dsaEncoding: "ieee-p1363" }, Buffer.from(auth.authData)); // RFC 4754 §7: r | s
    }
    const subject = parseCertificate(certs[0]!);
    if (!ok || opts.refuse || idi.idType !== IdType.DER_ASN1_DN || !subject.ok || !equalBytes(subject.value.subject, idi.data)) return null;
    const idr = utf8("gw.roam.test");
    const sig = sign("sha256", octets.responder(concatBytes(new Uint8Array([IdType.FQDN, 0, 0, 0]), idr)), GW_KEY);
    const alg = fromHex(ALG.sha256WithRSAEncryption);
    return [
      { type: PayloadType.IDr, critical: false, idType: IdType.FQDN, data: idr },
      ...(opts.noCert ? [] : [{ type: PayloadType.CERT, critical: false, certEncoding: CertEncoding.X509_SIGNATURE, certData: GW_CERT } as Payload]),
      { type: PayloadType.AUTH, critical: false, authMethod: AuthMethod.DIGITAL_SIGNATURE, authData: concatBytes(new Uint8Array([alg.length]), alg, sig) },
    ];
  };
}

function clientConfig(chain: string[], keyName: string, rsaPss = false): SessionConfig {
  const certChain = chain.map(pemCert);
  const ee = parseCertificate(certChain[0]!);
  if (!ee.ok) throw new Error("fixture");
  const credentials: Credentials = { kind: "cert", certChain, privateKey: pkcs8(keyName), rsaPss };
  return testSessionConfig({
    localId: { type: IdType.DER_ASN1_DN, data: ee.value.subject, text: ee.value.subjectText },
    credentials,
    trustAnchors: [ROOT],
  });

}

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
