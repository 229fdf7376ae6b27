// The IKEv2 initiator session (RFC 7296): IKE_SA_INIT, IKE_AUTH (PSK, or gateway certificate + EAP),
// the first CHILD_SA with a configuration payload, answering the gateway's INFORMATIONAL requests,
// and deleting the IKE SA on close. Pure: events in, actions out; `now` is a monotonic time in ms.
//
//   start ──► IKE_SA_INIT ──► IKE_AUTH ──(EAP rounds)──► established ──close──► INFORMATIONAL(DELETE) ──► closed
//                 │  COOKIE / INVALID_KE_PAYLOAD: again            │ gateway DELETE / lost
//                 └────────────── failed ◄──────────────────────────┘

import { toHex } from "../util/bytes.ts";
import { ExchangeType, NotifyError, ProtocolId } from "../wire/constants.ts";
import type { SessionConfig } from "./config.ts";
import { AuthExchange } from "./auth.ts";
import { CONNECT_RETRANSMIT, LIVENESS_RETRANSMIT, PendingRequest } from "./retransmit.ts";
import { ChildSaTask, type OwnRekey } from "./child.ts";
import { IkeRekeyResponder, RetiredIkeSa, type CachedResponse } from "./ike-rekey.ts";
import type { IkeSaKeys } from "./ikesa.ts";
import { IkeInit } from "./init.ts";
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
  /** The IKE SA the gateway rekeyed away, until it is deleted (§2.18). */
  private old: RetiredIkeSa | null = null;

  constructor(
    private readonly cfg: SessionConfig,
    private readonly env: SessionEnv,
  ) {
    this.init = new IkeInit(cfg, env);
    this.port = cfg.gatewayPort === 500 ? "ike" : "natt";
  }

  status(): SessionStatus {
    const s: SessionStatus = { state: this.state };
    if (this.keys) {
      s.ikeSpiI = toHex(this.keys.spiI);
      s.ikeSpiR = toHex(this.keys.spiR);
      s.natLocal = this.init.natLocal;
      s.natRemote = this.init.natRemote;
      s.ikeProposal = this.keys.suiteName;
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
          break;
        case "liveness":
          this.onLiveness(ev.lastInbound, now);
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

  private sendRequest(datagrams: Uint8Array[], exchangeType: number, messageId: number, now: number, policy = this.cfg.retransmit): void {
    this.pending = new PendingRequest(messageId, exchangeType, datagrams, policy, now);
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
    this.sendRequest([this.init.buildRequest()], ExchangeType.IKE_SA_INIT, 0, now, this.cfg.connectRetransmit ?? CONNECT_RETRANSMIT);
  }

  private onInitResponse(data: Uint8Array, now: number): void {
    const r = this.init.processResponse(data);
    switch (r.kind) {
      case "ignore":
        return;
      case "retry": // COOKIE or INVALID_KE_PAYLOAD: the same exchange again (§2.6, §1.2)
        this.out.push({ kind: "progress", stage: "ike-sa-init", detail: r.reason });
        this.sendRequest([this.init.buildRequest()], ExchangeType.IKE_SA_INIT, 0, now, this.cfg.connectRetransmit);
        return;
      case "fail":
        this.fail(r.failure);
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
    this.sendProtected(ExchangeType.IKE_AUTH, [...this.auth.firstRequest(), ...this.child.requestPayloads()], now, this.cfg.connectRetransmit);
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
      if (this.old && msg.reason === "not this IKE SA") {
        for (const d of this.old.answer(data, now) ?? []) this.out.push({ kind: "send", data: d, port: this.port });
      } else if (msg.retransmitOf !== undefined && msg.retransmitOf === this.lastResponse?.messageId) {
        for (const d of this.lastResponse.datagrams) this.out.push({ kind: "send", data: d, port: this.port });
      }
      return; // not ours, or failed integrity: drop silently (§2.21.1)
    }
    const m = msg.value;
    if (m.response) {
      const p = this.pending;
      if (!p || m.messageId !== p.messageId || m.exchangeType !== p.exchangeType) return;
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
        // Any answer shows the gateway is there.
        this.armLiveness(now);
        return;
      }
      default:
        return;
    }
  }

  // ---- rekeying the CHILD_SA ourselves (§1.3.3, §2.8) ----

  /** What the request in flight is for, once established (answers are matched by it). */
  private purpose: "liveness" | "child-rekey" | "child-delete" = "liveness";
  private ownRekey: OwnRekey | null = null;
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
    const r = this.child!.processRekeyResponse(m.payloads, this.keys!, own);
    if (!r.ok) {
      this.out.push({ kind: "progress", stage: "child-sa", detail: `${r.reason}; trying again in a minute` });
      this.out.push({ kind: "arm-timer", timer: "child-rekey", at: now + 60_000 });
      return;
    }
    // Make-before-break: the new SAs first, then the old one is deleted (§1.4.1) and removed when answered.
    this.out.push({ kind: "install-child", child: r.child });
    this.out.push({ kind: "progress", stage: "child-sa", detail: `rekeyed: ${r.suiteName}, SPIs ${hex32(r.child.spiIn)}_i ${hex32(r.child.spiOut)}_o` });
    this.rekeyedAway = own.replaces;
    this.purpose = "child-delete";
    this.sendProtected(ExchangeType.INFORMATIONAL, [M.del(ProtocolId.ESP, [own.replaces[0]])], now);
    this.armChildRekey(now);
  }

  private onChildDeleteResponse(): void {
    const old = this.rekeyedAway;
    this.rekeyedAway = null;
    if (!old || !this.child) return;
    for (const [spiIn, spiOut] of this.child.removedPairs([old[1]])) this.out.push({ kind: "remove-child", spiIn, spiOut });
  }

  // ---- dead peer detection (§2.4) ----

  private armLiveness(from: number): void {
    if (this.cfg.dpdIntervalMs > 0) this.out.push({ kind: "arm-timer", timer: "liveness", at: from + this.cfg.dpdIntervalMs });
  }

  private onLiveness(lastInbound: number, now: number): void {
    if (this.state !== "established" || this.cfg.dpdIntervalMs <= 0) return;
    // A request of ours is already out: its answer (or its retransmits running out) says enough.
    if (this.pending) return;
    const quietSince = Math.max(lastInbound, 0);
    if (now - quietSince < this.cfg.dpdIntervalMs) {
      this.armLiveness(quietSince);
      return;
    }
    // §1.4: an empty INFORMATIONAL request is the liveness check.
    this.sendProtected(ExchangeType.INFORMATIONAL, [], now, LIVENESS_RETRANSMIT);
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
    // Authenticated both ways: now the CHILD_SA and the configuration payload in this same message.
    const c = this.child!.processResponse(m.payloads, this.keys!);
    if (!c.ok) {
      this.failAndDelete(c.failure);
      return;
    }
    this.state = "established";
    this.armLiveness(now);
    this.armChildRekey(now);
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

  /** The gateway rekeys our CHILD_SA (§1.3.3). Rekeying the IKE SA itself is refused for now (§1.3.2). */
  private onCreateChildRequest(m: M.InMessage): void {
    if (this.state !== "established" || !this.child) {
      this.sendResponse(m.exchangeType, m.messageId, [M.notify(NotifyError.TEMPORARY_FAILURE)]);
      return;
    }
    if (M.offersProtocol(m.payloads, ProtocolId.IKE)) {
      this.onIkeRekeyRequest(m);
      return;
    }
    if (this.purpose === "child-rekey" && this.pending) {
      // §2.25: we are rekeying it ourselves; the gateway tries again later (the simple side of §2.8.1).
      this.sendResponse(m.exchangeType, m.messageId, [M.notify(NotifyError.TEMPORARY_FAILURE)]);
      return;
    }
    const r = this.child.answerRekey(m.payloads, this.keys!, this.env.random);
    if (!r.ok) {
      this.sendResponse(m.exchangeType, m.messageId, [M.notify(r.notify, r.data)]);
      this.out.push({ kind: "progress", stage: "child-sa", detail: `refused the gateway's CHILD_SA rekey: ${r.reason}` });
      return;
    }
    this.sendResponse(m.exchangeType, m.messageId, r.response);
    this.out.push({ kind: "install-child", child: r.child });
    this.armChildRekey(this.lastNow);
    this.out.push({ kind: "progress", stage: "child-sa", detail: `rekeyed by the gateway: ${r.suiteName}, SPIs ${hex32(r.child.spiIn)}_i ${hex32(r.child.spiOut)}_o` });
  }

  /**
   * §1.3.2, §2.18: the gateway rekeys the IKE SA (IkeRekeyResponder). Message IDs restart at 0 on the new
   * SA and the CHILD_SAs move over unchanged; the old SA stays only to answer the gateway's DELETE for it
   * (or a retransmit of this request).
   */
  private onIkeRekeyRequest(m: M.InMessage): void {
    if (this.pending) {
      // Our own request is in flight (a liveness check): let the gateway try again (§2.8.1 collisions).
      this.sendResponse(m.exchangeType, m.messageId, [M.notify(NotifyError.TEMPORARY_FAILURE)]);
      return;
    }
    const r = new IkeRekeyResponder(this.cfg, this.env).answer(m.payloads, this.keys!);
    if (!r.ok) {
      this.sendResponse(m.exchangeType, m.messageId, [M.notify(r.notify, r.data)]);
      return;
    }
    this.sendResponse(m.exchangeType, m.messageId, r.response);
    this.old?.wipe();
    this.old = new RetiredIkeSa(this.keys!, this.peerNextId, this.lastResponse);
    this.keys = r.keys;
    this.nextRequestId = 0;
    this.peerNextId = 0;
    this.lastResponse = null;
    this.out.push({ kind: "progress", stage: "ike-sa-init", detail: `IKE SA rekeyed by the gateway: ${r.suiteName}` });
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
    this.sendResponse(ExchangeType.INFORMATIONAL, m.messageId, ikeDeleted ? [] : reply);
    if (ikeDeleted) {
      this.pending = null;
      this.fail({ code: "lost", message: `gateway ${this.cfg.gatewayName} deleted the IKE SA` });
      return;
    }
    if (childDeleted && this.child && !this.child.hasActive()) {
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
    if (this.keys) {
      this.removeChildren();
      const messageId = this.nextRequestId++;
      for (const d of this.keys.protect(ExchangeType.INFORMATIONAL, messageId, false, [M.del(ProtocolId.IKE, [])])) this.out.push({ kind: "send", data: d, port: this.port });
    }
    this.fail(failure);
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
    this.old?.wipe();
    this.init.wipe();
    this.auth?.wipe();
  }
}

