// The one table of the data-path benchmark: roam, strongSwan libipsec and plain routing side by side,
// the ratios, and the goals of issue 6 (met or not, never assumed).

import type { IperfResult } from "./measure.ts";

export interface Results {
  machine: string;
  seconds: number;
  connectSamples: number;
  udpLength: number;
  plainFwd?: IperfResult;
  plainRev?: IperfResult;
  roamPairFwd?: IperfResult;
  roamPairRev?: IperfResult;
  roamPairUdp?: IperfResult;
  roamPairUdpOffered?: number;
  roamPairCpuPerGb?: number;
  /** The pair again with the Bun.udpSocket backend. */
  /** The pair with TUN offloads, without UDP GSO. */
  roamPairNoGsoFwd?: IperfResult;
  roamPairNoGsoRev?: IperfResult;
  roamPairNoGsoCpuPerGb?: number;
  roamPairBunFwd?: IperfResult;
  roamPairBunRev?: IperfResult;
  roamPairBunCpuPerGb?: number;
  /** The pair again with TUN offloads (TCP super-packets segmented by the reader). */
  roamPairOffloadFwd?: IperfResult;
  roamPairOffloadRev?: IperfResult;
  roamPairOffloadCpuPerGb?: number;
  pairIdleRssMb?: number;
  pairPeakRssMb?: number;
  swanFwd?: IperfResult;
  swanRev?: IperfResult;
  swanCpuPerGb?: number;
  swanClientCpuPerGb?: number;
  swanClientPeakRssMb?: number;
  swanConnectMs?: number[];
  roamClientFwd?: IperfResult;
  roamClientRev?: IperfResult;
  roamClientCpuPerGb?: number;
  roamClientPeakRssMb?: number;
  roamIdleRssMb?: number;
  roamConnectMs?: number[];
  /** With `roam service` running: connect --background hands it the tunnel. */
  roamServiceConnectMs?: number[];
  /** The same with roam's default proposals instead of the strongSwan client's suite. */
  roamServiceDefaultProposalsMs?: number[];
  roamServiceIdleRssMb?: number;
  /** The roam service's peak RSS with a tunnel under TCP both ways (after its rehearsals and connect samples). */
  roamServicePeakRssMb?: number;
  /** Start → exit through `ip netns exec`: an empty compiled Bun executable, and `swanctl --help`. */
  bunStartMs?: number[];
  swanctlStartMs?: number[];
}

type Row = [label: string, roam: string, swan: string, plain: string, ratio: string, goal: string];

const n = (v: number | undefined, digits = 0): string => (v === undefined || Number.isNaN(v) ? "–" : v.toFixed(digits));
const mbps = (r: IperfResult | undefined): string => n(r?.mbps);
const ratio = (a: number | undefined, b: number | undefined, digits = 2): string =>
  a === undefined || b === undefined || !(b > 0) || Number.isNaN(a) ? "–" : `${(a / b).toFixed(digits)}x`;
const verdict = (ok: boolean | undefined): string => (ok === undefined ? "" : ok ? " ✓" : " ✗");

export function printReport(r: Results, median: (xs: readonly number[]) => number): void {
  const medRoam = r.roamConnectMs?.length ? median(r.roamConnectMs) : undefined;
  const medSwan = r.swanConnectMs?.length ? median(r.swanConnectMs) : undefined;
  const medService = r.roamServiceConnectMs?.length ? median(r.roamServiceConnectMs) : undefined;
  const medDefaults = r.roamServiceDefaultProposalsMs?.length ? median(r.roamServiceDefaultProposalsMs) : undefined;
  const range = (xs: number[] | undefined, digits = 0) => (xs?.length ? ` (${n(Math.min(...xs), digits)}–${n(Math.max(...xs), digits)})` : "");
  // The goal is judged on the pair as `roam connect` runs it: with TUN offloads.
  const pairRatio = r.roamPairOffloadFwd && r.swanFwd ? Math.min(r.roamPairOffloadFwd.mbps / r.swanFwd.mbps, r.roamPairOffloadRev!.mbps / r.swanRev!.mbps) : undefined;
  const both = (a: IperfResult | undefined, b: IperfResult | undefined) => (a || b ? `${mbps(a)} / ${mbps(b)}` : "–");
  const clientRatio = r.roamClientFwd && r.swanFwd ? Math.min(r.roamClientFwd.mbps / r.swanFwd.mbps, r.roamClientRev!.mbps / r.swanRev!.mbps) : undefined;
  const peak = Math.max(r.pairPeakRssMb ?? 0, r.roamClientPeakRssMb ?? 0, r.roamServicePeakRssMb ?? 0);
  const rows: Row[] = [
    [
      "TCP → / ← Mbit/s, pair with TUN offloads (as roam runs)",
      both(r.roamPairOffloadFwd, r.roamPairOffloadRev),
      both(r.swanFwd, r.swanRev),
      both(r.plainFwd, r.plainRev),
      `${ratio(r.roamPairOffloadFwd?.mbps, r.swanFwd?.mbps)} / ${ratio(r.roamPairOffloadRev?.mbps, r.swanRev?.mbps)}`,
      `≥3x${verdict(pairRatio === undefined ? undefined : pairRatio >= 3)}`,
    ],
    ["TCP → / ← Mbit/s, same pair without TUN offloads", both(r.roamPairFwd, r.roamPairRev), "", "", `${ratio(r.roamPairFwd?.mbps, r.swanFwd?.mbps)} / ${ratio(r.roamPairRev?.mbps, r.swanRev?.mbps)}`, "reported"],
    [`UDP ${r.udpLength} B at ${n(r.roamPairUdpOffered)} Mbit/s offered (no offloads): got, loss`, r.roamPairUdp ? `${mbps(r.roamPairUdp)}, ${n(r.roamPairUdp.lostPercent, 2)}%` : "–", "", "", "", "reported"],
    [
      "CPU s per GB moved, both ends: offloads / none",
      `${n(r.roamPairOffloadCpuPerGb, 1)} / ${n(r.roamPairCpuPerGb, 1)}`,
      n(r.swanCpuPerGb, 1),
      "kernel",
      `${ratio(r.roamPairOffloadCpuPerGb, r.swanCpuPerGb)} / ${ratio(r.roamPairCpuPerGb, r.swanCpuPerGb)}`,
      "reported",
    ],
    [
      "pair with TUN offloads, no UDP GSO: TCP → / ← Mbit/s, CPU s/GB",
      r.roamPairNoGsoFwd ? `${mbps(r.roamPairNoGsoFwd)} / ${mbps(r.roamPairNoGsoRev)}, ${n(r.roamPairNoGsoCpuPerGb, 1)}` : "–",
      "",
      "",
      r.roamPairNoGsoFwd ? `GSO on/off ${ratio(r.roamPairOffloadFwd?.mbps, r.roamPairNoGsoFwd.mbps)} / ${ratio(r.roamPairOffloadRev?.mbps, r.roamPairNoGsoRev?.mbps)}` : "",
      "reported",
    ],
    ["pair on Bun.udpSocket: TCP → / ← Mbit/s, CPU s/GB", r.roamPairBunFwd ? `${mbps(r.roamPairBunFwd)} / ${mbps(r.roamPairBunRev)}, ${n(r.roamPairBunCpuPerGb, 1)}` : "–", "", "", r.roamPairBunFwd ? `mmsg/Bun ${ratio(r.roamPairFwd?.mbps, r.roamPairBunFwd.mbps)}` : "", "reported"],
    ["Client → libipsec gateway, TCP → Mbit/s", mbps(r.roamClientFwd), mbps(r.swanFwd), "", ratio(r.roamClientFwd?.mbps, r.swanFwd?.mbps), `≥1x${verdict(clientRatio === undefined ? undefined : clientRatio >= 1)}`],
    ["Client → libipsec gateway, TCP ← Mbit/s", mbps(r.roamClientRev), mbps(r.swanRev), "", ratio(r.roamClientRev?.mbps, r.swanRev?.mbps), "≥1x"],
    ["CPU s per GB moved (client process only)", n(r.roamClientCpuPerGb, 1), n(r.swanClientCpuPerGb, 1), "", ratio(r.roamClientCpuPerGb, r.swanClientCpuPerGb), "reported"],
    // swanctl asks a resident charon; the like of it is roam with `roam service` running.
    [`Connect → first ping, ms, median of ${r.connectSamples} (min–max): roam service`, `${n(medService)}${range(r.roamServiceConnectMs)}`, `${n(medSwan)}${range(r.swanConnectMs)}`, "", ratio(medService, medSwan), `≤1x${verdict(medService === undefined || medSwan === undefined ? undefined : medService <= medSwan)}`],
    ["Connect → first ping, ms: roam service, roam's default proposals", `${n(medDefaults)}${range(r.roamServiceDefaultProposalsMs)}`, "", "", ratio(medDefaults, medSwan), "reported"],
    ["Connect → first ping, ms: no service (--background child)", `${n(medRoam)}${range(r.roamConnectMs)}`, "", "", ratio(medRoam, medSwan), "reported"],
    [
      "Floor: process start → exit via ip netns exec, ms (Bun hello world / swanctl --help)",
      r.bunStartMs?.length ? `${n(median(r.bunStartMs), 1)}${range(r.bunStartMs, 1)}` : "–",
      r.swanctlStartMs?.length ? `${n(median(r.swanctlStartMs), 1)}${range(r.swanctlStartMs, 1)}` : "–",
      "",
      r.bunStartMs?.length && r.swanctlStartMs?.length ? ratio(median(r.bunStartMs), median(r.swanctlStartMs)) : "–",
      "reported",
    ],
    ["Peak RSS under throughput, MB (pair / client / client in roam service)", `${n(r.pairPeakRssMb)} / ${n(r.roamClientPeakRssMb)} / ${n(r.roamServicePeakRssMb)}`, `– / ${n(r.swanClientPeakRssMb)}`, "", "", `≤120${verdict(peak > 0 ? peak <= 120 : undefined)}`],
    ["Idle tunnel RSS, MB (pair / client)", `${n(r.pairIdleRssMb)} / ${n(r.roamIdleRssMb)}`, "", "", "", "reported"],
    ["roam service RSS, MB, no tunnel (after its connect samples)", n(r.roamServiceIdleRssMb), "", "", "", "reported"],
  ];
  const head: Row = ["", "roam", "strongSwan libipsec", "plain routing", "roam/sS", "goal"];
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((row) => [...row[i]!].length)));
  const line = (row: Row) => `| ${row.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(" | ")} |`;
  console.log("");
  console.log(`Data path, AES-256-GCM-16, iperf3 ${r.seconds} s per run — ${r.machine}`);
  console.log(line(head));
  console.log(`|${w.map((x, i) => (i === 0 ? "-".repeat(x + 2) : `${"-".repeat(x + 1)}:`)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  const plainShare = r.roamPairOffloadFwd && r.plainFwd ? ` roam pair → (offloads) = ${((100 * r.roamPairOffloadFwd.mbps) / r.plainFwd.mbps).toFixed(1)}% of plain routing.` : "";
  console.log(
    `\npair: two roam data-path endpoints (tests/bench/endpoint.ts, fixed keys) over one veth; strongSwan: its libipsec client and\n` +
      `libipsec gateway on the interop stage (NAT between them), which is also the reference for the roam client rows.${plainShare}\n` +
      `CPU: utime+stime of the tunnel processes (roam endpoints / both charons; client rows: the client process alone).`,
  );
}
