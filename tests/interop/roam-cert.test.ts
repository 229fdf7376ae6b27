// roam authenticating with a client certificate (RSA and ECDSA, RFC 7427 signature AUTH) to an unmodified
// strongSwan gateway behind NAT; a certificate from another CA is refused by the gateway. A profile whose
// key, certificate and intermediate CA come from a password-protected PKCS#12 file (imported from a
// .sswan) connects through `roam connect NAME`; a wrong PKCS#12 password is exit 2 with the host untouched.
// Needs root and tests/interop/install-deps.sh; skipped with a message otherwise.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CERT_CLIENT_DOMAIN, CONN } from "./lib/configs.ts";
import { issueClientCert, type CertPair } from "./lib/pki.ts";
import { mustRun, waitFor } from "./lib/proc.ts";
import { listSas } from "./lib/sas.ts";
import { clientRunDir, createStage, interopUnavailable, type Stage } from "./lib/stage.ts";
import { NET } from "./lib/topology.ts";

const ROAM = join(import.meta.dir, "../../dist/roam");
const unavailable = interopUnavailable() ?? (existsSync(ROAM) ? undefined : "dist/roam is not built (run bun build.ts)");
if (unavailable !== undefined) console.warn(`SKIP tests/interop/roam-cert.test.ts: ${unavailable}`);

describe.skipIf(unavailable !== undefined)("roam with a client certificate against strongSwan", () => {
  let stage: Stage;
  let runDir: string;
  beforeAll(async () => {
    stage = await createStage();
    runDir = clientRunDir(stage);
  }, 60_000);
  afterAll(async () => {
    await stage?.destroy();
  });

  const roam = (args: string[]) => stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, ...args], { timeoutMs: 60_000 });
  const connect = (cert: string, key: string, id: string) =>
    roam(["connect", "--gateway", NET.gateway, "--remote-id", stage.creds.gatewayId, "--ca", stage.pki.ca.cert, "--cert", cert, "--key", key, "--id", id, "--background"]);

  for (const keyType of ["ecdsa", "rsa"] as const) {
    test(`${keyType} client certificate: connect, both LANs, the gateway's cert connection, disconnect clean`, async () => {
      const id = `laptop-${keyType}@${CERT_CLIENT_DOMAIN}`;
      const c = issueClientCert(stage.pki, `client-${keyType}`, id, keyType, stage.pki.ca);
      const up = connect(c.cert, c.key, id);
      expect(up.code, up.stderr).toBe(0);
      for (const host of [NET.corpAServer, NET.corpBServer]) {
        expect(stage.topo.exec(stage.topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", host]).code).toBe(0);
      }
      const sas = listSas(stage.gateway);
      expect(sas.length).toBe(1);
      expect(sas[0]!.name).toBe(CONN.cert);
      expect(sas[0]!.remoteId).toBe(id);
      expect(stage.gateway.log()).toMatch(new RegExp(`authentication of '${id.replace(/[.]/g, "\\.")}' with (ECDSA|RSA)`));
      expect(roam(["disconnect"]).code).toBe(0);
      await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
      expect(existsSync(`${runDir}/roam.json`)).toBe(false);
    }, 60_000);
  }

  test("a client certificate from another CA: the gateway refuses it, exit 4 with one line, host clean", () => {
    const id = `stranger@${CERT_CLIENT_DOMAIN}`;
    const c = issueClientCert(stage.pki, "client-other", id, "ecdsa", stage.pki.otherCa);
    const r = connect(c.cert, c.key, id);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split("\n").at(-1)).toBe("roam: authentication failed: gateway sent AUTHENTICATION_FAILED");
    expect(existsSync(`${runDir}/roam.json`)).toBe(false);
    expect(stage.topo.exec(stage.topo.names.client, ["ip", "link", "show", "roam0"]).code).not.toBe(0);
  }, 60_000);

  test("PKCS#12: a .sswan profile (key, certificate, intermediate in local.p12) via `roam connect NAME`, a legacy file via --p12; a wrong password is exit 2, host untouched", async () => {
    // An intermediate CA the gateway does not know (it trusts only the root): roam must send it (CERT payload).
    const pkiEnv = { STRONGSWAN_CONF: `${stage.pki.dir}/pki.conf` };
    const inter: CertPair = { cert: `${stage.pki.dir}/p12-inter.crt`, certDer: `${stage.pki.dir}/p12-inter.der`, key: `${stage.pki.dir}/p12-inter.key` };
    writeFileSync(inter.key, mustRun(["pki", "--gen", "--type", "ecdsa", "--size", "256", "--outform", "pem"], { env: pkiEnv }), { mode: 0o600 });
    writeFileSync(inter.cert, mustRun(["pki", "--issue", "--cacert", stage.pki.ca.cert, "--cakey", stage.pki.ca.key, "--in", inter.key, "--type", "priv", "--dn", "CN=roam client intermediate CA", "--ca", "--lifetime", "365", "--outform", "pem"], { env: pkiEnv }));
    const id = `p12-user@${CERT_CLIENT_DOMAIN}`;
    const c = issueClientCert(stage.pki, "client-p12", id, "ecdsa", inter);
    const password = "p12 pässword";
    const p12 = `${stage.dir}/client.p12`;
    // OpenSSL 3 defaults: PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC) and a SHA-256 MAC.
    mustRun(["openssl", "pkcs12", "-export", "-inkey", c.key, "-in", c.cert, "-certfile", inter.cert, "-passout", `pass:${password}`, "-out", p12]);
    const sswan = `${stage.dir}/p12.sswan`;
    writeFileSync(
      sswan,
      JSON.stringify({
        uuid: "0b6f3c2e-1d4a-4f5b-8c7d-9e0a1b2c3d4e",
        name: "P12",
        type: "ikev2-cert",
        remote: { addr: NET.gateway, id: stage.creds.gatewayId, cert: readFileSync(stage.pki.ca.certDer).toString("base64") },
        local: { id, p12: readFileSync(p12).toString("base64") },
      }),
    );
    const xdg = `${stage.dir}/xdg-p12`;
    mkdirSync(xdg, { recursive: true, mode: 0o700 });
    const withXdg = (args: string[], stdin?: string) =>
      stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, `XDG_CONFIG_HOME=${xdg}`, ROAM, ...args], { stdin, timeoutMs: 60_000 });
    const imp = withXdg(["import", sswan]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stderr).not.toContain("warning");

    const hostClean = () => {
      expect(existsSync(`${runDir}/roam.json`)).toBe(false);
      expect(stage.topo.exec(stage.topo.names.client, ["ip", "link", "show", "roam0"]).code).not.toBe(0);
      expect(listSas(stage.gateway).length).toBe(0);
    };
    const wrong = withXdg(["connect", "P12", "--password-stdin", "--background"], "not the password\n");
    expect(wrong.code, wrong.stderr).toBe(2);
    expect(wrong.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^roam: connect: pkcs12 ".*client\.p12": wrong password or corrupted file \(MAC mismatch\)$/)]);
    expect(wrong.stderr).not.toContain("not the password");
    hostClean();

    const up = withXdg(["connect", "P12", "--password-stdin", "--background"], `${password}\n`);
    expect(up.code, up.stderr).toBe(0);
    expect(stage.topo.exec(stage.topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", NET.corpAServer]).code).toBe(0);
    const sas = listSas(stage.gateway);
    expect(sas.length).toBe(1);
    expect(sas[0]!.name).toBe(CONN.cert);
    expect(sas[0]!.remoteId).toBe(id);
    const log = stage.gateway.log();
    expect(log).toContain('received issuer cert "CN=roam client intermediate CA"');
    expect(log).toMatch(new RegExp(`authentication of '${id.replace(/[.]/g, "\\.")}' with ECDSA`));
    expect(withXdg(["disconnect"]).code).toBe(0);
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
    hostClean();

    // The flag form with a legacy file (3DES key, RC2-40 certificates, SHA-1 MAC: OpenSSL 1.x, macOS).
    const legacy = `${stage.dir}/legacy.p12`;
    mustRun(["openssl", "pkcs12", "-export", "-legacy", "-inkey", c.key, "-in", c.cert, "-certfile", inter.cert, "-passout", `pass:${password}`, "-out", legacy]);
    chmodSync(legacy, 0o600);
    const flags = ["connect", "--gateway", NET.gateway, "--remote-id", stage.creds.gatewayId, "--ca", stage.pki.ca.cert, "--p12", legacy, "--id", id, "--password-stdin", "--background"];
    const up2 = stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, ...flags], { stdin: `${password}\n`, timeoutMs: 60_000 });
    expect(up2.code, up2.stderr).toBe(0);
    expect(listSas(stage.gateway)[0]?.remoteId).toBe(id);
    expect(roam(["disconnect"]).code).toBe(0);
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
    hostClean();
  }, 90_000);
});
