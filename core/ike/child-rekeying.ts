// Rekeying the CHILD_SA either way (RFC 7296 §1.3.3, §2.8) with its collisions (§2.8.1, §2.25.1), on the
// session's task manager: our rekey when its timer fires or an ESP SA reaches its soft lifetime, the DELETE
// of the SA it replaced, and our answer to the gateway's rekey. ChildSaTask (child.ts) owns the payloads.

import { ExchangeType, NotifyError, ProtocolId } from "../wire/constants.ts";
import { collisionLost, type OwnRekey } from "./child.ts";
import * as M from "./msg.ts";
import type { TaskManager } from "./task-manager.ts";

const hex32 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");

export class ChildRekeying {
  private ownRekey: OwnRekey | null = null;
  /** §2.8.1: the gateway rekeyed the same CHILD_SA while our rekey was in flight: its nonces and new SA. */
  private childCollision: { ni: Uint8Array; nr: Uint8Array; spiIn: number } | null = null;
  /** The SA pair our DELETE in flight is for. */
  private rekeyedAway: [number, number] | null = null;

  constructor(private readonly tm: TaskManager) {}

  /** Our rekey in flight, if one is. */
  get ownRekeyInFlight(): OwnRekey | null {
    return this.ownRekey;
  }

  arm(from: number): void {
    const ms = this.tm.cfg.childRekeyMs;
    if (ms <= 0) return;
    const jitter = Math.floor((((this.tm.env.random.bytes(1)[0]! / 255) * ms) / 10));
    this.tm.out.push({ kind: "arm-timer", timer: "child-rekey", at: from + ms - jitter });
  }

  onTimer(now: number): void {
    const tm = this.tm;
    if (tm.state !== "established" || !tm.child) return;
    if (tm.pending) {
      tm.out.push({ kind: "arm-timer", timer: "child-rekey", at: now + 2000 }); // after the request in flight
      return;
    }
    const r = tm.child.buildRekey(tm.env.random);
    if (!r) return;
    this.ownRekey = r.pending;
    tm.purpose = "child-rekey";
    tm.sendProtected(ExchangeType.CREATE_CHILD_SA, r.payloads, now);
  }

  onResponse(m: M.InMessage, now: number): void {
    const tm = this.tm;
    const own = this.ownRekey!;
    this.ownRekey = null;
    const col = this.childCollision;
    this.childCollision = null;
    const child = tm.child!;
    const r = child.processRekeyResponse(m.payloads, tm.keys!, own);
    if (!r.ok) {
      if (col) {
        // §2.8.1: the gateway's rekey of the same SA stands alone; the gateway deletes the old SA.
        tm.out.push({ kind: "progress", stage: "child-sa", detail: `${r.reason}; the gateway's own rekey replaces the CHILD_SA` });
        this.arm(now);
      } else if (!child.hasActive()) {
        // §2.25.1: the gateway deleted the CHILD_SA while our rekey of it was in flight, and refused the rekey.
        tm.failAndDelete({ code: "lost", message: `gateway ${tm.cfg.gatewayName} deleted the CHILD_SA` });
      } else {
        tm.out.push({ kind: "progress", stage: "child-sa", detail: `${r.reason}; trying again in a minute` });
        tm.out.push({ kind: "arm-timer", timer: "child-rekey", at: now + 60_000 });
      }
      return;
    }
    if (col && collisionLost([own.ni, r.nr], [col.ni, col.nr])) {
      // §2.8.1: the lowest of the four nonces is in our exchange, so our new SA is the redundant one and we
      // delete it; the gateway, whose SA survives, deletes the old one. Until then we receive on ours.
      tm.out.push({ kind: "install-child", child: { ...r.child, inboundOnly: true } });
      child.makeCurrent(col.spiIn);
      tm.out.push({ kind: "progress", stage: "child-sa", detail: `rekey collision: ours (SPI ${hex32(r.child.spiIn)}_i) has the lowest nonce and is deleted; the gateway's stays` });
      this.rekeyedAway = [r.child.spiIn, r.child.spiOut];
      tm.purpose = "child-delete";
      tm.sendProtected(ExchangeType.INFORMATIONAL, [M.del(ProtocolId.ESP, [r.child.spiIn])], now);
      this.arm(now);
      return;
    }
    // Make-before-break: the new SAs first, then the old one is deleted (§1.4.1) and removed when answered.
    // In a collision we won (§2.8.1), the gateway deletes its redundant SA itself.
    tm.out.push({ kind: "install-child", child: r.child });
    tm.out.push({ kind: "progress", stage: "child-sa", detail: `rekeyed${col ? " (won a rekey collision)" : ""}: ${r.suiteName}, SPIs ${hex32(r.child.spiIn)}_i ${hex32(r.child.spiOut)}_o` });
    this.arm(now);
    if (!child.isActive(own.replaces[0])) return; // the gateway deleted the old SA meanwhile (§2.25.1)
    this.rekeyedAway = own.replaces;
    tm.purpose = "child-delete";
    tm.sendProtected(ExchangeType.INFORMATIONAL, [M.del(ProtocolId.ESP, [own.replaces[0]])], now);
  }

  /** An ESP SA crossed a lifetime limit (RFC 4301 §4.4.2.1, RFC 4303 §3.3.3). */
  onLimit(spiIn: number, limit: "soft" | "hard", now: number): void {
    const tm = this.tm;
    const child = tm.child;
    if (tm.state !== "established" || !child || child.currentSpiIn !== spiIn >>> 0) return; // an SA on its way out
    if (limit === "hard") {
      tm.failAndDelete({ code: "lost", message: `the CHILD_SA (SPI ${hex32(spiIn)}_i) reached its hard lifetime before a rekey replaced it` });
      return;
    }
    if (tm.purpose === "child-rekey" && tm.pending) return; // already under way
    tm.out.push({ kind: "progress", stage: "child-sa", detail: `SPI ${hex32(spiIn)}_i reached its soft lifetime: rekeying` });
    this.onTimer(now);
  }

  /** The gateway confirmed our DELETE of the SA a rekey replaced: it goes now. */
  onDeleteResponse(): void {
    const old = this.rekeyedAway;
    this.rekeyedAway = null;
    if (!old || !this.tm.child) return;
    for (const [spiIn, spiOut] of this.tm.child.removedPairs([old[1]])) this.tm.out.push({ kind: "remove-child", spiIn, spiOut });
  }

  /** The gateway rekeys our CHILD_SA (§1.3.3), possibly while we rekey it too. */
  answerGatewayRekey(m: M.InMessage): void {
    const tm = this.tm;
    const child = tm.child!;
    const temporaryFailure = () => tm.sendResponse(m.exchangeType, m.messageId, [M.notify(NotifyError.TEMPORARY_FAILURE)]);
    const inFlight = tm.inFlight;
    // §2.25.2: "a request to rekey a Child SA when it is currently rekeying the IKE SA": not now.
    if (inFlight === "ike-rekey") return temporaryFailure();
    // §2.25.1: a rekey of the CHILD_SA we are closing: not now.
    const target = child.rekeyTarget(m.payloads);
    if (target && inFlight === "child-delete" && this.rekeyedAway?.[0] === target[0]) return temporaryFailure();
    const r = child.answerRekey(m.payloads, tm.keys!, tm.env.random);
    if (!r.ok) {
      tm.sendResponse(m.exchangeType, m.messageId, [M.notify(r.notify, r.data)]);
      tm.out.push({ kind: "progress", stage: "child-sa", detail: `refused the gateway's CHILD_SA rekey: ${r.reason}` });
      return;
    }
    tm.sendResponse(m.exchangeType, m.messageId, r.response);
    tm.out.push({ kind: "install-child", child: r.child });
    const detail = `rekeyed by the gateway: ${r.suiteName}, SPIs ${hex32(r.child.spiIn)}_i ${hex32(r.child.spiOut)}_o`;
    if (inFlight === "child-rekey" && this.ownRekey?.replaces[0] === r.replaces[0]) {
      // §2.25.1: we are rekeying it too: answered as usual; the nonces decide which new SA stays (§2.8.1)
      // once our answer is in.
      this.childCollision = { ...r.nonces, spiIn: r.child.spiIn };
      tm.out.push({ kind: "progress", stage: "child-sa", detail: `${detail} (a rekey collision: ours is in flight)` });
      return;
    }
    this.arm(tm.now);
    tm.out.push({ kind: "progress", stage: "child-sa", detail });
  }
}
