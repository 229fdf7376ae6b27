// Profiling helper for connect time (not a benchmark, not a test): `bun tests/bench/profile-connect.ts
// [--samples N] [--cpu-prof DIR]` (root; dist/roam built). On the interop stage, runs `roam connect` in the
// foreground N times and prints, per sample, the milliseconds from process start at which each progress
// line appeared and the first ping through the tunnel answered (each ping is one `ip netns exec ping`
// process, so the first reply is stamped up to a few ms late). --cpu-prof DIR runs the sources under Bun's profiler instead.

import { join } from "node:path";
import { createStage } from "../interop/lib/stage.ts";
import { NET } from "../interop/lib/topology.ts";
import { roamClientSetup } from "./lib/roam-client.ts";

const args = process.argv.slice(2);
const samples = Number(args[args.indexOf("--samples") + 1] ?? 3) || 3;
const ROAM = join(import.meta.dir, "../../dist/roam");
// --cpu-prof DIR: run the sources under `bun --cpu-prof-md` instead of dist/roam (a markdown profile per run).
const profDir = args.includes("--cpu-prof") ? args[args.indexOf("--cpu-prof") + 1] : undefined;

const stage = await createStage();
try {
  const { topo } = stage;
  const { runDir, connectArgs } = roamClientSetup(stage);
  const roamArgv = profDir ? [process.execPath, "--cpu-prof-md", `--cpu-prof-dir=${profDir}`, "--cpu-prof-interval=200", join(import.meta.dir, "../../cli/main.ts")] : [ROAM];
  const connectArgv = [...roamArgv, ...connectArgs];
  const once = async (wrap: string[]): Promise<string[]> => {
    const lines: string[] = [];
    const t0 = performance.now();
    const at = () => (performance.now() - t0).toFixed(0).padStart(5);
    const proc = Bun.spawn(["ip", "netns", "exec", topo.names.client, "env", `ROAM_RUN_DIR=${runDir}`, ...wrap, ...connectArgv], { stdout: "ignore", stderr: "pipe" });
    const reader = proc.stderr.getReader();
    const dec = new TextDecoder();
    let pinged = false;
    const pinger = (async () => {
      for (let i = 0; i < 400 && !pinged; i++) {
        // Spawned asynchronously so that the stderr reader keeps stamping progress lines meanwhile.
        const p = Bun.spawn(["ip", "netns", "exec", topo.names.client, "ping", "-n", "-c", "1", "-W", "0.05", NET.corpAServer], { stdout: "ignore", stderr: "ignore" });
        if ((await p.exited) === 0) {
          pinged = true;
          lines.push(`${at()} ms  first ping reply`);
        }
        await Bun.sleep(2);
      }
    })();
    let text = "";
    while (!pinged) {
      const c = await Promise.race([reader.read(), Bun.sleep(100).then(() => null)]);
      if (c === null) continue;
      if (c.done) break;
      text += dec.decode(c.value);
      let nl: number;
      while ((nl = text.indexOf("\n")) >= 0) {
        lines.push(`${at()} ms  ${text.slice(0, nl)}`);
        text = text.slice(nl + 1);
      }
    }
    await pinger;
    proc.kill("SIGTERM");
    await proc.exited;
    return lines;
  };
  for (let i = 0; i < samples; i++) {
    console.log(`--- sample ${i + 1}`);
    console.log((await once([])).join("\n"));
    await Bun.sleep(300);
  }
} finally {
  await stage.destroy();
}
