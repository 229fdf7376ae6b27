// roam (dist/roam) keeping a tunnel alive against an unmodified strongSwan gateway: rekeys started by
// roam (IKE SA on a timer, CHILD_SA on a byte limit), the gateway deleting the CHILD_SA or the IKE SA,
// the gateway killed and restarted, and three minutes of short gateway lifetimes (CHILD_SA every ~20 s,
// IKE SA every ~45 s) under a 10/s ping and a TCP stream. One stage for all (about 5 minutes).
// Needs root and tests/interop/install-deps.sh; skipped with a message otherwise.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { startCapture, type CapturedPacket } from "./lib/capture.ts";
import { restartGateway, setGatewayLifetimes } from "./lib/gateway-control.ts";
import { pidAlive, waitFor } from "./lib/proc.ts";
import { listSas, type IkeSaInfo } from "./lib/sas.ts";
import { clientRunFiles, createStage, interopUnavailable, type Stage } from "./lib/stage.ts";
import type { Charon } from "./lib/strongswan.ts";
import { NET } from "./lib/topology.ts";

const root = join(import.meta.dir, "../..");
const ROAM = join(root, "dist/roam");
const BUN = process.execPath;
const STREAM = join(import.meta.dir, "lib/paced-stream.ts");
const SINK = join(import.meta.dir, "fixtures/tcp-sink.ts");
const unavailable = interopUnavailable() ?? (existsSync(ROAM) ? undefined : "dist/roam is not built (run bun build.ts)");
if (unavailable !== undefined) console.warn(`SKIP tests/interop/roam-rekey.test.ts: ${unavailable}`);

const readFileSafe = (path: string): string => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

/**
 * Packets on the internet link that are neither ARP nor UDP to or from the gateway (IKE, ESP-in-UDP), nor
 * the gateway's ICMP "port unreachable" for its own IKE ports while charon is down.
 */
const notToGateway = (packets: readonly CapturedPacket[]) =>
  packets.filter(
    (p) =>
      p.proto !== "arp" &&
      !(p.proto === "udp" && (p.dst === NET.gateway || p.src === NET.gateway)) &&
      !(p.proto === "icmp" && p.src === NET.gateway && new RegExp(`ICMP ${NET.gateway.replaceAll(".", "\\.")} udp port (500|4500) unreachable`).test(p.line)),
  );

/** The IKE SPIs and the installed CHILD_SAs' SPIs of the gateway's one IKE_SA. */
function gatewaySpis(sas: readonly IkeSaInfo[]) {
  const established = sas.filter((s) => s.state === "ESTABLISHED");
  expect(established.length).toBe(1);
  const sa = established[0]!;
  const children = sa.children.filter((c) => c.state === "INSTALLED");
  return { ike: `${String(sa.raw["initiator-spi"])}_${String(sa.raw["responder-spi"])}`, children: children.map((c) => `${c.spiIn}_${c.spiOut}`), installed: children.length };
}

describe.skipIf(unavailable !== undefined)("roam keeps the tunnel alive: rekeys, deletes, a gateway restart", () => {
  let stage: Stage;
  let gateway: Charon;
  let runDir: string;
  let pskFile: string;

  const roam = (args: string[]) => stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, ...args], { timeoutMs: 60_000 });
  const status = () => JSON.parse(roam(["status", "--json"]).stdout || "{}");
  const pskArgs = () => ["connect", "--gateway", NET.gateway, "--remote-id", stage.creds.gatewayId, "--id", stage.creds.pskClientId, "--psk-file", pskFile];
  const log = () => readFileSafe(`${runDir}/roam.log`);
  /** A ping of `count` packets every 0.1 s (size `size`), started now; resolves to ping's summary. */
  const pingFor = (count: number, size = 56) => {
    const out = `${stage.dir}/ping-${Date.now()}.log`;
    const p = stage.topo.spawn(stage.topo.names.client, ["ping", "-n", "-q", "-c", String(count), "-i", "0.1", "-W", "2", "-s", String(size), NET.corpAServer], { logFile: out });
    return p.exited.then(() => readFileSafe(out));
  };
  const disconnected = async () => {
    const r = roam(["disconnect"]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor("the gateway to forget the IKE SA", () => listSas(gateway).length === 0, 10_000);
    expect(existsSync(`${runDir}/roam.json`)).toBe(false);
  };

  beforeAll(async () => {
    stage = await createStage();
    gateway = stage.gateway;
    ({ runDir, pskFile } = clientRunFiles(stage));
  }, 60_000);
  afterAll(async () => {
    roam(["disconnect"]);
    if (gateway !== stage?.gateway) await gateway?.stop().catch(() => {});
    await stage?.destroy();
  });

  test("roam rekeys the IKE SA (--ike-rekey 8) and the CHILD_SA on a byte limit (--rekey-bytes): pings lose nothing, old SAs are gone", async () => {
    // 1028-byte ICMP packets, 10/s each way: ~10 KB/s per direction, so 60 kB is a rekey every ~6 s.
    const up = roam([...pskArgs(), "--ike-rekey", "8", "--rekey-bytes", "60000", "--background"]);
    expect(up.code, up.stderr).toBe(0);
    try {
      const before = gatewaySpis(listSas(gateway));
      const first = status();
      const summary = await pingFor(200, 1000);
      expect(summary).toContain("200 packets transmitted, 200 received, 0% packet loss");
      const s = status();
      expect(s.state).toBe("connected");
      expect(s.ike.spiI).not.toBe(first.ike.spiI);
      expect(s.child.spiIn).not.toBe(first.child.spiIn);
      // strongSwan answered roam's IKE SA rekeys (SA, Nonce, KE; no REKEY_SA) and CHILD_SA rekeys (REKEY_SA).
      const gwLog = gateway.log();
      expect((gwLog.match(/parsed CREATE_CHILD_SA request \d+ \[ SA No KE \]/g) ?? []).length).toBeGreaterThanOrEqual(2);
      expect((gwLog.match(/parsed CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\)/g) ?? []).length).toBeGreaterThanOrEqual(2);
      expect(log()).toContain("reached its soft lifetime: rekeying");
      expect(log()).toMatch(/IKE SA rekey: IKE SA rekeyed: aes256gcm16-prfsha256-x25519/);
      // The gateway holds one IKE_SA, the one roam reports, with one installed CHILD_SA: the old ones were deleted.
      const after = gatewaySpis(listSas(gateway));
      expect(after.ike).not.toBe(before.ike);
      expect(after.ike).toBe(`${s.ike.spiI}_${s.ike.spiR}`);
      expect(after.installed).toBe(1);
      expect(after.children).not.toEqual(before.children);
    } finally {
      await disconnected();
    }
  }, 90_000);

  test("PFS: with --esp aes256gcm16-x25519 roam's CHILD_SA rekeys (--rekey 3) carry a key exchange; pings lose nothing", async () => {
    const up = roam([...pskArgs(), "--esp", "aes256gcm16-x25519", "--rekey", "3", "--background"]);
    expect(up.code, up.stderr).toBe(0);
    try {
      const first = status().child.spiIn;
      const summary = await pingFor(80);
      expect(summary).toContain("80 packets transmitted, 80 received, 0% packet loss");
      expect(status().child.spiIn).not.toBe(first);
      // strongSwan chose its aes256gcm16-x25519 proposal: the requests and answers carry KE (RFC 7296 §1.3.1).
      expect((gateway.log().match(/parsed CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\) SA No KE TSi TSr \]/g) ?? []).length).toBeGreaterThanOrEqual(2);
      expect(gateway.log()).toMatch(/generating CREATE_CHILD_SA response \d+ \[ SA No KE TSi TSr \]/);
      expect(gatewaySpis(listSas(gateway)).installed).toBe(1);
    } finally {
      await disconnected();
    }
  }, 60_000);

  test("the gateway deletes the CHILD_SA, then the IKE_SA: roam reconnects by itself each time", async () => {
    const up = roam([...pskArgs(), "--background"]);
    expect(up.code, up.stderr).toBe(0);
    try {
      for (const what of [["--child", "corp"], ["--ike", "psk"]]) {
        const before = status().ike.spiI;
        const term = gateway.swanctl(["--terminate", ...what, "--timeout", "10"]);
        expect(term.code, `terminate ${what.join(" ")}: ${term.stdout}${term.stderr}`).toBe(0);
        await waitFor(`roam to connect again after the gateway's ${what[0]} delete`, () => {
          const s = status();
          return s.state === "connected" && s.ike.spiI !== before;
        }, 30_000);
        expect(stage.topo.exec(stage.topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", NET.corpAServer]).code).toBe(0);
      }
      expect(log()).toContain("gateway 192.0.2.1 deleted the CHILD_SA; connecting again");
      expect(log()).toContain("gateway 192.0.2.1 deleted the IKE SA; connecting again");
    } finally {
      await disconnected();
    }
  }, 90_000);

  test("with --no-reconnect, the gateway deleting the CHILD_SA ends roam with exit 6 (tunnel lost) and one line", async () => {
    const { topo } = stage;
    const out = `${stage.dir}/roam-no-reconnect.log`;
    const proc = topo.spawn(topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, ...pskArgs(), "--no-reconnect"], { logFile: out });
    try {
      await waitFor("roam to bring the tunnel up", () => readFileSafe(out).includes("tunnel up on roam0"), 20_000);
      expect(gateway.swanctl(["--terminate", "--child", "corp", "--timeout", "10"]).code).toBe(0);
      expect(await proc.exited).toBe(6);
    } finally {
      if (proc.exitCode === null) proc.kill("SIGKILL");
    }
    expect(readFileSafe(out).trim().split("\n").at(-1)).toBe("roam: gateway 192.0.2.1 deleted the CHILD_SA");
    await waitFor("the gateway to forget the IKE SA", () => listSas(gateway).length === 0, 10_000);
    expect(existsSync(`${runDir}/roam.json`)).toBe(false);
  }, 60_000);

  test("the gateway is killed and restarted: roam notices within --dpd plus its checks, is back by itself, nothing leaks meanwhile", async () => {
    const { topo } = stage;
    const up = roam([...pskArgs(), "--dpd", "2", "--background"]);
    expect(up.code, up.stderr).toBe(0);
    const cap = await startCapture(topo, `${stage.dir}/restart.pcap`);
    const pinger = topo.spawn(topo.names.client, ["ping", "-n", "-i", "0.2", NET.corpAServer]);
    let packets: CapturedPacket[] = [];
    try {
      const killed = gateway;
      process.kill(killed.pid, "SIGKILL");
      await waitFor("the gateway to die", () => !pidAlive(killed.pid), 5_000);
      const t0 = performance.now();
      gateway = await restartGateway(topo, killed);
      await waitFor("roam to declare the tunnel lost", () => status().state === "reconnecting", 45_000, 250);
      const noticed = (performance.now() - t0) / 1000;
      // --dpd 2, then about 25 s of liveness checks (5 sends) before the tunnel counts as lost.
      expect(noticed).toBeLessThan(40);
      // Meanwhile corporate-bound packets go into the TUN and are held back.
      expect(topo.mustExec(topo.names.client, ["ip", "route", "get", NET.corpAServer])).toContain("dev roam0");
      await waitFor("roam to be up again", () => status().state === "connected", 45_000, 250);
      expect(topo.exec(topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", NET.corpAServer]).code).toBe(0);
      expect(listSas(gateway).filter((s) => s.state === "ESTABLISHED").length).toBe(1);
      expect(log()).toMatch(/tunnel up again after \d+ attempt/);
    } finally {
      pinger.kill();
      packets = await cap.stop();
      await disconnected();
    }
    expect(notToGateway(packets).map((p) => p.line)).toEqual([]);
    // The corporate host's address never appears in the clear (the ping kept trying all along).
    expect(packets.filter((p) => p.line.includes(NET.corpAServer)).map((p) => p.line)).toEqual([]);
  }, 120_000);

  test("stress: gateway rekeys the CHILD_SA every ~20 s and the IKE SA every ~45 s for 3 minutes; a 10/s ping loses nothing, a TCP stream arrives intact", async () => {
    const { topo } = stage;
    const restore = setGatewayLifetimes(gateway, { child: { rekey: 20, life: 30, rand: 2 }, ike: { rekey: 45, over: 10, rand: 3 } });
    const marker = randomBytes(12);
    const cap = await startCapture(topo, `${stage.dir}/stress.pcap`);
    const srcLog = `${stage.dir}/stream-source.log`;
    let source: ReturnType<typeof topo.spawn> | undefined;
    try {
      const up = roam([...pskArgs(), "--background"]);
      expect(up.code, up.stderr).toBe(0);
      const before = gatewaySpis(listSas(gateway));
      // 170 s at 64 kB/s: the stream spans the whole run.
      const total = 170 * 64 * 1024;
      source = topo.spawn(topo.names.corpA, [BUN, STREAM, "serve", "8090", String(total), String(64 * 1024), marker.toString("hex")], { logFile: srcLog });
      await waitFor("the stream source to listen", () => readFileSafe(srcLog).includes("listening"), 10_000);
      const sinkLog = `${stage.dir}/stream-sink.log`;
      const sink = topo.spawn(topo.names.client, [BUN, SINK, NET.corpAServer, "8090", "240"], { logFile: sinkLog });
      const summary = await pingFor(1800);
      expect(await sink.exited).toBe(0);
      await waitFor("the stream source to finish", () => !pidAlive(source!.pid), 10_000);
      expect(summary).toContain("1800 packets transmitted, 1800 received, 0% packet loss");
      const sent = readFileSafe(srcLog).match(/sha256 ([0-9a-f]{64})/)?.[1];
      expect(readFileSafe(sinkLog).trim()).toBe(`bytes ${total} sha256 ${sent}`);
      // The gateway rekeyed both kinds several times, roam answered as responder, and one of each is left.
      const s = status();
      expect(s.state).toBe("connected");
      expect((log().match(/IKE SA rekeyed by the gateway/g) ?? []).length).toBeGreaterThanOrEqual(3);
      expect((log().match(/rekeyed by the gateway: aes256gcm16, SPIs/g) ?? []).length).toBeGreaterThanOrEqual(6);
      const after = gatewaySpis(listSas(gateway));
      expect(after.ike).not.toBe(before.ike);
      expect(after.ike).toBe(`${s.ike.spiI}_${s.ike.spiR}`);
      expect(after.children).not.toEqual(before.children);
      expect(after.installed).toBe(1);
    } finally {
      if (source && pidAlive(source.pid)) source.kill();
      restore();
      await disconnected();
    }
    const packets = await cap.stop();
    expect(notToGateway(packets).map((p) => p.line)).toEqual([]);
    expect(cap.containsBytes(marker)).toBe(false);
  }, 300_000);
});
