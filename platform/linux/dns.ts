// DNS servers and domains from the configuration payload (INTERNAL_IP4_DNS / INTERNAL_IP6_DNS,
// RFC 7296 §3.15.1; INTERNAL_DNS_DOMAIN, RFC 8598 §3.1), applied one of two ways:
//
//  - systemd-resolved is running: per link, `resolvectl dns <link> ...` and `resolvectl domain <link>
//    ~domain ...` (routing-only domains, "~": only those names are asked of the gateway's servers —
//    the split-DNS meaning RFC 8598 gives INTERNAL_DNS_DOMAIN). Undo: `resolvectl revert <link>`.
//  - otherwise: /etc/resolv.conf is rewritten atomically (ours first, the previous servers after, up
//    to MAXNS=3 as resolv.conf(5) reads no more) and restored on undo — a symlink is restored as the
//    symlink itself, a regular file with its content and mode, a missing file is removed again.

import { existsSync } from "node:fs";
import type { DnsConfig, DnsSettings } from "../types.ts";
import { readIfPresent, snapshotFile, writeFileAtomic } from "./files.ts";
import type { Journal } from "./journal.ts";
import { isValidDevName, parseCidr } from "./netcfg.ts";
import { CommandError, runChecked, type Runner, spawnRunner } from "./run.ts";

export class DnsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DnsError";
  }
}

/** resolv.conf(5): the resolver uses at most MAXNS (3) nameserver lines. */
const MAXNS = 3;

export interface LinuxDnsOptions {
  runner?: Runner;
  /** Default /etc/resolv.conf. */
  resolvConfPath?: string;
  /** Default /run/systemd/resolve (present only while systemd-resolved runs). */
  resolvedRuntimeDir?: string;
  /** "auto" (default) detects systemd-resolved; the others force one backend. */
  backend?: "auto" | "resolved" | "resolv.conf";
}

/** systemd-resolved is in charge when its runtime directory exists AND it answers `resolvectl status`. */
export function resolvedRunning(runner: Runner, runtimeDir = "/run/systemd/resolve"): boolean {
  if (!existsSync(runtimeDir)) return false;
  return runner(["resolvectl", "status"]).exitCode === 0;
}

function checkSettings(s: DnsSettings): void {
  for (const ip of s.servers) {
    const bits = ip.includes(":") ? 128 : 32;
    if (parseCidr(`${ip}/${bits}`) === null) throw new DnsError(`DNS server "${ip}": expected an IPv4 or IPv6 address`);
  }
  for (const d of s.domains) {
    // RFC 1035 §2.3.1 labels; a trailing dot is allowed. No whitespace: the name goes into resolv.conf.
    if (!/^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/.test(d)) {
      throw new DnsError(`DNS domain "${d}": expected a domain name`);
    }
  }
}

/** The resolv.conf roam writes: our servers and domains first, then what was there before. */
export function composeResolvConf(dev: string, s: DnsSettings, previous: string | null): string {
  const oldServers: string[] = [];
  const oldSearch: string[] = [];
  const kept: string[] = [];
  for (const raw of (previous ?? "").split("\n")) {
    const line = raw.trim();
    const [word, ...rest] = line.split(/\s+/);
    if (word === "nameserver" && rest[0] !== undefined) oldServers.push(rest[0]);
    else if (word === "search" || word === "domain") oldSearch.push(...rest);
    else if (word === "options" || word === "sortlist") kept.push(line);
  }
  const servers = [...s.servers, ...oldServers.filter((x) => !s.servers.includes(x))].slice(0, MAXNS);
  const search = [...s.domains, ...oldSearch.filter((x) => !s.domains.includes(x))];
  const lines = [`# Written by roam for ${dev}; the previous file comes back when the tunnel closes.`];
  for (const ns of servers) lines.push(`nameserver ${ns}`);
  if (search.length > 0) lines.push(`search ${search.join(" ")}`);
  lines.push(...kept);
  return `${lines.join("\n")}\n`;
}

export class LinuxDns implements DnsConfig {
  private readonly runner: Runner;
  private readonly resolvConfPath: string;
  private readonly resolvedRuntimeDir: string;
  private readonly backend: "auto" | "resolved" | "resolv.conf";

  constructor(
    readonly journal: Journal,
    opts: LinuxDnsOptions = {},
  ) {
    this.runner = opts.runner ?? spawnRunner;
    this.resolvConfPath = opts.resolvConfPath ?? "/etc/resolv.conf";
    this.resolvedRuntimeDir = opts.resolvedRuntimeDir ?? "/run/systemd/resolve";
    this.backend = opts.backend ?? "auto";
  }

  /** Which backend apply() uses. */
  chooseBackend(): "resolved" | "resolv.conf" {
    if (this.backend !== "auto") return this.backend;
    return resolvedRunning(this.runner, this.resolvedRuntimeDir) ? "resolved" : "resolv.conf";
  }

  apply(dev: string, settings: DnsSettings): void {
    if (!isValidDevName(dev)) throw new DnsError(`interface name "${dev}": not a valid interface name`);
    checkSettings(settings);
    if (settings.servers.length === 0 && settings.domains.length === 0) return;
    if (this.chooseBackend() === "resolved") this.applyResolved(dev, settings);
    else this.applyResolvConf(dev, settings);
  }

  private applyResolved(dev: string, s: DnsSettings): void {
    this.journal.guard({ kind: "resolved-revert", link: dev }, () => {
      try {
        if (s.servers.length > 0) runChecked(this.runner, ["resolvectl", "dns", dev, ...s.servers]);
        if (s.domains.length > 0) runChecked(this.runner, ["resolvectl", "domain", dev, ...s.domains.map((d) => `~${d}`)]);
      } catch (e) {
        // Half-applied settings: revert the link before the journal forgets it.
        this.runner(["resolvectl", "revert", dev]);
        if (e instanceof CommandError) throw new DnsError(e.message);
        throw e;
      }
    });
  }

  private applyResolvConf(dev: string, s: DnsSettings): void {
    const path = this.resolvConfPath;
    let previous;
    try {
      previous = snapshotFile(path);
    } catch (e) {
      throw new DnsError(`reading ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    // For a symlink, the servers in effect are those of its target (readIfPresent follows it).
    let effective: string | null = null;
    if (previous.type === "file") effective = previous.content;
    else if (previous.type === "symlink") effective = readIfPresent(path);
    const ours = composeResolvConf(dev, s, effective);
    this.journal.guard({ kind: "file-restore", path, previous, ours }, () => {
      try {
        writeFileAtomic(path, ours, 0o644);
      } catch (e) {
        throw new DnsError(`writing ${path}: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  }
}
