// The IKEv2 initiator session (RFC 7296): IKE_SA_INIT, IKE_AUTH (PSK, or gateway certificate + EAP),
// the first CHILD_SA with a configuration payload, answering the gateway's INFORMATIONAL requests,
// rekeying the CHILD_SA and the IKE SA either way with their collisions (§2.8, §2.25), and deleting the
// IKE SA on close. Pure: events in, actions out; `now` is a monotonic time in ms.
//
// One request of ours is in flight at a time (window size 1, §2.3); the task manager (task-manager.ts)
// owns it, the message IDs, retransmits and retired IKE SAs. This file drives IKE_SA_INIT, IKE_AUTH, the
// liveness check, MOBIKE and the close; child-rekeying.ts, ike-rekeying.ts and gateway-requests.ts the rest.
//
//   start ──► IKE_SA_INIT ──► IKE_AUTH ──(EAP rounds)──► established ──close──► INFORMATIONAL(DELETE) ──► closed
//                 │  COOKIE / INVALID_KE_PAYLOAD: again            │ gateway DELETE / lost
//                 └────────────── failed ◄──────────────────────────┘

import { toHex } from "../util/bytes.ts";
import { ExchangeType, ProtocolId } from "../wire/constants.ts";
import type { SessionConfig } from "./config.ts";
import { AuthExchange } from "./auth.ts";
import { CONNECT_RETRANSMIT, LIVENESS_RETRANSMIT } from "./retransmit.ts";
import { ChildSaTask, type OwnRekey } from "./child.ts";
import { ChildRekeying } from "./child-rekeying.ts";
import { GatewayRequests } from "./gateway-requests.ts";
import { IkeRekeying } from "./ike-rekeying.ts";
import { IkeInit } from "./init.ts";
import { MobikeTask } from "./mobike.ts";
import { findRedirect } from "./redirect.ts";
import * as M from "./msg.ts";
import { DELETE_RETRANSMIT, TaskManager, type SessionState } from "./task-manager.ts";
import type { Action, SessionEvent } from "./types.ts";
import type { SessionEnv } from "./types.ts";

export interface SessionStatus {
  state: SessionState;
  ikeSpiI?: string;
  ikeSpiR?: string;
  natLocal?: boolean;
  natRemote?: boolean;
  ikeProposal?: string;
  /** Both sides support MOBIKE (RFC 4555): a new local address moves the SAs instead of reconnecting. */
  mobike?: boolean;
}

export class IkeSession {
  private readonly tm: TaskManager;
  private init: IkeInit;
  private auth: AuthExchange | null = null;
  private readonly mobike: MobikeTask;
  /** NAT detection results of the last UPDATE_SA_ADDRESSES (RFC 4555 §3.5); until then IKE_SA_INIT's. */
  private nat: { local: boolean; remote: boolean } | null = null;
  private readonly childRekeying: ChildRekeying;
  private readonly ikeRekeying: IkeRekeying;
  private readonly gatewayRequests: GatewayRequests;

  constructor(
    private readonly cfg: SessionConfig,
    private readonly env: SessionEnv,
  ) {
    this.tm = new TaskManager(cfg, env);
    this.init = new IkeInit(cfg, env);
    this.mobike = new MobikeTask(cfg, env);
    this.childRekeying = new ChildRekeying(this.tm);
    this.ikeRekeying = new IkeRekeying(this.tm, this.mobike);
    this.gatewayRequests = new GatewayRequests(this.tm, this.childRekeying, this.ikeRekeying);
    this.tm.onWipe(() => {
      this.init.wipe();
      this.auth?.wipe();
    });
  }

  /** The CHILD_SA task and our CHILD_SA rekey in flight: private state the exchange tests look into. */
  private get child(): ChildSaTask | null {
    return this.tm.child;
  }
  private get ownRekey(): OwnRekey | null {
    return this.childRekeying.ownRekeyInFlight;
  }

  status(): SessionStatus {
    const s: SessionStatus = { state: this.tm.state };
    const keys = this.tm.keys;
    if (keys) {
      s.ikeSpiI = toHex(keys.spiI);
      s.ikeSpiR = toHex(keys.spiR);
      s.natLocal = this.nat?.local ?? this.init.natLocal;
      s.natRemote = this.nat?.remote ?? this.init.natRemote;
      s.ikeProposal = keys.suiteName;
      s.mobike = this.mobike.supported;
    }
    return s;
  }

  /** Feeds one event; returns what the caller must do, in order. */
  handle(ev: SessionEvent, now: number): Action[] {
    const tm = this.tm;
    tm.out = [];
    tm.now = now;
    try {
      switch (ev.kind) {
        case "start":
          if (tm.state === "idle") this.startInit(now);
          break;
        case "datagram":
          this.onDatagram(ev.data, now);
          break;
        case "timer":
          if (ev.timer === "retransmit") tm.onRetransmitTimer(now);
          else if (ev.timer === "child-rekey") this.childRekeying.onTimer(now);
          else if (ev.timer === "ike-rekey") this.ikeRekeying.onTimer(now);
          break;
        case "liveness":
          this.onLiveness(ev.lastInbound, now, ev.resumed ?? false);
          break;
        case "path-changed":
          this.onPathChanged(ev.localAddress, ev.localPort, now);
          break;
        case "child-limit":
          this.childRekeying.onLimit(ev.spiIn, ev.limit, now);
          break;
        case "close":
          this.onClose(now);
          break;
      }
    } catch (e) {
      // A bug must not leave the caller waiting forever: fail the session, keep the stack for the log.
      if (tm.state !== "done") {
        tm.fail({ code: "protocol", message: `internal error: ${e instanceof Error ? e.message : String(e)}` });
      }
      throw e;
    }
    return tm.out;
  }

  // ---- IKE_SA_INIT ----

  private startInit(now: number): void {
    this.tm.state = "init";
    this.tm.out.push({ kind: "progress", stage: "ike-sa-init" });
    this.tm.sendRequest([this.init.buildRequest()], ExchangeType.IKE_SA_INIT, 0, now, this.cfg.initRetransmit ?? this.cfg.connectRetransmit ?? CONNECT_RETRANSMIT);
  }

  private onInitResponse(data: Uint8Array, now: number): void {
    const tm = this.tm;
    const r = this.init.processResponse(data);
    switch (r.kind) {
      case "ignore":
        return;
      case "retry": // COOKIE or INVALID_KE_PAYLOAD: the same exchange again (§2.6, §1.2)
        tm.out.push({ kind: "progress", stage: "ike-sa-init", detail: r.reason });
        tm.sendRequest([this.init.buildRequest()], ExchangeType.IKE_SA_INIT, 0, now, this.cfg.initRetransmit ?? this.cfg.connectRetransmit);
        return;
      case "fail":
        tm.fail(r.failure);
        return;
      case "redirect":
        tm.redirectTo(r.target, "ike-sa-init");
        return;
      case "done":
        break;
    }
    const keys = r.keys;
    tm.keys = keys;
    tm.nextRequestId = 1;
    if (this.init.peerFragmentation && this.cfg.fragmentation) {
      // RFC 7383 §2.5.1: the budget is the path MTU less the IP and UDP headers and the non-ESP marker.
      const ipHeader = this.cfg.gatewayAddress.length === 4 ? 20 : 40;
      keys.enableFragmentation(this.cfg.ikeMtu - ipHeader - 8 - 4);
    }
    // RFC 7296 §2.23 / RFC 3948: continue on port 4500 (we always encapsulate, so always float).
    tm.port = "natt";
    tm.state = "auth";
    tm.child = new ChildSaTask(this.cfg, this.env);
    this.auth = new AuthExchange(this.cfg, this.env, keys, this.init.transcript());
    tm.out.push({ kind: "progress", stage: "authenticating", detail: keys.suiteName });
    // Until the tunnel is up someone is waiting: IKE_AUTH gets the connect schedule too (~25 s, not ~165 s).
    tm.sendProtected(ExchangeType.IKE_AUTH, [...this.auth.firstRequest(), ...this.mobike.authNotifies(), ...tm.child.requestPayloads()], now, this.cfg.connectRetransmit);
  }

  // ---- what comes in ----

  private onDatagram(data: Uint8Array, now: number): void {
    const tm = this.tm;
    if (tm.state === "idle" || tm.state === "done") return;
    if (tm.state === "init") {
      this.onInitResponse(data, now);
      return;
    }
    const got = tm.receive(data, now);
    if (got.kind === "response") this.onResponse(got.m, now);
    else if (got.kind === "request") this.gatewayRequests.onRequest(got.m);
    else if (got.kind === "late-ike-rekey") this.ikeRekeying.onLateResponse(got.sa, got.payloads, now);
  }

  private onResponse(m: M.InMessage, now: number): void {
    const tm = this.tm;
    switch (tm.state) {
      case "auth":
        this.onAuthResponse(m, now);
        return;
      case "deleting":
        tm.finish("disconnected");
        return;
      case "established": {
        const purpose = tm.purpose;
        tm.purpose = "liveness";
        if (purpose === "child-rekey") this.childRekeying.onResponse(m, now);
        else if (purpose === "child-delete") this.childRekeying.onDeleteResponse();
        else if (purpose === "ike-rekey") this.ikeRekeying.onResponse(m, now);
        else if (purpose === "mobike-update") this.onMobikeResponse(m);
        else if (this.mobike.onLivenessResponse(m.payloads)) tm.out.push({ kind: "progress", stage: "mobike", detail: "the NAT in between changed its mapping" });
        if (tm.state !== "established") return;
        // Any answer shows the gateway is there.
        tm.armLiveness(now);
        // RFC 4555 §3.5: the address changed while another request was out; tell the gateway now.
        if (!tm.pending && this.mobike.supported && this.mobike.updatePending) this.sendMobikeUpdate(now);
        return;
      }
      default:
        return;
    }
  }

  // ---- IKE_AUTH ----

  private onAuthResponse(m: M.InMessage, now: number): void {
    const tm = this.tm;
    const auth = this.auth!;
    const r = auth.processResponse(m.payloads);
    if (r.kind === "fail") {
      if (r.ended) tm.fail(r.failure);
      else tm.failAndDelete(r.failure);
      return;
    }
    if (r.kind === "continue") {
      if (r.stage) tm.out.push({ kind: "progress", stage: r.stage, detail: r.detail });
      tm.sendProtected(ExchangeType.IKE_AUTH, r.payloads, now, this.cfg.connectRetransmit);
      return;
    }
    // RFC 5685 §6: authenticated, the gateway sends us elsewhere instead of making the CHILD_SA.
    const redirect = findRedirect(m.payloads);
    if (redirect.kind === "redirect") {
      tm.deleteQuietly();
      tm.redirectTo(redirect.target, "ike-auth");
      return;
    }
    this.mobike.onAuthResponse(m.payloads, this.init.peerSawUs);
    // Authenticated both ways: now the CHILD_SA and the configuration payload in this same message.
    const keys = tm.keys!;
    const c = tm.child!.processResponse(m.payloads, keys);
    if (!c.ok) {
      tm.failAndDelete(c.failure);
      return;
    }
    tm.state = "established";
    tm.armLiveness(now);
    this.childRekeying.arm(now);
    this.ikeRekeying.arm(now);
    tm.out.push({ kind: "install-child", child: c.child });
    tm.out.push({ kind: "apply-config", config: c.config });
    tm.out.push({
      kind: "established",
      info: {
        ikeSpiI: toHex(keys.spiI),
        ikeSpiR: toHex(keys.spiR),
        natLocal: this.init.natLocal,
        natRemote: this.init.natRemote,
        ikeProposal: keys.suiteName,
        espProposal: c.suiteName,
        remoteId: auth.peerIdText,
        localId: this.cfg.localId.text,
      },
    });
  }

  // ---- dead peer detection (§2.4) ----

  private onLiveness(lastInbound: number, now: number, resumed: boolean): void {
    const tm = this.tm;
    // After a sleep the check runs even with DPD off: the gateway has likely dropped us meanwhile.
    if (tm.state !== "established" || (this.cfg.dpdIntervalMs <= 0 && !resumed)) return;
    // A request of ours is already out: its answer (or its retransmits running out) says enough.
    if (tm.pending) return;
    const quietSince = Math.max(lastInbound, 0);
    if (!resumed && now - quietSince < this.cfg.dpdIntervalMs) {
      tm.armLiveness(quietSince);
      return;
    }
    // §1.4: an empty INFORMATIONAL request is the liveness check.
    const keys = tm.keys!;
    tm.sendProtected(ExchangeType.INFORMATIONAL, this.mobike.livenessPayloads(keys.spiI, keys.spiR, this.gatewayPath()), now, LIVENESS_RETRANSMIT);
  }

  // ---- closing ----

  private onClose(now: number): void {
    const tm = this.tm;
    switch (tm.state) {
      case "idle":
      case "init":
        tm.pending = null;
        tm.finish("cancelled");
        return;
      case "auth":
      case "established":
        // Our DELETE replaces whatever request was in flight.
        tm.state = "deleting";
        tm.removeChildren();
        tm.dropPending();
        tm.sendProtected(ExchangeType.INFORMATIONAL, [M.del(ProtocolId.IKE, [])], now, DELETE_RETRANSMIT);
        return;
      default:
        return;
    }
  }

  // ---- MOBIKE (RFC 4555) ----

  /** The runtime saw our local address or port change. */
  private onPathChanged(address: Uint8Array, port: number, now: number): void {
    if (!this.mobike.pathChanged({ address, port }) || this.tm.state !== "established") return;
    if (!this.mobike.supported) {
      // Without MOBIKE the IKE SA stays bound to the old address: start again from the new one.
      const why = this.cfg.mobike ? "the gateway does not support MOBIKE" : "MOBIKE is off";
      this.tm.failAndDelete({ code: "lost", message: `our address changed and ${why}` });
      return;
    }
    // §3.5: a request in flight is retransmitted from the new address; the update follows its answer.
    if (!this.tm.pending) this.sendMobikeUpdate(now);
  }

  private sendMobikeUpdate(now: number): void {
    const keys = this.tm.keys!;
    this.tm.purpose = "mobike-update";
    this.tm.out.push({ kind: "progress", stage: "mobike", detail: `${this.mobike.updateReason}: UPDATE_SA_ADDRESSES` });
    this.tm.sendProtected(ExchangeType.INFORMATIONAL, this.mobike.buildUpdate(keys.spiI, keys.spiR, this.gatewayPath()), now);
  }

  private onMobikeResponse(m: M.InMessage): void {
    const keys = this.tm.keys!;
    const r = this.mobike.processUpdateResponse(m.payloads, keys.spiI, keys.spiR, this.gatewayPath());
    if (!r.ok) {
      this.tm.failAndDelete({ code: "lost", message: r.reason });
      return;
    }
    this.nat = { local: r.natLocal, remote: r.natRemote };
    this.tm.out.push({ kind: "progress", stage: "mobike", detail: `the gateway moved the SAs to where we are now${r.natLocal ? " (behind a NAT)" : ""}` });
  }

  private gatewayPath() {
    const cfg = this.cfg;
    return { address: cfg.gatewayAddress, port: this.tm.port === "natt" ? (cfg.gatewayPort === 500 ? 4500 : cfg.gatewayPort) : cfg.gatewayPort };
  }
}
