// What the data-path benchmark reads: iperf3 results (JSON), process CPU time and memory from /proc,
// and a one-paragraph description of the machine.

import { cpus } from "node:os";
import { readFileSync } from "node:fs";
import { run, type RunOptions, type RunResult } from "../../interop/lib/proc.ts";

export type Exec = (ns: string, argv: readonly string[], opts?: RunOptions) => RunResult;

export interface IperfResult {
  /** Receiver-side goodput. */
  mbps: number;
  /** Bytes the receiver got. */
  bytes: number;
  /** UDP only: datagrams lost, in % of those sent. */
  lostPercent?: number;
  /** TCP only: sender retransmissions. */
  retransmits?: number;
}

export interface IperfOptions {
  seconds: number;
  /** Server sends, client receives (iperf3 -R). */
  reverse?: boolean;
  /** UDP with datagrams of this many octets (iperf3 -u -l). */
  udpLength?: number;
  /** UDP offered rate in Mbit/s (iperf3 -b). */
  udpMbps?: number;
}

/** Runs an iperf3 client in `ns` against `server` (an `iperf3 -s` already listening); retries while the server starts. */
export async function iperf(exec: Exec, ns: string, server: string, o: IperfOptions): Promise<IperfResult> {
  const argv = ["iperf3", "-c", server, "-t", String(o.seconds), "-J", "--connect-timeout", "2000"];
  if (o.reverse) argv.push("-R");
  if (o.udpLength !== undefined) argv.push("-u", "-l", String(o.udpLength), "-b", `${Math.max(1, Math.round(o.udpMbps ?? 100))}M`);
  let last = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = exec(ns, argv, { timeoutMs: (o.seconds + 20) * 1000 });
    let j: any;
    try {
      j = JSON.parse(r.stdout);
    } catch {
      j = { error: `${r.stdout}${r.stderr}`.slice(0, 300) };
    }
    // iperf3 can exit 0 with an empty "end" when the server was not listening yet: retried like a failure.
    if (r.code === 0 && j.end && (j.end.sum_received || j.end.sum)) {
      if (o.udpLength !== undefined) {
        const s = j.end.sum_received ?? j.end.sum;
        return { mbps: s.bits_per_second / 1e6, bytes: s.bytes, lostPercent: j.end.sum.lost_percent };
      }
      if (j.end.sum_received) return { mbps: j.end.sum_received.bits_per_second / 1e6, bytes: j.end.sum_received.bytes, retransmits: j.end.sum_sent.retransmits };
    }
    last = String(j.error ?? (r.stderr || `exit ${r.code}, no totals in the JSON`));
    await Bun.sleep(300);
  }
  throw new Error(`iperf3 ${argv.slice(1).join(" ")} in ${ns} failed: ${last}`);
}

const CLK_TCK = Number(run(["getconf", "CLK_TCK"]).stdout.trim()) || 100;

/** utime + stime of `pid` (all its threads) in seconds, or NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // proc(5): after "pid (comm) ", field 3 is state; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** VmHWM (peak resident set) and VmRSS of `pid`, in MB (2^20 bytes). */
export function memory(pid: number): { peakMb: number; rssMb: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? Number.NaN);
    return { peakMb: kb("VmHWM") / 1024, rssMb: kb("VmRSS") / 1024 };
  } catch {
    return { peakMb: Number.NaN, rssMb: Number.NaN };
  }
}

/** CPU seconds of a set of processes around `work`; returns its result and the seconds spent. */
export async function withCpu<T>(pids: readonly number[], work: () => Promise<T>): Promise<{ result: T; cpu: number; perPid: number[] }> {
  const before = pids.map(cpuSeconds);
  const result = await work();
  const perPid = pids.map((p, i) => cpuSeconds(p) - before[i]!);
  return { result, cpu: perPid.reduce((s, v) => s + v, 0), perPid };
}

/** CPU seconds per GB (10^9 bytes) moved. */
export const cpuPerGb = (cpu: number, bytes: number): number => (bytes > 0 ? cpu / (bytes / 1e9) : Number.NaN);

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const kernel = run(["uname", "-r"]).stdout.trim();
  const sv = run(["swanctl", "--version"], { timeoutMs: 5_000 });
  const swan = /strongSwan (\d+\.\d+\.\d+)/.exec(sv.stdout + sv.stderr)?.[1] ?? "?";
  const iperfVersion = run(["iperf3", "--version"]).stdout.split("\n")[0]?.trim() ?? "";
  const mem = Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1024 / 1024);
  return `${cpu}, ${cpus().length} cores, ${mem} GiB, Linux ${kernel}, Bun ${Bun.version}, strongSwan ${swan}, ${iperfVersion}`;
}
