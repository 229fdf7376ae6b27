// `roam service` (the resident roam) against the strongSwan gateway behind NAT: `roam connect --background`
// hands its tunnel to the service instead of starting a child; traffic, status and disconnect work as
// without it; repeated tunnels leave no descriptors or threads behind in the service; a second connect
// while one is up, and a wrong PSK, fail as they do without it; SIGTERM takes the tunnel down cleanly; a
// service killed with SIGKILL leaves a socket that connect sees through and falls back to a child. The
// service reads the client's command line: files the client sees (in a mount namespace of its own,
// relative to its directory), profiles of its environment, the same errors as without the service; a
// client in another PID namespace reads its command line itself.
// Needs root and tests/interop/install-deps.sh; skipped with a message otherwise.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
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

  /** The UDP sockets process `pid` holds in the client's namespace (`ss` lines). */
  const udpSocketsOf = (pid: number): string[] =>
    stage.topo.mustExec(stage.topo.names.client, ["ss", "-uanp"]).split("\n").filter((l) => l.includes(`pid=${pid},`));

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
    const workerThreads = () => readdirSync(`/proc/${svc.pid}/task`).filter((t) => readIfExists(`/proc/${svc.pid}/task/${t}/comm`).trim() === "Worker").sort();
    let base: { fds: number; threads: number; workers: string[] } | null = null;
    for (let i = 0; i < 4; i++) {
      const up = roam(pskArgs());
      expect(up.code, `connect ${i}: ${up.stderr}`).toBe(0);
      expect(up.stderr).toContain("tunnel up on roam0");
      // No --background child: the service runs the tunnel, on one UDP socket.
      expect(ourChildren()).toEqual([]);
      expect(udpSocketsOf(svc.pid).length).toBe(1);
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
      if (base === null) base = { fds: fds(), threads: threads(), workers: workerThreads() };
    }
    // A leak of one descriptor or one worker per tunnel would show as +3 after three more tunnels.
    expect(fds()).toBeLessThanOrEqual(base!.fds + 1);
    expect(threads()).toBeLessThanOrEqual(base!.threads + 1);
    // The TUN and UDP reader workers of one tunnel serve the next (reader-worker.ts recycleReaderWorker).
    expect(base!.workers.length).toBe(2);
    expect(workerThreads()).toEqual(base!.workers);

    // A script's `roam disconnect && roam connect`: the service takes the next connect as soon as the
    // tunnel has ended (it refused it as busy while the ended run's last ~20 ms went by).
    expect(roam(pskArgs()).code).toBe(0);
    for (let i = 0; i < 3; i++) {
      const down = roam(["disconnect"]);
      expect(down.code, down.stderr).toBe(0);
      const again = roam(pskArgs());
      expect(again.code, `connect right after disconnect ${i}: ${again.stderr}`).toBe(0);
      expect(ping()).toBe(true);
    }
    expect(roam(["disconnect"]).code).toBe(0);
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
    expectClean();

    const wrong = `${stage.dir}/wrong.psk`;
    writeFileSync(wrong, "not the right key\n", { mode: 0o600 });
    const bad = roam(pskArgs().map((a) => (a === pskFile ? wrong : a)));
    expect(bad.code).toBe(4);
    expect(bad.stderr.trim().split("\n").at(-1)).toBe("roam: authentication failed: gateway sent AUTHENTICATION_FAILED");
    expectClean();

    // While no tunnel ran, the service rehearsed its connects (cli/service-rehearsal.ts): all of them, its
    // made-up PSK file gone again, the host untouched.
    await waitFor("the service's rehearsals", () => readIfExists(serviceLog).includes("rehearsed "), 20_000);
    expect(readIfExists(serviceLog)).toMatch(/rehearsed 2000 connects in \d+ ms/);
    expect(existsSync(`${runDir}/rehearsal.psk`)).toBe(false);
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

  test("the service reads the client's command line: its files (own mount namespace, relative path), its profile store, the same errors as without the service; another PID namespace reads it itself", async () => {
    await startService();
    const client = stage.topo.names.client;
    const env = ["env", `ROAM_RUN_DIR=${runDir}`];
    const connectedAndDown = async () => {
      expect(ourChildren()).toEqual([]);
      expect(ping()).toBe(true);
      expect(roam(["disconnect"]).code).toBe(0);
      await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
      expectClean();
    };

    // The PSK in a tmpfs that only the client's mount namespace has (unshare -m, private propagation):
    // the service, in a namespace of its own, sees an empty directory there, and reads the file through
    // /proc/PID/root; the path is relative to the client's working directory.
    const priv = `${stage.dir}/client-only`;
    mkdirSync(priv, { mode: 0o700 });
    const args = pskArgs().map((a) => (a === pskFile ? "office.psk" : a));
    const shell = `mount -t tmpfs -o mode=0700 roam-test ${priv} && cp ${pskFile} ${priv}/office.psk && chmod 600 ${priv}/office.psk && cd ${priv} && exec ${[...env, ROAM, ...args].join(" ")}`;
    const up = stage.topo.exec(client, ["unshare", "-m", "--propagation", "private", "sh", "-c", shell], { timeoutMs: 60_000 });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain("tunnel up on roam0");
    expect(readdirSync(priv)).toEqual([]);
    expect(readIfExists(serviceLog)).toMatch(/connect from pid \d+: command line read by the service/);
    await connectedAndDown();

    // A profile in the client's XDG_CONFIG_HOME; its warning reaches the client's stderr.
    const store = `${stage.dir}/xdg/roam/profiles`;
    mkdirSync(store, { recursive: true, mode: 0o700 });
    writeFileSync(`${store}/svc-office.toml`, `name = "other"\ngateway = ["${NET.gateway}"]\nauth = "psk"\nremote_id = "${stage.creds.gatewayId}"\nlocal_id = "${stage.creds.pskClientId}"\n`);
    writeFileSync(`${store}/svc-office.secrets`, `psk = "${readFileSync(pskFile, "utf8").trim()}"\n`, { mode: 0o600 });
    const viaProfile = stage.topo.exec(client, [...env, `XDG_CONFIG_HOME=${stage.dir}/xdg`, ROAM, "connect", "svc-office", "--background"], { timeoutMs: 60_000 });
    expect(viaProfile.code, viaProfile.stderr).toBe(0);
    expect(viaProfile.stderr).toContain(`roam: warning: ${store}/svc-office.toml: name "other" differs from the file name; using "svc-office"`);
    await connectedAndDown();

    // Usage and config errors: the same lines and exit codes as a client without a service (another run
    // directory), and nothing left on the host.
    const noService = `${stage.dir}/no-service-run`;
    mkdirSync(noService, { mode: 0o700 });
    for (const bad of [
      [...pskArgs(), "--frobnicate"],
      pskArgs().map((a) => (a === pskFile ? "missing.psk" : a)),
      pskArgs().map((a) => (a === NET.gateway ? "192.0.2.1 extra" : a)),
    ]) {
      const viaService = roam(bad);
      // The TUN the service opened when the connect arrived is gone by the time the client has its answer,
      // and no socket is left either.
      expect(hostState(stage.topo).links).toBe(clean.links);
      expect(udpSocketsOf(service!.pid)).toEqual([]);
      const alone = stage.topo.exec(client, ["env", `ROAM_RUN_DIR=${noService}`, ROAM, ...bad], { timeoutMs: 60_000 });
      expect(viaService.code, viaService.stderr).toBe(2);
      expect({ code: viaService.code, stdout: viaService.stdout, stderr: viaService.stderr }).toEqual({ code: alone.code, stdout: alone.stdout, stderr: alone.stderr });
      expect(viaService.stderr).not.toContain("/proc/");
    }
    expectClean();

    // A client in a PID namespace of its own: its pid means another process to the service, which leaves
    // the command line to it; the client then sends the checked request, and the tunnel runs in the service.
    const inPidNs = stage.topo.exec(client, ["unshare", "-p", "-f", "--mount-proc", ...env, ROAM, ...pskArgs()], { timeoutMs: 60_000 });
    expect(inPidNs.code, inPidNs.stderr).toBe(0);
    expect(readIfExists(serviceLog)).toContain("the client reads its command line itself (the client is not in our PID namespace)");
    expect(readIfExists(serviceLog)).toContain("connect: a request checked by the client");
    await connectedAndDown();
    await stopService();
  }, 120_000);
});
