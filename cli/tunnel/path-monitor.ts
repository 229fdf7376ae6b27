// Noticing that the path to the gateway changed under the tunnel, once a second: a new source address
// towards the gateway (MOBIKE, RFC 4555 §3.5), or a tick that came far too late (the host slept, or the
// process was stopped), after which the gateway may have forgotten us. Pure apart from its injected
// dependencies, so the runtime's timer stays one line and the logic is tested with a manual clock.

import type { Clock } from "../../platform/types.ts";

/** A one-second tick later than this means the host slept or we were stopped. */
export const CLOCK_JUMP_MS = 10_000;
/** Without an rtnetlink watcher, look at the route every this many ticks. */
export const FALLBACK_EVERY_TICKS = 10;

export interface PathMonitorDeps {
  clock: Clock;
  /** Address/route change notifications since the last call (rtnetlink), or null without a watcher. */
  changes(): number | null;
  /** The kernel's source address towards the gateway now, or null without a route. */
  sourceAddress(): string | null;
}

export type PathEvent = { kind: "address-changed"; from: string; to: string } | { kind: "resumed"; gapMs: number };

export class PathMonitor {
  private last: { mono: number; wall: number };
  private ticks = 0;
  private checkWanted = false;

  constructor(
    private readonly deps: PathMonitorDeps,
    private address: string,
  ) {
    this.last = { mono: deps.clock.monotonicMs(), wall: deps.clock.wallMs() };
  }

  /** Our address as last seen (or set after a reconnect). */
  get current(): string {
    return this.address;
  }

  set current(a: string) {
    this.address = a;
  }

  /** Look at the route at the next tick even without a notification (a send failed, say). */
  wantCheck(): void {
    this.checkWanted = true;
  }

  /** One tick (about a second after the last): what changed, in the order to act on it. */
  tick(): PathEvent[] {
    const now = { mono: this.deps.clock.monotonicMs(), wall: this.deps.clock.wallMs() };
    // Suspend stops the monotonic clock but not the wall clock; SIGSTOP delays the tick on both.
    const gap = Math.max(now.mono - this.last.mono, now.wall - this.last.wall);
    this.last = now;
    this.ticks++;
    const n = this.deps.changes();
    const changed = n === null ? this.ticks % FALLBACK_EVERY_TICKS === 0 : n > 0;
    const resumed = gap > CLOCK_JUMP_MS;
    const out: PathEvent[] = [];
    if (changed || this.checkWanted || resumed) {
      this.checkWanted = false;
      const src = this.deps.sourceAddress();
      // No route at all (between networks): nothing to announce yet; the next change will tell.
      if (src !== null && src !== this.address) {
        out.push({ kind: "address-changed", from: this.address, to: src });
        this.address = src;
      }
    }
    if (resumed) out.push({ kind: "resumed", gapMs: gap });
    return out;
  }
}
