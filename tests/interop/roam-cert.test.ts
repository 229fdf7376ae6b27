// roam authenticating with a client certificate (RSA and ECDSA, RFC 7427 signature AUTH) to an unmodified
// strongSwan gateway behind NAT; a certificate from another CA is refused by the gateway.
// Needs root and tests/interop/install-deps.sh; skipped with a message otherwise.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { CERT_CLIENT_DOMAIN, CONN } from "./lib/configs.ts";
import { issueClientCert } from "./lib/pki.ts";
import { waitFor } from "./lib/proc.ts";
import { listSas } from "./lib/sas.ts";
import { createStage, interopUnavailable, type Stage } from "./lib/stage.ts";
import { NET } from "./lib/topology.ts";

const ROAM = join(import.meta.dir, "../../dist/roam");
const unavailable = interopUnavailable() ?? (existsSync(ROAM) ? undefined : "dist/roam is not built (run bun build.ts)");
if (unavailable !== undefined) console.warn(`SKIP tests/interop/roam-cert.test.ts: ${unavailable}`);

describe.skipIf(unavailable !== undefined)("roam with a client certificate against strongSwan", () => {
  let stage: Stage;
  let runDir: string;
  beforeAll(async () => {
    stage = await createStage();
    runDir = `${stage.dir}/roam-run`;
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
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
});
