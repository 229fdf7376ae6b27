// The certificate side of the scripted gateway for exchange tests: a responder that checks the client's
// signature AUTH with node:crypto (OpenSSL/BoringSSL), not with core/x509, and proves itself as
// gw.roam.test with gw-rsa2048; and client configurations from the x509 fixtures. RFC 7427 App. A gives
// the AlgorithmIdentifiers.
import { createPrivateKey, sign, verify, X509Certificate, constants } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Credentials, SessionConfig } from "../../../core/ike/config.ts";
import { concatBytes, equalBytes, fromHex, toHex, utf8 } from "../../../core/util/bytes.ts";
import { AuthMethod, CertEncoding, IdType, PayloadType } from "../../../core/wire/constants.ts";
import { findPayload, type Payload } from "../../../core/wire/payloads.ts";
import { decodePem, decodePemCertificates } from "../../../core/x509/pem.ts";
import { parseCertificate } from "../../../core/x509/cert.ts";
import type { SignedOctetsFor } from "./fake-gateway.ts";
import { testSessionConfig } from "./session-config.ts";

const FIX = join(import.meta.dir, "../x509/fixtures");
export const pemCert = (name: string) => {
  const d = decodePemCertificates(new Uint8Array(readFileSync(join(FIX, `${name}.crt`))));
  if (!d.ok) throw new Error(d.error);
  return d.value[0]!;
};
export const pkcs8 = (name: string) => {
  const b = decodePem(readFileSync(join(FIX, `${name}.key`), "utf8"));
  if (!b.ok || b.value[0]!.label !== "PRIVATE KEY") throw new Error(`${name}.key is not PKCS#8`);
  return b.value[0]!.der;
};

// RFC 7427 Appendix A: AlgorithmIdentifier ASN.1 objects.
export const ALG = {
  sha256WithRSAEncryption: "300d06092a864886f70d01010b0500", // A.1.2
  ecdsaWithSha256: "300a06082a8648ce3d040302", // A.3.1
  // A.4.3 RSASSA-PSS, SHA-256 for the hash and MGF1, salt length 32
  pssSha256: "3041" + "06092a864886f70d01010a" + "3034" + "a00f300d06096086480165030402010500" + "a11c301a06092a864886f70d010108300d06096086480165030402010500" + "a203020120",
};

export const ROOT = pemCert("root-rsa");
export const GW_CERT = pemCert("gw-rsa2048");
export const GW_KEY = createPrivateKey({ key: Buffer.from(pkcs8("gw-rsa2048")), format: "der", type: "pkcs8" });

export interface Seen {
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
export function certResponder(seen: Seen[], opts: { refuse?: boolean; noCert?: boolean } = {}) {
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

export function clientConfig(chain: string[], keyName: string, rsaPss = false): SessionConfig {
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
