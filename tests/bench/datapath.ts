// Data-path benchmark (issue 6), not a test: `bun tests/bench/datapath.ts [--quick] [--only pair,swan,roam]
// [--connect-only]` (--connect-only: of swan and roam, only the connect samples, no iperf3).
// Needs root, iperf3 and strongSwan (tests/interop/install-deps.sh) and dist/roam (bun build.ts).
//
//  pair  (a) plain routing over one veth between two namespaces (iperf3 TCP both ways);
//        (b) two roam data-path endpoints (tests/bench/endpoint.ts, fixed keys, AES-256-GCM-16) over that
//            link: TCP both ways, UDP 1300-octet datagrams (loss), CPU s/GB, peak and idle RSS; the same
//            with TUN offloads (--offload on) and on Bun.udpSocket, for same-run comparisons.
//  swan  (c) strongSwan's libipsec client ↔ libipsec gateway on the interop stage (client, NAT, gateway,
//            corporate host; PSK, aes256gcm16-prfsha256-x25519 / aes256gcm16): TCP both ways, CPU s/GB.
//  roam  (d) dist/roam connect against the same gateway with the same suite, in the foreground (as the
//            strongSwan client runs, see benchRoam): TCP both ways, RSS.
//  both  (e) connect time, process start → first ping reply through the tunnel: `swanctl --initiate`, and
//            `roam connect --background` with `roam service` running (the like of swanctl and its resident
//            charon), with the same suite and with roam's default proposals, and without a service. All start
//            through `ip netns exec` into the client namespace, and their samples alternate (benchConnect).
// Everything made is removed at the end, on failure and on SIGINT/SIGTERM.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onCleanup, pidAlive, run, waitFor } from "../interop/lib/proc.ts";
import { createStage, interopUnavailable, type Stage } from "../interop/lib/stage.ts";
import { NET } from "../interop/lib/topology.ts";
import { cpuPerGb, iperf, machine, median, memory, withCpu, type IperfResult } from "./lib/measure.ts";
import { createPair, PAIR, type Pair } from "./lib/pair.ts";
import { startRoamPair } from "./lib/roam-pair.ts";
import { pingCorp, roamClientSetup, startRoamService } from "./lib/roam-client.ts";
import { printReport, type Results } from "./lib/report.ts";

const args = process.argv.slice(2);
const QUICK = args.includes("--quick");
const onlyArg = args[args.indexOf("--only") + 1];
const ONLY = args.includes("--only") && onlyArg ? new Set(onlyArg.split(",")) : new Set(["pair", "swan", "roam"]);
const CONNECT_ONLY = args.includes("--connect-only");
const SECONDS = QUICK ? 3 : 10;
const CONNECT_SAMPLES = QUICK ? 3 : 10;
const UDP_LENGTH = 1300;
const ROAM = join(import.meta.dir, "../../dist/roam");

const why = interopUnavailable() ?? (run(["sh", "-c", "command -v iperf3"]).code === 0 ? undefined : "iperf3 is missing: run tests/interop/install-deps.sh");
if (why !== undefined) {
  console.error(`bench/datapath: ${why}`);
  process.exit(2);
}

const dir = mkdtempSync(`${tmpdir()}/roam-bench-`);
const removeDir = onCleanup(() => {
  if (process.env.ROAM_BENCH_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
});
const res: Results = { machine: machine(), seconds: SECONDS, connectSamples: CONNECT_SAMPLES, udpLength: UDP_LENGTH };
const log = (s: string) => console.error(`  · ${s}`);
const fmt = (r: IperfResult) => `${r.mbps.toFixed(0)} Mbit/s${r.lostPercent !== undefined ? `, ${r.lostPercent.toFixed(2)}% lost` : ""}`;

/** iperf3 TCP through a roam endpoint pair both ways, with the CPU its processes (`pids`) spent per GB. */
async function pairTcp(pair: Pair, pids: number[]): Promise<{ fwd: IperfResult; rev: IperfResult; cpuPerGb: number }> {
  const fwd = await withCpu(pids, () => iperf(pair.exec, pair.left, PAIR.rightInner, { seconds: SECONDS }));
  const rev = await withCpu(pids, () => iperf(pair.exec, pair.left, PAIR.rightInner, { seconds: SECONDS, reverse: true }));
  return { fwd: fwd.result, rev: rev.result, cpuPerGb: cpuPerGb(fwd.cpu + rev.cpu, fwd.result.bytes + rev.result.bytes) };
}

/** pairTcp through a fresh endpoint pair on the `udp` backend (with TUN offloads or not); its counters are kept
 *  as counters-<tag>-<pid>.json. */
async function pairVariantTcp(pair: Pair, udp: "mmsg" | "bun", offload: boolean, tag: string, gso = true): Promise<{ fwd: IperfResult; rev: IperfResult; cpuPerGb: number }> {
  const { left, right } = await startRoamPair(pair, dir, udp, offload, gso);
  try {
    return await pairTcp(pair, [left.pid, right.pid]);
  } finally {
    for (const e of [left, right]) writeFileSync(`${dir}/counters-${tag}-${e.pid}.json`, await e.stop());
  }
}

async function benchPair(): Promise<void> {
  const pair = createPair();
  try {
    pair.spawn(pair.right, ["iperf3", "-s"]);
    res.plainFwd = await iperf(pair.exec, pair.left, PAIR.right, { seconds: SECONDS });
    res.plainRev = await iperf(pair.exec, pair.left, PAIR.right, { seconds: SECONDS, reverse: true });
    log(`plain routing: ${fmt(res.plainFwd)} / ${fmt(res.plainRev)}`);

    const { left, right } = await startRoamPair(pair, dir);
    const pids = [left.pid, right.pid];
    try {
      if (pair.exec(pair.left, ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", PAIR.rightInner]).code !== 0) throw new Error("no ping through the roam endpoint pair");
      await Bun.sleep(1_000);
      res.pairIdleRssMb = Math.max(...pids.map((p) => memory(p).rssMb));
      const tcp = await pairTcp(pair, pids);
      res.roamPairFwd = tcp.fwd;
      res.roamPairRev = tcp.rev;
      res.roamPairCpuPerGb = tcp.cpuPerGb;
      log(`roam pair TCP: ${fmt(tcp.fwd)} / ${fmt(tcp.rev)}, ${res.roamPairCpuPerGb.toFixed(1)} CPU s/GB`);
      // UDP offered at the TCP rate measured just now (at least 100 Mbit/s): what is lost at that load.
      const offered = Math.max(100, tcp.fwd.mbps);
      res.roamPairUdp = await iperf(pair.exec, pair.left, PAIR.rightInner, { seconds: SECONDS, udpLength: UDP_LENGTH, udpMbps: offered });
      res.roamPairUdpOffered = offered;
      log(`roam pair UDP ${UDP_LENGTH} B at ${offered.toFixed(0)} Mbit/s offered: ${fmt(res.roamPairUdp)}`);
      res.pairPeakRssMb = Math.max(...pids.map((p) => memory(p).peakMb));
    } finally {
      for (const e of [left, right]) writeFileSync(`${dir}/counters-${e.pid}.json`, await e.stop());
    }
    // The same pair with TUN offloads (IFF_VNET_HDR, TSO super-packets segmented by the reader).
    const off = await pairVariantTcp(pair, "mmsg", true, "offload");
    res.roamPairOffloadFwd = off.fwd;
    res.roamPairOffloadRev = off.rev;
    res.roamPairOffloadCpuPerGb = off.cpuPerGb;
    log(`roam pair with TUN offloads TCP: ${fmt(off.fwd)} / ${fmt(off.rev)}, ${off.cpuPerGb.toFixed(1)} CPU s/GB`);
    // The same without UDP GSO (datagram by datagram, as before it): what it brings.
    const noGso = await pairVariantTcp(pair, "mmsg", true, "offload-nogso", false);
    res.roamPairNoGsoFwd = noGso.fwd;
    res.roamPairNoGsoRev = noGso.rev;
    res.roamPairNoGsoCpuPerGb = noGso.cpuPerGb;
    log(`roam pair with TUN offloads, no UDP GSO, TCP: ${fmt(noGso.fwd)} / ${fmt(noGso.rev)}, ${noGso.cpuPerGb.toFixed(1)} CPU s/GB`);
    // The same pair on Bun.udpSocket (the UDP backend before issue 6): what the recvmmsg worker brings.
    const bun = await pairVariantTcp(pair, "bun", false, "bun");
    res.roamPairBunFwd = bun.fwd;
    res.roamPairBunRev = bun.rev;
    res.roamPairBunCpuPerGb = bun.cpuPerGb;
    log(`roam pair on Bun.udpSocket TCP: ${fmt(bun.fwd)} / ${fmt(bun.rev)}, ${bun.cpuPerGb.toFixed(1)} CPU s/GB`);
  } finally {
    pair.destroy();
  }
}


/** Milliseconds from `start()` to the first ping reply from the corporate server through the tunnel. */
async function connectTime(stage: Stage, start: () => boolean): Promise<number> {
  const t0 = performance.now();
  if (!start()) throw new Error("connect failed");
  for (let i = 0; i < 50; i++) if (pingCorp(stage)) return performance.now() - t0;
  throw new Error("no ping through the tunnel after connect");
}

async function benchSwan(stage: Stage): Promise<void> {
  const { topo, gateway } = stage;
  const client = await stage.startStrongswanClient();
  try {
    const initiate = () => client.swanctl(["--initiate", "--ike", "psk", "--child", "corp"], 30_000).code === 0;
    if (!initiate() || !pingCorp(stage)) throw new Error(`strongSwan client: no tunnel\n${client.log().slice(-2000)}`);
    const pids = [client.pid, gateway.pid];
    const fwd = await withCpu(pids, () => iperf(topo.exec, topo.names.client, NET.corpAServer, { seconds: SECONDS }));
    const rev = await withCpu(pids, () => iperf(topo.exec, topo.names.client, NET.corpAServer, { seconds: SECONDS, reverse: true }));
    res.swanFwd = fwd.result;
    res.swanRev = rev.result;
    res.swanCpuPerGb = cpuPerGb(fwd.cpu + rev.cpu, fwd.result.bytes + rev.result.bytes);
    res.swanClientCpuPerGb = cpuPerGb(fwd.perPid[0]! + rev.perPid[0]!, fwd.result.bytes + rev.result.bytes);
    res.swanClientPeakRssMb = memory(client.pid).peakMb;
    log(`strongSwan libipsec pair TCP: ${fmt(fwd.result)} / ${fmt(rev.result)}, ${res.swanCpuPerGb.toFixed(1)} CPU s/GB`);
    client.swanctl(["--terminate", "--ike", "psk"], 30_000);
  } finally {
    await client.stop();
  }
}

async function benchRoam(stage: Stage): Promise<void> {
  const { topo } = stage;
  const { runDir, connectArgs } = roamClientSetup(stage);
  // ROAM_RUN_DIR through the environment `ip netns exec` passes on (no `env` process in front of roam).
  const env = { ROAM_RUN_DIR: runDir };
  const roam = (a: string[]) => topo.exec(topo.names.client, [ROAM, ...a], { env, timeoutMs: 60_000 });
  // Throughput with roam in the foreground, a child of this process like the strongSwan client's charon:
  // `--background` puts the tunnel process in a session of its own (setsid), and with the kernel's
  // autogroup scheduling (CONFIG_SCHED_AUTOGROUP, on here) a session is a scheduling group of its own,
  // which changed how the two cores were shared with the gateway and iperf3 and cost roam 15-25% of its
  // client throughput (2026-11-23: foreground 289 Mbit/s against --background 224-243 in the same run,
  // strongSwan's client 266-278; with strongSwan's client in a session of its own too, 191-195 against
  // roam's 268-276). Same scheduling for both clients: neither gets a session of its own.
  const fg = topo.spawn(topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, ...connectArgs]);
  // `ip netns exec` and env exec roam: the same pid. Killed by pid on any exit, SIGINT included.
  const stopFg = onCleanup(() => {
    if (pidAlive(fg.pid)) fg.kill("SIGKILL");
  });
  try {
    let up = false;
    for (let i = 0; i < 100 && !up && fg.exitCode === null; i++) {
      up = pingCorp(stage);
      if (!up) await Bun.sleep(100);
    }
    if (!up) throw new Error(`roam client (foreground): no tunnel (exit ${fg.exitCode})`);
    await roamThroughput(stage, roam);
  } finally {
    roam(["disconnect"]);
    await Promise.race([fg.exited, Bun.sleep(10_000)]);
    stopFg();
  }
}

/**
 * Connect times, their samples alternating so that every kind sees the same machine (its speed drifts by
 * 20-30% in minutes here; run one after the other, the two medians of ten moved either way by more than
 * their difference): `swanctl --initiate` (its charon resident), `roam connect --background` with `roam
 * service` running, the same with roam's default proposals instead of the strongSwan client's suite, and
 * without a service (the tunnel process started by connect). Each tunnel is taken down before the next
 * kind connects: they share the identity, the virtual IP and the routes. One connect of each before the
 * samples (the charon had brought its tunnel up before, as for the throughput).
 */
async function benchConnect(stage: Stage): Promise<void> {
  const { topo } = stage;
  interface Kind {
    name: string;
    up: () => boolean;
    down: () => unknown;
    ms: number[];
  }
  const kinds: Kind[] = [];
  let client: Awaited<ReturnType<Stage["startStrongswanClient"]>> | undefined;
  let svc: Bun.Subprocess | undefined;
  const stopSvc = onCleanup(() => {
    if (svc !== undefined && pidAlive(svc.pid)) svc.kill("SIGKILL");
  });
  try {
    if (ONLY.has("swan")) {
      client = await stage.startStrongswanClient();
      const c = client;
      // swanctl itself needs only the vici socket: started like roam, through `ip netns exec`.
      const env = { STRONGSWAN_CONF: c.strongswanConf, SWANCTL_DIR: c.swanctlDir };
      kinds.push({
        name: "swanctl --initiate",
        up: () => topo.exec(topo.names.client, ["swanctl", "--initiate", "--ike", "psk", "--child", "corp", "--uri", c.viciUri], { env, timeoutMs: 30_000 }).code === 0,
        down: () => c.swanctl(["--terminate", "--ike", "psk"], 30_000),
        ms: [],
      });
    }
    if (ONLY.has("roam")) {
      const { runDir, connectArgs, defaultProposalArgs } = roamClientSetup(stage);
      const childRunDir = `${runDir}-child`;
      mkdirSync(childRunDir, { recursive: true, mode: 0o700 });
      const inRun = (dirPath: string) => (a: string[]) => topo.exec(topo.names.client, [ROAM, ...a], { env: { ROAM_RUN_DIR: dirPath }, timeoutMs: 60_000 });
      const roam = inRun(runDir);
      const roamChild = inRun(childRunDir); // no service listens there: connect starts its own tunnel process
      // Without the service, connect would start its own tunnel process and these rows would measure that.
      // Sampled once it has finished its rehearsals, as swanctl's charon runs already.
      svc = await startRoamService(stage, ROAM, runDir);
      kinds.push(
        { name: "roam connect through roam service", up: () => roam([...connectArgs, "--background"]).code === 0, down: () => roam(["disconnect"]), ms: [] },
        { name: "the same, roam's default proposals", up: () => roam([...defaultProposalArgs, "--background"]).code === 0, down: () => roam(["disconnect"]), ms: [] },
        { name: "roam connect, no service", up: () => roamChild([...connectArgs, "--background"]).code === 0, down: () => roamChild(["disconnect"]), ms: [] },
      );
    }
    for (const k of kinds) {
      await Bun.sleep(200);
      if (!k.up() || !pingCorp(stage)) throw new Error(`${k.name}: no tunnel${client ? `\n${client.log().slice(-2000)}` : ""}`);
      k.down();
    }
    for (let i = 0; i < CONNECT_SAMPLES; i++) {
      for (const k of kinds) {
        await Bun.sleep(200);
        k.ms.push(await connectTime(stage, k.up));
        k.down();
      }
    }
    for (const k of kinds) log(`${k.name} → first ping: ${k.ms.map((v) => v.toFixed(0)).join(", ")} ms`);
    const byName = (name: string) => kinds.find((k) => k.name.startsWith(name))?.ms;
    res.swanConnectMs = byName("swanctl");
    res.roamServiceConnectMs = byName("roam connect through");
    res.roamServiceDefaultProposalsMs = byName("the same");
    res.roamConnectMs = byName("roam connect, no service");
    if (svc !== undefined) {
      await Bun.sleep(500);
      res.roamServiceIdleRssMb = memory(svc.pid).rssMb;
      const through = kinds.find((k) => k.name.startsWith("roam connect through"))!;
      if (!CONNECT_ONLY) await serviceUnderLoad(stage, svc.pid, through);
    }
    if (client !== undefined) {
      const c = client;
      const env = { STRONGSWAN_CONF: c.strongswanConf, SWANCTL_DIR: c.swanctlDir };
      await processStartFloor(stage, () => topo.exec(topo.names.client, ["swanctl", "--help"], { env }).code === 0);
    }
  } finally {
    for (const k of kinds) k.down();
    if (svc !== undefined) {
      svc.kill("SIGTERM");
      await Promise.race([svc.exited, Bun.sleep(10_000)]);
    }
    stopSvc();
    await client?.stop();
  }
}

/**
 * The floor under both connect times: a process started through `ip netns exec` until it has exited. For
 * roam, an executable compiled like dist/roam (bytecode) whose whole program is one write(2); for
 * strongSwan, `swanctl --help` (the same start as its --initiate: libstrongswan and its plugins loaded).
 * Alternated sample by sample.
 */
async function processStartFloor(stage: Stage, swanctlHelp: () => boolean): Promise<void> {
  const src = join(dir, "hello.ts");
  writeFileSync(src, 'import { writeSync } from "node:fs";\nwriteSync(1, "hello\\n");\n');
  const exe = join(dir, "hello");
  const built = await Bun.build({ entrypoints: [src], compile: { outfile: exe }, bytecode: true });
  if (!built.success) throw new Error(`bench/datapath: hello-world build failed: ${built.logs.join("\n")}`);
  const time = (start: () => boolean): number => {
    const t0 = performance.now();
    if (!start()) throw new Error("bench/datapath: a process-start sample failed");
    return performance.now() - t0;
  };
  res.bunStartMs = [];
  res.swanctlStartMs = [];
  for (let i = 0; i < CONNECT_SAMPLES; i++) {
    res.bunStartMs.push(time(() => stage.topo.exec(stage.topo.names.client, [exe]).code === 0));
    res.swanctlStartMs.push(time(swanctlHelp));
  }
  log(`process start → exit through ip netns exec: Bun hello world ${res.bunStartMs.map((v) => v.toFixed(1)).join(", ")} ms; swanctl --help ${res.swanctlStartMs.map((v) => v.toFixed(1)).join(", ")} ms`);
}

/**
 * The roam service's peak RSS with a tunnel under the throughput test (TCP both ways), after its rehearsals
 * and the connect samples: what a user of the service has resident, next to the foreground client's.
 */
async function serviceUnderLoad(stage: Stage, pid: number, through: { up: () => boolean; down: () => unknown }): Promise<void> {
  const { topo } = stage;
  if (!through.up() || !pingCorp(stage)) throw new Error("roam service: no tunnel for its throughput run");
  try {
    const fwd = await iperf(topo.exec, topo.names.client, NET.corpAServer, { seconds: SECONDS });
    const rev = await iperf(topo.exec, topo.names.client, NET.corpAServer, { seconds: SECONDS, reverse: true });
    res.roamServicePeakRssMb = memory(pid).peakMb;
    log(`roam service tunnel TCP: ${fmt(fwd)} / ${fmt(rev)}, service peak RSS ${res.roamServicePeakRssMb.toFixed(0)} MB`);
  } finally {
    through.down();
  }
}

/** TCP both ways through the roam client that is up, its CPU per GB and its memory. */
async function roamThroughput(stage: Stage, roam: (a: string[]) => { stdout: string }): Promise<void> {
  const { topo } = stage;
  const pid = Number(JSON.parse(roam(["status", "--json"]).stdout).pid);
  if (!pidAlive(pid)) throw new Error(`roam status names pid ${pid}, which is not running`);
  await Bun.sleep(1_000);
  res.roamIdleRssMb = memory(pid).rssMb;
  const fwd = await withCpu([pid], () => iperf(topo.exec, topo.names.client, NET.corpAServer, { seconds: SECONDS }));
  const rev = await withCpu([pid], () => iperf(topo.exec, topo.names.client, NET.corpAServer, { seconds: SECONDS, reverse: true }));
  res.roamClientFwd = fwd.result;
  res.roamClientRev = rev.result;
  res.roamClientCpuPerGb = cpuPerGb(fwd.cpu + rev.cpu, fwd.result.bytes + rev.result.bytes);
  res.roamClientPeakRssMb = memory(pid).peakMb;
  log(`roam client vs libipsec gateway TCP: ${fmt(fwd.result)} / ${fmt(rev.result)}`);
}

try {
  console.error(`bench/datapath: ${QUICK ? "quick, " : ""}${SECONDS} s iperf3 runs, ${CONNECT_SAMPLES} connect samples`);
  if (ONLY.has("pair")) await benchPair();
  if (ONLY.has("swan") || ONLY.has("roam")) {
    const stage = await createStage();
    try {
      stage.topo.spawn(stage.topo.names.corpA, ["iperf3", "-s"]);
      if (ONLY.has("swan") && !CONNECT_ONLY) await benchSwan(stage);
      if (ONLY.has("roam") && !CONNECT_ONLY) await benchRoam(stage);
      await benchConnect(stage);
    } finally {
      await stage.destroy();
    }
  }
  printReport(res, median);
} finally {
  removeDir();
}
