// Rekeying the IKE SA either way (RFC 7296 §1.3.2, §2.18) with its collisions (§2.8.2, §2.25.2), on the
// session's task manager: our rekey when its timer fires, our answer to the gateway's, and moving to the
// new IKE SA; the old one, and the redundant one of a collision, are retired and deleted. The tasks
// IkeRekeyInitiator and IkeRekeyResponder (ike-rekey.ts) own the payloads and derive the keys.

import { toHex } from "../util/bytes.ts";
import { ExchangeType, NotifyError } from "../wire/constants.ts";
import { collisionLost } from "./child.ts";
import { IkeRekeyInitiator, IkeRekeyResponder, RetiredIkeSa } from "./ike-rekey.ts";
import type { IkeSaKeys } from "./ikesa.ts";
import type { MobikeTask } from "./mobike.ts";
import * as M from "./msg.ts";
import type { TaskManager } from "./task-manager.ts";

export class IkeRekeying {
  private ikeRekey: IkeRekeyInitiator | null = null;
  /** §2.8.2: the gateway rekeyed the IKE SA while our rekey was in flight: its new SA and nonces. */
  private ikeCollision: { keys: IkeSaKeys; ni: Uint8Array; nr: Uint8Array; suiteName: string } | null = null;

  constructor(
    private readonly tm: TaskManager,
    private readonly mobike: MobikeTask,
  ) {
    tm.onWipe(() => {
      this.ikeRekey?.dispose();
      this.ikeCollision?.keys.wipe();
    });
  }

  arm(from: number): void {
    const ms = this.tm.cfg.ikeRekeyMs;
    if (ms <= 0) return;
    const jitter = Math.floor(((this.tm.env.random.bytes(1)[0]! / 255) * ms) / 10);
    this.tm.out.push({ kind: "arm-timer", timer: "ike-rekey", at: from + ms - jitter });
  }

  onTimer(now: number): void {
    const tm = this.tm;
    if (tm.state !== "established") return;
    if (tm.pending) {
      tm.out.push({ kind: "arm-timer", timer: "ike-rekey", at: now + 2000 }); // after the request in flight
      return;
    }
    this.start(tm.keys!.suite.ke, now);
  }

  /** §1.3.2: HDR, SK {SA, Ni, KEi}, KEi of `group` (the current SA's, unless the gateway asked for another). */
  private start(group: number, now: number): void {
    this.ikeRekey = new IkeRekeyInitiator(this.tm.cfg, this.tm.env, group);
    this.tm.purpose = "ike-rekey";
    this.tm.sendProtected(ExchangeType.CREATE_CHILD_SA, this.ikeRekey.request(), now);
  }

  onResponse(m: M.InMessage, now: number): void {
    const tm = this.tm;
    const task = this.ikeRekey!;
    this.ikeRekey = null;
    const col = this.ikeCollision;
    this.ikeCollision = null;
    const r = task.process(m.payloads, tm.keys!);
    if (!r.ok) {
      if (col) {
        // §2.8.2: only the gateway's rekey made a new SA: it stays, and the gateway deletes the old one.
        this.switchIkeSa(col.keys, false, now);
        tm.out.push({ kind: "progress", stage: "ike-rekey", detail: `${r.reason}; the gateway's own rekey replaces the IKE SA: ${col.suiteName}` });
      } else if (r.retryGroup !== undefined) {
        this.start(r.retryGroup, now);
      } else {
        // §2.25: after TEMPORARY_FAILURE "MUST NOT immediately retry"; anything else is not worth a quick retry.
        const wait = r.temporary ? 15_000 : 600_000;
        tm.out.push({ kind: "progress", stage: "ike-rekey", detail: `${r.reason}; trying again in ${wait / 1000} s` });
        tm.out.push({ kind: "arm-timer", timer: "ike-rekey", at: now + wait });
      }
      return;
    }
    if (col && collisionLost([r.nonces.ni, r.nonces.nr], [col.ni, col.nr])) {
      // §2.8.2: the lowest of the four nonces is in our exchange: our new IKE SA is redundant and we delete
      // it; the gateway's stays, and the gateway deletes the old one.
      this.switchIkeSa(col.keys, false, now);
      this.deleteRedundant(r.keys, now);
      tm.out.push({ kind: "progress", stage: "ike-rekey", detail: `rekey collision: the gateway's IKE SA stays (${col.suiteName}, SPIs ${toHex(col.keys.spiI)}_i ${toHex(col.keys.spiR)}_r), ours is deleted` });
      return;
    }
    // Ours stays: the CHILD_SAs move to it, the old SA is deleted by us (§1.3.2), and in a collision the
    // gateway deletes its redundant one (we answer it on that SA).
    const old = this.switchIkeSa(r.keys, true, now);
    if (col) tm.retire(new RetiredIkeSa(col.keys, 0, null));
    tm.out.push({ kind: "progress", stage: "ike-rekey", detail: `IKE SA rekeyed${col ? " (won a rekey collision)" : ""}: ${r.suiteName}, SPIs ${toHex(r.keys.spiI)}_i ${toHex(r.keys.spiR)}_r; deleting the old one (${toHex(old.keys.spiI)}_i)` });
  }

  /** The answer to our rekey of an IKE SA the gateway already replaced (it won the collision): delete what it made. */
  onLateResponse(sa: RetiredIkeSa, payloads: M.Payload[], now: number): void {
    const task = this.ikeRekey!;
    this.ikeRekey = null;
    this.tm.purpose = "liveness";
    const r = task.process(payloads, sa.keys);
    if (r.ok) this.deleteRedundant(r.keys, now);
    else this.tm.armLiveness(now);
  }

  /**
   * §1.3.2, §2.18: the gateway rekeys the IKE SA (IkeRekeyResponder). Message IDs restart at 0 on the new
   * SA and the CHILD_SAs move over unchanged; the old SA stays only to answer the gateway's DELETE for it
   * (or a retransmit of this request).
   */
  answerGatewayRekey(m: M.InMessage): void {
    const tm = this.tm;
    const ours = tm.inFlight === "ike-rekey";
    if (tm.inFlight && !ours) {
      // A CHILD_SA rekey, a DELETE or a liveness check of ours is in flight on this SA: let the gateway try
      // again once it is done (§2.25: TEMPORARY_FAILURE for "a temporary condition such as a rekeying").
      tm.sendResponse(m.exchangeType, m.messageId, [M.notify(NotifyError.TEMPORARY_FAILURE)]);
      return;
    }
    const r = new IkeRekeyResponder(tm.cfg, tm.env).answer(m.payloads, tm.keys!);
    if (!r.ok) {
      tm.sendResponse(m.exchangeType, m.messageId, [M.notify(r.notify, r.data)]);
      return;
    }
    tm.sendResponse(m.exchangeType, m.messageId, r.response);
    if (ours) {
      // §2.25.2: "a request to rekey an IKE SA that it is currently rekeying": answered as usual; the
      // nonces decide which new IKE SA stays (§2.8.2) once our answer is in.
      this.ikeCollision = { keys: r.keys, ...r.nonces, suiteName: r.suiteName };
      tm.out.push({ kind: "progress", stage: "ike-rekey", detail: `the gateway rekeys the IKE SA while we do (a collision): ${r.suiteName}` });
      return;
    }
    this.switchIkeSa(r.keys, false, tm.now);
    tm.out.push({ kind: "progress", stage: "ike-rekey", detail: `IKE SA rekeyed by the gateway: ${r.suiteName}, SPIs ${toHex(r.keys.spiI)}_i ${toHex(r.keys.spiR)}_r` });
  }

  /**
   * The gateway deleted the IKE SA. §2.8.2: when it won a rekey collision and deleted the old IKE SA before
   * its answer to our rekey arrived, its new SA is the one (true); our request's answer, when it comes,
   * makes a redundant SA we delete.
   */
  onGatewayDeletedOldSa(): boolean {
    if (!this.ikeCollision || this.tm.inFlight !== "ike-rekey") return false;
    const col = this.ikeCollision;
    this.ikeCollision = null;
    this.switchIkeSa(col.keys, false, this.tm.now).deleted = true;
    this.tm.out.push({ kind: "progress", stage: "ike-rekey", detail: `the gateway's rekey won the collision: ${col.suiteName}, SPIs ${toHex(col.keys.spiI)}_i ${toHex(col.keys.spiR)}_r` });
    return true;
  }

  /** The IKE SA becomes `keys`; the one it replaces is retired (and deleted by us when `deleteOld`). */
  private switchIkeSa(keys: IkeSaKeys, deleteOld: boolean, now: number): RetiredIkeSa {
    const old = this.tm.replaceSa(keys);
    this.mobike.resetPeerView(); // NAT detection hashes change with the SPIs
    if (deleteOld) this.tm.sendRetiredDelete(old, now);
    this.arm(now);
    return old;
  }

  /** Our new IKE SA lost a collision (§2.8.2): we delete it. */
  private deleteRedundant(keys: IkeSaKeys, now: number): void {
    const redundant = new RetiredIkeSa(keys, 0, null);
    this.tm.retire(redundant);
    this.tm.sendRetiredDelete(redundant, now);
  }
}
