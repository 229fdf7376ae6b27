// The interop stage: five network namespaces joined by veth links (see tests/interop/README.md).
//
//   client ──lan0── nat (MASQUERADE) ──inet0── gw ──corp1── corp-a (203.0.113.10, .53)
//   198.18.1.2      198.18.1.1 | 192.0.2.2      192.0.2.1 ──corp2── corp-b (198.51.100.10)
//
// The gateway forwards only between its libipsec TUN (ipsec*) and its corporate links; every other
// forwarded packet hits a counted DROP rule, so nothing reaches a corporate host in cleartext.
// Only namespaces created here are touched; all are named roam-<role>-<pid>-<tag>.

import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { mustRun, onCleanup, pidAlive, run, type RunOptions, type RunResult } from "./proc.ts";

/** Addresses and interface names of the stage; a roam client under test will need these. */
export const NET = {
  clientLan: "198.18.1.0/24",
  client: "198.18.1.2",
  natLan: "198.18.1.1",
  natInternet: "192.0.2.2",
  internet: "192.0.2.0/24",
  gateway: "192.0.2.1",
  corpA: "203.0.113.0/24",
  corpAGateway: "203.0.113.1",
  corpAServer: "203.0.113.10",
  dns: "203.0.113.53",
  corpB: "198.51.100.0/24",
  corpBGateway: "198.51.100.1",
  corpBServer: "198.51.100.10",
  vipPool: "198.19.0.0/24",
} as const;

/** Interface names: `lan0` client↔nat, `inet0` nat↔gw ("the internet"), `corp1`/`corp2` gw↔corp hosts. */
export const IFACE = { lan: "lan0", internet: "inet0", corpA: "corp1", corpB: "corp2", corpHost: "eth0" } as const;

/** Comment on the gateway's iptables rule that drops cleartext forwarding (its counter is read by tests). */
export const HONEST_DROP_COMMENT = "roam-honest-drop";

export interface NamespaceNames {
  readonly client: string;
  readonly nat: string;
  readonly gateway: string;
  readonly corpA: string;
  readonly corpB: string;
}

export interface SpawnOptions {
  readonly env?: Record<string, string>;
  /** File that receives stdout and stderr (default: discarded). */
  readonly logFile?: string;
}

export interface Topology {
  readonly names: NamespaceNames;
  /** Runs argv inside namespace `ns` (through `ip netns exec`, so /etc/netns/NS/* is bind-mounted). */
  exec(ns: string, argv: readonly string[], opts?: RunOptions): RunResult;
  /** Like exec, but throws with the command's stderr when it exits non-zero; returns stdout. */
  mustExec(ns: string, argv: readonly string[], opts?: RunOptions): string;
  /** Starts a long-running argv inside `ns`; the process is killed by destroy() if still alive. */
  spawn(ns: string, argv: readonly string[], opts?: SpawnOptions): Bun.Subprocess;
  /** Packets counted by the gateway's cleartext DROP rule so far. */
  honestDropCount(): number;
  /** Kills every process left in the namespaces, deletes them and /etc/netns/NAME. Idempotent. */
  destroy(): void;
}

const NETNS_ETC = "/etc/netns";

export function createTopology(): Topology {
  const tag = `${process.pid}-${Math.floor(Math.random() * 0x10000).toString(16)}`;
  const names: NamespaceNames = {
    client: `roam-c-${tag}`,
    nat: `roam-n-${tag}`,
    gateway: `roam-g-${tag}`,
    corpA: `roam-a-${tag}`,
    corpB: `roam-b-${tag}`,
  };
  const all = Object.values(names) as string[];
  const created: string[] = [];
  let destroyed = false;

  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    for (const ns of created) killAllIn(ns);
    for (const ns of created) {
      run(["ip", "netns", "del", ns]);
      rmSync(`${NETNS_ETC}/${ns}`, { recursive: true, force: true });
    }
  };
  const unregister = onCleanup(destroy);

  const exec = (ns: string, argv: readonly string[], opts?: RunOptions): RunResult =>
    run(["ip", "netns", "exec", ns, ...argv], opts);
  const mustExec = (ns: string, argv: readonly string[], opts?: RunOptions): string =>
    mustRun(["ip", "netns", "exec", ns, ...argv], opts);

  try {
    for (const ns of all) {
      mustRun(["ip", "netns", "add", ns]);
      created.push(ns);
      mustRun(["ip", "-n", ns, "link", "set", "lo", "up"]);
      // The stage is IPv4 only: no IPv6 link-local chatter (router solicitations) on captured links.
      mustRun(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
    }
    // The client gets its own resolv.conf: `ip netns exec` bind-mounts it over /etc/resolv.conf.
    mkdirSync(`${NETNS_ETC}/${names.client}`, { recursive: true });
    writeFileSync(`${NETNS_ETC}/${names.client}/resolv.conf`, `# roam interop client namespace\nnameserver ${NET.natLan}\n`);

    veth(names.client, IFACE.lan, `${NET.client}/24`, names.nat, IFACE.lan, `${NET.natLan}/24`);
    veth(names.nat, IFACE.internet, `${NET.natInternet}/24`, names.gateway, IFACE.internet, `${NET.gateway}/24`);
    veth(names.gateway, IFACE.corpA, `${NET.corpAGateway}/24`, names.corpA, IFACE.corpHost, `${NET.corpAServer}/24`);
    veth(names.gateway, IFACE.corpB, `${NET.corpBGateway}/24`, names.corpB, IFACE.corpHost, `${NET.corpBServer}/24`);
    mustRun(["ip", "-n", names.corpA, "addr", "add", `${NET.dns}/24`, "dev", IFACE.corpHost]);

    // Client LAN: everything goes to the NAT box.
    mustRun(["ip", "-n", names.client, "route", "add", "default", "via", NET.natLan]);
    // NAT box: forwards, masquerades out of the internet link; its "internet" default is the gateway,
    // so cleartext to a corporate address really reaches the gateway and is dropped there, not here.
    mustExec(names.nat, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    mustRun(["ip", "-n", names.nat, "route", "add", "default", "via", NET.gateway]);
    mustExec(names.nat, ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", IFACE.internet, "-j", "MASQUERADE"]);
    // Corporate hosts answer everything (the virtual IP pool included) through the gateway.
    mustRun(["ip", "-n", names.corpA, "route", "add", "default", "via", NET.corpAGateway]);
    mustRun(["ip", "-n", names.corpB, "route", "add", "default", "via", NET.corpBGateway]);

    // Gateway: forwarding on, but only decapsulated traffic (libipsec TUN ipsec*) to/from the corporate links.
    mustExec(names.gateway, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    const fw = (...args: string[]) => mustExec(names.gateway, ["iptables", ...args]);
    fw("-P", "FORWARD", "DROP");
    for (const corp of [IFACE.corpA, IFACE.corpB]) {
      fw("-A", "FORWARD", "-i", "ipsec+", "-o", corp, "-j", "ACCEPT");
      fw("-A", "FORWARD", "-i", corp, "-o", "ipsec+", "-j", "ACCEPT");
    }
    fw("-A", "FORWARD", "-m", "comment", "--comment", HONEST_DROP_COMMENT, "-j", "DROP");
  } catch (e) {
    unregister();
    throw e;
  }

  return {
    names,
    exec,
    mustExec,
    spawn(ns, argv, opts = {}) {
      // One shared fd for stdout and stderr (two Bun.file targets would overwrite each other).
      const fd = opts.logFile === undefined ? undefined : openSync(opts.logFile, "a");
      try {
        return Bun.spawn(["ip", "netns", "exec", ns, ...argv], {
          env: { ...process.env, ...opts.env },
          stdin: "ignore",
          stdout: fd ?? "ignore",
          stderr: fd ?? "ignore",
        });
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    },
    honestDropCount() {
      const out = mustExec(names.gateway, ["iptables", "-L", "FORWARD", "-v", "-x", "-n"]);
      const line = out.split("\n").find((l) => l.includes(HONEST_DROP_COMMENT));
      const pkts = line === undefined ? Number.NaN : Number(line.trim().split(/\s+/)[0]);
      if (!Number.isInteger(pkts)) throw new Error(`no "${HONEST_DROP_COMMENT}" rule counter in:\n${out}`);
      return pkts;
    },
    destroy: unregister,
  };
}

function veth(nsA: string, ifA: string, addrA: string, nsB: string, ifB: string, addrB: string): void {
  mustRun(["ip", "link", "add", "name", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB]);
  mustRun(["ip", "-n", nsA, "addr", "add", addrA, "dev", ifA]);
  mustRun(["ip", "-n", nsB, "addr", "add", addrB, "dev", ifB]);
  mustRun(["ip", "-n", nsA, "link", "set", ifA, "up"]);
  mustRun(["ip", "-n", nsB, "link", "set", ifB, "up"]);
}

/** SIGKILLs every process still inside namespace `ns` (only processes this run started live there). */
export function killAllIn(ns: string): void {
  const pids = run(["ip", "netns", "pids", ns]).stdout.split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  const deadline = performance.now() + 2_000;
  while (pids.some(pidAlive) && performance.now() < deadline) Bun.sleepSync(10);
}

/** Namespaces whose name starts with `roam-` (for leak checks). */
export function listRoamNamespaces(): string[] {
  return run(["ip", "netns", "list"])
    .stdout.split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith("roam-"));
}
