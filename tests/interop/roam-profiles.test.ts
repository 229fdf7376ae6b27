// Certificate profiles imported from a file and connected by name (`roam connect NAME`) against an
// unmodified strongSwan gateway behind NAT: a client certificate (swanctl.conf `local { auth = pubkey }`)
// and cert+EAP (RFC 4739: `local-1 { auth = pubkey }` + `local-2 { auth = eap-mschapv2 }`, the gateway's
// `certeap` connection with `remote-1`/`remote-2`) and a cert+EAP .mobileconfig (key in PKCS#12), each
// pinging through the tunnel; cert+EAP by flags (--cert/--key with --eap-identity) too; the right
// certificate and a wrong password fails with exit 4. PSK (swanctl.conf) and EAP (.sswan) profiles are in
// roam.test.ts, cert .sswan (PKCS#12) in roam-cert.test.ts. Needs root and tests/interop/install-deps.sh;
// skipped with a message otherwise.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CERT_CLIENT_DOMAIN, CERT_EAP_CLIENT_DOMAIN, CONN } from "./lib/configs.ts";
import { issueClientCert } from "./lib/pki.ts";
import { mustRun, waitFor } from "./lib/proc.ts";
import { listSas } from "./lib/sas.ts";
import { clientRunDir, createStage, interopUnavailable, type Stage } from "./lib/stage.ts";
import { NET } from "./lib/topology.ts";

const ROAM = join(import.meta.dir, "../../dist/roam");
const unavailable = interopUnavailable() ?? (existsSync(ROAM) ? undefined : "dist/roam is not built (run bun build.ts)");
if (unavailable !== undefined) console.warn(`SKIP tests/interop/roam-profiles.test.ts: ${unavailable}`);

describe.skipIf(unavailable !== undefined)("certificate profiles by name against strongSwan", () => {
  let stage: Stage;
  let runDir: string;
  let xdg: string;
  beforeAll(async () => {
    stage = await createStage();
    runDir = clientRunDir(stage);
    xdg = `${stage.dir}/xdg`;
    mkdirSync(xdg, { recursive: true, mode: 0o700 });
  }, 60_000);
  afterAll(async () => {
    roam(["disconnect"]);
    await stage?.destroy();
  });

  const roam = (args: string[], stdin?: string) =>
    stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, `XDG_CONFIG_HOME=${xdg}`, ROAM, ...args], { stdin, timeoutMs: 60_000 });
  const ping = (dst: string) => stage.topo.exec(stage.topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", dst]).code === 0;
  const expectClean = () => {
    expect(existsSync(`${runDir}/roam.json`)).toBe(false);
    expect(stage.topo.exec(stage.topo.names.client, ["ip", "link", "show", "roam0"]).code).not.toBe(0);
  };

  /**
   * A swanctl.conf directory as strongSwan lays it out (x509/, x509ca/, ecdsa/), for `roam import`: the
   * client certificate for `id`, its key (0600), the stage CA.
   */
  function swanctlDir(name: string, id: string, conf: (caFile: string) => string): string {
    const dir = `${stage.dir}/${name}`;
    for (const sub of ["x509", "x509ca", "ecdsa"]) mkdirSync(`${dir}/${sub}`, { recursive: true, mode: 0o700 });
    const c = issueClientCert(stage.pki, name, id, "ecdsa", stage.pki.ca);
    copyFileSync(c.cert, `${dir}/x509/client.pem`);
    copyFileSync(c.key, `${dir}/ecdsa/client.key`);
    chmodSync(`${dir}/ecdsa/client.key`, 0o600); // a secret: roam refuses a key others can read
    copyFileSync(stage.pki.ca.cert, `${dir}/x509ca/ca.pem`);
    writeFileSync(`${dir}/swanctl.conf`, conf("ca.pem"), { mode: 0o600 });
    return `${dir}/swanctl.conf`;
  }

  /** Connects profile `name`, pings `host` through the tunnel, disconnects; the gateway's SA meanwhile. */
  const connectAndPing = (name: string, host: string) => {
    const up = roam(["connect", name, "--background"]);
    expect(up.code, up.stderr).toBe(0);
    try {
      expect(ping(host)).toBe(true);
      const sas = listSas(stage.gateway);
      expect(sas.length).toBe(1);
      return sas[0]!;
    } finally {
      expect(roam(["disconnect"]).code).toBe(0);
    }
  };

  test("a cert profile imported from swanctl.conf: `roam connect NAME`, ping, the gateway's cert connection", async () => {
    const id = `laptop@${CERT_CLIENT_DOMAIN}`;
    const conf = swanctlDir("cert-profile", id, (ca) =>
      `connections {\n  laptop {\n    remote_addrs = ${NET.gateway}\n    vips = 0.0.0.0\n` +
        `    local {\n      auth = pubkey\n      certs = client.pem\n      id = ${id}\n    }\n` +
        `    remote {\n      auth = pubkey\n      id = ${stage.creds.gatewayId}\n      cacerts = ${ca}\n    }\n` +
        `    children {\n      corp {\n        remote_ts = 0.0.0.0/0\n      }\n    }\n  }\n}\n` +
        `secrets {\n  ecdsa-laptop {\n    file = client.key\n  }\n}\n`,
    );
    const imp = roam(["import", conf]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(roam(["profiles", "show", "laptop", "--json"]).stdout).auth).toBe("cert");
    const sa = connectAndPing("laptop", NET.corpAServer);
    expect([sa.name, sa.remoteId]).toEqual([CONN.cert, id]);
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
    expectClean();
  }, 60_000);

  test("a cert+eap profile imported from swanctl.conf (local-1 pubkey, local-2 eap-mschapv2): both rounds, ping", async () => {
    const id = `laptop@${CERT_EAP_CLIENT_DOMAIN}`;
    const conf = swanctlDir("certeap-profile", id, (ca) =>
      `connections {\n  two-rounds {\n    remote_addrs = ${NET.gateway}\n    vips = 0.0.0.0\n` +
        `    local-1 {\n      auth = pubkey\n      certs = client.pem\n      id = ${id}\n    }\n` +
        `    local-2 {\n      auth = eap-mschapv2\n      eap_id = ${stage.creds.eapUser}\n    }\n` +
        `    remote-1 {\n      auth = pubkey\n      id = ${stage.creds.gatewayId}\n      cacerts = ${ca}\n    }\n` +
        `    children {\n      corp {\n        remote_ts = 0.0.0.0/0\n      }\n    }\n  }\n}\n` +
        `secrets {\n  eap-${stage.creds.eapUser} {\n    id = ${stage.creds.eapUser}\n    secret = "${stage.creds.eapPassword}"\n  }\n  ecdsa-laptop {\n    file = client.key\n  }\n}\n`,
    );
    const imp = roam(["import", conf]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(roam(["profiles", "show", "two-rounds", "--json"]).stdout).auth).toBe("cert+eap");
    // The password comes from the profile's secrets file (imported from the secrets section).
    const sa = connectAndPing("two-rounds", NET.corpBServer);
    expect(sa.name).toBe(CONN.certEap);
    // strongSwan authenticated the certificate round, then the EAP round (RFC 4739).
    const log = stage.gateway.log();
    expect(log).toMatch(new RegExp(`authentication of '${id.replace(/[.]/g, "\\.")}' with ECDSA[^\\n]*successful`));
    expect(log).toMatch(/EAP method EAP_MSCHAPV2 succeeded/);
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
    expectClean();
  }, 60_000);

  test("cert+eap by flags: --cert/--key with --eap-identity --password-stdin, RSA client key", async () => {
    const id = `desk@${CERT_EAP_CLIENT_DOMAIN}`;
    const c = issueClientCert(stage.pki, "certeap-flags", id, "rsa", stage.pki.ca);
    const args = ["connect", "--gateway", NET.gateway, "--remote-id", stage.creds.gatewayId, "--ca", stage.pki.ca.cert, "--cert", c.cert, "--key", c.key, "--id", id];
    const up = roam([...args, "--eap-identity", stage.creds.eapUser, "--password-stdin", "--background"], `${stage.creds.eapPassword}\n`);
    expect(up.code, up.stderr).toBe(0);
    try {
      expect(ping(NET.corpAServer)).toBe(true);
      const sas = listSas(stage.gateway);
      expect(sas.map((s) => s.name), JSON.stringify(sas)).toEqual([CONN.certEap]);
      expect(stage.gateway.log()).toMatch(new RegExp(`authentication of '${id.replace(/[.]/g, "\\.")}' with RSA[^\\n]*successful`));
    } finally {
      expect(roam(["disconnect"]).code).toBe(0);
    }
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
    expectClean();
  }, 60_000);

  test("a cert+eap .mobileconfig (Certificate + ExtendedAuthEnabled, key in a PKCS#12 payload): `roam connect NAME`, the passphrase then the EAP password on stdin", async () => {
    const id = `phone@${CERT_EAP_CLIENT_DOMAIN}`;
    const c = issueClientCert(stage.pki, "certeap-apple", id, "ecdsa", stage.pki.ca);
    const p12 = `${stage.dir}/certeap-apple.p12`;
    const passphrase = "apple p12 pass";
    mustRun(["openssl", "pkcs12", "-export", "-inkey", c.key, "-in", c.cert, "-passout", `pass:${passphrase}`, "-out", p12]);
    const b64 = (f: string) => readFileSync(f).toString("base64");
    // No Password in the PKCS#12 payload and no AuthPassword: both secrets come from --password-stdin.
    const plist = `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>PayloadType</key><string>Configuration</string>
<key>PayloadUUID</key><string>9E0A44C1-0000-4000-8000-000000000001</string>
<key>PayloadContent</key><array>
 <dict><key>PayloadType</key><string>com.apple.security.root</string><key>PayloadUUID</key><string>9E0A44C1-0000-4000-8000-000000000002</string>
  <key>PayloadContent</key><data>${b64(stage.pki.ca.certDer)}</data></dict>
 <dict><key>PayloadType</key><string>com.apple.security.pkcs12</string><key>PayloadUUID</key><string>9E0A44C1-0000-4000-8000-000000000003</string>
  <key>PayloadContent</key><data>${b64(p12)}</data></dict>
 <dict><key>PayloadType</key><string>com.apple.vpn.managed</string><key>PayloadUUID</key><string>9E0A44C1-0000-4000-8000-000000000004</string>
  <key>UserDefinedName</key><string>Apple two rounds</string><key>VPNType</key><string>IKEv2</string>
  <key>IKEv2</key><dict>
   <key>RemoteAddress</key><string>${NET.gateway}</string><key>RemoteIdentifier</key><string>${stage.creds.gatewayId}</string>
   <key>LocalIdentifier</key><string>${id}</string><key>AuthenticationMethod</key><string>Certificate</string>
   <key>ExtendedAuthEnabled</key><true/><key>AuthName</key><string>${stage.creds.eapUser}</string>
   <key>PayloadCertificateUUID</key><string>9E0A44C1-0000-4000-8000-000000000003</string><key>DisableMOBIKE</key><integer>1</integer>
  </dict></dict>
</array></dict></plist>
`;
    const file = `${stage.dir}/two-rounds.mobileconfig`;
    writeFileSync(file, plist);
    const imp = roam(["import", file]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(roam(["profiles", "show", "Apple-two-rounds", "--json"]).stdout).auth).toBe("cert+eap");
    const up = roam(["connect", "Apple-two-rounds", "--password-stdin", "--background"], `${passphrase}\n${stage.creds.eapPassword}\n`);
    expect(up.code, up.stderr).toBe(0);
    try {
      expect(ping(NET.corpBServer)).toBe(true);
      expect(listSas(stage.gateway).map((s) => s.name)).toEqual([CONN.certEap]);
    } finally {
      expect(roam(["disconnect"]).code).toBe(0);
    }
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
    expectClean();
  }, 60_000);

  test("the cert+eap profile with the right certificate and a wrong password: exit 4, one line, host clean, gateway clean", async () => {
    await waitFor("no IKE SA left from the tests before", () => listSas(stage.gateway).length === 0, 5_000);
    // --password-stdin beats the profile's secrets file.
    const bad = roam(["connect", "two-rounds", "--password-stdin", "--background"], "not-the-password\n");
    expect(bad.code, bad.stderr).toBe(4);
    expect(bad.stderr.trim().split("\n").at(-1)).toBe(
      "roam: authentication failed: the gateway refused the EAP credentials: authentication failure (wrong user name or password) (MS-CHAPv2 E=691 ERROR_AUTHENTICATION_FAILURE)",
    );
    // The certificate round passed; the EAP round refused the password.
    expect(stage.gateway.log()).toMatch(/EAP-MS-CHAPv2 verification failed/);
    expectClean();
    // RFC 4739 second round: our Failure Response ends EAP with EAP-Failure and the gateway destroys the IKE
    // SA at once, instead of keeping it CONNECTING until its half-open timeout.
    await waitFor("the gateway to forget the refused IKE SA", () => listSas(stage.gateway).length === 0, 2_000);
  }, 60_000);
});
