// Clocks for the event loop around the core: monotonic time for timers and SA lifetimes (never jumps
// back with NTP or a manual change), wall-clock time only where the calendar matters (certificate
// notBefore/notAfter, RFC 5280 §4.1.2.5).
import type { Clock } from "./types.ts";

export const systemClock: Clock = {
  /** performance.now(): milliseconds since process start on a monotonic clock, sub-ms resolution. */
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
};

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  constructor(
    private mono = 0,
    private wall = 0,
  ) {}
  monotonicMs(): number {
    return this.mono;
  }
  wallMs(): number {
    return this.wall;
  }
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: expected ms >= 0, got ${ms}`);
    this.mono += ms;
    this.wall += ms;
  }
  setWall(ms: number): void {
    this.wall = ms;
  }
}
