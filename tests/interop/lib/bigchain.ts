// A gateway certificate chain too large for one unfragmented datagram on a 1500-octet path, for the
// IKE fragmentation tests (RFC 7383; issue 5):
//   "CN=roam big root CA" (RSA-3072, self-signed; the client's only trust anchor)
//     → "CN=roam big intermediate CA" (RSA-3072; the gateway sends it)
//       → CN=gw.roam.test (RSA-3072, SANs gw.roam.test, 192.0.2.1 and padding names)
// The gateway's IKE_AUTH response carries both non-root certificates (over 3,000 octets of DER) and a
// 384-octet RSA AUTH. RSA-3072 rather than 4096: on a loaded two-core machine three RSA-4096 keys took
// 7 to 17 s; the padding names make up the size. The keys are made once per test process (in
// parallel) and reused; the certificates are issued afresh for each stage.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mustRun } from "./proc.ts";
import { GATEWAY_ID, type CertPair } from "./pki.ts";
import { NET } from "./topology.ts";

export const BIG_ROOT_DN = "CN=roam big root CA";
export const BIG_INTERMEDIATE_DN = "CN=roam big intermediate CA";

/** The DER size the gateway's CERT payloads must exceed (issue 5: "a chain larger than 3,000 bytes"). */
export const BIG_CHAIN_MIN_BYTES = 3000;

export interface BigChain {
  readonly dir: string;
  /** Trust anchor for the client; never sent by the gateway. */
  readonly root: CertPair;
  /** Sent by the gateway with its own certificate (strongSwan sends the intermediates it chains through). */
  readonly intermediate: CertPair;
  readonly gateway: CertPair;
  /** DER octets of gateway + intermediate certificates: what the CERT payloads carry. */
  readonly sentBytes: number;
}

type KeyName = "root" | "intermediate" | "gateway";
let keyCache: Promise<Record<KeyName, string>> | undefined;

/** RSA modulus size of all three keys. */
export const BIG_CHAIN_RSA_BITS = 3072;

/** Three RSA private keys (PEM), generated concurrently with `pki --gen`, once per process. */
function rsaKeys(env: Record<string, string>): Promise<Record<KeyName, string>> {
  keyCache ??= (async () => {
    const names: KeyName[] = ["root", "intermediate", "gateway"];
    const pems = await Promise.all(
      names.map(async (name) => {
        const p = Bun.spawn(["pki", "--gen", "--type", "rsa", "--size", `${BIG_CHAIN_RSA_BITS}`, "--outform", "pem"], {
          env: { ...process.env, ...env },
          stdin: "ignore",
          stdout: "pipe",
          stderr: "pipe",
        });
        const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
        if (code !== 0) throw new Error(`pki --gen (RSA-${BIG_CHAIN_RSA_BITS} ${name} key) failed (exit ${code}): ${err}`);
        return out;
      }),
    );
    return { root: pems[0]!, intermediate: pems[1]!, gateway: pems[2]! };
  })();
  keyCache.catch(() => (keyCache = undefined));
  return keyCache;
}

/** Issues the chain under `dir` (a few seconds the first time, then well under one). */
export async function makeBigChain(dir: string): Promise<BigChain> {
  mkdirSync(dir, { recursive: true });
  const conf = `${dir}/pki.conf`;
  writeFileSync(conf, "pki {\n  load = random openssl pem pkcs1 pkcs8 x509 pubkey sha1 sha2 gmp\n}\n");
  const env = { STRONGSWAN_CONF: conf };
  const keys = await rsaKeys(env);
  const pki = (args: string[], out: string): void => {
    writeFileSync(out, mustRun(["pki", ...args], { env }));
  };
  const pair = (name: KeyName): CertPair => {
    const p = { cert: `${dir}/big-${name}.crt`, certDer: `${dir}/big-${name}.der`, key: `${dir}/big-${name}.key` };
    writeFileSync(p.key, keys[name], { mode: 0o600 });
    return p;
  };
  const toDer = (p: CertPair): void => {
    mustRun(["openssl", "x509", "-in", p.cert, "-outform", "DER", "-out", p.certDer]);
  };

  const root = pair("root");
  pki(["--self", "--ca", "--lifetime", "3650", "--in", root.key, "--type", "priv", "--dn", BIG_ROOT_DN, "--outform", "pem"], root.cert);
  toDer(root);

  const intermediate = pair("intermediate");
  pki(
    [
      "--issue", "--cacert", root.cert, "--cakey", root.key, "--in", intermediate.key, "--type", "priv",
      "--dn", BIG_INTERMEDIATE_DN, "--ca", "--lifetime", "3650", "--outform", "pem",
    ],
    intermediate.cert,
  );
  toDer(intermediate);

  const gateway = pair("gateway");
  // Extra DNS names only add octets (RFC 5280 §4.2.1.6); the client matches gw.roam.test.
  const padding = Array.from({ length: 56 }, (_, i) => ["--san", `alt${i}.gw.roam.test`]).flat();
  pki(
    [
      "--issue", "--cacert", intermediate.cert, "--cakey", intermediate.key, "--in", gateway.key, "--type", "priv",
      "--dn", `CN=${GATEWAY_ID}`, "--san", GATEWAY_ID, "--san", NET.gateway, ...padding,
      "--flag", "serverAuth", "--flag", "ikeIntermediate", "--lifetime", "365", "--outform", "pem",
    ],
    gateway.cert,
  );
  toDer(gateway);

  const sentBytes = readFileSync(gateway.certDer).length + readFileSync(intermediate.certDer).length;
  if (sentBytes <= BIG_CHAIN_MIN_BYTES) {
    throw new Error(`big chain: gateway + intermediate are only ${sentBytes} DER octets, need more than ${BIG_CHAIN_MIN_BYTES}`);
  }
  return { dir, root, intermediate, gateway, sentBytes };
}
