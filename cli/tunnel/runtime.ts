// One tunnel in one process: the thin loop around the pure IKE session (boringtun's shape).
//
//   UDP from gateway:500  ─► session ─► actions: send / timers / install CHILD_SA / apply config / up / failed
//   UDP from gateway:4500 ─► non-ESP marker? session : keepalive? drop : ESP ─► DataPath.inbound ─► TUN
//   TUN batch ─► DataPath.outbound ─► UDP to gateway:4500
//
// Every change to the host goes through the journal (platform/linux/journal.ts) and is undone when
// the tunnel ends, however it ends.
//
// Here: the session loop (timers, actions), bring-up and teardown, reconnecting with backoff over the
// gateways, redirects, status. Beside it: gateway-link.ts (UDP, keepalives), host-config.ts (addresses,
// routes, DNS), session-config.ts, path-watch.ts (address changes, sleep), hooks.ts (up/down commands),
// datapath.ts (ESP), gateways.ts (which gateway next).

import { mkdirSync } from "node:fs";
import type { SessionConfig } from "../../core/ike/config.ts";
import { IkeSession } from "../../core/ike/session.ts";
import type { Action, ChildSaParams, EstablishedInfo, SessionFailure, TimerName, TunnelConfig } from "../../core/ike/types.ts";
import type { EspLifetime } from "../../core/esp/sa.ts";
import { parseAddress } from "../../core/wire/addr.ts";
import { systemClock } from "../../platform/clock.ts";
import { sourceAddressFor } from "../../platform/linux/route.ts";
import { openTun } from "../../platform/linux/tun.ts";
import type { TunDevice } from "../../platform/types.ts";
import type { ConnectRequest } from "../connect-options.ts";
import { DataPath } from "./datapath.ts";
import { GatewayLink, resolveGateway } from "./gateway-link.ts";
import { GatewayChoice } from "./gateways.ts";
import { hookEnvironment, runHook } from "./hooks.ts";
import { effectiveConfig, HostConfig } from "./host-config.ts";
import type { PathEvent } from "./path-monitor.ts";
import { PathWatch } from "./path-watch.ts";
import { SESSION_ENV, sessionConfigFor } from "./session-config.ts";
import type { RedirectTarget } from "../../core/ike/redirect.ts";
import { formatAddress } from "../../core/wire/addr.ts";
import { STATE_DIR } from "../state-dir.ts";
import { warmUpPending, warmUpStep } from "./warm-up.ts";

/**
 * Room for the ESP header and trailer around each packet read, and TUN offloads (platform/linux/tun-offload.ts):
 * TCP super-packets read and segmented by the reader, inbound segments joined before the TUN write
 * (DataPath). A kernel that refuses TUNSETOFFLOAD leaves the device packet by packet.
 */
const TUN_OPTIONS = { headroom: 64, tailroom: 64, offload: true } as const;

export { GatewayResolveError } from "./gateway-link.ts";

/**
 * A tunnel's TUN device (the caller owns it). The roam service opens it when a connect arrives, before the
 * tunnel exists (Tunnel's `tun`): the reader worker makes the device on its own thread while the main
 * thread reads the command line (platform/linux/tun.ts openTun).
 */
export function openTunnelTun(name: string): Promise<TunDevice> {
  return openTun({ name: `${name}%d`, ...TUN_OPTIONS });
}

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
  private readonly link: GatewayLink;
  private tun: TunDevice | null = null;
  private readonly host: HostConfig;
  private readonly pathWatch: PathWatch;
  private readonly timers = new Map<TimerName, ReturnType<typeof setTimeout>>();
  private datapath: DataPath | null = null;
  private readonly gateways: GatewayChoice;
  /** The gateway that redirected us to the current one (RFC 5685 REDIRECTED_FROM), until we are up there. */
  private redirectedFrom: Uint8Array | undefined;
  private localAddress = "";
  private info: EstablishedInfo | null = null;
  private config: TunnelConfig | null = null;
  private childParams: ChildSaParams | null = null;
  private establishedAtMs = 0;
  private establishedAtWall: string | null = null;
  private state: TunnelStatus["state"] = "connecting";
  private ended = false;
  private resolveDone!: (o: TunnelOutcome) => void;
  readonly done: Promise<TunnelOutcome>;

  /**
   * `tun`: the TUN device opened for this tunnel already (openTunnelTun), which it then owns: taken down
   * with it, or by release() when it never starts.
   */
  constructor(
    private readonly req: ConnectRequest,
    private readonly onEvent: (e: TunnelEvent) => void,
    readonly name = "roam",
    tun?: Promise<TunDevice>,
  ) {
    this.host = new HostConfig(`${STATE_DIR}/${name}.json`);
    this.link = new GatewayLink(req.gatewayPort, {
      onIke: (data, port) => this.feed({ kind: "datagram", data, port }),
      onEsp: (data) => this.datapath?.inbound(data),
      // ENETUNREACH and friends: the path may have changed under us; look again at the next tick.
      onError: () => this.pathWatch.wantCheck(),
      onFailed: (e) => void this.teardown({ ok: false, failure: { code: "host", message: `UDP socket failed: ${e.message}` } }),
    });
    this.pathWatch = new PathWatch({
      gatewayAddress: () => this.gatewayAddress,
      localAddress: () => this.localAddress,
      onEvent: (ev) => this.onPathEvent(ev),
      progress: (m) => this.progress(m),
    });
    this.done = new Promise((r) => (this.resolveDone = r));
    this.gateways = new GatewayChoice([req.gatewayHost, ...(req.moreGateways ?? [])]);
    if (tun !== undefined) this.adoptTun(tun);
  }

  /** The TUN being opened becomes this tunnel's; its MTU and link state are set once IKE_AUTH has left. */
  private adoptTun(opening: Promise<TunDevice>): void {
    this.tunOpening = opening;
    // A failure is reported by bringUp(), which awaits it.
    opening.then((tun) => {
      this.openedTun = { tun, opening };
      this.prepareTunSoon();
    }, () => {});
  }

  /** Closes the TUN and the socket of a tunnel whose start() failed or never ran (a started one is taken down by stop()). */
  async release(): Promise<void> {
    this.ended = true;
    const opening = this.tunOpening;
    this.tunOpening = null;
    this.openedTun = null;
    this.link.close();
    if (this.tun) await this.tun.close();
    else await opening?.then((t) => t.close(), () => {});
  }

  /** Resolves the gateway, opens the socket and starts IKE_SA_INIT. Throws only for host problems. */
  async start(): Promise<void> {
    mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
    // A roam that died without cleaning up (SIGKILL, power loss) left its journal: undo it first.
    const left = this.host.recoverLeftovers();
    if (left.undone > 0) this.progress(`undid ${left.undone} change(s) left behind by an earlier roam that did not exit cleanly`);
    for (const err of left.errors) this.progress(`could not undo a leftover change: ${err}`);
    // A name that does not resolve is skipped when other gateways remain (and reported when none does).
    let address;
    for (;;) {
      try {
        address = await resolveGateway(this.gateways.current);
        break;
      } catch (e) {
        const failed = this.gateways.current;
        if (!this.gateways.unreachable()) throw e;
        this.progress(`cannot resolve gateway "${failed}"; trying ${this.gateways.current}`);
      }
    }
    await this.link.connectTo(address);
    this.connectSession();
  }

  /** The gateway's address in use. */
  private get gatewayAddress(): string {
    return this.link.address;
  }

  /** A new IKE SA with the current gateway, from the address the kernel would use to reach it now. */
  private connectSession(): void {
    const gw = parseAddress(this.gatewayAddress)!;
    this.localAddress = sourceAddressFor(this.gatewayAddress) ?? (gw.length === 4 ? "0.0.0.0" : "::");
    this.sessionConfig = this.makeSessionConfig();
    this.progress(`connecting to ${this.sessionConfig.gatewayName} port ${this.req.gatewayPort} from ${this.localAddress}:${this.link.localPort}`);
    this.startSession();
    // Connect time: the TUN device and its reader worker start while IKE_SA_INIT and IKE_AUTH run;
    // bringUp() awaits them (the interface exists from now on, without addresses or routes). In the roam
    // service it was opened when the connect arrived (openTunEarly). Else after IKE_SA_INIT has left:
    // opening takes ~0.3 ms of this thread (the worker's messages, the ring; 1-5 ms when it allocated its
    // ring), which would otherwise delay it. A tunnel that ended at once (teardown has run) opens nothing.
    if (!this.tun && !this.tunOpening && !this.ended) {
      this.adoptTun(openTunnelTun(this.name));
    }
  }

  /** The TUN opened by connectSession(), until prepareTun() has set it up. */
  private openedTun: { tun: TunDevice; opening: Promise<TunDevice> } | null = null;
  /** IKE_AUTH has left: until its answer, the thread waits for the gateway. */
  private authSent = false;

  /**
   * MTU and link up ahead of bringUp() (~0.4 ms off the path from IKE_AUTH's answer to the tunnel up,
   * 2026-11-23), once the TUN is open and IKE_AUTH has left: then the thread only waits for the gateway.
   * Done earlier, it would hold up IKE_SA_INIT's answer, which arrives about when the TUN's reader starts.
   * On a later turn: IKE_AUTH leaves with the batch that sent it.
   */
  private prepareTunSoon(): void {
    const opened = this.openedTun;
    if (opened === null || !this.authSent) return;
    this.openedTun = null;
    setImmediate(() => this.prepareTun(opened.tun, opened.opening));
  }

  /**
   * Unless bringUp() has taken the device already or the tunnel has ended. A failure here is left to
   * bringUp(), whose host.apply() makes the same changes and reports it.
   */
  private prepareTun(tun: TunDevice, opening: Promise<TunDevice>): void {
    if (this.ended || this.tun !== null || this.tunOpening !== opening) return;
    try {
      this.host.prepareLink(tun.name, this.req.mtu);
    } catch {
      // reported by bringUp()
    }
  }

  private sessionConfig!: SessionConfig;

  private makeSessionConfig(): SessionConfig {
    return sessionConfigFor(this.req, {
      gatewayHost: this.gateways.current,
      gatewayAddress: this.gatewayAddress,
      localAddress: this.localAddress,
      localPort: this.link.localPort,
      failover: this.gateways.all.length > 1,
      redirectedFrom: this.redirectedFrom,
    });
  }

  /** A new IKE SA from IKE_SA_INIT on: at the start, and after the tunnel was lost. */
  private startSession(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.session = new IkeSession(this.sessionConfig, SESSION_ENV);
    this.authSent = false;
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
        await this.link.connectTo(await resolveGateway(this.gateways.current));
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
    let sent = false;
    for (const a of actions) {
      this.act(a);
      if (a.kind === "send") sent = true;
    }
    // IKE messages leave now, not on a later turn behind the rest of this one (after IKE_SA_INIT: the
    // TUN's opening, ~0.5 ms). Inside a receive callback flush() waits for the batch's end, as before.
    if (sent) this.link.flush();
  }

  private act(a: Action): void {
    switch (a.kind) {
      case "send":
        this.link.sendIke(a.data, a.port);
        // One step of start-up work while the gateway answers (see warm-up.ts).
        if (warmUpPending()) setTimeout(warmUpStep, 0);
        break;
      case "arm-timer": {
        clearTimeout(this.timers.get(a.timer));
        const delay = Math.max(0, a.at - systemClock.monotonicMs());
        const ev = a.timer === "liveness" ? () => ({ kind: "liveness" as const, lastInbound: this.link.lastInbound }) : () => ({ kind: "timer" as const, timer: a.timer });
        this.timers.set(a.timer, setTimeout(() => this.feed(ev()), delay));
        break;
      }
      case "cancel-timer":
        clearTimeout(this.timers.get(a.timer));
        this.timers.delete(a.timer);
        break;
      case "progress":
        this.progress(progressText(a.stage, a.detail));
        if (a.stage === "authenticating" && !this.authSent) {
          this.authSent = true;
          this.prepareTunSoon();
        }
        break;
      case "install-child":
        this.childParams = a.child;
        this.datapath ??= new DataPath({
          send: (data) => this.link.sendEsp(data),
          flush: () => this.link.flush(),
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
        this.config = effectiveConfig(a.config, this.req);
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

  /** The TUN being opened since connectSession() (see there), until bringUp() takes it. */
  private tunOpening: Promise<TunDevice> | null = null;

  private async bringUp(): Promise<void> {
    const cfg = this.config!;
    try {
      if (!this.tun) {
        const opening = this.tunOpening; // taken once: after a failure, a later attempt opens afresh
        this.tunOpening = null;
        this.tun = await (opening ?? openTunnelTun(this.name));
        this.tun.onError((e) => void this.teardown({ ok: false, failure: { code: "host", message: `TUN device failed: ${e.message}` } }));
      }
      const tun = this.tun;
      this.host.apply(tun.name, cfg, this.req.mtu);
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
    this.pathWatch.start();
    this.establishedAtMs = systemClock.monotonicMs();
    this.establishedAtWall = new Date(systemClock.wallMs()).toISOString();
    this.link.startKeepalive(this.req.natKeepaliveSeconds);
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
    this.link.stopKeepalive();
    this.pathWatch.stop();
    if (this.hasBeenUp) await this.runHook("down");
    this.datapath?.close();
    // The last datagrams (our DELETE, or the answer to the gateway's) leave when the socket closes below:
    // UdpEndpoint.close() sends what is queued first.
    if (this.tun) await this.tun.close();
    else if (this.tunOpening) await this.tunOpening.then((t) => t.close(), () => {});
    for (const err of this.host.undoAll()) this.progress(`cleanup: ${err}`);
    this.link.close();
    this.onEvent({ kind: "down", outcome: final });
    this.resolveDone(final);
  }

  // ---- a new local address (MOBIKE, RFC 4555 §3.5) and sleep/resume ----

  /**
   * Once a second (path-watch.ts, path-monitor.ts): after an address or route change, a new source address
   * towards the gateway goes to the session (MOBIKE, or a reconnect without it). A tick far too late (the
   * host slept, or we were stopped) checks the gateway at once rather than after the DPD interval.
   */
  private onPathEvent(ev: PathEvent): void {
    if (this.state !== "connected" || !this.link.open) return;
    if (ev.kind === "address-changed") {
      this.localAddress = ev.to;
      this.progress(`our address changed from ${ev.from} to ${ev.to}`);
      this.feed({ kind: "path-changed", localAddress: parseAddress(ev.to)!, localPort: this.link.localPort });
    } else {
      this.progress(`${Math.round(ev.gapMs / 1000)} s passed in one second (the host slept?): checking that the gateway is still there`);
      this.feed({ kind: "liveness", lastInbound: this.link.lastInbound, resumed: true });
    }
  }

  // ---- up/down hooks (like strongSwan's updown script) ----

  /** Runs the up or down command with ROAM_* variables describing the tunnel; waits at most 30 s. */
  private async runHook(event: "up" | "down"): Promise<void> {
    const command = event === "up" ? this.req.upHook : this.req.downHook;
    if (!command) return;
    await runHook(event, command, hookEnvironment(event, this.req.profileName, this.status(), this.config), (m) => this.progress(m));
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
