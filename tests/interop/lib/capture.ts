// Packet capture on a link of the stage (usually the NAT's side of the internet link), for
// "no cleartext" checks: tcpdump writes a pcap; stop() reads it back with `tcpdump -r` into a list of
// packets (protocol, addresses, ports) and lets a test search the raw bytes for a marker.

import { readFileSync } from "node:fs";
import { readIfExists, sleep, stopPid, waitFor } from "./proc.ts";
import { IFACE, type Topology } from "./topology.ts";

/** Time given to tcpdump to write the last packets before it is stopped. */
const SETTLE_MS = 200;

export interface CapturedPacket {
  /** "udp", "tcp", "icmp", "esp", "arp" or "other". */
  readonly proto: string;
  readonly src: string;
  readonly dst: string;
  readonly sport: number | undefined;
  readonly dport: number | undefined;
  /** tcpdump's one-line summary. */
  readonly line: string;
}

export interface Capture {
  readonly pcapPath: string;
  /** Stops tcpdump (verified by pid) and returns the captured packets. */
  stop(): Promise<CapturedPacket[]>;
  /** True if `marker` occurs anywhere in the captured bytes (call after stop()). */
  containsBytes(marker: Uint8Array): boolean;
}

/** Starts tcpdump in `ns` on `iface` (default: the internet link) writing every full packet to `pcapPath`. */
export async function startCapture(
  topo: Topology,
  pcapPath: string,
  ns: string = topo.names.nat,
  iface: string = IFACE.internet,
): Promise<Capture> {
  const logPath = `${pcapPath}.log`;
  // --immediate-mode: hand each packet to tcpdump at once (with the default 1 s ring-buffer timeout the
  // packets of the last second are lost when tcpdump is stopped); -U: write each packet as it arrives;
  // -s 0: whole packets; -n: no name lookups; -Z root: keep the right to write into our 0700 run
  // directory (Debian's tcpdump otherwise drops to user tcpdump).
  const argv = ["tcpdump", "-i", iface, "-n", "--immediate-mode", "-U", "-s", "0", "-Z", "root", "-w", pcapPath];
  const proc = topo.spawn(ns, argv, { logFile: logPath });
  const log = (): string => readIfExists(logPath);
  await waitFor(`tcpdump on ${ns}/${iface} to listen`, () => {
    if (proc.exitCode !== null) throw new Error(`tcpdump exited: ${log()}`);
    return log().includes("listening on");
  });
  let packets: CapturedPacket[] | undefined;
  return {
    pcapPath,
    async stop() {
      if (packets !== undefined) return packets;
      await sleep(SETTLE_MS);
      await stopPid(proc.pid);
      const r = topo.exec(ns, ["tcpdump", "-n", "-q", "-r", pcapPath]);
      if (r.code !== 0) throw new Error(`tcpdump -r ${pcapPath} failed: ${r.stderr}`);
      packets = r.stdout.split("\n").filter(Boolean).map(parseLine);
      return packets;
    },
    containsBytes(marker) {
      return indexOf(readFileSync(pcapPath), marker) >= 0;
    },
  };
}

/** Parses one `tcpdump -n -q` line: "HH:MM:SS.us IP a.b.c.d.PORT > e.f.g.h.PORT: UDP, length N". */
export function parseLine(line: string): CapturedPacket {
  const m = /^\S+ (IP6?|ARP),? (?:(\S+) > (\S+?):)?\s*(.*)$/.exec(line);
  if (m === null) return { proto: "other", src: "", dst: "", sport: undefined, dport: undefined, line };
  const [, family, a = "", b = "", rest = ""] = m;
  if (family === "ARP") return { proto: "arp", src: "", dst: "", sport: undefined, dport: undefined, line };
  const split = (hp: string): [string, number | undefined] => {
    const parts = /^(\d+\.\d+\.\d+\.\d+)\.(\d+)$/.exec(hp);
    return parts === null ? [hp, undefined] : [parts[1] ?? "", Number(parts[2])];
  };
  const [src, sport] = split(a);
  const [dst, dport] = split(b);
  const head = (rest.split(/[ ,]/)[0] ?? "").toLowerCase();
  const proto = ["udp", "tcp", "icmp", "esp"].includes(head) ? head : head.startsWith("icmp") ? "icmp" : "other";
  return { proto, src, dst, sport, dport, line };
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  if (needle.length === 0) return 0;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
