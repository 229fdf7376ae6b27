// Connect-time A/B (issue 6), not a test: `bun tests/bench/connect-ab.ts [--samples N] [--service] BIN_A
// BIN_B ...` (root). On the interop stage, runs `BIN connect ... --background` then one ping through the tunnel,
// alternating the executables sample by sample so that each sees the same machine load, and prints each
// one's median and spread of milliseconds from spawning `ip netns exec` to the ping's reply. For comparing
// two builds of roam (e.g. `git stash; bun build.ts; cp dist/roam /tmp/roam-a; git stash pop; bun build.ts`),
// which the full benchmark's separate runs cannot do on a machine whose speed drifts by 20-30% in minutes.
// --service: each executable's `roam service` runs (a run directory each) and takes its connects, once it
// has finished its rehearsals (--no-rehearsal=BIN for an executable from before them); the first connect
// of each is not counted.

import { mkdirSync } from "node:fs";
import { createStage } from "../interop/lib/stage.ts";
import { median } from "./lib/measure.ts";
import { pingCorp, roamClientSetup, startRoamService } from "./lib/roam-client.ts";

const args = process.argv.slice(2);
const at = args.indexOf("--samples");
const samples = at >= 0 ? Number(args[at + 1]) : 12;
const withService = args.includes("--service");
// --no-rehearsal=BIN: an executable from before the service's rehearsals (do not wait for them).
const noRehearsal = new Set(args.filter((a) => a.startsWith("--no-rehearsal=")).map((a) => a.slice("--no-rehearsal=".length)));
const bins = args.filter((a, i) => a !== "--service" && !a.startsWith("--no-rehearsal=") && (at < 0 || (i !== at && i !== at + 1)));
if (bins.length < 1 || !Number.isInteger(samples) || samples < 1) {
  console.error("usage: bun tests/bench/connect-ab.ts [--samples N] [--service] [--no-rehearsal=BIN] ROAM_EXECUTABLE...");
  process.exit(2);
}

const stage = await createStage();
const services: Bun.Subprocess[] = [];
try {
  const { topo } = stage;
  const { runDir, connectArgs } = roamClientSetup(stage);
  // With --service, a run directory (and so a service socket) per executable.
  const dirOf = new Map(bins.map((b, i) => [b, withService ? `${runDir}-${i}` : runDir]));
  const roam = (bin: string, a: string[]) => topo.exec(topo.names.client, ["env", `ROAM_RUN_DIR=${dirOf.get(bin)}`, bin, ...a], { timeoutMs: 60_000 });
  const ms = new Map<string, number[]>(bins.map((b) => [b, []]));
  if (withService) {
    for (const bin of bins) {
      const dir = dirOf.get(bin)!;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      services.push(await startRoamService(stage, bin, dir, !noRehearsal.has(bin)));
      // The first connect of a service is not a sample.
      if (roam(bin, [...connectArgs, "--background"]).code !== 0) throw new Error(`${bin}: no tunnel through its service`);
      roam(bin, ["disconnect"]);
    }
  }
  for (let i = 0; i < samples; i++) {
    for (const bin of bins) {
      for (const other of withService ? bins : [bin]) roam(other, ["disconnect"]);
      await Bun.sleep(250);
      const t0 = performance.now();
      const r = roam(bin, [...connectArgs, "--background"]);
      if (r.code !== 0 || !pingCorp(stage)) throw new Error(`${bin}: no tunnel (exit ${r.code}): ${r.stderr.slice(-500)}`);
      ms.get(bin)!.push(performance.now() - t0);
    }
  }
  for (const [bin, v] of ms) {
    const sorted = [...v].sort((a, b) => a - b);
    console.log(`${bin}: median ${median(v).toFixed(1)} ms (${sorted[0]!.toFixed(0)}–${sorted.at(-1)!.toFixed(0)}), ${samples} samples`);
  }
  for (const bin of bins) roam(bin, ["disconnect"]);
} finally {
  for (const p of services) p.kill("SIGTERM");
  await Promise.race([Promise.all(services.map((p) => p.exited)), Bun.sleep(5_000)]);
  for (const p of services) p.kill("SIGKILL");
  await stage.destroy();
}
