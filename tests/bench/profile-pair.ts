// Profiling helper for the data path (not a benchmark, not a test): `bun tests/bench/profile-pair.ts
// [--reverse] [--seconds N] [--offload]` (root). Starts the roam endpoint pair of datapath.ts, runs iperf3 TCP
// through it and, meanwhile, `perf record -g` on both endpoints; prints `perf report` (top symbols by
// shared object) and each endpoint's counters (drops by reason, UDP stats).

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { run } from "../interop/lib/proc.ts";
import { iperf } from "./lib/measure.ts";
import { createPair, PAIR } from "./lib/pair.ts";
import { startRoamPair } from "./lib/roam-pair.ts";

const args = process.argv.slice(2);
const reverse = args.includes("--reverse");
const offload = args.includes("--offload");
const seconds = Number(args[args.indexOf("--seconds") + 1] ?? 6) || 6;
const dir = mkdtempSync(`${tmpdir()}/roam-prof-`);
const pair = createPair();
try {
  pair.spawn(pair.right, ["iperf3", "-s"]);
  const { left, right } = await startRoamPair(pair, dir, "mmsg", offload);
  try {
    const perf = Bun.spawn(["perf", "record", "-g", "-o", `${dir}/perf.data`, "-p", `${left.pid},${right.pid}`, "--", "sleep", String(seconds - 1)], { stdout: "ignore", stderr: "ignore" });
    const r = await iperf(pair.exec, pair.left, PAIR.rightInner, { seconds, reverse });
    await perf.exited;
    console.log(`TCP ${reverse ? "←" : "→"} ${r.mbps.toFixed(0)} Mbit/s`);
    const rep = run(["perf", "report", "-i", `${dir}/perf.data`, "--no-children", "--sort", "dso,sym", "--stdio", "-g", "none", "--percent-limit", "0.7"]);
    console.log(rep.stdout.split("\n").filter((l) => l && !l.startsWith("#")).slice(0, 60).join("\n"));
  } finally {
    for (const e of [left, right]) console.log(`${e === left ? "left" : "right"}: ${await e.stop()}`);
  }
} finally {
  pair.destroy();
  writeFileSync(`${dir}/done`, "");
  console.log(`perf data in ${dir}`);
}
