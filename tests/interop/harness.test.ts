// Proves the interop stage honest with strongSwan's own client before any roam client is tested on it:
// cleartext never crosses the gateway, a strongSwan client gets through the NAT with PSK and with
// EAP-MSCHAPv2 (and refuses a gateway certificate from the wrong CA), and nothing is left behind.
// Needs root and tests/interop/install-deps.sh; skipped with a message otherwise.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { startCapture, type CapturedPacket } from "./lib/capture.ts";
import { CHILD, CONN } from "./lib/configs.ts";
import { pidAlive, waitFor } from "./lib/proc.ts";
import { listSas } from "./lib/sas.ts";
import { createStage, interopUnavailable, type Stage } from "./lib/stage.ts";
import type { Charon } from "./lib/strongswan.ts";
import { listRoamNamespaces, NET, type Topology } from "./lib/topology.ts";

const unavailable = interopUnavailable();
if (unavailable !== undefined) console.warn(`SKIP tests/interop/harness.test.ts: ${unavailable}`);

const CORP_TS = [NET.corpB, NET.corpA]; // as strongSwan lists them (sorted)

/** Pings `dst` from the client namespace with a recognisable payload; true if it answered. */
function ping(topo: Topology, dst: string, marker: Uint8Array, count = 1): boolean {
  const hex = Buffer.from(marker).toString("hex");
  return topo.exec(topo.names.client, ["ping", "-n", "-c", `${count}`, "-i", "0.2", "-W", "1", "-p", hex, dst]).code === 0;
}

/** Everything on the internet link must be IKE/NAT-T (UDP 500/4500) or ARP; returns the offenders. */
function notIkeOrArp(packets: readonly CapturedPacket[]): CapturedPacket[] {
  return packets.filter(
    (p) => p.proto !== "arp" && !(p.proto === "udp" && [500, 4500].includes(p.sport ?? 0) && [500, 4500].includes(p.dport ?? 0)),
  );
}

describe.skipIf(unavailable !== undefined)("interop stage (strongSwan gateway behind NAT)", () => {
  let stage: Stage;
  const ours = { namespaces: [] as string[], pids: [] as number[], dirs: [] as string[] };
  const remember = (s: Stage): void => {
    ours.namespaces.push(...Object.values(s.topo.names));
    ours.pids.push(s.gateway.pid);
    ours.dirs.push(s.dir);
  };
  const startClient = async (s: Stage): Promise<Charon> => {
    const c = await s.startStrongswanClient();
    ours.pids.push(c.pid);
    return c;
  };

  beforeAll(async () => {
    stage = await createStage();
    remember(stage);
  }, 30_000);
  afterAll(async () => {
    await stage?.destroy();
  });

  test("the topology is honest: no cleartext to the corporate LANs, the gateway answers through NAT", async () => {
    const { topo } = stage;
    const marker = randomBytes(8);
    const drops0 = topo.honestDropCount();
    const cap = await startCapture(topo, `${stage.dir}/cleartext.pcap`);
    expect(ping(topo, NET.gateway, marker)).toBe(true);
    expect(ping(topo, NET.corpAServer, marker)).toBe(false);
    expect(ping(topo, NET.corpBServer, marker)).toBe(false);
    const packets = await cap.stop();
    // The corporate pings reached the gateway and died on its DROP rule (not on a missing route).
    expect(topo.honestDropCount()).toBeGreaterThanOrEqual(drops0 + 2);
    // NAT: on the internet link the client appears as the NAT box's 192.0.2.2.
    const icmp = packets.filter((p) => p.proto === "icmp");
    expect(icmp.some((p) => p.src === NET.natInternet && p.dst === NET.gateway)).toBe(true);
    expect(packets.some((p) => p.src === NET.client || p.dst === NET.client)).toBe(false);
    // The capture sees cleartext when there is some (so "marker absent" later means something).
    expect(cap.containsBytes(marker)).toBe(true);
  }, 20_000);

  const tunnelScenario = (conn: string) =>
    async function scenario(): Promise<void> {
      const { topo, gateway } = stage;
      const client = await startClient(stage);
      try {
        const marker = randomBytes(8);
        const drops0 = topo.honestDropCount();
        const cap = await startCapture(topo, `${stage.dir}/${conn}.pcap`);

        const init = client.swanctl(["--initiate", "--ike", conn, "--child", CHILD, "--timeout", "20"]);
        expect(init.code, `swanctl --initiate ${conn}:\n${init.stdout}${init.stderr}`).toBe(0);

        // Client side: a virtual IP from the pool, DNS 203.0.113.53, TSr narrowed to the corporate LANs.
        const [csa] = listSas(client);
        expect(csa?.state).toBe("ESTABLISHED");
        const vip = csa?.localVips[0] ?? "";
        expect(vip).toMatch(/^198\.19\.0\.\d{1,3}$/);
        expect(csa?.children[0]?.remoteTs).toEqual(CORP_TS);
        expect(readFileSync(client.resolvConf, "utf8")).toContain(`nameserver ${NET.dns}`);

        // Through the tunnel to both LANs.
        expect(ping(topo, NET.corpAServer, marker, 2)).toBe(true);
        expect(ping(topo, NET.corpBServer, marker, 2)).toBe(true);

        // Gateway side: the SA, from the NAT's address, with the VIP, ESP in UDP, and our pings counted.
        const gsas = listSas(gateway);
        expect(gsas.length).toBe(1);
        const gsa = gsas[0]!;
        expect(gsa.name).toBe(conn);
        expect(gsa.state).toBe("ESTABLISHED");
        expect(gsa.remoteHost).toBe(NET.natInternet);
        expect(gsa.remoteVips).toEqual([vip]);
        const gchild = gsa.children[0]!;
        expect(gchild.state).toBe("INSTALLED");
        expect(gchild.encap).toBe("yes");
        expect(gchild.localTs).toEqual(CORP_TS);
        expect(gchild.remoteTs).toEqual([`${vip}/32`]);
        expect(gchild.packetsIn).toBeGreaterThanOrEqual(4);
        expect(gateway.mustSwanctl(["--list-sas"])).toMatch(new RegExp(`${conn}: #\\d+, ESTABLISHED, IKEv2[\\s\\S]*TUNNEL-in-UDP`));
        if (conn === CONN.eap) {
          // vici lists remote-eap-id only when it differs from IDi; here both are the user name.
          expect(gsa.remoteEapId ?? gsa.remoteId).toBe(stage.creds.eapUser);
          expect(gateway.log()).toMatch(/EAP method EAP_MSCHAPV2 succeeded/);
        }

        // Nothing forwarded in cleartext; only IKE and ESP-in-UDP on the internet link, payload unseen.
        expect(topo.honestDropCount()).toBe(drops0);
        const packets = await cap.stop();
        expect(notIkeOrArp(packets).map((p) => p.line)).toEqual([]);
        expect(packets.some((p) => p.sport === 4500 && p.src === NET.natInternet)).toBe(true);
        expect(cap.containsBytes(marker)).toBe(false);

        // Terminate: the SA goes away on both ends and the LANs are unreachable again.
        client.mustSwanctl(["--terminate", "--ike", conn, "--timeout", "10"]);
        await waitFor(`gateway to forget the ${conn} IKE_SA`, () => listSas(gateway).length === 0, 5_000);
        expect(listSas(client)).toEqual([]);
        expect(ping(topo, NET.corpAServer, marker)).toBe(false);
      } finally {
        await client.stop();
      }
      expect(pidAlive(client.pid)).toBe(false);
    };

  test("strongSwan client with PSK through the NAT: virtual IP, both LANs, SA on the gateway, terminate",
    tunnelScenario(CONN.psk), 40_000);

  test("strongSwan client with EAP-MSCHAPv2 against the gateway certificate, 0.0.0.0/0 narrowed",
    tunnelScenario(CONN.eap), 40_000);

  test("a strongSwan client that trusts only \"roam test CA\" refuses the \"other CA\" gateway", async () => {
    const other = await createStage({ gatewayCert: "other" });
    remember(other);
    try {
      const client = await startClient(other);
      const init = client.swanctl(["--initiate", "--ike", CONN.eap, "--child", CHILD, "--timeout", "20"]);
      expect(init.code).not.toBe(0);
      expect(client.log()).toMatch(/no trusted \S+ public key found for 'gw\.roam\.test'|no issuer certificate found/);
      expect(listSas(client).filter((sa) => sa.state === "ESTABLISHED")).toEqual([]);
    } finally {
      await other.destroy();
    }
  }, 40_000);

  test("destroy removes namespaces, /etc/netns entries, charon processes and the run directories", async () => {
    await stage.destroy();
    const left = listRoamNamespaces().filter((n) => ours.namespaces.includes(n));
    expect(left).toEqual([]);
    expect(ours.namespaces.filter((n) => existsSync(`/etc/netns/${n}`))).toEqual([]);
    expect(ours.pids.filter(pidAlive)).toEqual([]);
    expect(ours.dirs.filter((d) => existsSync(d))).toEqual([]);
    expect(ours.namespaces.length).toBe(10);
    expect(ours.pids.length).toBe(5);
  }, 20_000);
});
