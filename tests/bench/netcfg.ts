// Host configuration benchmark (issue 6, connect time), not a test: `bun tests/bench/netcfg.ts [--quick]`
// (root). In a private namespace with a TUN, times what `roam connect` does to the host after IKE_AUTH
// (MTU, link up, the virtual IP, two routes: the interop stage's PSK connect) and what `roam disconnect`
// undoes, through rtnetlink (platform/linux/netcfg.ts + rtnl.ts, the socket opened in the namespace) and,
// as the reference measured in the same run, through the `ip` processes roam spawned before: the same
// seven commands on connect and five on undo, run with the old runner (Bun.spawnSync, LC_ALL=C).

import { Journal } from "../../platform/linux/journal.ts";
import { applyAddressing, LinuxNetConfig } from "../../platform/linux/netcfg.ts";
import { Rtnl } from "../../platform/linux/rtnl.ts";
import { runChecked, spawnRunner } from "../../platform/linux/run.ts";
import { median } from "./lib/measure.ts";

if (process.getuid?.() !== 0) {
  console.error("netcfg bench: needs root (a network namespace and a TUN)");
  process.exit(2);
}
const samples = process.argv.includes("--quick") ? 10 : 50;
const ns = `roam-bench-netcfg-${process.pid}`;
const dev = "roamb0";
const addressing = { ip4: ["198.19.0.1"], ip6: [], routes: ["203.0.113.0/24", "198.51.100.0/24"] };

const ip = (...args: string[]): string => runChecked(spawnRunner, ["ip", ...args]);
/** The `ip` commands roam ran before, in order (setMtu and linkUp each read the link first). */
function spawnConnect(): void {
  const inNs = (...args: string[]): string => ip("-n", ns, ...args);
  JSON.parse(inNs("-j", "link", "show", "dev", dev));
  inNs("link", "set", "dev", dev, "mtu", "1400");
  JSON.parse(inNs("-j", "link", "show", "dev", dev));
  inNs("link", "set", "dev", dev, "up");
  inNs("address", "add", "198.19.0.1/32", "dev", dev);
  for (const r of addressing.routes) inNs("route", "add", r, "dev", dev);
}
function spawnUndo(): void {
  const inNs = (...args: string[]): string => ip("-n", ns, ...args);
  for (const r of [...addressing.routes].reverse()) inNs("route", "del", r, "dev", dev);
  inNs("address", "del", "198.19.0.1/32", "dev", dev);
  inNs("link", "set", "dev", dev, "down");
  inNs("link", "set", "dev", dev, "mtu", "1500");
}

ip("netns", "add", ns);
try {
  ip("-n", ns, "tuntap", "add", "dev", dev, "mode", "tun");
  const rtnl = Rtnl.openIn(ns);
  const journal = new Journal(null, { rtnl });
  const net = new LinuxNetConfig(journal);
  const times = { rtnlConnect: [] as number[], rtnlUndo: [] as number[], ipConnect: [] as number[], ipUndo: [] as number[] };
  const time = (into: number[], fn: () => void): void => {
    const t0 = performance.now();
    fn();
    into.push(performance.now() - t0);
  };
  // The qdisc is left out: the kernel attaches one the first time a link goes up and keeps it.
  const state = (): string => (ip("-n", ns, "-d", "address", "show") + ip("-n", ns, "route", "show", "table", "all")).replace(/ qdisc \S+/g, "");
  const before = state();
  for (let i = 0; i < samples; i++) {
    time(times.rtnlConnect, () => applyAddressing(net, dev, addressing, 1400));
    time(times.rtnlUndo, () => {
      const r = journal.undoAll();
      if (r.undone !== 5 || r.errors.length > 0) throw new Error(`undo: ${JSON.stringify(r)}`);
    });
    time(times.ipConnect, spawnConnect);
    time(times.ipUndo, spawnUndo);
  }
  rtnl.close();
  if (state() !== before) throw new Error("the namespace was not left as it was found");
  const ms = (xs: number[]): string => `${median(xs).toFixed(3).padStart(8)} ms`;
  console.log(`host configuration of a connect (MTU, up, 1 address, 2 routes) and its undo; median of ${samples}`);
  console.log(`  rtnetlink   connect ${ms(times.rtnlConnect)}   undo ${ms(times.rtnlUndo)}`);
  console.log(`  ip (spawn)  connect ${ms(times.ipConnect)}   undo ${ms(times.ipUndo)}   (reference: what roam did before)`);
} finally {
  spawnRunner(["ip", "netns", "del", ns]);
}
