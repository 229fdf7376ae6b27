// What the tunnel changes on the host besides the TUN device: its addresses, routes and DNS. Every change
// goes through the undo journal (platform/linux/journal.ts), so it is undone when the tunnel ends, however
// it ends, and what an earlier roam left behind (SIGKILL, power loss) is undone before we start.

import type { TunnelConfig } from "../../core/ike/types.ts";
import { rangeToCidrs, selectorFromCidr, subtractRanges } from "../../core/ike/selectors.ts";
import { parseAddress } from "../../core/wire/addr.ts";
import { LinuxDns } from "../../platform/linux/dns.ts";
import { Journal, recoverFromStateFile } from "../../platform/linux/journal.ts";
import { applyAddressing, LinuxNetConfig, prepareLink } from "../../platform/linux/netcfg.ts";
import type { ConnectRequest } from "../connect-options.ts";
import { ExitCode, UserError } from "../exit.ts";

export class HostConfig {
  private readonly journal: Journal;
  private readonly net: LinuxNetConfig;
  private readonly dns: LinuxDns;
  /** What is applied to the host now (kept across a reconnect). */
  private applied: TunnelConfig | null = null;

  constructor(statePath: string) {
    this.journal = new Journal(statePath);
    // Only our TUN is configured here: the kernel takes its settings away with it (no state-file writes).
    this.net = new LinuxNetConfig(this.journal, { ownTunOnly: true });
    this.dns = new LinuxDns(this.journal);
  }

  /** Undoes the journal a roam that died without cleaning up left behind. Throws a UserError if it cannot. */
  recoverLeftovers(): { undone: number; errors: string[] } {
    try {
      return recoverFromStateFile(this.journal.statePath!);
    } catch (e) {
      throw new UserError(`cannot undo what an earlier roam left behind: ${e instanceof Error ? e.message : String(e)}`, ExitCode.HOST_SETUP_FAILED);
    }
  }

  /**
   * The MTU and link state of the TUN device `tunName`, ahead of apply() (which then finds them set): the
   * tunnel sets them while IKE_AUTH is under way. Up without an address or a route, the device carries
   * nothing; it goes away with the tunnel process's descriptor, as before.
   */
  prepareLink(tunName: string, mtu: number): void {
    if (this.applied) return;
    prepareLink(this.net, tunName, mtu);
  }

  /** Gives the TUN device `tunName` the addresses, routes and DNS of `cfg`, unless they are applied already. */
  apply(tunName: string, cfg: TunnelConfig, mtu: number): void {
    if (this.applied && JSON.stringify(this.applied) === JSON.stringify(cfg)) return;
    // A reconnect that got another address, other routes or DNS: put the new ones in their place.
    if (this.applied) this.journal.undoAll();
    applyAddressing(this.net, tunName, cfg, mtu);
    if (cfg.dns.length > 0 || cfg.domains.length > 0) this.dns.apply(tunName, { servers: cfg.dns, domains: cfg.domains });
    this.applied = cfg;
  }

  /** Undoes everything; returns what could not be undone. */
  undoAll(): string[] {
    return this.journal.undoAll().errors;
  }
}

/**
 * What the host gets from the gateway's configuration: its routes less the excluded subnets, and its DNS
 * servers unless the user fixed others or wants none.
 */
export function effectiveConfig(c: TunnelConfig, req: ConnectRequest): TunnelConfig {
  let routes = c.routes;
  if (req.excludedSubnets.length > 0) {
    const ranges = routes.flatMap((r) => selectorFromCidr(r, parseAddress) ?? []);
    routes = subtractRanges(ranges, req.excludedSubnets).flatMap((s) => rangeToCidrs(s.start, s.end));
  }
  const dns = req.dnsMode === "ignore" ? [] : req.dnsServers.length > 0 ? req.dnsServers : c.dns;
  const domains = req.dnsMode === "ignore" ? [] : c.domains;
  return { ...c, routes, dns, domains };
}
