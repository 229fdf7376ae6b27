// The path monitor's OS side (path-monitor.ts holds the logic): an rtnetlink watcher and a one-second
// timer, running while the tunnel is up. See platform/linux/netlink.ts for why a timer drains the watcher.

import { systemClock } from "../../platform/clock.ts";
import { RouteChangeWatcher } from "../../platform/linux/netlink.ts";
import { sourceAddressFor } from "../../platform/linux/route.ts";
import { FALLBACK_EVERY_TICKS, PathMonitor, type PathEvent } from "./path-monitor.ts";

export interface PathWatchHandlers {
  /** The gateway's address now, and ours as the tunnel uses it (a reconnect may have changed either). */
  gatewayAddress(): string;
  localAddress(): string;
  onEvent(ev: PathEvent): void;
  progress(message: string): void;
}

export class PathWatch {
  private timer: ReturnType<typeof setInterval> | null = null;
  private watcher: RouteChangeWatcher | null = null;
  private monitor: PathMonitor | null = null;

  constructor(private readonly handlers: PathWatchHandlers) {}

  /** Starts watching (once; again after stop()). */
  start(): void {
    if (this.timer) return;
    const h = this.handlers;
    try {
      this.watcher = RouteChangeWatcher.open();
    } catch (e) {
      h.progress(`cannot watch for address changes (${e instanceof Error ? e.message : String(e)}); looking at the route every ${FALLBACK_EVERY_TICKS} s instead`);
    }
    const monitor = new PathMonitor(
      {
        clock: systemClock,
        changes: () => (this.watcher ? this.watcher.drain() : null),
        sourceAddress: () => sourceAddressFor(h.gatewayAddress()),
      },
      h.localAddress(),
    );
    this.monitor = monitor;
    this.timer = setInterval(() => {
      // A reconnect may have started from another address meanwhile: compare with the one in use.
      monitor.current = h.localAddress();
      for (const ev of monitor.tick()) h.onEvent(ev);
    }, 1000);
  }

  /** Look at the route at the next tick (a send failed, say); nothing when not watching. */
  wantCheck(): void {
    this.monitor?.wantCheck();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.monitor = null;
    this.watcher?.close();
    this.watcher = null;
  }
}
