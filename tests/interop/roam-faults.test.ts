// roam (dist/roam) against the strongSwan gateway when the network moves under the tunnel: several
// gateways with the first one dead, MOBIKE (RFC 4555) after a NAT remapping and after the client's own
// address changes, a REDIRECT (RFC 5685) from the gateway while connected, and a path with loss and delay
// (a userspace relay in the NAT namespace: our kernels have no netem); the 10 MB transfer over that path is
// roam-lossy.slow.ts (about 4 minutes, run beside this suite by tests/run.sh). Needs root and
// tests/interop/install-deps.sh; skipped with a message otherwise.
//
// What strongSwan can produce here: `swanctl --redirect` sends the INFORMATIONAL REDIRECT of an
// established IKE SA (RFC 5685 §5). A REDIRECT in IKE_SA_INIT or IKE_AUTH needs a redirect provider
// registered by a plugin, and none of the plugins Debian's strongSwan 5.9.8 installs here registers one
// (charon's redirect_manager has no built-in provider): those two are exchange tests against the fake
// gateway (tests/unit/ike/redirect.test.ts).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startCapture, type CapturedPacket } from "./lib/capture.ts";
import { moveClientAddress, remapNat } from "./lib/faults.ts";
import { readIfExists, waitFor } from "./lib/proc.ts";
import { startLossyPath } from "./lib/relay.ts";
import { listSas } from "./lib/sas.ts";
import { clientRunFiles, createStage, interopUnavailable, type Stage } from "./lib/stage.ts";
import { NET } from "./lib/topology.ts";

const root = join(import.meta.dir, "../..");
const ROAM = join(root, "dist/roam");
const unavailable = interopUnavailable() ?? (existsSync(ROAM) ? undefined : "dist/roam is not built (run bun build.ts)");
if (unavailable !== undefined) console.warn(`SKIP tests/interop/roam-faults.test.ts: ${unavailable}`);

/** The second gateway address (same charon), for the redirect. */
const GATEWAY2 = "192.0.2.3";
/** Nobody answers here: the dead first gateway. */
const DEAD_GATEWAY = "192.0.2.99";
const CLIENT2 = "198.18.1.3";

/** Packets on the internet link that are neither ARP nor UDP to/from a gateway address's ports 500/4500. */
function notIkeOrArp(packets: readonly CapturedPacket[]): string[] {
  const gw = [NET.gateway, GATEWAY2];
  const ike = (p: CapturedPacket) =>
    p.proto === "udp" && ((gw.includes(p.dst ?? "") && [500, 4500].includes(p.dport ?? 0)) || (gw.includes(p.src ?? "") && [500, 4500].includes(p.sport ?? 0)));
  return packets.filter((p) => p.proto !== "arp" && !ike(p)).map((p) => p.line);
}

describe.skipIf(unavailable !== undefined)("roam when the network changes (strongSwan gateway)", () => {
  let stage: Stage;
  let runDir: string;
  let pskFile: string;

  const roam = (args: string[]) => stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, ROAM, ...args], { timeoutMs: 90_000 });
  const status = () => {
    const r = roam(["status", "--json"]);
    return r.code === 0 ? JSON.parse(r.stdout) : null;
  };
  const pingOnce = (dst: string) => stage.topo.exec(stage.topo.names.client, ["ping", "-n", "-c", "1", "-W", "1", dst]).code === 0;
  const ping = (dst: string) => stage.topo.exec(stage.topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", dst]).code === 0;
  /** The tunnel log (all tests share the run directory): what was written since the test's last connect(). */
  let logMark = 0;
  const log = () => readIfExists(`${runDir}/roam.log`).slice(logMark);
  const connect = (...extra: string[]) => {
    logMark = readIfExists(`${runDir}/roam.log`).length;
    return roam(["connect", ...extra, "--remote-id", stage.creds.gatewayId, "--id", stage.creds.pskClientId, "--psk-file", pskFile, "--background"]);
  };
  const disconnect = () => {
    const down = roam(["disconnect"]);
    expect(down.code, `disconnect: ${down.stdout}${down.stderr}`).toBe(0);
  };

  beforeAll(async () => {
    stage = await createStage({ secondGatewayAddress: GATEWAY2 });
    ({ runDir, pskFile } = clientRunFiles(stage));
  }, 60_000);
  afterAll(async () => {
    roam(["disconnect"]);
    await stage?.destroy();
  });

  test("several gateways, the first dead: connect moves on to the second; status names the one in use", async () => {
    const up = connect("--gateway", DEAD_GATEWAY, "--gateway", NET.gateway);
    expect(up.code, `connect: ${up.stdout}${up.stderr}`).toBe(0);
    try {
      expect(up.stderr).toContain(`gateway ${DEAD_GATEWAY} did not answer IKE_SA_INIT after 3 tries; trying the next gateway, ${NET.gateway}`);
      const s = status();
      expect(s.state).toBe("connected");
      expect(s.gateway.address).toBe(NET.gateway);
      expect(s.gateways).toEqual([DEAD_GATEWAY, NET.gateway]);
      expect(ping(NET.corpAServer)).toBe(true);
      expect(listSas(stage.gateway).length).toBe(1);
    } finally {
      disconnect();
    }
    await waitFor("the gateway to forget the IKE SA", () => listSas(stage.gateway).length === 0, 5_000);
  }, 60_000);

  test("several gateways while reconnecting: the lost gateway stays dark, roam walks on to the next one", async () => {
    const { topo, gateway } = stage;
    const up = connect("--gateway", NET.gateway, "--gateway", GATEWAY2, "--dpd", "2");
    expect(up.code, `connect: ${up.stdout}${up.stderr}`).toBe(0);
    // Only the first gateway address goes dark (both are the same charon: the second stays reachable).
    const block = ["FORWARD", "-d", NET.gateway, "-p", "udp", "-j", "DROP"];
    let blocked = false;
    try {
      expect(status().gateway.address).toBe(NET.gateway);
      expect(ping(NET.corpAServer)).toBe(true);
      topo.mustExec(topo.names.nat, ["iptables", "-I", ...block]);
      blocked = true;
      // DPD gives up after ~25 s, the lost gateway gets one more IKE_SA_INIT round (9.5 s), then the next.
      await waitFor("roam to be up again with the second gateway", () => {
        const s = status();
        return s?.state === "connected" && s.gateway.address === GATEWAY2;
      }, 60_000, 500);
      expect(log()).toContain(`gateway ${NET.gateway} did not answer IKE_SA_INIT after 3 tries; trying the next gateway, ${GATEWAY2}`);
      expect(ping(NET.corpAServer)).toBe(true);
      expect(listSas(gateway).some((sa) => sa.state === "ESTABLISHED" && sa.localHost === GATEWAY2)).toBe(true);
    } finally {
      if (blocked) topo.exec(topo.names.nat, ["iptables", "-D", ...block]);
      disconnect();
      // The SA roam lost behind the blackhole stays on the gateway (no DPD there): remove it.
      for (let i = 0; i < 3 && listSas(gateway).length > 0; i++) gateway.swanctl(["--terminate", "--ike", "psk", "--force"]);
    }
    await waitFor("the gateway to forget the IKE SAs", () => listSas(gateway).length === 0, 5_000);
  }, 90_000);

  test("MOBIKE: the NAT remaps us, then our address changes: the same IKE SA follows, pings go on, status shows the new address", async () => {
    const { topo, gateway } = stage;
    const up = connect("--gateway", NET.gateway, "--dpd", "3");
    expect(up.code, `connect: ${up.stdout}${up.stderr}`).toBe(0);
    let moved = false;
    try {
      const s0 = status();
      expect(s0.ike.mobike).toBe(true);
      expect(s0.localAddress).toBe(NET.client);
      expect(ping(NET.corpAServer)).toBe(true);
      const [sa0] = listSas(gateway);
      const port0 = Number(sa0!.raw["remote-port"]);
      expect(sa0!.remoteHost).toBe(NET.natInternet);

      // 1. The NAT forgets us and maps us to another port: the gateway's answers to the old mapping die
      // at the NAT; roam's next liveness check sees the gateway's new NAT detection hash and updates.
      remapNat(topo);
      await waitFor("pings through the tunnel after the NAT remapping", () => pingOnce(NET.corpAServer), 30_000, 200);
      const [sa1] = listSas(gateway);
      expect(sa1!.raw.uniqueid).toBe(sa0!.raw.uniqueid);
      expect(sa1!.raw["initiator-spi"]).toBe(sa0!.raw["initiator-spi"]);
      const port1 = Number(sa1!.raw["remote-port"]);
      expect(port1).not.toBe(port0);
      expect(port1).toBeGreaterThanOrEqual(20000);
      expect(port1).toBeLessThanOrEqual(29999);
      expect(log()).toContain("MOBIKE: the NAT in between changed its mapping");
      expect(log()).toContain("MOBIKE: the NAT remapped us: UPDATE_SA_ADDRESSES");
      // strongSwan's own account: its IKE SA now points at the new mapping.
      expect(gateway.log()).toContain(`remote endpoint changed from ${NET.natInternet}[${port0}] to ${NET.natInternet}[${port1}]`);

      // 2. The client moves to another address: roam notices (rtnetlink), sends UPDATE_SA_ADDRESSES from it.
      moveClientAddress(topo, NET.client, CLIENT2);
      moved = true;
      await waitFor("status to show the new local address", () => status()?.localAddress === CLIENT2, 10_000, 200);
      await waitFor("pings through the tunnel from the new address", () => pingOnce(NET.corpAServer), 15_000, 200);
      expect(ping(NET.corpBServer)).toBe(true);
      const s2 = status();
      expect(s2.state).toBe("connected");
      expect(s2.ike.spiI).toBe(s0.ike.spiI);
      expect(s2.ike.natLocal).toBe(true);
      const sas = listSas(gateway);
      expect(sas.length).toBe(1);
      expect(sas[0]!.state).toBe("ESTABLISHED");
      expect(sas[0]!.raw.uniqueid).toBe(sa0!.raw.uniqueid);
      // kernel-libipsec cannot move an installed CHILD_SA: strongSwan rekeys it after each update (roam answers).
      expect(sas[0]!.children.some((c) => c.state === "INSTALLED")).toBe(true);
      expect(log()).toContain(`our address changed from ${NET.client} to ${CLIENT2}`);
      expect(log()).toContain("MOBIKE: our address changed: UPDATE_SA_ADDRESSES");
      expect(log()).toContain("MOBIKE: the gateway moved the SAs to where we are now (behind a NAT)");
      expect(log()).not.toContain("connecting again");
    } finally {
      disconnect();
      if (moved) moveClientAddress(topo, CLIENT2, NET.client);
    }
    await waitFor("the gateway to forget the IKE SA", () => listSas(gateway).length === 0, 5_000);
  }, 90_000);

  test("without MOBIKE (--no-mobike): the gateway follows a NAT remapping by itself (RFC 7296 §2.23); a new address means a new IKE SA", async () => {
    const { topo, gateway } = stage;
    const up = connect("--gateway", NET.gateway, "--dpd", "3", "--no-mobike");
    expect(up.code, `connect: ${up.stdout}${up.stderr}`).toBe(0);
    let moved = false;
    try {
      expect(status().ike.mobike).toBe(false);
      expect(ping(NET.corpAServer)).toBe(true);
      const [sa0] = listSas(gateway);
      const port0 = Number(sa0!.raw["remote-port"]);

      remapNat(topo, "10000-19999"); // below the ephemeral range: the port really changes
      await waitFor("pings through the tunnel after the NAT remapping", () => pingOnce(NET.corpAServer), 30_000, 200);
      const [sa1] = listSas(gateway);
      const port1 = Number(sa1!.raw["remote-port"]);
      expect(sa1!.raw.uniqueid).toBe(sa0!.raw.uniqueid);
      expect(port1).toBeGreaterThanOrEqual(10000);
      expect(port1).toBeLessThanOrEqual(19999);
      expect(gateway.log()).toContain(`remote endpoint changed from ${NET.natInternet}[${port0}] to ${NET.natInternet}[${port1}]`);
      expect(log()).not.toContain("connecting again");

      // The reconnect keeps the TUN and routes: nothing for the corporate LANs leaves in the clear meanwhile.
      const drops0 = topo.honestDropCount();
      const cap = await startCapture(topo, `${stage.dir}/no-mobike-move.pcap`);
      const pinger = topo.spawn(topo.names.client, ["ping", "-n", "-i", "0.1", "-c", "60", NET.corpBServer]);
      moveClientAddress(topo, NET.client, CLIENT2);
      moved = true;
      await waitFor("a new IKE SA from the new address", () => {
        const s = status();
        return s?.state === "connected" && s.localAddress === CLIENT2 && s.ike.spiI !== sa0!.raw["initiator-spi"];
      }, 20_000, 200);
      expect(log()).toContain("our address changed and MOBIKE is off; connecting again");
      expect(ping(NET.corpAServer)).toBe(true);
      await pinger.exited;
      expect(notIkeOrArp(await cap.stop())).toEqual([]);
      expect(topo.honestDropCount()).toBe(drops0);
      await waitFor("the old IKE SA to be gone from the gateway", () => {
        const sas = listSas(gateway);
        return sas.length === 1 && sas[0]!.raw.uniqueid !== sa0!.raw.uniqueid;
      }, 10_000);
    } finally {
      disconnect();
      if (moved) moveClientAddress(topo, CLIENT2, NET.client);
    }
    await waitFor("the gateway to forget the IKE SA", () => listSas(gateway).length === 0, 5_000);
  }, 90_000);

  test("REDIRECT while connected (swanctl --redirect, RFC 5685 §5): roam moves to the other gateway; status shows it", async () => {
    const { gateway } = stage;
    const up = connect("--gateway", NET.gateway);
    expect(up.code, `connect: ${up.stdout}${up.stderr}`).toBe(0);
    try {
      expect(ping(NET.corpAServer)).toBe(true);
      const drops0 = stage.topo.honestDropCount();
      const cap = await startCapture(stage.topo, `${stage.dir}/redirect.pcap`);
      const pinger = stage.topo.spawn(stage.topo.names.client, ["ping", "-n", "-i", "0.1", "-c", "30", NET.corpBServer]);
      gateway.mustSwanctl(["--redirect", "--peer-ip", NET.natInternet, "--gateway", GATEWAY2]);
      await waitFor("roam to be connected to the second gateway", () => {
        const s = status();
        return s?.state === "connected" && s.gateway.address === GATEWAY2;
      }, 20_000, 200);
      expect(ping(NET.corpAServer)).toBe(true);
      await waitFor("one IKE SA left, with the second gateway address", () => {
        const sas = listSas(gateway);
        return sas.length === 1 && sas[0]!.state === "ESTABLISHED" && sas[0]!.localHost === GATEWAY2;
      }, 10_000);
      expect(log()).toContain(`gateway ${NET.gateway} redirects us to ${GATEWAY2} (while connected)`);
      // Between the two IKE SAs the TUN and routes stay: nothing for the corporate LANs leaves in the clear.
      await pinger.exited;
      expect(notIkeOrArp(await cap.stop())).toEqual([]);
      expect(stage.topo.honestDropCount()).toBe(drops0);
      // REDIRECTED_FROM (RFC 5685 §8.3) reached the gateway: strongSwan logs where the client came from.
      expect(gateway.log()).toContain(`client got redirected from ${NET.gateway}`);
    } finally {
      disconnect();
    }
    await waitFor("the gateway to forget the IKE SA", () => listSas(gateway).length === 0, 5_000);
  }, 60_000);

  /** 10 MB from corp A to the client through the tunnel; returns whether it arrived intact, and how long it took. */
  test("20% loss and 200 ms delay each way (userspace relay): connect succeeds, pings get through", async () => {
    const { topo, gateway } = stage;
    const path = await startLossyPath(topo, stage.dir, { delayMs: 200, lossPercent: 20, seed: 20261123 });
    try {
      const up = connect("--gateway", NET.gateway);
      expect(up.code, `connect: ${up.stdout}${up.stderr}`).toBe(0);
      const p = topo.exec(topo.names.client, ["ping", "-n", "-c", "20", "-i", "0.3", "-W", "3", NET.corpAServer], { timeoutMs: 30_000 });
      const received = Number(/(\d+) received/.exec(p.stdout)?.[1] ?? -1);
      // Each echo and its reply cross the relay once each way: 0.8 × 0.8 = 64% come back on average.
      expect(received, p.stdout).toBeGreaterThanOrEqual(5);
      // The delay is real: an echo crosses the relay twice (200 ms each).
      const rttMin = Number(/= ([\d.]+)\//.exec(p.stdout)?.[1] ?? 0);
      console.log(`ping through the lossy path: ${received}/20 answered, rtt min ${rttMin} ms`);
      expect(rttMin).toBeGreaterThanOrEqual(400);
      const st = path.stats();
      const lossRate = st.dropped / (st.dropped + st.forwarded);
      expect(st.forwarded + st.dropped).toBeGreaterThan(40);
      expect(lossRate).toBeGreaterThan(0.1);
      expect(lossRate).toBeLessThan(0.3);
    } finally {
      roam(["disconnect"]);
      await path.stop();
      // Our DELETE may have been dropped on the way: do not leave the SA for the next test.
      if (listSas(gateway).length > 0) gateway.swanctl(["--terminate", "--ike", "psk", "--force"]);
    }
  }, 120_000);
});
