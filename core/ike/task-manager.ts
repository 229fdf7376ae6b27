// The IKE session's task manager, in the shape of strongSwan's task_manager (RFC 7296 §2.1-§2.3): it owns
// the message IDs of both directions, our one request in flight (window size 1, §2.3) and the IKE SA it
// was sent on, its retransmits, the response cached for a retransmitted request of the gateway's, and the
// IKE SAs a rekey retired until they are deleted (§2.18, §2.8.2). It collects the actions of the event
// being handled and ends the session (fail, finish, redirect). The exchanges build and process their
// payloads through it: session.ts (IKE_SA_INIT, IKE_AUTH, liveness, MOBIKE, close), child-rekeying.ts,
// ike-rekeying.ts, gateway-requests.ts.
//
// After an IKE SA rekey, the DELETE of the old SA (or of a redundant one) is in flight on that retired SA
// (`pendingOn`), whose messages are told apart by their SPIs.

import { ExchangeType, ProtocolId } from "../wire/constants.ts";
import type { ChildSaTask } from "./child.ts";
import type { SessionConfig } from "./config.ts";
import { RetiredIkeSa, type CachedResponse } from "./ike-rekey.ts";
import type { IkeSaKeys } from "./ikesa.ts";
import type { RedirectTarget } from "./redirect.ts";
import { LIVENESS_RETRANSMIT, PendingRequest, type RetransmitPolicy } from "./retransmit.ts";
import * as M from "./msg.ts";
import type { Action, IkePort, SessionEnv, SessionFailure } from "./types.ts";

export type SessionState = "idle" | "init" | "auth" | "established" | "deleting" | "done";

/** What the request in flight is for, once established (answers are matched by it). */
export type RequestPurpose = "liveness" | "child-rekey" | "child-delete" | "ike-rekey" | "ike-delete" | "mobike-update";

/** What a datagram on an established (or authenticating) IKE SA amounts to. */
export type Received =
  /** Dropped, or answered from the response cache or by a retired SA: nothing more to do. */
  | { kind: "none" }
  /** The answer to our request in flight on the current SA (its retransmit timer is cancelled). */
  | { kind: "response"; m: M.InMessage }
  /** A new request of the gateway's, inside the window (§2.3). */
  | { kind: "request"; m: M.InMessage }
  /** The answer to our IKE SA rekey that went out on an SA the gateway replaced meanwhile (§2.8.2). */
  | { kind: "late-ike-rekey"; sa: RetiredIkeSa; payloads: M.Payload[] };

/** How long to wait for the answer to our DELETE on close before giving up. */
export const DELETE_RETRANSMIT = { timeoutMs: 1000, base: 1.5, retransmits: 2 };

export class TaskManager {
  state: SessionState = "idle";
  /** The current IKE SA, from IKE_SA_INIT on. */
  keys: IkeSaKeys | null = null;
  child: ChildSaTask | null = null;
  port: IkePort;
  /** The actions of the event being handled, in order. */
  out: Action[] = [];
  /** The `now` of the event being handled. */
  now = 0;
  pending: PendingRequest | null = null;
  /** The retired SA the request in flight was sent on (its DELETE, or a rekey overtaken by a collision); null: the current SA. */
  pendingOn: RetiredIkeSa | null = null;
  purpose: RequestPurpose = "liveness";
  /** Our next request's message ID, and the gateway's next expected request (RFC 7296 §2.2). */
  nextRequestId = 0;
  private peerNextId = 0;
  /** The last response we sent, kept for a retransmitted request (§2.1). */
  private lastResponse: CachedResponse | null = null;
  /** IKE SAs a rekey replaced, and redundant ones of a collision, until they are deleted (§2.18, §2.8.2). */
  private retired: RetiredIkeSa[] = [];
  /** Secrets held elsewhere (the exchanges' state), wiped when the session ends. */
  private readonly wipers: (() => void)[] = [];

  constructor(
    readonly cfg: SessionConfig,
    readonly env: SessionEnv,
  ) {
    this.port = cfg.gatewayPort === 500 ? "ike" : "natt";
  }

  /** What our request in flight on the current IKE SA is for, if one is. */
  get inFlight(): RequestPurpose | null {
    return this.pending && !this.pendingOn ? this.purpose : null;
  }

  send(datagrams: Uint8Array[]): void {
    for (const d of datagrams) this.out.push({ kind: "send", data: d, port: this.port });
  }

  // ---- our requests and their retransmits ----

  sendRequest(datagrams: Uint8Array[], exchangeType: number, messageId: number, now: number, policy: RetransmitPolicy = this.cfg.retransmit, on: RetiredIkeSa | null = null): void {
    this.pending = new PendingRequest(messageId, exchangeType, datagrams, policy, now);
    this.pendingOn = on;
    this.send(datagrams);
    this.out.push({ kind: "arm-timer", timer: "retransmit", at: this.pending.nextAt });
  }

  /** A request on the current IKE SA, with the next message ID. */
  sendProtected(exchangeType: number, payloads: M.Payload[], now: number, policy: RetransmitPolicy = this.cfg.retransmit): void {
    const keys = this.keys!;
    const messageId = this.nextRequestId++;
    this.sendRequest(keys.protect(exchangeType, messageId, false, payloads), exchangeType, messageId, now, policy);
  }

  /** Forgets the request in flight (its answer, if any, is dropped). */
  dropPending(): void {
    this.out.push({ kind: "cancel-timer", timer: "retransmit" });
    this.pending = null;
  }

  onRetransmitTimer(now: number): void {
    const p = this.pending;
    if (!p || this.state === "done") return;
    if (now < p.nextAt) {
      this.out.push({ kind: "arm-timer", timer: "retransmit", at: p.nextAt });
      return;
    }
    if (p.due(now)) {
      this.send(p.datagrams);
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

  /** §2.4: the next liveness check is due `dpdIntervalMs` after `from`. */
  armLiveness(from: number): void {
    if (this.cfg.dpdIntervalMs > 0) this.out.push({ kind: "arm-timer", timer: "liveness", at: from + this.cfg.dpdIntervalMs });
  }

  // ---- what comes in, and our responses ----

  /** A datagram once IKE_SA_INIT is done: unprotected and matched against the request in flight or the window. */
  receive(data: Uint8Array, now: number): Received {
    const msg = this.keys!.unprotect(data, now);
    if (!msg.ok) {
      if (msg.reason === "not this IKE SA") return this.receiveRetired(data, now);
      if (msg.retransmitOf !== undefined && msg.retransmitOf === this.lastResponse?.messageId) this.send(this.lastResponse.datagrams);
      return { kind: "none" }; // not ours, or failed integrity: drop silently (§2.21.1)
    }
    const m = msg.value;
    if (m.response) {
      const p = this.pending;
      if (!p || this.pendingOn || m.messageId !== p.messageId || m.exchangeType !== p.exchangeType) return { kind: "none" };
      this.pending = null;
      this.out.push({ kind: "cancel-timer", timer: "retransmit" });
      return { kind: "response", m };
    }
    if (m.messageId === this.peerNextId - 1 && this.lastResponse?.messageId === m.messageId) {
      this.send(this.lastResponse.datagrams); // retransmitted request
      return { kind: "none" };
    }
    if (m.messageId !== this.peerNextId) return { kind: "none" }; // outside the window of one: ignore (§2.3)
    this.peerNextId++;
    return { kind: "request", m };
  }

  sendResponse(exchangeType: number, messageId: number, payloads: M.Payload[]): void {
    const datagrams = this.keys!.protect(exchangeType, messageId, true, payloads);
    this.lastResponse = { messageId, datagrams };
    this.send(datagrams);
  }

  // ---- retired IKE SAs (§2.18, §2.8.2) ----

  /**
   * The IKE SA becomes `keys`; the one it replaces is retired and returned. Message IDs restart at 0 on the
   * new SA (§2.18); a request still in flight stays with the SA it was sent on.
   */
  replaceSa(keys: IkeSaKeys): RetiredIkeSa {
    const old = new RetiredIkeSa(this.keys!, this.peerNextId, this.lastResponse, this.nextRequestId);
    this.retire(old);
    if (this.pending && !this.pendingOn) this.pendingOn = old;
    this.keys = keys;
    this.nextRequestId = 0;
    this.peerNextId = 0;
    this.lastResponse = null;
    return old;
  }

  /** Keeps `sa`; forgets retired SAs already deleted (a retransmit of their DELETE then goes unanswered). */
  retire(sa: RetiredIkeSa): void {
    for (const r of this.retired) if (r.deleted && r !== this.pendingOn) this.dropRetired(r);
    this.retired.push(sa);
  }

  /** §1.4.1: our DELETE for a retired SA, sent on it. */
  sendRetiredDelete(sa: RetiredIkeSa, now: number): void {
    const d = sa.deleteRequest();
    this.purpose = "ike-delete";
    this.sendRequest(d.datagrams, ExchangeType.INFORMATIONAL, d.messageId, now, LIVENESS_RETRANSMIT, sa);
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
  private receiveRetired(data: Uint8Array, now: number): Received {
    for (const sa of this.retired) {
      const got = sa.receive(data, now);
      if (got.kind === "foreign") continue;
      if (got.kind === "answer") {
        this.send(got.datagrams);
        // The gateway deleted the SA our DELETE was for: nothing left to wait for.
        if (got.deleted && this.pendingOn === sa && this.purpose === "ike-delete") this.onRetiredDeleteDone(sa, now);
        return { kind: "none" };
      }
      const p = this.pending;
      if (!p || this.pendingOn !== sa || got.messageId !== p.messageId || got.exchangeType !== p.exchangeType) return { kind: "none" };
      this.pending = null;
      this.pendingOn = null;
      this.out.push({ kind: "cancel-timer", timer: "retransmit" });
      if (this.purpose === "ike-delete") this.onRetiredDeleteDone(sa, now);
      else if (this.purpose === "ike-rekey") return { kind: "late-ike-rekey", sa, payloads: got.payloads };
      return { kind: "none" };
    }
    return { kind: "none" };
  }

  private onRetiredDeleteDone(sa: RetiredIkeSa, now: number): void {
    sa.deleted = true;
    this.dropRetired(sa);
    this.purpose = "liveness";
    this.armLiveness(now);
  }

  // ---- the end of the session ----

  removeChildren(): void {
    if (!this.child) return;
    for (const [spiIn, spiOut] of this.child.removeAll()) this.out.push({ kind: "remove-child", spiIn, spiOut });
  }

  /** Fails, and tells the gateway with a DELETE it need not wait for. */
  failAndDelete(failure: SessionFailure): void {
    this.deleteQuietly();
    this.fail(failure);
  }

  /** Removes the CHILD_SAs and sends a DELETE for the IKE SA whose answer nobody waits for. */
  deleteQuietly(): void {
    if (!this.keys) return;
    this.removeChildren();
    const messageId = this.nextRequestId++;
    this.send(this.keys.protect(ExchangeType.INFORMATIONAL, messageId, false, [M.del(ProtocolId.IKE, [])]));
  }

  /** The session ends here; the caller connects to `target` (RFC 5685 §3, §5, §6). */
  redirectTo(target: RedirectTarget, stage: "ike-sa-init" | "ike-auth" | "informational"): void {
    this.removeChildren();
    this.state = "done";
    this.pending = null;
    this.out.push({ kind: "cancel-timer", timer: "retransmit" });
    this.out.push({ kind: "redirect", target, from: this.cfg.gatewayAddress, stage });
    this.wipe();
  }

  fail(failure: SessionFailure): void {
    if (this.state === "done") return;
    this.removeChildren();
    this.state = "done";
    this.pending = null;
    this.out.push({ kind: "cancel-timer", timer: "retransmit" });
    this.out.push({ kind: "failed", failure });
    this.wipe();
  }

  finish(reason: string): void {
    if (this.state === "done") return;
    this.state = "done";
    this.out.push({ kind: "cancel-timer", timer: "retransmit" });
    this.out.push({ kind: "closed", reason });
    this.wipe();
  }

  /** `wipe` runs when the session ends, after the IKE SAs' keys are wiped. */
  onWipe(wipe: () => void): void {
    this.wipers.push(wipe);
  }

  private wipe(): void {
    this.keys?.wipe();
    for (const r of this.retired) r.wipe();
    this.retired = [];
    for (const w of this.wipers) w();
  }
}
