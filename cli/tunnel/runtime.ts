// One tunnel in one process: the thin loop around the pure IKE session (boringtun's shape).
//
//   UDP from gateway:500  ─► session ─► actions: send / timers / install CHILD_SA / apply config / up / failed
//   UDP from gateway:4500 ─► non-ESP marker? session : keepalive? drop : ESP ─► DataPath.inbound ─► TUN
//   TUN batch ─► DataPath.outbound ─► UDP to gateway:4500
//
// Every change to the host goes through the journal (platform/linux/journal.ts) and is undone when
// the tunnel ends, however it ends.

import { mkdirSync } from "node:fs";
import type { SessionConfig } from "../../core/ike/config.ts";
import { IkeSession } from "../../core/ike/session.ts";
import { CONNECT_RETRANSMIT, ESTABLISHED_RETRANSMIT } from "../../core/ike/retransmit.ts";
import type { Action, ChildSaParams, EstablishedInfo, IkePort, SessionFailure, TimerName, TunnelConfig } from "../../core/ike/types.ts";
import { parseIdentity } from "../../core/ike/identity.ts";
import { rangeToCidrs, selectorFromCidr, subtractRanges } from "../../core/ike/selectors.ts";
import { classifyUdp4500, NON_ESP_MARKER } from "../../core/esp/udpencap.ts";
import type { EspLifetime } from "../../core/esp/sa.ts";
import { parseAddress } from "../../core/wire/addr.ts";
import { systemClock } from "../../platform/clock.ts";
import { LinuxDns } from "../../platform/linux/dns.ts";
import { Journal, recoverFromStateFile } from "../../platform/linux/journal.ts";
import { applyAddressing, LinuxNetConfig } from "../../platform/linux/netcfg.ts";
import { RouteChangeWatcher } from "../../platform/linux/netlink.ts";
import { sourceAddressFor } from "../../platform/linux/route.ts";
import { openTun } from "../../platform/linux/tun.ts";
import { systemRandom } from "../../platform/random.ts";
import type { TunDevice } from "../../platform/types.ts";
import { openUdp, type BunUdpEndpoint } from "../../platform/udp.ts";
import type { ConnectRequest } from "../connect-options.ts";
import pkg from "../../package.json" with { type: "json" };
import { ExitCode, UserError } from "../exit.ts";
import { DataPath } from "./datapath.ts";
import { FAILOVER_INIT_RETRANSMIT, GatewayChoice } from "./gateways.ts";
import { FALLBACK_EVERY_TICKS, PathMonitor } from "./path-monitor.ts";
import type { RedirectTarget } from "../../core/ike/redirect.ts";
import { formatAddress } from "../../core/wire/addr.ts";

/** Control sockets and undo journals; tests point it elsewhere with ROAM_RUN_DIR. */
export const STATE_DIR = process.env.ROAM_RUN_DIR || "/run/roam";

export type TunnelEvent =
  | { kind: "progress"; message: string }
  | { kind: "up"; status: TunnelStatus }
  | { kind: "down"; outcome: TunnelOutcome };

export type TunnelOutcome = { ok: true; reason: string } | { ok: false; failure: SessionFailure | { code: "host"; message: string } };

export interface TunnelStatus {
  state: "connecting" | "connected" | "reconnecting" | "disconnecting" | "down";
  pid: number;
  /** The gateway in use (after a redirect or a failover, not necessarily the first one given). */
  gateway: { host: string; address: string; port: number };
  /** Every gateway given, in the order they are tried. */
  gateways: string[];
  localAddress: string;
  interface: string | null;
  virtualIps: string[];
  routes: string[];
  dns: { servers: string[]; domains: string[] };
  ike: { spiI: string; spiR: string; proposal: string; localId: string; remoteId: string; natLocal: boolean; natRemote: boolean; mobike: boolean } | null;
  child: { spiIn: string; spiOut: string; proposal: string } | null;
  traffic: { bytesIn: number; bytesOut: number; packetsIn: number; packetsOut: number };
  drops: Record<string, number>;
  establishedAt: string | null;
  uptimeSeconds: number;
}

export class Tunnel {
  private session!: IkeSession;
  private udp: BunUdpEndpoint | null = null;
  private tun: TunDevice | null = null;
  private readonly journal: Journal;
  private readonly net: LinuxNetConfig;
  private readonly dns: LinuxDns;
  private readonly timers = new Map<TimerName, ReturnType<typeof setTimeout>>();
  private keepalive: ReturnType<typeof setInterval> | null = null;
  private datapath: DataPath | null = null;
  private gatewayAddress = "";
  private readonly gateways: GatewayChoice;
  /** The gateway that redirected us to the current one (RFC 5685 REDIRECTED_FROM), until we are up there. */
  private redirectedFrom: Uint8Array | undefined;
  private localAddress = "";
  private natPort = 4500;
  private info: EstablishedInfo | null = null;
  private config: TunnelConfig | null = null;
  private childParams: ChildSaParams | null = null;
  private establishedAtMs = 0;
  private establishedAtWall: string | null = null;
  private state: TunnelStatus["state"] = "connecting";
  private ended = false;
  private resolveDone!: (o: TunnelOutcome) => void;
  readonly done: Promise<TunnelOutcome>;

  constructor(
    private readonly req: ConnectRequest,
    private readonly onEvent: (e: TunnelEvent) => void,
    readonly name = "roam",
  ) {
    this.journal = new Journal(`${STATE_DIR}/${name}.json`);
    this.net = new LinuxNetConfig(this.journal);
    this.dns = new LinuxDns(this.journal);
    this.done = new Promise((r) => (this.resolveDone = r));
    this.gateways = new GatewayChoice([req.gatewayHost, ...(req.moreGateways ?? [])]);
  }

  /** Resolves the gateway, opens the socket and starts IKE_SA_INIT. Throws only for host problems. */
  async start(): Promise<void> {
    mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
    // A roam that died without cleaning up (SIGKILL, power loss) left its journal: undo it first.
    let left;
    try {
      left = recoverFromStateFile(this.journal.statePath!);
    } catch (e) {
      throw new UserError(`cannot undo what an earlier roam left behind: ${e instanceof Error ? e.message : String(e)}`, ExitCode.HOST_SETUP_FAILED);
    }
    if (left.undone > 0) this.progress(`undid ${left.undone} change(s) left behind by an earlier roam that did not exit cleanly`);
    for (const err of left.errors) this.progress(`could not undo a leftover change: ${err}`);
    this.natPort = this.req.gatewayPort === 500 ? 4500 : this.req.gatewayPort;
    // A name that does not resolve is skipped when other gateways remain (and reported when none does).
    for (;;) {
      try {
        this.gatewayAddress = await resolveGateway(this.gateways.current);
        break;
      } catch (e) {
        const failed = this.gateways.current;
        if (!this.gateways.unreachable()) throw e;
        this.progress(`cannot resolve gateway "${failed}"; trying ${this.gateways.current}`);
      }
    }
    await this.openSocketFor(this.gatewayAddress);
    this.connectSession();
  }

  /**
   * One UDP socket, bound to the wildcard address: the kernel picks the source address for each datagram
   * from the routing table, so after an address change our datagrams leave from the new address without
   * rebinding (RFC 4555 §3.5 "sent from the new address"). A gateway of the other family needs a new one.
   */
  private async openSocketFor(gatewayAddress: string): Promise<void> {
    const family = parseAddress(gatewayAddress)!.length === 4 ? "0.0.0.0" : "::";
    if (this.udp && this.udp.localAddress === family) return;
    this.udp?.close();
    this.udp = await openUdp({
      address: family,
      onDatagram: (data, port, address) => this.onDatagram(data, port, address),
      // ENETUNREACH and friends: the path may have changed under us; look again at the next tick.
      onError: () => this.pathMonitor?.wantCheck(),
    });
  }

  /** A new IKE SA with the current gateway, from the address the kernel would use to reach it now. */
  private connectSession(): void {
    const gw = parseAddress(this.gatewayAddress)!;
    this.localAddress = sourceAddressFor(this.gatewayAddress) ?? (gw.length === 4 ? "0.0.0.0" : "::");
    this.sessionConfig = this.makeSessionConfig();
    this.progress(`connecting to ${this.sessionConfig.gatewayName} port ${this.req.gatewayPort} from ${this.localAddress}:${this.udp!.localPort}`);
    this.startSession();
  }

  private sessionConfig!: SessionConfig;

  private makeSessionConfig(): SessionConfig {
    const gw = parseAddress(this.gatewayAddress)!;
    return {
      gatewayAddress: gw,
      gatewayPort: this.req.gatewayPort,
      localAddress: parseAddress(this.localAddress)!,
      localPort: this.udp!.localPort,
      gatewayName: this.gateways.current === this.gatewayAddress ? this.gatewayAddress : `${this.gateways.current} (${this.gatewayAddress})`,
      localId: this.req.localId ?? identityOrThrow(this.localAddress),
      remoteId: this.req.remoteId,
      credentials: this.req.credentials,
      trustAnchors: this.req.trustAnchors,
      ikeProposals: this.req.ikeProposals,
      espProposals: this.req.espProposals,
      remoteSelectors: this.req.remoteSelectors,
      requestIp6: this.req.requestIp6,
      forceEncap: true,
      fragmentation: this.req.fragmentation,
      dpdIntervalMs: this.req.dpdSeconds * 1000,
      childRekeyMs: this.req.childRekeySeconds * 1000,
      ikeRekeyMs: this.req.ikeRekeySeconds * 1000,
      ikeMtu: this.req.ikeMtu,
      connectRetransmit: CONNECT_RETRANSMIT,
      ...(this.gateways.all.length > 1 ? { initRetransmit: { ...FAILOVER_INIT_RETRANSMIT } } : {}),
      retransmit: ESTABLISHED_RETRANSMIT,
      applicationVersion: `roam ${pkg.version}`,
      mobike: this.req.mobike ?? true,
      ...(this.redirectedFrom ? { redirectedFrom: this.redirectedFrom } : {}),
    };
  }

  /** A new IKE SA from IKE_SA_INIT on: at the start, and after the tunnel was lost. */
  private startSession(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.session = new IkeSession(this.sessionConfig, { random: systemRandom, wallTime: () => systemClock.wallMs() });
    this.feed({ kind: "start" });
  }

  // ---- reconnecting (the tunnel was up and got lost) ----

  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectAttempt = 0;
  private hasBeenUp = false;

  /**
   * Lost after being up: connect again with backoff, keeping the TUN and routes so nothing leaks meanwhile.
   * The lost gateway is tried first (it may be back); one that does not answer hands over to the next of
   * the list at once, and only a whole round of unanswered gateways waits for the backoff.
   */
  private reconnectAfter(failure: SessionFailure): boolean {
    if (!this.req.reconnect || !this.hasBeenUp || this.state === "disconnecting") return false;
    if (failure.code !== "lost" && failure.code !== "unreachable") return false;
    this.state = "reconnecting";
    const failed = this.gateways.current;
    if (failure.code === "unreachable" && this.gateways.unreachable()) {
      this.progress(`${failure.message}; trying the next gateway, ${this.gateways.current}`);
      void this.switchGateway();
      return true;
    }
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.reconnectAttempt, 5));
    this.reconnectAttempt++;
    this.progress(`${failure.message}; connecting again in ${delay / 1000} s (traffic for the tunnel is held back meanwhile)`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.ended) return;
      this.progress(`connecting to ${this.gateways.current === failed ? "the gateway" : this.gateways.current} again (attempt ${this.reconnectAttempt})`);
      void this.switchGateway();
    }, delay);
    return true;
  }

  /** Connects to the gateway now current (the next of the list, or a redirect's target). */
  private async switchGateway(): Promise<void> {
    for (;;) {
      if (this.ended) return;
      try {
        this.gatewayAddress = await resolveGateway(this.gateways.current);
        await this.openSocketFor(this.gatewayAddress);
        break;
      } catch (e) {
        const failure = { code: "unreachable" as const, message: e instanceof Error ? e.message : String(e) };
        if (this.hasBeenUp ? this.reconnectAfter(failure) : this.nextGateway(failure)) return;
        void this.teardown({ ok: false, failure });
        return;
      }
    }
    if (this.ended) return;
    this.connectSession();
  }

  /** Before the first tunnel: an unanswered (or unresolvable) gateway hands over to the next one, if any. */
  private nextGateway(failure: SessionFailure): boolean {
    if (this.hasBeenUp || failure.code !== "unreachable" || this.state === "disconnecting") return false;
    if (!this.gateways.unreachable()) return false;
    this.progress(`${failure.message}; trying the next gateway, ${this.gateways.current}`);
    void this.switchGateway();
    return true;
  }

  /** RFC 5685: the gateway sends us to another one; a loop (too many redirects) ends the tunnel. */
  private followRedirect(target: RedirectTarget, from: Uint8Array, stage: string): void {
    const fromText = formatAddress(from) ?? this.gatewayAddress;
    if (!this.gateways.redirect(target.text, systemClock.monotonicMs())) {
      void this.teardown({ ok: false, failure: { code: "protocol", message: `gateway ${fromText} redirected us to ${target.text}, one redirect too many within 5 minutes (a redirect loop?)` } });
      return;
    }
    const when = stage === "ike-sa-init" ? "in IKE_SA_INIT" : stage === "ike-auth" ? "in IKE_AUTH" : "while connected";
    this.progress(`gateway ${fromText} redirects us to ${target.text} (${when})`);
    this.redirectedFrom = from;
    if (this.hasBeenUp) this.state = "reconnecting";
    void this.switchGateway();
  }

  /** Asks the gateway to delete the IKE SA, then tears down. Safe to call at any time, more than once. */
  stop(): void {
    if (this.ended) return;
    if (this.state === "reconnecting" && this.reconnectTimer) {
      // Between attempts there is no IKE SA to delete.
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.state = "disconnecting";
      void this.teardown({ ok: true, reason: "disconnected" });
      return;
    }
    if (this.state === "connected" || this.state === "connecting" || this.state === "reconnecting") {
      this.state = "disconnecting";
      this.feed({ kind: "close" });
    }
  }

  status(): TunnelStatus {
    const c = this.config;
    const dp = this.datapath?.counters();
    const ike = this.session.status();
    return {
      state: this.state,
      pid: process.pid,
      gateway: { host: this.gateways.current, address: this.gatewayAddress, port: this.req.gatewayPort },
      gateways: [...this.gateways.all],
      localAddress: this.localAddress,
      interface: this.tun?.name ?? null,
      virtualIps: c ? [...c.ip4, ...c.ip6] : [],
      routes: c?.routes ?? [],
      dns: { servers: c?.dns ?? [], domains: c?.domains ?? [] },
      // SPIs and suite from the session: they change when the IKE SA is rekeyed (§2.18).
      ike: this.info && {
        spiI: ike.ikeSpiI ?? this.info.ikeSpiI,
        spiR: ike.ikeSpiR ?? this.info.ikeSpiR,
        proposal: ike.ikeProposal ?? this.info.ikeProposal,
        localId: this.info.localId,
        remoteId: this.info.remoteId,
        natLocal: ike.natLocal ?? this.info.natLocal,
        natRemote: ike.natRemote ?? this.info.natRemote,
        mobike: ike.mobike ?? false,
      },
      child: this.childParams && this.info && {
        spiIn: hex32(this.childParams.spiIn),
        spiOut: hex32(this.childParams.spiOut),
        proposal: this.info.espProposal,
      },
      traffic: dp?.traffic ?? { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 },
      drops: dp?.drops ?? {},
      establishedAt: this.establishedAtWall,
      uptimeSeconds: this.establishedAtMs ? Math.floor((systemClock.monotonicMs() - this.establishedAtMs) / 1000) : 0,
    };
  }

  // ---- session plumbing ----

  private feed(ev: Parameters<IkeSession["handle"]>[0]): void {
    if (this.ended) return;
    let actions: Action[];
    try {
      actions = this.session.handle(ev, systemClock.monotonicMs());
    } catch (e) {
      void this.teardown({ ok: false, failure: { code: "protocol", message: `internal error: ${e instanceof Error ? e.message : String(e)}` } });
      throw e;
    }
    for (const a of actions) this.act(a);
  }

  private act(a: Action): void {
    switch (a.kind) {
      case "send":
        this.sendIke(a.data, a.port);
        break;
      case "arm-timer": {
        clearTimeout(this.timers.get(a.timer));
        const delay = Math.max(0, a.at - systemClock.monotonicMs());
        const ev = a.timer === "liveness" ? () => ({ kind: "liveness" as const, lastInbound: this.lastInbound }) : () => ({ kind: "timer" as const, timer: a.timer });
        this.timers.set(a.timer, setTimeout(() => this.feed(ev()), delay));
        break;
      }
      case "cancel-timer":
        clearTimeout(this.timers.get(a.timer));
        this.timers.delete(a.timer);
        break;
      case "progress":
        this.progress(progressText(a.stage, a.detail));
        break;
      case "install-child":
        this.childParams = a.child;
        this.datapath ??= new DataPath({
          send: (data) => this.sendEsp(data),
          flush: () => this.udp?.flush(),
          lifetime: this.espLifetime(),
          // Off the packet loop: the session may answer with a rekey request, or end the tunnel.
          onLimit: (spiIn, limit) => queueMicrotask(() => this.feed({ kind: "child-limit", spiIn, limit })),
        });
        this.datapath.install(a.child);
        break;
      case "remove-child":
        this.datapath?.remove(a.spiIn);
        break;
      case "apply-config":
        this.config = this.effective(a.config);
        // Host setup is async (the TUN reader starts a worker); the session waits for nothing.
        break;
      case "established":
        this.info = a.info;
        void this.bringUp();
        break;
      case "failed":
        if (!this.nextGateway(a.failure) && !this.reconnectAfter(a.failure)) void this.teardown({ ok: false, failure: a.failure });
        break;
      case "redirect":
        this.followRedirect(a.target, a.from, a.stage);
        break;
      case "closed":
        void this.teardown({ ok: true, reason: a.reason });
        break;
    }
  }

  /**
   * Like strongSwan's rekey_bytes/rekey_packets: the soft limit rekeys, and the SA ends at 110% of it
   * (strongSwan's default life_bytes/life_packets), which a rekey normally never reaches.
   */
  private espLifetime(): EspLifetime {
    const hard = (n: number) => (n > 0 ? Math.ceil(n * 1.1) : 0);
    const { childRekeyBytes: b, childRekeyPackets: p } = this.req;
    return { softBytes: b, hardBytes: hard(b), softPackets: p, hardPackets: hard(p) };
  }

  /**
   * What the host gets from the gateway's configuration: its routes less the excluded subnets, and its DNS
   * servers unless the user fixed others or wants none.
   */
  private effective(c: TunnelConfig): TunnelConfig {
    let routes = c.routes;
    if (this.req.excludedSubnets.length > 0) {
      const ranges = routes.flatMap((r) => selectorFromCidr(r, parseAddress) ?? []);
      routes = subtractRanges(ranges, this.req.excludedSubnets).flatMap((s) => rangeToCidrs(s.start, s.end));
    }
    const dns = this.req.dnsMode === "ignore" ? [] : this.req.dnsServers.length > 0 ? this.req.dnsServers : c.dns;
    const domains = this.req.dnsMode === "ignore" ? [] : c.domains;
    return { ...c, routes, dns, domains };
  }

  /** What is applied to the host now (kept across a reconnect). */
  private applied: TunnelConfig | null = null;

  private async bringUp(): Promise<void> {
    const cfg = this.config!;
    try {
      if (!this.tun) {
        this.tun = await openTun({ name: `${this.name}%d`, headroom: 64, tailroom: 64 });
        this.tun.onError((e) => void this.teardown({ ok: false, failure: { code: "host", message: `TUN device failed: ${e.message}` } }));
      }
      const tun = this.tun;
      if (!this.applied || JSON.stringify(this.applied) !== JSON.stringify(cfg)) {
        // A reconnect that got another address, other routes or DNS: put the new ones in their place.
        if (this.applied) this.journal.undoAll();
        applyAddressing(this.net, tun.name, cfg, this.req.mtu);
        if (cfg.dns.length > 0 || cfg.domains.length > 0) this.dns.apply(tun.name, { servers: cfg.dns, domains: cfg.domains });
        this.applied = cfg;
      }
      this.datapath!.attachTun(tun);
    } catch (e) {
      const message = `could not configure the host: ${e instanceof Error ? e.message : String(e)}`;
      this.progress(message);
      this.stopWith({ ok: false, failure: { code: "host", message } });
      return;
    }
    if (this.ended) return;
    if (this.hasBeenUp) this.progress(this.reconnectAttempt > 0 ? `tunnel up again after ${this.reconnectAttempt} attempt(s)` : `tunnel up again, now with ${this.gateways.current}`);
    this.state = "connected";
    this.hasBeenUp = true;
    this.reconnectAttempt = 0;
    this.gateways.answered();
    this.redirectedFrom = undefined;
    this.startPathMonitor();
    this.establishedAtMs = systemClock.monotonicMs();
    this.establishedAtWall = new Date(systemClock.wallMs()).toISOString();
    // RFC 3948 §4: keep the NAT mapping alive while we are behind one (we always encapsulate).
    if (this.keepalive) clearInterval(this.keepalive);
    if (this.req.natKeepaliveSeconds > 0) {
      this.keepalive = setInterval(() => this.udp?.send(new Uint8Array([0xff]), this.natPort, this.gatewayAddress), this.req.natKeepaliveSeconds * 1000);
    }
    this.onEvent({ kind: "up", status: this.status() });
    void this.runHook("up");
  }

  private pendingOutcome: TunnelOutcome | null = null;

  /** Ends with `outcome` after telling the gateway (DELETE), as close does. */
  private stopWith(outcome: TunnelOutcome): void {
    this.pendingOutcome = outcome;
    this.state = "disconnecting";
    this.feed({ kind: "close" });
  }

  private async teardown(outcome: TunnelOutcome): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const final = this.pendingOutcome ?? outcome;
    this.state = "down";
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.keepalive) clearInterval(this.keepalive);
    this.stopPathMonitor();
    if (this.hasBeenUp) await this.runHook("down");
    this.datapath?.close();
    // The last datagrams (our DELETE, or the answer to the gateway's) leave when the socket closes below:
    // UdpEndpoint.close() sends what is queued first.
    if (this.tun) await this.tun.close();
    const report = this.journal.undoAll();
    for (const err of report.errors) this.progress(`cleanup: ${err}`);
    this.udp?.close();
    this.onEvent({ kind: "down", outcome: final });
    this.resolveDone(final);
  }

  // ---- a new local address (MOBIKE, RFC 4555 §3.5) and sleep/resume ----

  private pathTimer: ReturnType<typeof setInterval> | null = null;
  private watcher: RouteChangeWatcher | null = null;
  private pathMonitor: PathMonitor | null = null;

  /**
   * Once a second (path-monitor.ts): drain the rtnetlink watcher (see platform/linux/netlink.ts for why a
   * timer), and after an address or route change ask which source address now reaches the gateway: a new
   * one goes to the session (MOBIKE, or a reconnect without it). A tick far too late (the host slept, or
   * we were stopped) checks the gateway at once rather than after the DPD interval.
   */
  private startPathMonitor(): void {
    if (this.pathTimer) return;
    try {
      this.watcher = RouteChangeWatcher.open();
    } catch (e) {
      this.progress(`cannot watch for address changes (${e instanceof Error ? e.message : String(e)}); looking at the route every ${FALLBACK_EVERY_TICKS} s instead`);
    }
    const monitor = new PathMonitor(
      {
        clock: systemClock,
        changes: () => (this.watcher ? this.watcher.drain() : null),
        sourceAddress: () => sourceAddressFor(this.gatewayAddress),
      },
      this.localAddress,
    );
    this.pathMonitor = monitor;
    this.pathTimer = setInterval(() => {
      // A reconnect may have started from another address meanwhile: compare with the one in use.
      monitor.current = this.localAddress;
      for (const ev of monitor.tick()) {
        if (this.state !== "connected" || !this.udp) continue;
        if (ev.kind === "address-changed") {
          this.localAddress = ev.to;
          this.progress(`our address changed from ${ev.from} to ${ev.to}`);
          this.feed({ kind: "path-changed", localAddress: parseAddress(ev.to)!, localPort: this.udp.localPort });
        } else {
          this.progress(`${Math.round(ev.gapMs / 1000)} s passed in one second (the host slept?): checking that the gateway is still there`);
          this.feed({ kind: "liveness", lastInbound: this.lastInbound, resumed: true });
        }
      }
    }, 1000);
  }

  private stopPathMonitor(): void {
    if (this.pathTimer) clearInterval(this.pathTimer);
    this.pathTimer = null;
    this.pathMonitor = null;
    this.watcher?.close();
    this.watcher = null;
  }

  // ---- up/down hooks (like strongSwan's updown script) ----

  /** Runs the up or down command with /bin/sh and ROAM_* variables describing the tunnel; waits at most 30 s. */
  private async runHook(event: "up" | "down"): Promise<void> {
    const command = event === "up" ? this.req.upHook : this.req.downHook;
    if (!command) return;
    const s = this.status();
    const c = this.config;
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ROAM_EVENT: event,
      ROAM_PROFILE: this.req.profileName ?? "",
      ROAM_INTERFACE: s.interface ?? "",
      ROAM_VIRTUAL_IP4: c?.ip4.join(" ") ?? "",
      ROAM_VIRTUAL_IP6: c?.ip6.join(" ") ?? "",
      ROAM_ROUTES: s.routes.join(" "),
      ROAM_DNS: s.dns.servers.join(" "),
      ROAM_DOMAINS: s.dns.domains.join(" "),
      ROAM_GATEWAY: this.gatewayAddress,
      ROAM_GATEWAY_HOST: this.gateways.current,
      ROAM_LOCAL_ADDRESS: this.localAddress,
      ROAM_LOCAL_ID: s.ike?.localId ?? "",
      ROAM_REMOTE_ID: s.ike?.remoteId ?? "",
    };
    try {
      const p = Bun.spawn(["/bin/sh", "-c", command], { env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
      const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
      const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
      clearTimeout(timer);
      if (code !== 0) this.progress(`${event} hook exited ${code}${err.trim() ? `: ${err.trim().split("\n")[0]}` : ""}`);
    } catch (e) {
      this.progress(`${event} hook could not run: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // ---- UDP ----

  private sendIke(data: Uint8Array, port: IkePort): void {
    if (!this.udp) return;
    if (port === "ike") this.udp.send(data, this.req.gatewayPort, this.gatewayAddress);
    else {
      // RFC 3948 §2.2: IKE on the NAT-T port is preceded by four zero octets.
      const out = new Uint8Array(data.length + 4);
      out.set(NON_ESP_MARKER, 0);
      out.set(data, 4);
      this.udp.send(out, this.natPort, this.gatewayAddress);
    }
  }

  private sendEsp(data: Uint8Array): void {
    this.udp?.send(data, this.natPort, this.gatewayAddress);
  }

  /** Monotonic time anything last arrived from the gateway (for dead peer detection). */
  private lastInbound = 0;

  private onDatagram(data: Uint8Array, port: number, address: string): void {
    if (address !== this.gatewayAddress && address !== `::ffff:${this.gatewayAddress}`) return;
    this.lastInbound = systemClock.monotonicMs();
    if (port === this.req.gatewayPort && port !== this.natPort) {
      this.feed({ kind: "datagram", data: data.slice(), port: "ike" });
      return;
    }
    if (port !== this.natPort) return;
    const c = classifyUdp4500(data);
    switch (c.kind) {
      case "ike":
        this.feed({ kind: "datagram", data: c.message.slice(), port: "natt" });
        break;
      case "esp":
        this.datapath?.inbound(data);
        break;
      default:
        break; // keepalive or runt
    }
  }

  private progress(message: string): void {
    this.onEvent({ kind: "progress", message });
  }
}

function progressText(stage: string, detail?: string): string {
  const base: Record<string, string> = {
    "ike-sa-init": "IKE_SA_INIT",
    authenticating: "authenticating (IKE_AUTH)",
    eap: "EAP-MSCHAPv2",
    "child-sa": "creating the CHILD_SA",
    mobike: "MOBIKE",
    "ike-rekey": "IKE SA rekey",
  };
  return detail ? `${base[stage] ?? stage}: ${detail}` : (base[stage] ?? stage);
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function identityOrThrow(text: string) {
  const r = parseIdentity(text);
  if (!r.ok) throw new Error(`local identity ${text}: ${r.error}`);
  return r.value;
}

export class GatewayResolveError extends Error {}

async function resolveGateway(host: string): Promise<string> {
  if (parseAddress(host)) return host;
  try {
    const { lookup } = await import("node:dns/promises");
    const r = await lookup(host);
    return r.address;
  } catch {
    throw new GatewayResolveError(`cannot resolve gateway "${host}"`);
  }
}
