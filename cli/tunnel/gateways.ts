// Which gateway the tunnel talks to: the list from the flags or the profile, tried in order when one
// does not answer, and the redirects (RFC 5685) a gateway sends us on, with strongSwan's loop limit.

/** RFC 5685 §7 leaves loop detection to the client; like strongSwan: at most 5 redirects in 5 minutes. */
export const MAX_REDIRECTS = 5;
export const REDIRECT_WINDOW_MS = 300_000;

/**
 * IKE_SA_INIT towards one of several gateways: 3 sends within 9.5 s (2, 3, 4.5 s) instead of 5 within
 * about 25 s, so that a dead first gateway costs seconds, not half a minute, before the next is tried.
 */
export const FAILOVER_INIT_RETRANSMIT = { timeoutMs: 2000, base: 1.5, retransmits: 2 } as const;

export class GatewayChoice {
  private index = 0;
  /** A gateway we were redirected to, used instead of the list's entry until it fails. */
  private redirected: string | null = null;
  private redirectTimes: number[] = [];
  /** How many list entries have failed in a row (a full round means: all unreachable). */
  private failedInRow = 0;

  constructor(private readonly list: readonly string[]) {
    if (list.length === 0) throw new Error("GatewayChoice: no gateway");
  }

  /** The host to connect to now. */
  get current(): string {
    return this.redirected ?? this.list[this.index]!;
  }

  get all(): readonly string[] {
    return this.list;
  }

  /**
   * The current gateway did not answer: move on. Returns false when every gateway of the list has
   * failed since one last answered (the caller then reports or backs off before the next round).
   */
  unreachable(): boolean {
    if (this.redirected !== null) {
      // The gateway we were sent to is gone: back to the list, starting where we were.
      this.redirected = null;
      return true;
    }
    this.failedInRow++;
    this.index = (this.index + 1) % this.list.length;
    if (this.failedInRow >= this.list.length) {
      this.failedInRow = 0;
      return false;
    }
    return true;
  }

  /** The current gateway answered (the tunnel is up). */
  answered(): void {
    this.failedInRow = 0;
  }

  /** A REDIRECT to `host` at `now` (monotonic ms); false when that would exceed the loop limit. */
  redirect(host: string, now: number): boolean {
    this.redirectTimes = this.redirectTimes.filter((t) => now - t < REDIRECT_WINDOW_MS);
    if (this.redirectTimes.length >= MAX_REDIRECTS) return false;
    this.redirectTimes.push(now);
    this.redirected = host;
    return true;
  }
}
