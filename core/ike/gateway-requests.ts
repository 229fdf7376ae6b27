// Requests from the gateway (RFC 7296 §1.4, §1.5, §2.1), once the task manager has let them through the
// window (§2.3): INFORMATIONAL (DELETE of the IKE SA or of CHILD_SAs, MOBIKE's COOKIE2, REDIRECT) and
// CREATE_CHILD_SA (a rekey of the CHILD_SA or of the IKE SA). Each gets exactly one response.

import { ExchangeType, NotifyError, ProtocolId } from "../wire/constants.ts";
import type { ChildRekeying } from "./child-rekeying.ts";
import type { IkeRekeying } from "./ike-rekeying.ts";
import { echoCookie2 } from "./mobike.ts";
import * as M from "./msg.ts";
import { findRedirect } from "./redirect.ts";
import type { TaskManager } from "./task-manager.ts";

export class GatewayRequests {
  constructor(
    private readonly tm: TaskManager,
    private readonly childRekeying: ChildRekeying,
    private readonly ikeRekeying: IkeRekeying,
  ) {}

  onRequest(m: M.InMessage): void {
    if (m.exchangeType === ExchangeType.INFORMATIONAL) {
      this.onInformational(m);
      return;
    }
    if (m.exchangeType === ExchangeType.CREATE_CHILD_SA) {
      this.onCreateChildRequest(m);
      return;
    }
    // IKE_SA_INIT / IKE_AUTH requests make no sense towards an initiator: answer with INVALID_SYNTAX (§2.21.2).
    this.tm.sendResponse(m.exchangeType, m.messageId, [M.notify(NotifyError.INVALID_SYNTAX)]);
  }

  /** The gateway rekeys our CHILD_SA (§1.3.3) or the IKE SA (§1.3.2), possibly while we rekey it too. */
  private onCreateChildRequest(m: M.InMessage): void {
    if (this.tm.state !== "established" || !this.tm.child) {
      this.tm.sendResponse(m.exchangeType, m.messageId, [M.notify(NotifyError.TEMPORARY_FAILURE)]);
      return;
    }
    if (M.offersProtocol(m.payloads, ProtocolId.IKE)) this.ikeRekeying.answerGatewayRekey(m);
    else this.childRekeying.answerGatewayRekey(m);
  }

  private onInformational(m: M.InMessage): void {
    const tm = this.tm;
    const reply: M.Payload[] = [];
    let ikeDeleted = false;
    let childDeleted = false;
    for (const d of M.deletes(m.payloads)) {
      if (d.protocolId === ProtocolId.IKE) ikeDeleted = true;
      else if (d.protocolId === ProtocolId.ESP && tm.child) {
        const ours = tm.child.onPeerDelete(d.spis);
        if (ours.length > 0) {
          reply.push(M.del(ProtocolId.ESP, ours));
          for (const [spiIn, spiOut] of tm.child.removedPairs(d.spis)) tm.out.push({ kind: "remove-child", spiIn, spiOut });
          childDeleted = true;
        }
      }
    }
    // RFC 4555 return routability check by the gateway: its COOKIE2 goes back in our answer.
    reply.push(...echoCookie2(m.payloads));
    tm.sendResponse(ExchangeType.INFORMATIONAL, m.messageId, ikeDeleted ? [] : reply);
    // §2.8.2: the gateway may have deleted the old IKE SA after winning a rekey collision.
    if (ikeDeleted && this.ikeRekeying.onGatewayDeletedOldSa()) return;
    // RFC 5685 §5: the gateway moves us to another gateway; we answer, leave this one, connect there.
    const redirect = tm.state === "established" && !ikeDeleted ? findRedirect(m.payloads) : null;
    if (redirect?.kind === "redirect") {
      tm.deleteQuietly();
      tm.redirectTo(redirect.target, "informational");
      return;
    }
    if (ikeDeleted) {
      tm.pending = null;
      tm.fail({ code: "lost", message: `gateway ${tm.cfg.gatewayName} deleted the IKE SA` });
      return;
    }
    // §2.25.1: the gateway deleted the CHILD_SA we are rekeying: answered as usual; our rekey's answer decides.
    if (childDeleted && tm.child && !tm.child.hasActive() && tm.inFlight !== "child-rekey") {
      // Without a CHILD_SA there is no tunnel: close the IKE SA too and report.
      tm.failAndDelete({ code: "lost", message: `gateway ${tm.cfg.gatewayName} deleted the CHILD_SA` });
    }
  }
}
