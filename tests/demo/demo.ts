// The demo: everything a newcomer needs to see roam work, on a machine with no gateway of its own.
//
//   client (roam) ── NAT ── "internet" ── strongSwan gateway ── corporate LANs 203.0.113.0/24, 198.51.100.0/24
//
// It creates the namespaces, starts an unmodified strongSwan gateway, connects with dist/roam (PSK),
// shows `roam status`, pings both corporate servers through the tunnel, disconnects, and removes it all.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createStage, interopUnavailable } from "../interop/lib/stage.ts";
import { NET } from "../interop/lib/topology.ts";

const ROAM = join(import.meta.dir, "../../dist/roam");
const why = interopUnavailable();
if (why) {
  console.error(`demo: cannot run: ${why}`);
  process.exit(2);
}

const step = (s: string) => console.log(`\n\x1b[1m== ${s}\x1b[0m`);
step("creating the namespaces and starting a strongSwan gateway at 192.0.2.1 (behind it: 203.0.113.0/24, 198.51.100.0/24)");
const stage = await createStage();
let failed = false;
try {
  const run = (argv: string[], stdin?: string) => {
    console.log(`$ ${argv.join(" ")}`);
    const r = stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ...argv], { stdin, timeoutMs: 60_000 });
    process.stdout.write(r.stdout);
    process.stdout.write(r.stderr);
    return r.code;
  };
  const runDir = `${stage.dir}/roam-run`;
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const psk = `${stage.dir}/demo.psk`;
  writeFileSync(psk, `${stage.creds.psk}\n`, { mode: 0o600 });

  step("connecting with roam from the client namespace (198.18.1.2, behind NAT)");
  const up = run([ROAM, "connect", "--gateway", NET.gateway, "--remote-id", stage.creds.gatewayId, "--id", stage.creds.pskClientId, "--psk-file", psk, "--background"]);
  if (up !== 0) throw new Error(`roam connect exited ${up}`);

  step("roam status");
  run([ROAM, "status"]);

  step("pinging the corporate servers through the tunnel");
  for (const host of [NET.corpAServer, NET.corpBServer]) {
    if (run(["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", host]) !== 0) throw new Error(`ping ${host} failed`);
  }

  step("the gateway's view (swanctl --list-sas)");
  process.stdout.write(stage.gateway.mustSwanctl(["--list-sas"]));

  step("disconnecting");
  if (run([ROAM, "disconnect"]) !== 0) throw new Error("roam disconnect failed");
  run([ROAM, "status"]);
} catch (e) {
  failed = true;
  console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
} finally {
  step("removing the namespaces and the gateway");
  await stage.destroy();
}
console.log(failed ? "\ndemo: FAILED" : "\ndemo: done — the tunnel came up, carried traffic to both corporate LANs, and left nothing behind");
process.exit(failed ? 1 : 0);
