// The roam client's side of the interop stage for the benchmarks: its run directory (ROAM_RUN_DIR, 0700),
// the PSK in a 0600 file, the arguments of a PSK connect to the stage's gateway, and a ping through the tunnel.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { PROPOSALS } from "../../interop/lib/configs.ts";
import { waitFor } from "../../interop/lib/proc.ts";
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

/**
 * Starts `bin service` in the client's namespace with `runDir` (its output in `${runDir}/service.log`) and
 * resolves once it listens and has finished its rehearsals (cli/service-rehearsal.ts): connects measured
 * before would share the machine with them. `rehearses: false` (an executable from before the rehearsals)
 * waits for the socket only.
 */
export async function startRoamService(stage: Stage, bin: string, runDir: string, rehearses = true): Promise<Bun.Subprocess> {
  const log = `${runDir}/service.log`;
  const p = stage.topo.spawn(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, bin, "service"], { logFile: log });
  await waitFor(`${bin} service to listen`, () => existsSync(`${runDir}/service.sock`), 10_000);
  if (rehearses) {
    await waitFor(`${bin} service to finish its rehearsals (${log})`, () => {
      const text = existsSync(log) ? readFileSync(log, "utf8") : "";
      if (text.includes("rehearsal stopped")) throw new Error(`${bin} service: ${text.trim().split("\n").at(-1)}`);
      return text.includes("rehearsed ");
    }, 30_000);
  }
  return p;
}
