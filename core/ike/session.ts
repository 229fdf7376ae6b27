// The IKEv2 initiator session (RFC 7296): IKE_SA_INIT, IKE_AUTH (PSK, or gateway certificate + EAP),
// the first CHILD_SA with a configuration payload, answering the gateway's INFORMATIONAL requests,
// rekeying the CHILD_SA and the IKE SA either way with their collisions (§2.8, §2.25), and deleting the
// IKE SA on close. Pure: events in, actions out; `now` is a monotonic time in ms.
//
// One request of ours is in flight at a time (`pending`, window size 1, §2.3), usually on the current IKE
// SA; after an IKE SA rekey, the DELETE of the old SA (or of a redundant one) is in flight on that retired
// SA (`pendingOn`), whose messages are told apart by their SPIs.
//
//   start ──► IKE_SA_INIT ──► IKE_AUTH ──(EAP rounds)──► established ──close──► INFORMATIONAL(DELETE) ──► closed
//                 │  COOKIE / INVALID_KE_PAYLOAD: again            │ gateway DELETE / lost
//                 └────────────── failed ◄──────────────────────────┘

import { toHex } from "../util/bytes.ts";
import { ExchangeType, NotifyError, ProtocolId } from "../wire/constants.ts";
import type { SessionConfig } from "./config.ts";
import { AuthExchange } from "./auth.ts";
import { CONNECT_RETRANSMIT, LIVENESS_RETRANSMIT, PendingRequest } from "./retransmit.ts";
import { ChildSaTask, collisionLost, type OwnRekey } from "./child.ts";
import { IkeRekeyInitiator, IkeRekeyResponder, RetiredIkeSa, type CachedResponse } from "./ike-rekey.ts";
import type { IkeSaKeys } from "./ikesa.ts";
import { IkeInit } from "./init.ts";
import { echoCookie2, MobikeTask } from "./mobike.ts";
import { findRedirect, type RedirectTarget } from "./redirect.ts";
import * as M from "./msg.ts";
import type { Action, IkePort, SessionEvent, SessionFailure } from "./types.ts";
import type { SessionEnv } from "./types.ts";

const hex32 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");

type State = "idle" | "init" | "auth" | "established" | "deleting" | "done";

export interface SessionStatus {
  state: State;
  ikeSpiI?: string;
  ikeSpiR?: string;
  natLocal?: boolean;
  natRemote?: boolean;
  ikeProposal?: string;
  /** Both sides support MOBIKE (RFC 4555): a new local address moves the SAs instead of reconnecting. */
  mobike?: boolean;
}

/** How long to wait for the answer to our DELETE on close before giving up. */
const DELETE_RETRANSMIT = { timeoutMs: 1000, base: 1.5, retransmits: 2 };

export class IkeSession {
  private state: State = "idle";
  private init: IkeInit;
  private keys: IkeSaKeys | null = null;
  private auth: AuthExchange | null = null;
  private child: ChildSaTask | null = null;
  private pending: PendingRequest | null = null;
  /** Our next request's message ID, and the gateway's next expected request (RFC 7296 §2.2). */
  private nextRequestId = 0;
  private peerNextId = 0;
  /** The last response we sent, kept for a retransmitted request (§2.1). */
  private lastResponse: CachedResponse | null = null;
  private port: IkePort;
  private out: Action[] = [];
  private readonly mobike: MobikeTask;
  /** NAT detection results of the last UPDATE_SA_ADDRESSES (RFC 4555 §3.5); until then IKE_SA_INIT's. */
  private nat: { local: boolean; remote: boolean } | null = null;
  /** IKE SAs a rekey replaced, and redundant ones of a collision, until they are deleted (§2.18, §2.8.2). */
  private retired: RetiredIkeSa[] = [];
  /** The retired SA the request in flight was sent on (its DELETE, or a rekey overtaken by a collision); null: the current SA. */
  private pendingOn: RetiredIkeSa | null = null;

  constructor(
    private readonly cfg: SessionConfig,
    private readonly env: SessionEnv,
  ) {
    this.init = new IkeInit(cfg, env);
    this.mobike = new MobikeTask(cfg, env);
    this.port = cfg.gatewayPort === 500 ? "ike" : "natt";
  }

  status(): SessionStatus {
    const s: SessionStatus = { state: this.state };
    if (this.keys) {
      s.ikeSpiI = toHex(this.keys.spiI);
      s.ikeSpiR = toHex(this.keys.spiR);
      s.natLocal = this.nat?.local ?? this.init.natLocal;
      s.natRemote = this.nat?.remote ?? this.init.natRemote;
      s.ikeProposal = this.keys.suiteName;
      s.mobike = this.mobike.supported;
    }
    return s;
  }

  /** Feeds one event; returns what the caller must do, in order. */
  handle(ev: SessionEvent, now: number): Action[] {
    this.out = [];
    this.lastNow = now;
    try {
      switch (ev.kind) {
        case "start":
          if (this.state === "idle") this.startInit(now);
          break;
        case "datagram":
          this.onDatagram(ev.data, now);
          break;
        case "timer":
          if (ev.timer === "retransmit") this.onRetransmitTimer(now);
          else if (ev.timer === "child-rekey") this.onChildRekeyTimer(now);
          else if (ev.timer === "ike-rekey") this.onIkeRekeyTimer(now);
          break;
        case "liveness":
          this.onLiveness(ev.lastInbound, now, ev.resumed ?? false);
          break;
        case "path-changed":
          this.onPathChanged(ev.localAddress, ev.localPort, now);
          break;
        case "child-limit":
          this.onChildLimit(ev.spiIn, ev.limit, now);
          break;
        case "close":
          this.onClose(now);
          break;
      }
    } catch (e) {
      // A bug must not leave the caller waiting forever: fail the session, keep the stack for the log.
      if (this.state !== "done") {
        this.fail({ code: "protocol", message: `internal error: ${e instanceof Error ? e.message : String(e)}` });
      }
      throw e;
    }
    return this.out;
  }

  // ---- sending requests and retransmitting them ----

  private sendRequest(datagrams: Uint8Array[], exchangeType: number, messageId: number, now: number, policy = this.cfg.retransmit, on: RetiredIkeSa | null = null): void {
    this.pending = new PendingRequest(messageId, exchangeType, datagrams, policy, now);
    this.pendingOn = on;
    for (const d of datagrams) this.out.push({ kind: "send", data: d, port: this.port });
    this.out.push({ kind: "arm-timer", timer: "retransmit", at: this.pending.nextAt });
  }

  private onRetransmitTimer(now: number): void {
    const p = this.pending;
    if (!p || this.state === "done") return;
    if (now < p.nextAt) {
      this.out.push({ kind: "arm-timer", timer: "retransmit", at: p.nextAt });
      return;
    }
    if (p.due(now)) {
      for (const d of p.datagrams) this.out.push({ kind: "send", data: d, port: this.port });
      this.out.push({ kind: "arm-timer", timer: "retransmit", at: p.nextAt });
      return;
    }
    this.pending = null;
    if (this.state === "deleting") {
      this.finish("the gateway did not confirm the DELETE; the tunnel is closed anyway");
      return;
    }
    if (this.purpose === "ike-delete" && this.pendingOn) {
      // strongSwan does the same: an unanswered DELETE for a replaced IKE SA just forgets it.
      this.dropRetired(this.pendingOn);
      this.purpose = "liveness";
      this.out.push({ kind: "progress", stage: "ike-rekey", detail: "the gateway did not confirm the DELETE of the old IKE SA; it is forgotten" });
      this.armLiveness(now);
      return;
    }
    const what = M.exchangeText(p.exchangeType);
    const message =
      p.exchangeType === ExchangeType.IKE_SA_INIT
        ? `gateway ${this.cfg.gatewayName} did not answer ${what} after ${p.sends} tries`
        : `gateway ${this.cfg.gatewayName} stopped answering (${what}, ${p.sends} tries)`;
    this.fail({ code: p.exchangeType === ExchangeType.IKE_SA_INIT ? "unreachable" : "lost", message });
  }

  // ---- IKE_SA_INIT ----

  private startInit(now: number): void {
    this.state = "init";
    this.out.push({ kind: "progress", stage: "ike-sa-init" });
    this.sendRequest([this.init.buildRequest()], ExchangeType.IKE_SA_INIT, 0, now, this.cfg.initRetransmit ?? this.cfg.connectRetransmit ?? CONNECT_RETRANSMIT);
  }

  private onInitResponse(data: Uint8Array, now: number): void {
    const r = this.init.processResponse(data);
    switch (r.kind) {
      case "ignore":
        return;
      case "retry": // COOKIE or INVALID_KE_PAYLOAD: the same exchange again (§2.6, §1.2)
        this.out.push({ kind: "progress", stage: "ike-sa-init", detail: r.reason });
        this.sendRequest([this.init.buildRequest()], ExchangeType.IKE_SA_INIT, 0, now, this.cfg.initRetransmit ?? this.cfg.connectRetransmit);
        return;
      case "fail":
        this.fail(r.failure);
        return;
      case "redirect":
        this.redirectTo(r.target, "ike-sa-init");
        return;
      case "done":
        break;
    }
    this.keys = r.keys;
    this.nextRequestId = 1;
    if (this.init.peerFragmentation && this.cfg.fragmentation) {
      // RFC 7383 §2.5.1: the budget is the path MTU less the IP and UDP headers and the non-ESP marker.
      const ipHeader = this.cfg.gatewayAddress.length === 4 ? 20 : 40;
      this.keys.enableFragmentation(this.cfg.ikeMtu - ipHeader - 8 - 4);
    }
    // RFC 7296 §2.23 / RFC 3948: continue on port 4500 (we always encapsulate, so always float).
    this.port = "natt";
    this.state = "auth";
    this.child = new ChildSaTask(this.cfg, this.env);
    this.auth = new AuthExchange(this.cfg, this.env, this.keys, this.init.transcript());
    this.out.push({ kind: "progress", stage: "authenticating", detail: this.keys.suiteName });
    // Until the tunnel is up someone is waiting: IKE_AUTH gets the connect schedule too (~25 s, not ~165 s).
    this.sendProtected(ExchangeType.IKE_AUTH, [...this.auth.firstRequest(), ...this.mobike.authNotifies(), ...this.child.requestPayloads()], now, this.cfg.connectRetransmit);
  }

  // ---- protected exchanges ----

  private sendProtected(exchangeType: number, payloads: M.Payload[], now: number, policy = this.cfg.retransmit): void {
    const keys = this.keys!;
    const messageId = this.nextRequestId++;
    this.sendRequest(keys.protect(exchangeType, messageId, false, payloads), exchangeType, messageId, now, policy);
  }

  private sendResponse(exchangeType: number, messageId: number, payloads: M.Payload[]): void {
    const datagrams = this.keys!.protect(exchangeType, messageId, true, payloads);
    this.lastResponse = { messageId, datagrams };
    for (const d of datagrams) this.out.push({ kind: "send", data: d, port: this.port });
  }

  private onDatagram(data: Uint8Array, now: number): void {
    if (this.state === "idle" || this.state === "done") return;
    if (this.state === "init") {
      this.onInitResponse(data, now);
      return;
    }
    const keys = this.keys!;
    const msg = keys.unprotect(data, now);
    if (!msg.ok) {
      if (msg.reason === "not this IKE SA") this.onRetiredDatagram(data, now);
      else if (msg.retransmitOf !== undefined && msg.retransmitOf === this.lastResponse?.messageId) {
        for (const d of this.lastResponse.datagrams) this.out.push({ kind: "send", data: d, port: this.port });
      }
      return; // not ours, or failed integrity: drop silently (§2.21.1)
    }
    const m = msg.value;
    if (m.response) {
      const p = this.pending;
      if (!p || this.pendingOn || m.messageId !== p.messageId || m.exchangeType !== p.exchangeType) return;
      this.pending = null;
      this.out.push({ kind: "cancel-timer", timer: "retransmit" });
      this.onResponse(m, now);
    } else {
      this.onRequest(m);
    }
  }

  private onResponse(m: M.InMessage, now: number): void {
    switch (this.state) {
      case "auth":
        this.onAuthResponse(m, now);
        return;
      case "deleting":
        this.finish("disconnected");
        return;
      case "established": {
        const purpose = this.purpose;
        this.purpose = "liveness";
        if (purpose === "child-rekey") this.onChildRekeyResponse(m, now);
        else if (purpose === "child-delete") this.onChildDeleteResponse();
        else if (purpose === "ike-rekey") this.onIkeRekeyResponse(m, now);
        else if (purpose === "mobike-update") this.onMobikeResponse(m);
        else if (this.mobike.onLivenessResponse(m.payloads)) this.out.push({ kind: "progress", stage: "mobike", detail: "the NAT in between changed its mapping" });
        if (this.state !== "established") return;
        // Any answer shows the gateway is there.
        this.armLiveness(now);
        // RFC 4555 §3.5: the address changed while another request was out; tell the gateway now.
        if (!this.pending && this.mobike.supported && this.mobike.updatePending) this.sendMobikeUpdate(now);
        return;
      }
      default:
        return;
    }
  }

  // ---- rekeying the CHILD_SA ourselves (§1.3.3, §2.8) ----

  /** What the request in flight is for, once established (answers are matched by it). */
  private purpose: "liveness" | "child-rekey" | "child-delete" | "ike-rekey" | "ike-delete" | "mobike-update" = "liveness";
  private ownRekey: OwnRekey | null = null;
  /** §2.8.1: the gateway rekeyed the same CHILD_SA while our rekey was in flight: its nonces and new SA. */
  private childCollision: { ni: Uint8Array; nr: Uint8Array; spiIn: number } | null = null;
  private rekeyedAway: [number, number] | null = null;
  private lastNow = 0;

  private armChildRekey(from: number): void {
    const ms = this.cfg.childRekeyMs;
    if (ms <= 0) return;
    const jitter = Math.floor((((this.env.random.bytes(1)[0]! / 255) * ms) / 10));
    this.out.push({ kind: "arm-timer", timer: "child-rekey", at: from + ms - jitter });
  }

  private onChildRekeyTimer(now: number): void {
    if (this.state !== "established" || !this.child) return;
    if (this.pending) {
      this.out.push({ kind: "arm-timer", timer: "child-rekey", at: now + 2000 }); // after the request in flight
      return;
    }
    const r = this.child.buildRekey(this.env.random);
    if (!r) return;
    this.ownRekey = r.pending;
    this.purpose = "child-rekey";
    this.sendProtected(ExchangeType.CREATE_CHILD_SA, r.payloads, now);
  }

  private onChildRekeyResponse(m: M.InMessage, now: number): void {
    const own = this.ownRekey!;
    this.ownRekey = null;
    const col = this.childCollision;
    this.childCollision = null;
    const child = this.child!;
    const r = child.processRekeyResponse(m.payloads, this.keys!, own);
    if (!r.ok) {
      if (col) {
        // §2.8.1: the gateway's rekey of the same SA stands alone; the gateway deletes the old SA.
        this.out.push({ kind: "progress", stage: "child-sa", detail: `${r.reason}; the gateway's own rekey replaces the CHILD_SA` });
        this.armChildRekey(now);
      } else if (!child.hasActive()) {
        // §2.25.1: the gateway deleted the CHILD_SA while our rekey of it was in flight, and refused the rekey.
        this.failAndDelete({ code: "lost", message: `gateway ${this.cfg.gatewayName} deleted the CHILD_SA` });
      } else {
        this.out.push({ kind: "progress", stage: "child-sa", detail: `${r.reason}; trying again in a minute` });
        this.out.push({ kind: "arm-timer", timer: "child-rekey", at: now + 60_000 });
      }
      return;
    }
    if (col && collisionLost([own.ni, r.nr], [col.ni, col.nr])) {
      // §2.8.1: the lowest of the four nonces is in our exchange, so our new SA is the redundant one and we
      // delete it; the gateway, whose SA survives, deletes the old one. Until then we receive on ours.
      this.out.push({ kind: "install-child", child: { ...r.child, inboundOnly: true } });
      child.makeCurrent(col.spiIn);
      this.out.push({ kind: "progress", stage: "child-sa", detail: `rekey collision: ours (SPI ${hex32(r.child.spiIn)}_i) has the lowest nonce and is deleted; the gateway's stays` });
      this.rekeyedAway = [r.child.spiIn, r.child.spiOut];
      this.purpose = "child-delete";
      this.sendProtected(ExchangeType.INFORMATIONAL, [M.del(ProtocolId.ESP, [r.child.spiIn])], now);
      this.armChildRekey(now);
      return;
    }
    // Make-before-break: the new SAs first, then the old one is deleted (§1.4.1) and removed when answered.
    // In a collision we won (§2.8.1), the gateway deletes its redundant SA itself.
    this.out.push({ kind: "install-child", child: r.child });
    this.out.push({ kind: "progress", stage: "child-sa", detail: `rekeyed${col ? " (won a rekey collision)" : ""}: ${r.suiteName}, SPIs ${hex32(r.child.spiIn)}_i ${hex32(r.child.spiOut)}_o` });
    this.armChildRekey(now);
    if (!child.isActive(own.replaces[0])) return; // the gateway deleted the old SA meanwhile (§2.25.1)
    this.rekeyedAway = own.replaces;
    this.purpose = "child-delete";
    this.sendProtected(ExchangeType.INFORMATIONAL, [M.del(ProtocolId.ESP, [own.replaces[0]])], now);
  }

  /** An ESP SA crossed a lifetime limit (RFC 4301 §4.4.2.1, RFC 4303 §3.3.3). */
  private onChildLimit(spiIn: number, limit: "soft" | "hard", now: number): void {
    const child = this.child;
    if (this.state !== "established" || !child || child.currentSpiIn !== spiIn >>> 0) return; // an SA on its way out
    if (limit === "hard") {
      this.failAndDelete({ code: "lost", message: `the CHILD_SA (SPI ${hex32(spiIn)}_i) reached its hard lifetime before a rekey replaced it` });
      return;
    }
    if (this.purpose === "child-rekey" && this.pending) return; // already under way
    this.out.push({ kind: "progress", stage: "child-sa", detail: `SPI ${hex32(spiIn)}_i reached its soft lifetime: rekeying` });
    this.onChildRekeyTimer(now);
  }

  private onChildDeleteResponse(): void {
    const old = this.rekeyedAway;
    this.rekeyedAway = null;
    if (!old || !this.child) return;
    for (const [spiIn, spiOut] of this.child.removedPairs([old[1]])) this.out.push({ kind: "remove-child", spiIn, spiOut });
  }

  // ---- rekeying the IKE SA ourselves (§1.3.2, §2.18), collisions (§2.8.2, §2.25.2) ----

  private ikeRekey: IkeRekeyInitiator | null = null;
  /** §2.8.2: the gateway rekeyed the IKE SA while our rekey was in flight: its new SA and nonces. */
  private ikeCollision: { keys: IkeSaKeys; ni: Uint8Array; nr: Uint8Array; suiteName: string } | null = null;

  private armIkeRekey(from: number): void {
    const ms = this.cfg.ikeRekeyMs;
    if (ms <= 0) return;
    const jitter = Math.floor(((this.env.random.bytes(1)[0]! / 255) * ms) / 10);
    this.out.push({ kind: "arm-timer", timer: "ike-rekey", at: from + ms - jitter });
  }

  private onIkeRekeyTimer(now: number): void {
    if (this.state !== "established") return;
    if (this.pending) {
      this.out.push({ kind: "arm-timer", timer: "ike-rekey", at: now + 2000 }); // after the request in flight
      return;
    }
    this.startIkeRekey(this.keys!.suite.ke, now);
  }

  /** §1.3.2: HDR, SK {SA, Ni, KEi}, KEi of `group` (the current SA's, unless the gateway asked for another). */
  private startIkeRekey(group: number, now: number): void {
    this.ikeRekey = new IkeRekeyInitiator(this.cfg, this.env, group);
    this.purpose = "ike-rekey";
    this.sendProtected(ExchangeType.CREATE_CHILD_SA, this.ikeRekey.request(), now);
  }

  private onIkeRekeyResponse(m: M.InMessage, now: number): void {
    const task = this.ikeRekey!;
    this.ikeRekey = null;
    const col = this.ikeCollision;
    this.ikeCollision = null;
    const r = task.process(m.payloads, this.keys!);
    if (!r.ok) {
      if (col) {
        // §2.8.2: only the gateway's rekey made a new SA: it stays, and the gateway deletes the old one.
        this.switchIkeSa(col.keys, false, now);
        this.out.push({ kind: "progress", stage: "ike-rekey", detail: `${r.reason}; the gateway's own rekey replaces the IKE SA: ${col.suiteName}` });
      } else if (r.retryGroup !== undefined) {
        this.startIkeRekey(r.retryGroup, now);
      } else {
        // §2.25: after TEMPORARY_FAILURE "MUST NOT immediately retry"; anything else is not worth a quick retry.
        const wait = r.temporary ? 15_000 : 600_000;
        this.out.push({ kind: "progress", stage: "ike-rekey", detail: `${r.reason}; trying again in ${wait / 1000} s` });
        this.out.push({ kind: "arm-timer", timer: "ike-rekey", at: now + wait });
      }
      return;
    }
    if (col && collisionLost([r.nonces.ni, r.nonces.nr], [col.ni, col.nr])) {
      // §2.8.2: the lowest of the four nonces is in our exchange: our new IKE SA is redundant and we delete
      // it; the gateway's stays, and the gateway deletes the old one.
      this.switchIkeSa(col.keys, false, now);
      this.deleteRedundant(r.keys, now);
      this.out.push({ kind: "progress", stage: "ike-rekey", detail: `rekey collision: the gateway's IKE SA stays (${col.suiteName}, SPIs ${toHex(col.keys.spiI)}_i ${toHex(col.keys.spiR)}_r), ours is deleted` });
      return;
    }
    // Ours stays: the CHILD_SAs move to it, the old SA is deleted by us (§1.3.2), and in a collision the
    // gateway deletes its redundant one (we answer it on that SA).
    const old = this.switchIkeSa(r.keys, true, now);
    if (col) this.retire(new RetiredIkeSa(col.keys, 0, null));
    this.out.push({ kind: "progress", stage: "ike-rekey", detail: `IKE SA rekeyed${col ? " (won a rekey collision)" : ""}: ${r.suiteName}, SPIs ${toHex(r.keys.spiI)}_i ${toHex(r.keys.spiR)}_r; deleting the old one (${toHex(old.keys.spiI)}_i)` });
  }

  /**
   * The IKE SA becomes `keys`; the one it replaces is retired (and deleted by us when `deleteOld`). Message
   * IDs restart at 0 on the new SA (§2.18); a request still in flight stays with the SA it was sent on.
   */
  private switchIkeSa(keys: IkeSaKeys, deleteOld: boolean, now: number): RetiredIkeSa {
    const old = new RetiredIkeSa(this.keys!, this.peerNextId, this.lastResponse, this.nextRequestId);
    this.retire(old);
    if (this.pending && !this.pendingOn) this.pendingOn = old;
    this.keys = keys;
    this.mobike.resetPeerView(); // NAT detection hashes change with the SPIs
    this.nextRequestId = 0;
    this.peerNextId = 0;
    this.lastResponse = null;
    if (deleteOld) this.sendRetiredDelete(old, now);
    this.armIkeRekey(now);
    return old;
  }

  /** Our new IKE SA lost a collision (§2.8.2): we delete it. */
  private deleteRedundant(keys: IkeSaKeys, now: number): void {
    const redundant = new RetiredIkeSa(keys, 0, null);
    this.retire(redundant);
    this.sendRetiredDelete(redundant, now);
  }

  private sendRetiredDelete(sa: RetiredIkeSa, now: number): void {
    const d = sa.deleteRequest();
    this.purpose = "ike-delete";
    this.sendRequest(d.datagrams, ExchangeType.INFORMATIONAL, d.messageId, now, LIVENESS_RETRANSMIT, sa);
  }

  /** Keeps `sa`; forgets retired SAs already deleted (a retransmit of their DELETE then goes unanswered). */
  private retire(sa: RetiredIkeSa): void {
    for (const r of this.retired) if (r.deleted && r !== this.pendingOn) this.dropRetired(r);
    this.retired.push(sa);
  }

  private dropRetired(sa: RetiredIkeSa): void {
    sa.wipe();
    this.retired = this.retired.filter((r) => r !== sa);
    if (this.pendingOn === sa) {
      this.pendingOn = null;
      this.pending = null;
      this.out.push({ kind: "cancel-timer", timer: "retransmit" });
    }
  }

  /** A datagram for none of the current SA's SPIs: maybe for a retired one. */
  private onRetiredDatagram(data: Uint8Array, now: number): void {
    for (const sa of this.retired) {
      const got = sa.receive(data, now);
      if (got.kind === "foreign") continue;
      if (got.kind === "answer") {
        for (const d of got.datagrams) this.out.push({ kind: "send", data: d, port: this.port });
        // The gateway deleted the SA our DELETE was for: nothing left to wait for.
        if (got.deleted && this.pendingOn === sa && this.purpose === "ike-delete") this.onRetiredDeleteDone(sa, now);
        return;
      }
      const p = this.pending;
      if (!p || this.pendingOn !== sa || got.messageId !== p.messageId || got.exchangeType !== p.exchangeType) return;
      this.pending = null;
      this.pendingOn = null;
      this.out.push({ kind: "cancel-timer", timer: "retransmit" });
      if (this.purpose === "ike-delete") this.onRetiredDeleteDone(sa, now);
      else if (this.purpose === "ike-rekey") this.onLateIkeRekeyResponse(sa, got.payloads, now);
      return;
    }
  }

  private onRetiredDeleteDone(sa: RetiredIkeSa, now: number): void {
    sa.deleted = true;
    this.dropRetired(sa);
    this.purpose = "liveness";
    this.armLiveness(now);
  }

  /** The answer to our rekey of an IKE SA the gateway already replaced (it won the collision): delete what it made. */
  private onLateIkeRekeyResponse(sa: RetiredIkeSa, payloads: M.Payload[], now: number): void {
    const task = this.ikeRekey!;
    this.ikeRekey = null;
    this.purpose = "liveness";
    const r = task.process(payloads, sa.keys);
    if (r.ok) this.deleteRedundant(r.keys, now);
    else this.armLiveness(now);
  }

  // ---- dead peer detection (§2.4) ----

  private armLiveness(from: number): void {
    if (this.cfg.dpdIntervalMs > 0) this.out.push({ kind: "arm-timer", timer: "liveness", at: from + this.cfg.dpdIntervalMs });
  }

  private onLiveness(lastInbound: number, now: number, resumed: boolean): void {
    // After a sleep the check runs even with DPD off: the gateway has likely dropped us meanwhile.
    if (this.state !== "established" || (this.cfg.dpdIntervalMs <= 0 && !resumed)) return;
    // A request of ours is already out: its answer (or its retransmits running out) says enough.
    if (this.pending) return;
    const quietSince = Math.max(lastInbound, 0);
    if (!resumed && now - quietSince < this.cfg.dpdIntervalMs) {
      this.armLiveness(quietSince);
      return;
    }
    // §1.4: an empty INFORMATIONAL request is the liveness check.
    const keys = this.keys!;
    this.sendProtected(ExchangeType.INFORMATIONAL, this.mobike.livenessPayloads(keys.spiI, keys.spiR, this.gatewayPath()), now, LIVENESS_RETRANSMIT);
  }

  private onAuthResponse(m: M.InMessage, now: number): void {
    const auth = this.auth!;
    const r = auth.processResponse(m.payloads);
    if (r.kind === "fail") {
      this.failAndDelete(r.failure);
      return;
    }
    if (r.kind === "continue") {
      if (r.stage) this.out.push({ kind: "progress", stage: r.stage, detail: r.detail });
      this.sendProtected(ExchangeType.IKE_AUTH, r.payloads, now, this.cfg.connectRetransmit);
      return;
    }
    // RFC 5685 §6: authenticated, the gateway sends us elsewhere instead of making the CHILD_SA.
    const redirect = findRedirect(m.payloads);
    if (redirect.kind === "redirect") {
      this.deleteQuietly();
      this.redirectTo(redirect.target, "ike-auth");
      return;
    }
    this.mobike.onAuthResponse(m.payloads, this.init.peerSawUs);
    // Authenticated both ways: now the CHILD_SA and the configuration payload in this same message.
    const c = this.child!.processResponse(m.payloads, this.keys!);
    if (!c.ok) {
      this.failAndDelete(c.failure);
      return;
    }
    this.state = "established";
    this.armLiveness(now);
    this.armChildRekey(now);
    this.armIkeRekey(now);
    this.out.push({ kind: "install-child", child: c.child });
    this.out.push({ kind: "apply-config", config: c.config });
    this.out.push({
      kind: "established",
      info: {
        ikeSpiI: toHex(this.keys!.spiI),
        ikeSpiR: toHex(this.keys!.spiR),
        natLocal: this.init.natLocal,
        natRemote: this.init.natRemote,
        ikeProposal: this.keys!.suiteName,
        espProposal: c.suiteName,
        remoteId: auth.peerIdText,
        localId: this.cfg.localId.text,
      },
    });
  }

  // ---- requests from the gateway (§1.4, §1.5, §2.1) ----

  private onRequest(m: M.InMessage): void {
    if (m.messageId === this.peerNextId - 1 && this.lastResponse?.messageId === m.messageId) {
      for (const d of this.lastResponse.datagrams) this.out.push({ kind: "send", data: d, port: this.port }); // retransmitted request
      return;
    }
    if (m.messageId !== this.peerNextId) return; // outside the window of one: ignore (§2.3)
    this.peerNextId++;
    if (m.exchangeType === ExchangeType.INFORMATIONAL) {
      this.onInformational(m);
      return;
    }
    if (m.exchangeType === ExchangeType.CREATE_CHILD_SA) {
      this.onCreateChildRequest(m);
      return;
    }
    // IKE_SA_INIT / IKE_AUTH requests make no sense towards an initiator: answer with INVALID_SYNTAX (§2.21.2).
    this.sendResponse(m.exchangeType, m.messageId, [M.notify(NotifyError.INVALID_SYNTAX)]);
  }

  /** What our request in flight on the current IKE SA is for, if one is. */
  private get inFlight(): typeof this.purpose | null {
    return this.pending && !this.pendingOn ? this.purpose : null;
  }

  /** The gateway rekeys our CHILD_SA (§1.3.3) or the IKE SA (§1.3.2), possibly while we rekey it too. */
  private onCreateChildRequest(m: M.InMessage): void {
    const temporaryFailure = () => this.sendResponse(m.exchangeType, m.messageId, [M.notify(NotifyError.TEMPORARY_FAILURE)]);
    if (this.state !== "established" || !this.child) {
      temporaryFailure();
      return;
    }
    if (M.offersProtocol(m.payloads, ProtocolId.IKE)) {
      this.onIkeRekeyRequest(m);
      return;
    }
    const inFlight = this.inFlight;
    // §2.25.2: "a request to rekey a Child SA when it is currently rekeying the IKE SA": not now.
    if (inFlight === "ike-rekey") return temporaryFailure();
    // §2.25.1: a rekey of the CHILD_SA we are closing: not now.
    const target = this.child.rekeyTarget(m.payloads);
    if (target && inFlight === "child-delete" && this.rekeyedAway?.[0] === target[0]) return temporaryFailure();
    const r = this.child.answerRekey(m.payloads, this.keys!, this.env.random);
    if (!r.ok) {
      this.sendResponse(m.exchangeType, m.messageId, [M.notify(r.notify, r.data)]);
      this.out.push({ kind: "progress", stage: "child-sa", detail: `refused the gateway's CHILD_SA rekey: ${r.reason}` });
      return;
    }
    this.sendResponse(m.exchangeType, m.messageId, r.response);
    this.out.push({ kind: "install-child", child: r.child });
    const detail = `rekeyed by the gateway: ${r.suiteName}, SPIs ${hex32(r.child.spiIn)}_i ${hex32(r.child.spiOut)}_o`;
    if (inFlight === "child-rekey" && this.ownRekey?.replaces[0] === r.replaces[0]) {
      // §2.25.1: we are rekeying it too: answered as usual; the nonces decide which new SA stays (§2.8.1)
      // once our answer is in.
      this.childCollision = { ...r.nonces, spiIn: r.child.spiIn };
      this.out.push({ kind: "progress", stage: "child-sa", detail: `${detail} (a rekey collision: ours is in flight)` });
      return;
    }
    this.armChildRekey(this.lastNow);
    this.out.push({ kind: "progress", stage: "child-sa", detail });
  }

  /**
   * §1.3.2, §2.18: the gateway rekeys the IKE SA (IkeRekeyResponder). Message IDs restart at 0 on the new
   * SA and the CHILD_SAs move over unchanged; the old SA stays only to answer the gateway's DELETE for it
   * (or a retransmit of this request).
   */
  private onIkeRekeyRequest(m: M.InMessage): void {
    const ours = this.inFlight === "ike-rekey";
    if (this.inFlight && !ours) {
      // A CHILD_SA rekey, a DELETE or a liveness check of ours is in flight on this SA: let the gateway try
      // again once it is done (§2.25: TEMPORARY_FAILURE for "a temporary condition such as a rekeying").
      this.sendResponse(m.exchangeType, m.messageId, [M.notify(NotifyError.TEMPORARY_FAILURE)]);
      return;
    }
    const r = new IkeRekeyResponder(this.cfg, this.env).answer(m.payloads, this.keys!);
    if (!r.ok) {
      this.sendResponse(m.exchangeType, m.messageId, [M.notify(r.notify, r.data)]);
      return;
    }
    this.sendResponse(m.exchangeType, m.messageId, r.response);
    if (ours) {
      // §2.25.2: "a request to rekey an IKE SA that it is currently rekeying": answered as usual; the
      // nonces decide which new IKE SA stays (§2.8.2) once our answer is in.
      this.ikeCollision = { keys: r.keys, ...r.nonces, suiteName: r.suiteName };
      this.out.push({ kind: "progress", stage: "ike-rekey", detail: `the gateway rekeys the IKE SA while we do (a collision): ${r.suiteName}` });
      return;
    }
    this.switchIkeSa(r.keys, false, this.lastNow);
    this.out.push({ kind: "progress", stage: "ike-rekey", detail: `IKE SA rekeyed by the gateway: ${r.suiteName}, SPIs ${toHex(r.keys.spiI)}_i ${toHex(r.keys.spiR)}_r` });
  }

  private onInformational(m: M.InMessage): void {
    const reply: M.Payload[] = [];
    let ikeDeleted = false;
    let childDeleted = false;
    for (const d of M.deletes(m.payloads)) {
      if (d.protocolId === ProtocolId.IKE) ikeDeleted = true;
      else if (d.protocolId === ProtocolId.ESP && this.child) {
        const ours = this.child.onPeerDelete(d.spis);
        if (ours.length > 0) {
          reply.push(M.del(ProtocolId.ESP, ours));
          for (const [spiIn, spiOut] of this.child.removedPairs(d.spis)) this.out.push({ kind: "remove-child", spiIn, spiOut });
          childDeleted = true;
        }
      }
    }
    // RFC 4555 return routability check by the gateway: its COOKIE2 goes back in our answer.
    reply.push(...echoCookie2(m.payloads));
    this.sendResponse(ExchangeType.INFORMATIONAL, m.messageId, ikeDeleted ? [] : reply);
    if (ikeDeleted && this.ikeCollision && this.inFlight === "ike-rekey") {
      // §2.8.2: the gateway won a rekey collision and deleted the old IKE SA before its answer to our rekey
      // arrived: its new SA is the one; our request's answer, when it comes, makes a redundant SA we delete.
      const col = this.ikeCollision;
      this.ikeCollision = null;
      this.switchIkeSa(col.keys, false, this.lastNow).deleted = true;
      this.out.push({ kind: "progress", stage: "ike-rekey", detail: `the gateway's rekey won the collision: ${col.suiteName}, SPIs ${toHex(col.keys.spiI)}_i ${toHex(col.keys.spiR)}_r` });
      return;
    }
    // RFC 5685 §5: the gateway moves us to another gateway; we answer, leave this one, connect there.
    const redirect = this.state === "established" && !ikeDeleted ? findRedirect(m.payloads) : null;
    if (redirect?.kind === "redirect") {
      this.deleteQuietly();
      this.redirectTo(redirect.target, "informational");
      return;
    }
    if (ikeDeleted) {
      this.pending = null;
      this.fail({ code: "lost", message: `gateway ${this.cfg.gatewayName} deleted the IKE SA` });
      return;
    }
    // §2.25.1: the gateway deleted the CHILD_SA we are rekeying: answered as usual; our rekey's answer decides.
    if (childDeleted && this.child && !this.child.hasActive() && this.inFlight !== "child-rekey") {
      // Without a CHILD_SA there is no tunnel: close the IKE SA too and report.
      this.failAndDelete({ code: "lost", message: `gateway ${this.cfg.gatewayName} deleted the CHILD_SA` });
    }
  }

  // ---- closing ----

  private onClose(now: number): void {
    switch (this.state) {
      case "idle":
      case "init":
        this.pending = null;
        this.finish("cancelled");
        return;
      case "auth":
      case "established":
        this.startDelete(now);
        return;
      default:
        return;
    }
  }

  private startDelete(now: number): void {
    this.state = "deleting";
    this.removeChildren();
    this.out.push({ kind: "cancel-timer", timer: "retransmit" });
    this.pending = null;
    this.sendProtected(ExchangeType.INFORMATIONAL, [M.del(ProtocolId.IKE, [])], now, DELETE_RETRANSMIT);
  }

  private removeChildren(): void {
    if (!this.child) return;
    for (const [spiIn, spiOut] of this.child.removeAll()) this.out.push({ kind: "remove-child", spiIn, spiOut });
  }

  /** Fails, and tells the gateway with a DELETE it need not wait for. */
  private failAndDelete(failure: SessionFailure): void {
    this.deleteQuietly();
    this.fail(failure);
  }

  /** Removes the CHILD_SAs and sends a DELETE for the IKE SA whose answer nobody waits for. */
  private deleteQuietly(): void {
    if (!this.keys) return;
    this.removeChildren();
    const messageId = this.nextRequestId++;
    for (const d of this.keys.protect(ExchangeType.INFORMATIONAL, messageId, false, [M.del(ProtocolId.IKE, [])])) this.out.push({ kind: "send", data: d, port: this.port });
  }

  // ---- MOBIKE (RFC 4555) and REDIRECT (RFC 5685) ----

  /** The runtime saw our local address or port change. */
  private onPathChanged(address: Uint8Array, port: number, now: number): void {
    if (!this.mobike.pathChanged({ address, port }) || this.state !== "established") return;
    if (!this.mobike.supported) {
      // Without MOBIKE the IKE SA stays bound to the old address: start again from the new one.
      const why = this.cfg.mobike ? "the gateway does not support MOBIKE" : "MOBIKE is off";
      this.failAndDelete({ code: "lost", message: `our address changed and ${why}` });
      return;
    }
    // §3.5: a request in flight is retransmitted from the new address; the update follows its answer.
    if (!this.pending) this.sendMobikeUpdate(now);
  }

  private sendMobikeUpdate(now: number): void {
    const keys = this.keys!;
    this.purpose = "mobike-update";
    this.out.push({ kind: "progress", stage: "mobike", detail: `${this.mobike.updateReason}: UPDATE_SA_ADDRESSES` });
    this.sendProtected(ExchangeType.INFORMATIONAL, this.mobike.buildUpdate(keys.spiI, keys.spiR, this.gatewayPath()), now);
  }

  private onMobikeResponse(m: M.InMessage): void {
    const keys = this.keys!;
    const r = this.mobike.processUpdateResponse(m.payloads, keys.spiI, keys.spiR, this.gatewayPath());
    if (!r.ok) {
      this.failAndDelete({ code: "lost", message: r.reason });
      return;
    }
    this.nat = { local: r.natLocal, remote: r.natRemote };
    this.out.push({ kind: "progress", stage: "mobike", detail: `the gateway moved the SAs to where we are now${r.natLocal ? " (behind a NAT)" : ""}` });
  }

  private gatewayPath() {
    return { address: this.cfg.gatewayAddress, port: this.port === "natt" ? (this.cfg.gatewayPort === 500 ? 4500 : this.cfg.gatewayPort) : this.cfg.gatewayPort };
  }

  /** The session ends here; the caller connects to `target` (RFC 5685 §3, §5, §6). */
  private redirectTo(target: RedirectTarget, stage: "ike-sa-init" | "ike-auth" | "informational"): void {
    this.removeChildren();
    this.state = "done";
    this.pending = null;
    this.out.push({ kind: "cancel-timer", timer: "retransmit" });
    this.out.push({ kind: "redirect", target, from: this.cfg.gatewayAddress, stage });
    this.wipe();
  }

  private fail(failure: SessionFailure): void {
    if (this.state === "done") return;
    this.removeChildren();
    this.state = "done";
    this.pending = null;
    this.out.push({ kind: "cancel-timer", timer: "retransmit" });
    this.out.push({ kind: "failed", failure });
    this.wipe();
  }

  private finish(reason: string): void {
    if (this.state === "done") return;
    this.state = "done";
    this.out.push({ kind: "cancel-timer", timer: "retransmit" });
    this.out.push({ kind: "closed", reason });
    this.wipe();
  }

  private wipe(): void {
    this.keys?.wipe();
    for (const r of this.retired) r.wipe();
    this.retired = [];
    this.ikeRekey?.dispose();
    this.ikeCollision?.keys.wipe();
    this.init.wipe();
    this.auth?.wipe();
  }
}

