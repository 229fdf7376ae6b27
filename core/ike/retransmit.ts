// Retransmission of IKE requests (RFC 7296 §2.1, §2.4): the initiator of an exchange retransmits the
// same bytes until the response arrives, with exponential backoff and a bounded number of tries.

export interface RetransmitPolicy {
  /** Wait after the first send, in ms. */
  timeoutMs: number;
  /** Each further wait is the previous one times this factor. */
  base: number;
  /** Retransmissions after the first send; the exchange fails after the last one's wait. */
  retransmits: number;
}

/** Close to strongSwan's charon.retransmit_timeout/base/tries (4 s, 1.8, 5): for a live IKE SA. */
export const ESTABLISHED_RETRANSMIT: RetransmitPolicy = { timeoutMs: 4000, base: 1.8, retransmits: 5 };

/**
 * For IKE_SA_INIT, where a person or a script waits for the answer: 5 sends within about 25 s
 * (2, 3, 4.5, 6.75, 10.1 s), so that an unreachable gateway is reported in well under 30 s.
 */
export const CONNECT_RETRANSMIT: RetransmitPolicy = { timeoutMs: 2000, base: 1.5, retransmits: 4 };

/** How long to wait after send number `attempt` (0 = the first send). */
export function retransmitDelay(policy: RetransmitPolicy, attempt: number): number {
  return Math.round(policy.timeoutMs * Math.pow(policy.base, attempt));
}

/** An outstanding request: the exact datagrams sent (all fragments), re-sent unchanged on each retry. */
export class PendingRequest {
  attempt = 0;
  nextAt: number;

  constructor(
    readonly messageId: number,
    readonly exchangeType: number,
    readonly datagrams: Uint8Array[],
    readonly policy: RetransmitPolicy,
    now: number,
  ) {
    this.nextAt = now + retransmitDelay(policy, 0);
  }

  /** Sends made so far. */
  get sends(): number {
    return this.attempt + 1;
  }

  /** Called when the retransmit timer fires: true to send again, false when the tries are spent. */
  due(now: number): boolean {
    if (this.attempt >= this.policy.retransmits) return false;
    this.attempt++;
    this.nextAt = now + retransmitDelay(this.policy, this.attempt);
    return true;
  }
}

/**
 * For liveness checks (RFC 7296 §2.4): a laptop wants to know soon that its gateway is gone — 5 sends
 * within about 25 s — rather than after strongSwan's 165 s.
 */
export const LIVENESS_RETRANSMIT: RetransmitPolicy = { timeoutMs: 2000, base: 1.5, retransmits: 4 };
