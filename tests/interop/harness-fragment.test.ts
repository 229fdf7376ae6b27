// Proves the stage options for IKE fragmentation (issue 5) with strongSwan's own client before roam is
// tested on them: `dropIpFragments` really drops large (IP-fragmented) UDP datagrams on the NAT box and
// lets small ones through; with `bigChain` the gateway's IKE_AUTH response no longer fits one datagram,
// so an EAP client only gets through when the gateway uses IKE fragmentation (RFC 7383).
// Needs root and tests/interop/install-deps.sh; skipped with a message otherwise.

import { afterAll, describe, expect, test } from "bun:test";
import { BIG_CHAIN_MIN_BYTES } from "./lib/bigchain.ts";
import { CHILD, CONN } from "./lib/configs.ts";
import { ipFragmentDropCount, udpProbe } from "./lib/faults.ts";
import { listSas } from "./lib/sas.ts";
import { createStage, interopUnavailable, type Stage } from "./lib/stage.ts";
import { NET } from "./lib/topology.ts";

const unavailable = interopUnavailable();
if (unavailable !== undefined) console.warn(`SKIP tests/interop/harness-fragment.test.ts: ${unavailable}`);

/** Sizes of one strongSwan log's "sending packet: ... (N bytes)" lines from the gateway to the NAT. */
function sentSizes(log: string): number[] {
  return [...log.matchAll(/sending packet: from 192\.0\.2\.1\[\d+\] to 192\.0\.2\.2\[\d+\] \((\d+) bytes\)/g)].map((m) => Number(m[1]));
}

describe.skipIf(unavailable !== undefined)("stage options: dropIpFragments, bigChain, fragmentation", () => {
  const stages: Stage[] = [];
  afterAll(async () => {
    for (const s of stages.splice(0)) await s.destroy().catch(() => {});
  });
  const stage = async (opts: Parameters<typeof createStage>[0]): Promise<Stage> => {
    const s = await createStage(opts);
    stages.push(s);
    return s;
  };

  test("dropIpFragments: a 3000-octet UDP datagram dies on the NAT box, 1000 and 1400 pass; without it all pass", async () => {
    const sizes = [1000, 3000, 1400];
    const plain = await stage({});
    const through = await udpProbe(plain.topo, plain.dir, { fromNs: plain.topo.names.client, toNs: plain.topo.names.gateway, toAddress: NET.gateway, sizes });
    expect(through).toEqual(sizes);
    expect(ipFragmentDropCount(plain.topo)).toBe(0);
    await plain.destroy();

    const s = await stage({ dropIpFragments: true });
    const got = await udpProbe(s.topo, s.dir, { fromNs: s.topo.names.client, toNs: s.topo.names.gateway, toAddress: NET.gateway, sizes });
    expect(got).toEqual([1000, 1400]);
    expect(ipFragmentDropCount(s.topo)).toBeGreaterThanOrEqual(1);
    await s.destroy();
  }, 20_000);

  test("bigChain + dropIpFragments: EAP fails with gateway fragmentation=no, succeeds with fragmentation=yes", async () => {
    // Without IKE fragmentation the IKE_AUTH response (> 3000 octets) is IP-fragmented and dropped.
    const off = await stage({ bigChain: true, dropIpFragments: true, fragmentation: false });
    expect(off.bigChain!.sentBytes).toBeGreaterThan(BIG_CHAIN_MIN_BYTES);
    const c1 = await off.startStrongswanClient();
    const r1 = c1.swanctl(["--initiate", "--ike", CONN.eap, "--child", CHILD, "--timeout", "25"], 30_000);
    expect(r1.code).not.toBe(0);
    expect(listSas(c1).filter((sa) => sa.state === "ESTABLISHED")).toEqual([]);
    const big = sentSizes(off.gateway.log()).filter((n) => n > 1500);
    expect(big.length).toBeGreaterThanOrEqual(1); // the gateway did answer, in one large datagram
    expect(big[0]!).toBeGreaterThan(BIG_CHAIN_MIN_BYTES);
    expect(off.gateway.log()).not.toMatch(/splitting IKE message/);
    expect(ipFragmentDropCount(off.topo)).toBeGreaterThanOrEqual(1);
    await off.destroy();

    // With it (the strongSwan client announces support by default) every datagram fits the path.
    const on = await stage({ bigChain: true, dropIpFragments: true, fragmentation: true });
    const c2 = await on.startStrongswanClient();
    const r2 = c2.swanctl(["--initiate", "--ike", CONN.eap, "--child", CHILD, "--timeout", "20"], 25_000);
    expect(r2.code, `swanctl --initiate eap:\n${r2.stdout}${r2.stderr}`).toBe(0);
    expect(listSas(c2)[0]?.state).toBe("ESTABLISHED");
    expect(on.gateway.log()).toMatch(/splitting IKE message \(\d+ bytes\) into \d+ fragments/);
    expect(c2.log()).toMatch(/reassembled fragmented IKE message/);
    expect(sentSizes(on.gateway.log()).every((n) => n <= 1500)).toBe(true);
    expect(ipFragmentDropCount(on.topo)).toBe(0);
    // The client trusts only the big root: the intermediate came from the gateway.
    expect(c2.log()).toMatch(/reached self-signed root ca with a path length of 1/);
    await on.destroy();
  }, 45_000);
});
