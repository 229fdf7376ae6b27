// Path faults on the stage's NAT box, and a UDP probe that shows what crosses it.
//
// dropIpFragments: the NAT namespace stops forwarding IPv4 datagrams that travel in fragments, like
// the broken middleboxes that make large IKE_AUTH messages vanish (RFC 7383 §1). Two rules, because
// the NAT box runs conntrack (MASQUERADE), whose defragmenter (hook priority −400) reassembles
// fragments before any iptables table sees them (raw is −300), so FORWARD sees the whole datagram:
//   1. `-m length --length <MTU+1>:65535`: a datagram larger than every link's MTU can only have
//      arrived in fragments (and would leave in fragments again);
//   2. `-m u32 --u32 "4&0x3FFF=0x1:0x3FFF"`: MF set or a non-zero Fragment Offset (RFC 791 §3.1) —
//      fragments as such, should defragmentation ever be off. (`-f` would miss first fragments, and
//      `-m frag` is IPv6 only.)
// Both rules carry FRAGMENT_DROP_COMMENT; ipFragmentDropCount() reads their counters.

import { readIfExists, waitFor } from "./proc.ts";
import { IFACE, NET, type Topology } from "./topology.ts";

export const FRAGMENT_DROP_COMMENT = "roam-drop-ip-fragments";

/** The smallest MTU of the NAT box's two links. */
function natMtu(topo: Topology): number {
  const mtus = [IFACE.lan, IFACE.internet].map((ifname) => {
    const out = topo.mustExec(topo.names.nat, ["ip", "-o", "link", "show", "dev", ifname]);
    const m = /\bmtu (\d+)/.exec(out);
    if (!m) throw new Error(`no MTU for ${ifname} in: ${out}`);
    return Number(m[1]);
  });
  return Math.min(...mtus);
}

/** Installs the fragment-dropping rules in the NAT namespace's FORWARD chain (both directions). */
export function dropIpFragments(topo: Topology): void {
  const mtu = natMtu(topo);
  const rule = (...match: string[]): void => {
    topo.mustExec(topo.names.nat, ["iptables", "-I", "FORWARD", "1", ...match, "-m", "comment", "--comment", FRAGMENT_DROP_COMMENT, "-j", "DROP"]);
  };
  rule("-m", "u32", "--u32", "4&0x3FFF=0x1:0x3FFF");
  rule("-m", "length", "--length", `${mtu + 1}:65535`);
}

/** Packets dropped so far by the dropIpFragments() rules (0 when none are installed). */
export function ipFragmentDropCount(topo: Topology): number {
  const out = topo.mustExec(topo.names.nat, ["iptables", "-L", "FORWARD", "-v", "-x", "-n"]);
  return out
    .split("\n")
    .filter((l) => l.includes(FRAGMENT_DROP_COMMENT))
    .reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0);
}

const LISTENER = `
const dgram = require("node:dgram");
const s = dgram.createSocket("udp4");
s.on("message", (m) => console.log("got " + m.length));
s.bind(Number(process.argv[1]), () => console.log("ready"));
setTimeout(() => process.exit(0), Number(process.argv[2]));
`;

const SENDER = `
const dgram = require("node:dgram");
const s = dgram.createSocket("udp4");
const [host, port, ...sizes] = process.argv.slice(1);
(async () => {
  for (const n of sizes) {
    await new Promise((r, j) => s.send(Buffer.alloc(Number(n), 0x5a), Number(port), host, (e) => (e ? j(e) : r())));
    await new Promise((r) => setTimeout(r, 50));
  }
  s.close();
})();
`;

export interface UdpProbe {
  readonly fromNs: string;
  readonly toNs: string;
  readonly toAddress: string;
  readonly port?: number;
  /** UDP payload sizes to send, in order. */
  readonly sizes: readonly number[];
}

/**
 * Sends one datagram of each size from `fromNs` to `toAddress` (a listener in `toNs`) and returns the
 * sizes that arrived. Runs the same Bun that runs the tests.
 */
export async function udpProbe(topo: Topology, dir: string, p: UdpProbe): Promise<number[]> {
  const port = p.port ?? 9999;
  const log = `${dir}/udp-probe-${port}-${Date.now()}.log`;
  const listenMs = 3_000;
  const listener = topo.spawn(p.toNs, [process.execPath, "-e", LISTENER, `${port}`, `${listenMs}`], { logFile: log });
  await waitFor(`UDP probe listener on ${p.toAddress}:${port}`, () => readIfExists(log).includes("ready"), 5_000, 20);
  topo.mustExec(p.fromNs, [process.execPath, "-e", SENDER, p.toAddress, `${port}`, ...p.sizes.map(String)]);
  // Give the last datagram a moment, then stop listening.
  await new Promise((r) => setTimeout(r, 300));
  listener.kill("SIGKILL");
  await listener.exited;
  return [...readIfExists(log).matchAll(/^got (\d+)$/gm)].map((m) => Number(m[1]));
}

/**
 * The NAT box forgets every mapping (`conntrack -F`) and gives new UDP mappings source ports from
 * `ports`, so the gateway really sees the client from a new port afterwards (MASQUERADE would otherwise
 * pick the same port again once the old entry is gone). Needs the `conntrack` tool (install-deps.sh).
 */
export function remapNat(topo: Topology, ports = "20000-29999"): void {
  const nat = topo.names.nat;
  topo.mustExec(nat, ["iptables", "-t", "nat", "-I", "POSTROUTING", "1", "-o", IFACE.internet, "-p", "udp", "-j", "MASQUERADE", "--to-ports", ports]);
  topo.mustExec(nat, ["conntrack", "-F"]);
}

/**
 * The client moves to `to` on its LAN link (a new DHCP lease, say): the new address first, the old one
 * removed (promote_secondaries keeps the new one when the old primary goes), the default route through
 * the NAT box from the new address.
 */
export function moveClientAddress(topo: Topology, from: string, to: string): void {
  const c = topo.names.client;
  topo.mustExec(c, ["sysctl", "-qw", `net.ipv4.conf.${IFACE.lan}.promote_secondaries=1`]);
  topo.mustExec(c, ["ip", "addr", "add", `${to}/24`, "dev", IFACE.lan]);
  topo.mustExec(c, ["ip", "addr", "del", `${from}/24`, "dev", IFACE.lan]);
  topo.mustExec(c, ["ip", "route", "replace", "default", "via", NET.natLan, "src", to]);
}
