// Loss and delay on the internet path without netem (see udp-relay.ts): starts the relay in the NAT
// namespace and points the client's UDP for the gateway at it with iptables REDIRECT; stop() removes
// both. Only traffic to the gateway's IKE/NAT-T ports is affected (that is all the tunnel sends).
import { readIfExists, waitFor } from "./proc.ts";
import { IFACE, NET, type Topology } from "./topology.ts";

export interface LossyPath {
  /** Datagrams passed on and dropped so far (both directions), from the relay's last stats line. */
  stats(): { forwarded: number; dropped: number };
  stop(): Promise<void>;
}

const LISTEN = { 500: 15500, 4500: 14500 } as const;

export async function startLossyPath(topo: Topology, dir: string, o: { delayMs: number; lossPercent: number; seed: number }): Promise<LossyPath> {
  const nat = topo.names.nat;
  const log = `${dir}/udp-relay-${Date.now()}.log`;
  const proc = topo.spawn(nat, [process.execPath, `${import.meta.dir}/udp-relay.ts`, NET.gateway, `${o.delayMs}`, `${o.lossPercent}`, `${o.seed}`, `${LISTEN[500]}`, `${LISTEN[4500]}`], { logFile: log });
  const rules = ([500, 4500] as const).map((port) => ["PREROUTING", "-i", IFACE.lan, "-p", "udp", "-d", NET.gateway, "--dport", `${port}`, "-j", "REDIRECT", "--to-ports", `${LISTEN[port]}`]);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const r of rules) topo.exec(nat, ["iptables", "-t", "nat", "-D", ...r]);
    // Mappings made through the relay must not outlive it.
    topo.exec(nat, ["conntrack", "-F"]);
    proc.kill("SIGKILL");
    await proc.exited;
  };
  try {
    await waitFor("the UDP relay to listen", () => (readIfExists(log).match(/^listening/gm) ?? []).length === 2, 10_000, 20);
    for (const r of rules) topo.mustExec(nat, ["iptables", "-t", "nat", "-A", ...r]);
    // Existing mappings would keep going around the relay.
    topo.mustExec(nat, ["conntrack", "-F"]);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    stats() {
      const m = [...readIfExists(log).matchAll(/^stats forwarded (\d+) dropped (\d+)$/gm)].at(-1);
      return { forwarded: Number(m?.[1] ?? 0), dropped: Number(m?.[2] ?? 0) };
    },
    stop,
  };
}
