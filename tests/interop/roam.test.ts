// roam (the compiled dist/roam) against an unmodified strongSwan gateway behind NAT, for PSK and for
// EAP-MSCHAPv2 with the gateway's certificate: traffic to both corporate LANs, a 10 MB transfer intact,
// only IKE and ESP-in-UDP on the internet link, split routes only, and a clean host after disconnect
// and after every failure. Needs root and tests/interop/install-deps.sh; skipped with a message otherwise.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { startCapture, type CapturedPacket } from "./lib/capture.ts";
import { waitFor } from "./lib/proc.ts";
import { transferFromCorp, transferToCorp } from "./lib/transfer.ts";
import { listSas } from "./lib/sas.ts";
import { clientRunFiles, createStage, interopUnavailable, type Stage } from "./lib/stage.ts";
import { hostState, type HostState } from "./lib/host-state.ts";
import { IFACE, NET } from "./lib/topology.ts";

const root = join(import.meta.dir, "../..");
const ROAM = join(root, "dist/roam");
const unavailable = interopUnavailable() ?? (existsSync(ROAM) ? undefined : "dist/roam is not built (run bun build.ts)");
if (unavailable !== undefined) console.warn(`SKIP tests/interop/roam.test.ts: ${unavailable}`);

const CORP_ROUTES = [NET.corpB, NET.corpA].sort();

/** Everything on the internet link must be ARP, or UDP to or from the gateway's IKE ports 500/4500 (roam's own port is ephemeral). */
function notIkeOrArp(packets: readonly CapturedPacket[]): CapturedPacket[] {
  const ike = (p: CapturedPacket) =>
    p.proto === "udp" && ((p.dst === NET.gateway && [500, 4500].includes(p.dport ?? 0)) || (p.src === NET.gateway && [500, 4500].includes(p.sport ?? 0)));
  return packets.filter((p) => p.proto !== "arp" && !ike(p));
}

describe.skipIf(unavailable !== undefined)("roam against a strongSwan gateway behind NAT", () => {
  let stage: Stage;
  let runDir: string;
  let pskFile: string;
  let pskBad: string;
  let caFile: string;
  let clean: HostState;

  /** Runs dist/roam in the client namespace with our own run directory. */
  const roam = (args: string[], stdin?: string) => {
    const t0 = performance.now();
    const r = stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, ...args], { stdin, timeoutMs: 60_000 });
    return { ...r, seconds: (performance.now() - t0) / 1000 };
  };
  const ping = (dst: string) => stage.topo.exec(stage.topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", dst]).code === 0;

  beforeAll(async () => {
    stage = await createStage();
    ({ runDir, pskFile } = clientRunFiles(stage));
    pskBad = `${stage.dir}/wrong.psk`;
    writeFileSync(pskBad, "not the right key\n", { mode: 0o600 });
    chmodSync(pskBad, 0o600);
    caFile = stage.pki.ca.cert; // a PEM file made by the harness
    clean = hostState(stage.topo);
  }, 60_000);
  afterAll(async () => {
    // A roam left running by a failed assertion must not outlive the test.
    roam(["disconnect"]);
    await stage?.destroy();
  });

  const expectClean = () => {
    const now = hostState(stage.topo);
    expect(now).toEqual(clean);
    expect(existsSync(`${runDir}/roam.json`)).toBe(false);
    expect(existsSync(`${runDir}/roam.sock`)).toBe(false);
  };

  const pskArgs = () => ["connect", "--gateway", NET.gateway, "--remote-id", stage.creds.gatewayId, "--id", stage.creds.pskClientId, "--psk-file", pskFile];
  const eapArgs = () => ["connect", "--gateway", NET.gateway, "--remote-id", stage.creds.gatewayId, "--ca", caFile, "--eap-identity", stage.creds.eapUser, "--password-stdin"];

  const scenario = (mode: "psk" | "eap") => async () => {
    const { topo, gateway } = stage;
    const marker = randomBytes(12);
    const cap = await startCapture(topo, `${stage.dir}/roam-${mode}.pcap`);
    const up = mode === "psk" ? roam([...pskArgs(), "--background"]) : roam([...eapArgs(), "--background"], `${stage.creds.eapPassword}\n`);
    expect(up.code, `connect: ${up.stdout}${up.stderr}`).toBe(0);
    expect(up.stderr).toContain("tunnel up on roam0");
    try {
      const st = roam(["status", "--json"]);
      expect(st.code).toBe(0);
      const s = JSON.parse(st.stdout);
      expect(s.state).toBe("connected");
      expect(s.virtualIps.length).toBe(1);
      expect(s.virtualIps[0]).toMatch(/^198\.19\.0\.\d{1,3}$/);
      expect([...s.routes].sort()).toEqual(CORP_ROUTES);
      expect(s.dns.servers).toEqual([NET.dns]);
      expect(s.ike.natLocal).toBe(true);
      expect(topo.mustExec(topo.names.client, ["cat", "/etc/resolv.conf"])).toContain(`nameserver ${NET.dns}`);

      // Through the tunnel to both LANs.
      expect(ping(NET.corpAServer)).toBe(true);
      expect(ping(NET.corpBServer)).toBe(true);

      // 10 MB of TCP from a corporate server, and 10 MB to one (the client serves at its virtual IP), intact.
      const down = await transferFromCorp(stage, { tag: `${mode}-down`, timeoutMs: 80_000, marker });
      expect(down.ok, down.detail).toBe(true);
      const upload = await transferToCorp(stage, s.virtualIps[0], { tag: `${mode}-up`, timeoutMs: 80_000, marker });
      expect(upload.ok, upload.detail).toBe(true);

      // Split tunnel: only the selectors go into the TUN.
      expect(topo.mustExec(topo.names.client, ["ip", "route", "get", NET.corpAServer])).toContain("dev roam0");
      expect(topo.mustExec(topo.names.client, ["ip", "route", "get", "192.0.2.200"])).not.toContain("roam0");

      // The gateway has our SA, from the NAT's address, with our virtual IP.
      const sas = listSas(gateway);
      expect(sas.length).toBe(1);
      expect(sas[0]!.state).toBe("ESTABLISHED");
      expect(sas[0]!.remoteHost).toBe(NET.natInternet);
      expect(sas[0]!.remoteVips).toEqual(s.virtualIps);

      const after = JSON.parse(roam(["status", "--json"]).stdout);
      expect(after.traffic.bytesIn).toBeGreaterThan(10 * 1024 * 1024);
      expect(after.traffic.packetsOut).toBeGreaterThan(0);
    } finally {
      const down = roam(["disconnect"]);
      expect(down.code, `disconnect: ${down.stdout}${down.stderr}`).toBe(0);
    }
    // Only IKE and ESP-in-UDP crossed the internet link, and the transfer's cleartext never did.
    const packets = await cap.stop();
    expect(notIkeOrArp(packets).map((p) => p.line)).toEqual([]);
    expect(packets.some((p) => p.dport === 4500 && p.src === NET.natInternet)).toBe(true);
    expect(cap.containsBytes(marker)).toBe(false);

    await waitFor("the gateway to forget the IKE SA", () => listSas(gateway).length === 0, 5_000);
    expect(roam(["status"]).code).toBe(3);
    expectClean();
  };

  test("PSK: connect --background, both LANs, 10 MB intact, no cleartext, disconnect leaves the host clean", scenario("psk"), 120_000);
  test("EAP-MSCHAPv2 with the gateway's certificate: the same", scenario("eap"), 120_000);

  test("foreground: progress lines, traffic, and SIGTERM sends DELETE and leaves the host clean", async () => {
    const { topo, gateway } = stage;
    const log = `${stage.dir}/roam-foreground.log`;
    const proc = topo.spawn(topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, ...pskArgs()], { logFile: log });
    try {
      await waitFor("roam to bring the tunnel up", () => readFileSafe(log).includes("tunnel up on roam0"), 20_000);
      const text = readFileSafe(log);
      expect(text).toContain("roam: IKE_SA_INIT");
      expect(text).toContain("roam: authenticating (IKE_AUTH)");
      expect(ping(NET.corpBServer)).toBe(true);
      expect(listSas(gateway).length).toBe(1);
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(143);
    } finally {
      if (proc.exitCode === null) proc.kill("SIGKILL");
    }
    expect(readFileSafe(log)).toContain("roam: disconnected");
    await waitFor("the gateway to forget the IKE SA", () => listSas(gateway).length === 0, 5_000);
    expectClean();
  }, 60_000);

  test("roam killed with SIGKILL: `roam disconnect` undoes what it left (resolv.conf), exit 0", async () => {
    const { topo } = stage;
    const proc = topo.spawn(topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, ...pskArgs()], { logFile: `${stage.dir}/roam-killed.log` });
    await waitFor("roam to bring the tunnel up", () => readFileSafe(`${stage.dir}/roam-killed.log`).includes("tunnel up on roam0"), 20_000);
    proc.kill("SIGKILL");
    await proc.exited;
    // The kernel removed the TUN (and its routes) with the process; the DNS change and the journal remain.
    expect(topo.mustExec(topo.names.client, ["cat", "/etc/resolv.conf"])).toContain(`nameserver ${NET.dns}`);
    expect(existsSync(`${runDir}/roam.json`)).toBe(true);
    const r = roam(["disconnect"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("left by a roam that did not exit cleanly");
    // The gateway still holds the dead client's SA until its DPD/timeouts; delete it for the next test.
    stage.gateway.swanctl(["--terminate", "--ike", "psk", "--force"]);
    expectClean();
  }, 60_000);

  test("the gateway deleting the IKE SA: roam answers, reports the tunnel lost, and cleans up", async () => {
    const { gateway } = stage;
    const up = roam([...pskArgs(), "--no-reconnect", "--background"]);
    expect(up.code, up.stderr).toBe(0);
    const term = gateway.swanctl(["--terminate", "--ike", "psk", "--timeout", "10"]);
    expect(term.code, `terminate: ${term.stdout}\nroam's log:\n${readFileSafe(`${runDir}/roam.log`)}`).toBe(0);
    // The gateway got our answer to its DELETE (a clean terminate, not a timeout)...
    expect(listSas(gateway)).toEqual([]);
    // ...and roam took itself down.
    await waitFor("roam to notice and clean up", () => roam(["status"]).code === 3, 10_000);
    expectClean();
  }, 60_000);

  test("the gateway rekeys the CHILD_SA every ~4 s: a 10/s ping loses nothing, SPIs change, old SAs go", async () => {
    const { topo, gateway } = stage;
    const confPath = gateway.swanctlConf;
    const original = readFileSync(confPath, "utf8");
    writeFileSync(confPath, original.replaceAll("dpd_action = clear", "dpd_action = clear\n        rekey_time = 4s\n        life_time = 30s\n        rand_time = 1s"));
    gateway.mustSwanctl(["--load-conns"]);
    try {
      const up = roam([...pskArgs(), "--background"]);
      expect(up.code, up.stderr).toBe(0);
      const first = JSON.parse(roam(["status", "--json"]).stdout).child.spiIn;
      const pinger = topo.exec(topo.names.client, ["ping", "-n", "-q", "-c", "120", "-i", "0.1", "-W", "1", NET.corpAServer], { timeoutMs: 30_000 });
      expect(pinger.stdout).toContain("120 packets transmitted, 120 received, 0% packet loss");
      const s = JSON.parse(roam(["status", "--json"]).stdout);
      expect(s.state).toBe("connected");
      expect(s.child.spiIn).not.toBe(first);
      // The gateway logged several rekeys and holds one installed CHILD_SA (the old ones were deleted).
      expect((gateway.log().match(/CHILD_SA corp\{\d+\} established/g) ?? []).length).toBeGreaterThanOrEqual(3);
      const children = listSas(gateway)[0]!.children.filter((c) => c.state === "INSTALLED");
      expect(children.length).toBe(1);
      expect(roam(["disconnect"]).code).toBe(0);
    } finally {
      roam(["disconnect"]); // no-op when already down; stops a tunnel a failed expectation left up
      writeFileSync(confPath, original);
      gateway.mustSwanctl(["--load-conns"]);
    }
    expectClean();
  }, 60_000);

  test("roam rekeys the CHILD_SA itself every ~4 s (--rekey 4): a 10/s ping loses nothing, old SAs are deleted", () => {
    const { topo, gateway } = stage;
    const up = roam([...pskArgs(), "--rekey", "4", "--background"]);
    expect(up.code, up.stderr).toBe(0);
    try {
      const first = JSON.parse(roam(["status", "--json"]).stdout).child.spiIn;
      const pinger = topo.exec(topo.names.client, ["ping", "-n", "-q", "-c", "120", "-i", "0.1", "-W", "1", NET.corpAServer], { timeoutMs: 30_000 });
      expect(pinger.stdout).toContain("120 packets transmitted, 120 received, 0% packet loss");
      expect(JSON.parse(roam(["status", "--json"]).stdout).child.spiIn).not.toBe(first);
      // strongSwan answered our CREATE_CHILD_SA requests and deleted the old SAs on our request.
      expect((gateway.log().match(/parsed CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\)/g) ?? []).length).toBeGreaterThanOrEqual(2);
      expect(listSas(gateway)[0]!.children.filter((c) => c.state === "INSTALLED").length).toBe(1);
    } finally {
      expect(roam(["disconnect"]).code).toBe(0);
    }
    expectClean();
  }, 60_000);

  test("the gateway rekeys the IKE SA every few seconds: roam takes the responder role, traffic flows, disconnect reaches it", async () => {
    const { topo, gateway } = stage;
    const confPath = gateway.swanctlConf;
    const original = readFileSync(confPath, "utf8");
    writeFileSync(confPath, original.replaceAll("    pools = ", "    rekey_time = 5s\n    over_time = 30s\n    rand_time = 1s\n    pools = "));
    gateway.mustSwanctl(["--load-conns"]);
    try {
      const up = roam([...pskArgs(), "--background"]);
      expect(up.code, up.stderr).toBe(0);
      const first = JSON.parse(roam(["status", "--json"]).stdout).ike.spiI;
      const pinger = topo.exec(topo.names.client, ["ping", "-n", "-q", "-c", "150", "-i", "0.1", "-W", "1", NET.corpAServer], { timeoutMs: 30_000 });
      expect(pinger.stdout).toContain("150 packets transmitted, 150 received, 0% packet loss");
      const s = JSON.parse(roam(["status", "--json"]).stdout);
      expect(s.state).toBe("connected");
      expect(s.ike.spiI).not.toBe(first);
      expect((gateway.log().match(/IKE_SA psk\[\d+\] rekeyed/gi) ?? []).length + (gateway.log().match(/rekeying IKE_SA/g) ?? []).length).toBeGreaterThanOrEqual(2);
      const sas = listSas(gateway);
      expect(sas.filter((sa) => sa.state === "ESTABLISHED").length).toBe(1);
      expect(roam(["disconnect"]).code).toBe(0);
      await waitFor("the gateway to forget the IKE SA", () => listSas(gateway).length === 0, 5_000);
    } finally {
      writeFileSync(confPath, original);
      gateway.mustSwanctl(["--load-conns"]);
    }
    expectClean();
  }, 60_000);

  test("profiles: import a swanctl.conf (PSK) and a .sswan (EAP, CA inside), then `roam connect NAME`", () => {
    const xdg = `${stage.dir}/xdg`;
    mkdirSync(xdg, { recursive: true, mode: 0o700 });
    const withXdg = (args: string[], stdin?: string) =>
      stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, `XDG_CONFIG_HOME=${xdg}`, ROAM, ...args], { stdin, timeoutMs: 60_000 });
    const conf = `${stage.dir}/office.conf`;
    writeFileSync(
      conf,
      `connections {\n  office {\n    remote_addrs = ${NET.gateway}\n    vips = 0.0.0.0\n    local {\n      auth = psk\n      id = ${stage.creds.pskClientId}\n    }\n` +
        `    remote {\n      auth = psk\n      id = ${stage.creds.gatewayId}\n    }\n    children {\n      corp {\n        remote_ts = 0.0.0.0/0\n      }\n    }\n  }\n}\n` +
        `secrets {\n  ike-office {\n    id = ${stage.creds.pskClientId}\n    secret = "${stage.creds.psk}"\n  }\n}\n`,
      { mode: 0o600 },
    );
    const imp = withXdg(["import", conf]);
    expect(imp.code, imp.stderr).toBe(0);
    const up = withXdg(["connect", "office", "--background"]);
    expect(up.code, up.stderr).toBe(0);
    expect(ping(NET.corpAServer)).toBe(true);
    expect(withXdg(["disconnect"]).code).toBe(0);
    expectClean();

    const der = Buffer.from(readFileSync(stage.pki.ca.certDer));
    const sswan = `${stage.dir}/lab.sswan`;
    writeFileSync(
      sswan,
      JSON.stringify({
        uuid: "5f0e4c3a-8a1b-4e6c-9d2f-0123456789ab",
        name: "Lab",
        type: "ikev2-eap",
        remote: { addr: NET.gateway, id: stage.creds.gatewayId, cert: der.toString("base64") },
        local: { eap_id: stage.creds.eapUser },
      }),
    );
    const imp2 = withXdg(["import", sswan]);
    expect(imp2.code, imp2.stderr).toBe(0);
    const up2 = withXdg(["connect", "Lab", "--password-stdin", "--background"], `${stage.creds.eapPassword}\n`);
    expect(up2.code, up2.stderr).toBe(0);
    expect(ping(NET.corpBServer)).toBe(true);
    expect(withXdg(["disconnect"]).code).toBe(0);
    expectClean();
  }, 60_000);

  test("up/down hooks get ROAM_* variables; --mtu and --nat-keepalive are applied", async () => {
    const { topo } = stage;
    const upFile = `${stage.dir}/hook-up.env`;
    const downFile = `${stage.dir}/hook-down.env`;
    const cap = await startCapture(topo, `${stage.dir}/keepalive.pcap`);
    const up = roam([...pskArgs(), "--mtu", "1380", "--nat-keepalive", "1", "--up", `env | grep ^ROAM_ | sort > ${upFile}`, "--down", `env | grep ^ROAM_ | sort > ${downFile}; ip link show roam0 >> ${downFile}`, "--background"]);
    expect(up.code, up.stderr).toBe(0);
    await waitFor("the up hook", () => readFileSafe(upFile).includes("ROAM_EVENT=up"), 5_000);
    const env = readFileSafe(upFile);
    expect(env).toContain("ROAM_INTERFACE=roam0");
    expect(env).toMatch(/ROAM_VIRTUAL_IP4=198\.19\.0\.\d+/);
    expect(env).toContain(`ROAM_GATEWAY=${NET.gateway}`);
    expect(env).toContain(`ROAM_DNS=${NET.dns}`);
    expect(env).toContain(`ROAM_REMOTE_ID=${stage.creds.gatewayId}`);
    expect(env.match(/ROAM_ROUTES=(.*)/)?.[1]?.split(" ").sort()).toEqual(CORP_ROUTES);
    expect(topo.mustExec(topo.names.client, ["ip", "link", "show", "roam0"])).toContain("mtu 1380");
    await Bun.sleep(2500);
    expect(roam(["disconnect"]).code).toBe(0);
    // The down hook ran while the interface was still there.
    expect(readFileSafe(downFile)).toContain("ROAM_EVENT=down");
    expect(readFileSafe(downFile)).toContain("roam0:");
    const packets = await cap.stop();
    const keepalives = packets.filter((p) => p.proto === "udp" && p.dport === 4500 && / length 1$/.test(p.line));
    expect(keepalives.length).toBeGreaterThanOrEqual(2);
    expectClean();
  }, 60_000);

  test("--exclude keeps part of a granted subnet out of the tunnel; --dns replaces, --no-dns ignores the gateway's DNS", () => {
    const { topo } = stage;
    const routeDev = (ip: string) => topo.mustExec(topo.names.client, ["ip", "route", "get", ip]);
    const up = roam([...pskArgs(), "--exclude", "198.51.100.0/25", "--dns", "198.51.100.99", "--background"]);
    expect(up.code, up.stderr).toBe(0);
    expect(routeDev(NET.corpBServer)).not.toContain("roam0"); // 198.51.100.10 is in the excluded half
    expect(routeDev("198.51.100.200")).toContain("dev roam0");
    expect(routeDev(NET.corpAServer)).toContain("dev roam0");
    expect(ping(NET.corpAServer)).toBe(true);
    const resolv = topo.mustExec(topo.names.client, ["cat", "/etc/resolv.conf"]);
    expect(resolv).toContain("nameserver 198.51.100.99");
    expect(resolv).not.toContain(`nameserver ${NET.dns}`);
    expect(roam(["disconnect"]).code).toBe(0);
    expectClean();

    const up2 = roam([...pskArgs(), "--no-dns", "--background"]);
    expect(up2.code, up2.stderr).toBe(0);
    expect(topo.mustExec(topo.names.client, ["cat", "/etc/resolv.conf"])).toBe(clean.resolv);
    expect(JSON.parse(roam(["status", "--json"]).stdout).dns.servers).toEqual([]);
    expect(roam(["disconnect"]).code).toBe(0);
    expectClean();
  }, 60_000);

  test("a wrong PSK fails with exit 4 and one line, within 30 s, host clean", () => {
    const r = roam([...pskArgs().map((a) => (a === pskFile ? pskBad : a)), "--background"]);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split("\n").at(-1)).toBe("roam: authentication failed: gateway sent AUTHENTICATION_FAILED");
    expect(r.seconds).toBeLessThan(30);
    expectClean();
  }, 40_000);

  test("a wrong EAP password fails with exit 4 naming E=691, within 30 s, host clean; the gateway keeps no IKE SA", async () => {
    expect(listSas(stage.gateway)).toEqual([]);
    const r = roam([...eapArgs(), "--background"], "not-the-password\n");
    expect(r.code).toBe(4);
    // strongSwan's Failure Request is "E=691 R=1 C=..." without M=: the code in words is all there is.
    expect(r.stderr.trim().split("\n").at(-1)).toBe(
      "roam: authentication failed: the gateway refused the EAP credentials: authentication failure (wrong user name or password) (MS-CHAPv2 E=691 ERROR_AUTHENTICATION_FAILURE)",
    );
    expect(r.seconds).toBeLessThan(30);
    expectClean();
    // Our MS-CHAPv2 Failure Response made the gateway end EAP with EAP-Failure and destroy its IKE SA
    // (without it, the SA stays CONNECTING until charon's half-open timeout, 30 s by default).
    await waitFor("the gateway to forget the refused IKE SA", () => listSas(stage.gateway).length === 0, 2_000);
    expect(stage.gateway.log()).toMatch(/EAP-MS-CHAPv2 verification failed, retry \(1\)/);
  }, 40_000);

  test("an unreachable gateway fails with exit 5 and names it, within 30 s, host clean", () => {
    const r = roam(["connect", "--gateway", "192.0.2.99", "--remote-id", "gw.roam.test", "--psk-file", pskFile, "--background"]);
    expect(r.code).toBe(5);
    expect(r.stderr.trim().split("\n").at(-1)).toBe("roam: gateway 192.0.2.99 did not answer IKE_SA_INIT after 5 tries");
    expect(r.seconds).toBeLessThan(30);
    expectClean();
  }, 40_000);

  test("dead peer detection: the gateway is killed; roam notices within --dpd plus ~25 s of checks, cleans up", async () => {
    const dead = await createStage();
    try {
      const dir = `${dead.dir}/roam-run`;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const psk = `${dead.dir}/p.psk`;
      writeFileSync(psk, `${dead.creds.psk}\n`, { mode: 0o600 });
      const exec = (args: string[]) => dead.topo.exec(dead.topo.names.client, ["env", `ROAM_RUN_DIR=${dir}`, ROAM, ...args], { timeoutMs: 60_000 });
      const up = exec(["connect", "--gateway", NET.gateway, "--remote-id", dead.creds.gatewayId, "--id", dead.creds.pskClientId, "--psk-file", psk, "--dpd", "2", "--no-reconnect", "--background"]);
      expect(up.code, up.stderr).toBe(0);
      process.kill(dead.gateway.pid, "SIGKILL");
      const t0 = performance.now();
      await waitFor("roam to declare the gateway dead", () => exec(["status"]).code === 3, 45_000);
      const seconds = (performance.now() - t0) / 1000;
      expect(seconds).toBeGreaterThan(2);
      expect(seconds).toBeLessThan(40);
      expect(readFileSafe(`${dir}/roam.log`)).toContain("roam: gateway 192.0.2.1 stopped answering (INFORMATIONAL, 5 tries)");
      expect(dead.topo.exec(dead.topo.names.client, ["ip", "link", "show", "roam0"]).code).not.toBe(0);
      expect(existsSync(`${dir}/roam.json`)).toBe(false);
    } finally {
      await dead.destroy().catch(() => {});
    }
  }, 90_000);

  test("the path to the gateway goes dark: DPD notices, roam reconnects by itself once it is back, nothing leaks meanwhile", async () => {
    const { topo } = stage;
    const up = roam([...pskArgs(), "--dpd", "2", "--background"]);
    expect(up.code, up.stderr).toBe(0);
    const state = () => JSON.parse(roam(["status", "--json"]).stdout).state as string;
    const cap = await startCapture(topo, `${stage.dir}/outage.pcap`, topo.names.nat, IFACE.lan);
    const block = ["iptables", "-I", "FORWARD", "-d", NET.gateway, "-p", "udp", "-j", "DROP"];
    topo.mustExec(topo.names.nat, block);
    let blocked = true;
    const pinger = topo.spawn(topo.names.client, ["ping", "-n", "-c", "150", "-i", "0.2", NET.corpAServer]);
    try {
      await waitFor("roam to declare the tunnel lost and start reconnecting", () => state() === "reconnecting", 45_000);
      // The routes stay: corporate-bound packets go into the TUN and are held back, not sent in the clear.
      expect(topo.mustExec(topo.names.client, ["ip", "route", "get", NET.corpAServer])).toContain("dev roam0");
      topo.mustExec(topo.names.nat, ["iptables", "-D", ...block.slice(2)]);
      blocked = false;
      await waitFor("roam to be up again", () => state() === "connected", 45_000);
      expect(ping(NET.corpAServer)).toBe(true);
      expect(readFileSafe(`${runDir}/roam.log`)).toMatch(/tunnel up again after \d+ attempt/);
    } finally {
      if (blocked) topo.exec(topo.names.nat, ["iptables", "-D", ...block.slice(2)]);
      pinger.kill();
    }
    const packets = await cap.stop();
    const leaked = packets.filter((p) => p.proto !== "arp" && !(p.proto === "udp" && (p.dst === NET.gateway || p.src === NET.gateway)));
    expect(leaked.map((p) => p.line)).toEqual([]);
    expect(roam(["disconnect"]).code).toBe(0);
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 10_000);
    expectClean();
  }, 120_000);

  test("IP fragments dropped and a gateway chain over 3,000 bytes: roam connects only through IKE fragmentation", async () => {
    const frag = await createStage({ bigChain: true, dropIpFragments: true });
    try {
      const dir = `${frag.dir}/roam-run`;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const connect = (extra: string[]) =>
        frag.topo.exec(
          frag.topo.names.client,
          ["env", `ROAM_RUN_DIR=${dir}`, ROAM, "connect", "--gateway", NET.gateway, "--remote-id", frag.creds.gatewayId, "--ca", frag.bigChain!.root.cert, "--eap-identity", frag.creds.eapUser, "--password-stdin", "--background", ...extra],
          { stdin: `${frag.creds.eapPassword}\n`, timeoutMs: 60_000 },
        );
      // Without RFC 7383 the gateway's IKE_AUTH answer is one datagram of over 3,000 bytes: dropped on the way.
      const without = connect(["--no-fragmentation"]);
      expect(without.code).not.toBe(0);
      expect(existsSync(`${dir}/roam.json`)).toBe(false);
      const up = connect([]);
      expect(up.code, up.stderr).toBe(0);
      expect(frag.gateway.log()).toMatch(/splitting IKE message/);
      expect(frag.topo.exec(frag.topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", NET.corpAServer]).code).toBe(0);
      expect(frag.topo.exec(frag.topo.names.client, ["env", `ROAM_RUN_DIR=${dir}`, ROAM, "disconnect"]).code).toBe(0);
    } finally {
      await frag.destroy();
    }
  }, 120_000);

  test("an RSA gateway certificate (RFC 7427 signature AUTH): EAP connect, traffic, disconnect", async () => {
    const rsa = await createStage({ keyType: "rsa" });
    try {
      const dir = `${rsa.dir}/roam-run`;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const exec = (args: string[], stdin?: string) =>
        rsa.topo.exec(rsa.topo.names.client, ["env", `ROAM_RUN_DIR=${dir}`, ROAM, ...args], { stdin, timeoutMs: 60_000 });
      const up = exec(
        ["connect", "--gateway", NET.gateway, "--remote-id", rsa.creds.gatewayId, "--ca", rsa.pki.ca.cert, "--eap-identity", rsa.creds.eapUser, "--password-stdin", "--background"],
        `${rsa.creds.eapPassword}\n`,
      );
      expect(up.code, up.stderr).toBe(0);
      expect(rsa.topo.exec(rsa.topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", NET.corpAServer]).code).toBe(0);
      expect(rsa.gateway.log()).toMatch(/authentication of 'gw\.roam\.test' \(myself\) with RSA/);
      expect(exec(["disconnect"]).code).toBe(0);
      expect(existsSync(`${dir}/roam.json`)).toBe(false);
    } finally {
      await rsa.destroy();
    }
  }, 60_000);

  test("a gateway certificate from another CA is refused before any password is sent (exit 4)", async () => {
    const other = await createStage({ gatewayCert: "other" });
    try {
      const dir = `${other.dir}/roam-run`;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const r = other.topo.exec(
        other.topo.names.client,
        ["env", `ROAM_RUN_DIR=${dir}`, ROAM, "connect", "--gateway", NET.gateway, "--remote-id", other.creds.gatewayId, "--ca", caFile, "--eap-identity", other.creds.eapUser, "--password-stdin", "--background"],
        { stdin: `${other.creds.eapPassword}\n`, timeoutMs: 60_000 },
      );
      expect(r.code).toBe(4);
      expect(r.stderr).toContain("gateway certificate not trusted");
      // The gateway never saw an EAP response from us.
      expect(other.gateway.log()).not.toMatch(/EAP method EAP_MSCHAPV2 (succeeded|failed)/);
      expect(existsSync(`${dir}/roam.json`)).toBe(false);
    } finally {
      await other.destroy();
    }
  }, 60_000);
});

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
