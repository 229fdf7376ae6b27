// `roam service` (the resident roam) against the strongSwan gateway behind NAT: `roam connect --background`
// hands its tunnel to the service instead of starting a child; traffic, status and disconnect work as
// without it; repeated tunnels leave no descriptors or threads behind in the service; a second connect
// while one is up, and a wrong PSK, fail as they do without it; SIGTERM takes the tunnel down cleanly; a
// service killed with SIGKILL leaves a socket that connect sees through and falls back to a child.
// Needs root and tests/interop/install-deps.sh; skipped with a message otherwise.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostState, type HostState } from "./lib/host-state.ts";
import { onCleanup, readIfExists, waitFor } from "./lib/proc.ts";
import { listSas } from "./lib/sas.ts";
import { clientRunFiles, createStage, interopUnavailable, type Stage } from "./lib/stage.ts";
import { NET } from "./lib/topology.ts";

const root = join(import.meta.dir, "../..");
const ROAM = join(root, "dist/roam");
const unavailable = interopUnavailable() ?? (existsSync(ROAM) ? undefined : "dist/roam is not built (run bun build.ts)");
if (unavailable !== undefined) console.warn(`SKIP tests/interop/roam-service.test.ts: ${unavailable}`);

describe.skipIf(unavailable !== undefined)("roam service against a strongSwan gateway behind NAT", () => {
  let stage: Stage;
  let runDir: string;
  let pskFile: string;
  let clean: HostState;
  let service: Bun.Subprocess | null = null;
  let serviceLog = "";
  let starts = 0;

  const roam = (args: string[]) => stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, ...args], { timeoutMs: 60_000 });
  const pskArgs = () => ["connect", "--gateway", NET.gateway, "--remote-id", stage.creds.gatewayId, "--id", stage.creds.pskClientId, "--psk-file", pskFile, "--background"];
  const ping = () => stage.topo.exec(stage.topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", NET.corpAServer]).code === 0;
  const socket = () => `${runDir}/service.sock`;

  /** --background children of this stage's roam (their environment names our run directory). */
  const ourChildren = (): number[] =>
    readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .filter((pid) => {
        try {
          const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
          return cmd.includes("--internal-child") && readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`ROAM_RUN_DIR=${runDir}`);
        } catch {
          return false; // gone meanwhile
        }
      })
      .map(Number);

  const startService = async (): Promise<Bun.Subprocess> => {
    serviceLog = `${stage.dir}/service-${++starts}.log`;
    // `ip netns exec` and env exec roam: the subprocess's pid is the service's.
    const p = stage.topo.spawn(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, "service"], { logFile: serviceLog });
    service = p;
    await waitFor("the service to listen", () => readIfExists(serviceLog).includes("service listening on"), 10_000);
    return p;
  };
  const stopService = async (): Promise<void> => {
    const p = service;
    service = null;
    if (p === null || p.exitCode !== null) return;
    p.kill("SIGKILL");
    await p.exited;
  };

  const expectClean = () => {
    expect(hostState(stage.topo)).toEqual(clean);
    expect(existsSync(`${runDir}/roam.json`)).toBe(false);
    expect(existsSync(`${runDir}/roam.sock`)).toBe(false);
  };

  beforeAll(async () => {
    stage = await createStage();
    ({ runDir, pskFile } = clientRunFiles(stage));
    clean = hostState(stage.topo);
  }, 60_000);
  const unregister = onCleanup(() => service?.kill("SIGKILL"));
  afterAll(async () => {
    roam(["disconnect"]);
    await stopService();
    unregister();
    await stage?.destroy();
  });

  test("connect --background runs in the service: traffic, status, disconnect; four tunnels in a row leak nothing; busy and wrong PSK fail as without it", async () => {
    const svc = await startService();
    expect(statSync(socket()).mode & 0o777).toBe(0o600);
    const fds = () => readdirSync(`/proc/${svc.pid}/fd`).length;
    const threads = () => readdirSync(`/proc/${svc.pid}/task`).length;
    let base: { fds: number; threads: number } | null = null;
    for (let i = 0; i < 4; i++) {
      const up = roam(pskArgs());
      expect(up.code, `connect ${i}: ${up.stderr}`).toBe(0);
      expect(up.stderr).toContain("tunnel up on roam0");
      // No --background child: the service runs the tunnel.
      expect(ourChildren()).toEqual([]);
      expect(ping()).toBe(true);
      const s = JSON.parse(roam(["status", "--json"]).stdout);
      expect(s.state).toBe("connected");
      expect(s.virtualIps[0]).toMatch(/^198\.19\.0\.\d{1,3}$/);
      if (i === 0) {
        // One tunnel at a time, as without the service: the second connect is refused, the first stays.
        const busy = roam(pskArgs());
        expect(busy.code).toBe(2);
        expect(busy.stderr.trim().split("\n").at(-1)).toContain("already running");
        expect(ping()).toBe(true);
      }
      const down = roam(["disconnect"]);
      expect(down.code, down.stderr).toBe(0);
      await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
      expectClean();
      // The next tunnel's reader workers start once this one is down.
      await Bun.sleep(500);
      if (base === null) base = { fds: fds(), threads: threads() };
    }
    // A leak of one descriptor or one worker per tunnel would show as +3 after three more tunnels.
    expect(fds()).toBeLessThanOrEqual(base!.fds + 1);
    expect(threads()).toBeLessThanOrEqual(base!.threads + 1);

    const wrong = `${stage.dir}/wrong.psk`;
    writeFileSync(wrong, "not the right key\n", { mode: 0o600 });
    const bad = roam(pskArgs().map((a) => (a === pskFile ? wrong : a)));
    expect(bad.code).toBe(4);
    expect(bad.stderr.trim().split("\n").at(-1)).toBe("roam: authentication failed: gateway sent AUTHENTICATION_FAILED");
    expectClean();

    // SIGTERM with a tunnel up: DELETE to the gateway, host clean, socket removed.
    expect(roam(pskArgs()).code).toBe(0);
    expect(listSas(stage.gateway).length).toBe(1);
    svc.kill("SIGTERM");
    expect(await svc.exited).toBe(143);
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
    expect(existsSync(socket())).toBe(false);
    expect(readIfExists(`${runDir}/roam.log`)).toContain("disconnected");
    expectClean();
  }, 120_000);

  test("a service killed with SIGKILL: connect --background falls back to a child and removes the dead socket", async () => {
    const svc = await startService();
    await stopService();
    expect(svc.signalCode).toBe("SIGKILL");
    expect(existsSync(socket())).toBe(true);
    const up = roam(pskArgs());
    expect(up.code, up.stderr).toBe(0);
    try {
      expect(ourChildren().length).toBe(1);
      expect(existsSync(socket())).toBe(false);
      expect(ping()).toBe(true);
    } finally {
      expect(roam(["disconnect"]).code).toBe(0);
    }
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
    expectClean();
  }, 60_000);

  test("a second service on the same socket is refused (exit 2), the first keeps listening", async () => {
    await startService();
    const second = roam(["service"]);
    expect(second.code).toBe(2);
    expect(second.stderr.trim()).toBe(`roam: service: a roam service already listens on ${socket()}`);
    expect(existsSync(socket())).toBe(true);
    expect(roam(pskArgs()).code).toBe(0);
    expect(ourChildren()).toEqual([]);
    expect(roam(["disconnect"]).code).toBe(0);
    await stopService();
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
    expectClean();
  }, 60_000);
});
