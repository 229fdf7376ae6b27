// What the tunnel changes in the client namespace (links, routes, resolv.conf): read before a test and
// compared after it, to show that roam left the host as it found it.

import type { Topology } from "./topology.ts";

export interface HostState {
  links: string;
  routes4: string;
  routes6: string;
  resolv: string;
}

export function hostState(topo: Topology): HostState {
  const ns = topo.names.client;
  const links = topo.mustExec(ns, ["ip", "-o", "link", "show"]).replace(/\s+link\/.*$/gm, "");
  return {
    links: links
      .split("\n")
      .map((l) => l.replace(/^\d+: /, "").split(":")[0])
      .join(","),
    routes4: topo.mustExec(ns, ["ip", "-4", "route", "show", "table", "all"]),
    routes6: topo.mustExec(ns, ["ip", "-6", "route", "show", "table", "all"]),
    resolv: topo.mustExec(ns, ["cat", "/etc/resolv.conf"]),
  };
}
