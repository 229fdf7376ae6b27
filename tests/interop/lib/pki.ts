// Test certificates made with strongSwan's `pki` at setup (never checked in, fresh every run):
//   "CN=roam test CA" → gateway certificate CN=gw.roam.test, SAN gw.roam.test and 192.0.2.1
//   "CN=other CA"     → an unrelated gateway certificate with the same names, for negative tests
// (a client that trusts only "roam test CA" must reject the gateway when it presents this one).

import { mkdirSync, writeFileSync } from "node:fs";
import { mustRun } from "./proc.ts";
import { NET } from "./topology.ts";

export const GATEWAY_ID = "gw.roam.test";
export const CA_DN = "CN=roam test CA";
export const OTHER_CA_DN = "CN=other CA";

/** `ecdsa` = P-256 with ECDSA-SHA256 signatures; `rsa` = RSA-2048 with PKCS#1 v1.5 SHA-256 (pki defaults). */
export type KeyType = "ecdsa" | "rsa";

export interface CertPair {
  /** PEM certificate. */
  readonly cert: string;
  /** The same certificate, DER. */
  readonly certDer: string;
  /** PEM private key. */
  readonly key: string;
}

export interface Pki {
  readonly dir: string;
  readonly keyType: KeyType;
  /** Trust anchor a client should use: "CN=roam test CA". */
  readonly ca: CertPair;
  /** Gateway certificate issued by `ca`. */
  readonly gateway: CertPair;
  /** Unrelated CA "CN=other CA". */
  readonly otherCa: CertPair;
  /** Gateway certificate (same subject and SANs) issued by `otherCa`. */
  readonly otherGateway: CertPair;
}

/** Generates both CAs and their gateway certificates under `dir` (about 0.1 s with ECDSA). */
export function makePki(dir: string, keyType: KeyType = "ecdsa"): Pki {
  mkdirSync(dir, { recursive: true });
  // pki reads its plugin list from STRONGSWAN_CONF: load only what exists, so it prints no load errors.
  const conf = `${dir}/pki.conf`;
  writeFileSync(conf, "pki {\n  load = random openssl pem pkcs1 pkcs8 x509 pubkey sha1 sha2 gmp\n}\n");
  const env = { STRONGSWAN_CONF: conf };
  const pki = (args: string[], out: string): void => {
    writeFileSync(out, mustRun(["pki", ...args], { env }));
  };
  const gen = keyType === "ecdsa" ? ["--type", "ecdsa", "--size", "256"] : ["--type", "rsa", "--size", "2048"];

  const makeCa = (name: string, dn: string): CertPair => {
    const pair = paths(dir, name);
    pki(["--gen", ...gen, "--outform", "pem"], pair.key);
    pki(["--self", "--ca", "--lifetime", "3650", "--in", pair.key, "--type", "priv", "--dn", dn, "--outform", "pem"], pair.cert);
    pki(["--print", "--in", pair.cert], `${dir}/${name}.txt`);
    toDer(pair);
    return pair;
  };
  const issueGateway = (name: string, ca: CertPair): CertPair => {
    const pair = paths(dir, name);
    pki(["--gen", ...gen, "--outform", "pem"], pair.key);
    pki(
      [
        "--issue", "--cacert", ca.cert, "--cakey", ca.key, "--in", pair.key, "--type", "priv",
        "--dn", `CN=${GATEWAY_ID}`, "--san", GATEWAY_ID, "--san", NET.gateway,
        // serverAuth + ikeIntermediate EKUs: what strongSwan's docs advise for gateways (Windows/macOS want them).
        "--flag", "serverAuth", "--flag", "ikeIntermediate", "--lifetime", "365", "--outform", "pem",
      ],
      pair.cert,
    );
    toDer(pair);
    return pair;
  };

  const ca = makeCa("ca", CA_DN);
  const otherCa = makeCa("other-ca", OTHER_CA_DN);
  return {
    dir,
    keyType,
    ca,
    gateway: issueGateway("gw", ca),
    otherCa,
    otherGateway: issueGateway("other-gw", otherCa),
  };
}

function paths(dir: string, name: string): CertPair {
  return { cert: `${dir}/${name}.crt`, certDer: `${dir}/${name}.der`, key: `${dir}/${name}.key` };
}

function toDer(pair: CertPair): void {
  mustRun(["openssl", "x509", "-in", pair.cert, "-outform", "DER", "-out", pair.certDer]);
}

/**
 * A client certificate for certificate authentication, issued by `ca` (the stage's or the other CA),
 * with subjectAltName `email` (an RFC 822 identity the client sends as IDi). Key mode 0600.
 */
export function issueClientCert(p: Pki, name: string, email: string, keyType: KeyType, ca: CertPair): CertPair {
  const env = { STRONGSWAN_CONF: `${p.dir}/pki.conf` };
  const pair = paths(p.dir, name);
  const gen = keyType === "ecdsa" ? ["--type", "ecdsa", "--size", "256"] : ["--type", "rsa", "--size", "2048"];
  writeFileSync(pair.key, mustRun(["pki", "--gen", ...gen, "--outform", "pem"], { env }), { mode: 0o600 });
  const cert = mustRun(
    ["pki", "--issue", "--cacert", ca.cert, "--cakey", ca.key, "--in", pair.key, "--type", "priv", "--dn", `CN=${email}`, "--san", email, "--flag", "clientAuth", "--lifetime", "365", "--outform", "pem"],
    { env },
  );
  writeFileSync(pair.cert, cert);
  toDer(pair);
  return pair;
}
