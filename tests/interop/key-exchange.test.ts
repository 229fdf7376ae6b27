// roam's native key exchanges (platform/crypto/dh-native.ts, BoringSSL through node:crypto) against an
// unmodified strongSwan gateway, for the groups the other interop files do not negotiate: ECP 256, 384 and
// 521 (RFC 5903). X25519 is what every other file uses. The gateway's IKE proposals are narrowed to one
// group at a time (reloaded with --load-conns); roam connects, the tunnel carries a ping, and the gateway
// reports that group. A wrong g^ir would fail IKE_AUTH. One stage, about 20 s.
// Needs root and tests/interop/install-deps.sh; skipped with a message otherwise.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "./lib/proc.ts";
import { listSas } from "./lib/sas.ts";
import { clientRunFiles, createStage, interopUnavailable, type Stage } from "./lib/stage.ts";
import { NET } from "./lib/topology.ts";

const ROAM = join(import.meta.dir, "../../dist/roam");
const unavailable = interopUnavailable() ?? (existsSync(ROAM) ? undefined : "dist/roam is not built (run bun build.ts)");
if (unavailable !== undefined) console.warn(`SKIP tests/interop/key-exchange.test.ts: ${unavailable}`);

describe.skipIf(unavailable !== undefined)("roam's native key exchanges against strongSwan", () => {
  let stage: Stage;
  let runDir: string;
  let pskFile: string;
  let originalConf: string;

  const roam = (args: string[]) => stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, ...args], { timeoutMs: 60_000 });
  const ping = () => stage.topo.exec(stage.topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", NET.corpAServer]).code === 0;

  beforeAll(async () => {
    stage = await createStage();
    ({ runDir, pskFile } = clientRunFiles(stage));
    originalConf = readFileSync(stage.gateway.swanctlConf, "utf8");
  }, 60_000);
  afterAll(async () => {
    roam(["disconnect"]);
    await stage?.destroy();
  });

  for (const [group, strongswanName] of [
    ["ecp256", "ECP_256"],
    ["ecp384", "ECP_384"],
    ["ecp521", "ECP_521"],
  ] as const) {
    test(`IKE with ${group} (RFC 5903): connect, traffic, the gateway reports ${strongswanName}, disconnect`, async () => {
      const ike = `aes256gcm16-prfsha256-${group}`;
      // Connection-level IKE proposals only (4 spaces in); esp_proposals stay as they are.
      const conf = originalConf.replace(/^ {4}proposals = .*$/gm, `    proposals = ${ike}`);
      expect(conf).not.toBe(originalConf);
      writeFileSync(stage.gateway.swanctlConf, conf);
      stage.gateway.mustSwanctl(["--load-conns"]);
      const up = roam(["connect", "--gateway", NET.gateway, "--remote-id", stage.creds.gatewayId, "--id", stage.creds.pskClientId, "--psk-file", pskFile, "--ike", ike, "--background"]);
      expect(up.code, up.stderr).toBe(0);
      try {
        expect(ping()).toBe(true);
        const sas = listSas(stage.gateway).filter((s) => s.state === "ESTABLISHED");
        expect(sas.length).toBe(1);
        expect(sas[0]!.dhGroup).toBe(strongswanName);
      } finally {
        const down = roam(["disconnect"]);
        expect(down.code, down.stderr).toBe(0);
        await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 10_000);
      }
    });
  }
});
