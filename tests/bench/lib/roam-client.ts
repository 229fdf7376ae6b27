// The roam client's side of the interop stage for the benchmarks: its run directory (ROAM_RUN_DIR, 0700),
// the PSK in a 0600 file, the arguments of a PSK connect to the stage's gateway, and a ping through the tunnel.

import { mkdirSync, writeFileSync } from "node:fs";
import { PROPOSALS } from "../../interop/lib/configs.ts";
import type { Stage } from "../../interop/lib/stage.ts";
import { NET } from "../../interop/lib/topology.ts";

export interface RoamClientSetup {
  runDir: string;
  /**
   * `connect ...` with the stage's gateway, identities and PSK file, and the strongSwan client's suite
   * (PROPOSALS.ike[0], PROPOSALS.esp[0]): the comparison is between the same connections (foreground; add
   * --background).
   */
  connectArgs: string[];
  /** The same with roam's default proposals (every suite it supports offered). */
  defaultProposalArgs: string[];
}

export function roamClientSetup(stage: Stage): RoamClientSetup {
  const runDir = `${stage.dir}/roam-run`;
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const pskFile = `${stage.dir}/client.psk`;
  writeFileSync(pskFile, `${stage.creds.psk}\n`, { mode: 0o600 });
  const defaultProposalArgs = ["connect", "--gateway", NET.gateway, "--remote-id", stage.creds.gatewayId, "--id", stage.creds.pskClientId, "--psk-file", pskFile];
  return { runDir, connectArgs: [...defaultProposalArgs, "--ike", PROPOSALS.ike[0], "--esp", PROPOSALS.esp[0]], defaultProposalArgs };
}

/** One ping from the client to the corporate server (through the tunnel), waiting up to a second. */
export function pingCorp(stage: Stage): boolean {
  return stage.topo.exec(stage.topo.names.client, ["ping", "-n", "-c", "1", "-W", "1", NET.corpAServer], { timeoutMs: 5_000 }).code === 0;
}
