// Changing the running gateway for a test: short SA lifetimes in its swanctl.conf (strongSwan's
// rekey_time / life_time / over_time / rand_time, reloaded with --load-conns), and a restart of charon
// with the same configuration after it was killed.

import { readFileSync, writeFileSync } from "node:fs";
import { startCharon, type Charon } from "./strongswan.ts";
import type { Topology } from "./topology.ts";

export interface Lifetimes {
  /** IKE_SA: rekey after `rekey` s (less up to `rand` s); closed `over` s after that without a rekey. */
  readonly ike?: { readonly rekey: number; readonly over: number; readonly rand: number };
  /** CHILD_SA: rekey after `rekey` s (less up to `rand` s), expired after `life` s. */
  readonly child?: { readonly rekey: number; readonly life: number; readonly rand: number };
}

/** Sets the lifetimes on every connection of `gateway` and reloads; returns a function that restores the original. */
export function setGatewayLifetimes(gateway: Charon, l: Lifetimes): () => void {
  const original = readFileSync(gateway.swanctlConf, "utf8");
  let conf = original;
  // The CHILD_SA settings go into each `children { corp { ... } }` block (after dpd_action), the IKE_SA
  // ones at connection level (before pools); the gateway configs of lib/configs.ts have both lines.
  if (l.child) conf = conf.replaceAll("dpd_action = clear", `dpd_action = clear\n        rekey_time = ${l.child.rekey}s\n        life_time = ${l.child.life}s\n        rand_time = ${l.child.rand}s`);
  if (l.ike) conf = conf.replaceAll("    pools = ", `    rekey_time = ${l.ike.rekey}s\n    over_time = ${l.ike.over}s\n    rand_time = ${l.ike.rand}s\n    pools = `);
  if (conf === original) throw new Error("setGatewayLifetimes: nothing to change in the gateway's swanctl.conf");
  writeFileSync(gateway.swanctlConf, conf);
  gateway.mustSwanctl(["--load-conns"]);
  return () => {
    writeFileSync(gateway.swanctlConf, original);
    gateway.mustSwanctl(["--load-conns"]);
  };
}

/**
 * Starts charon again in the stopped (or killed) `gateway`'s namespace and directory, with the same
 * swanctl.conf and the credential files already in its swanctl dir. The caller stops the new one.
 */
export async function restartGateway(topo: Topology, gateway: Charon): Promise<Charon> {
  return await startCharon(topo, {
    name: gateway.name,
    ns: gateway.ns,
    dir: gateway.dir,
    swanctlConf: readFileSync(gateway.swanctlConf, "utf8"),
  });
}
