import { describe, expect, test } from "bun:test";
import { CLOCK_JUMP_MS, FALLBACK_EVERY_TICKS, PathMonitor } from "../../../cli/tunnel/path-monitor.ts";
import { ManualClock } from "../../../platform/clock.ts";

function setup(watcher = true) {
  const clock = new ManualClock(1000, 1_700_000_000_000);
  const state = { changes: 0, src: "198.18.1.2" as string | null, lookups: 0 };
  const m = new PathMonitor(
    {
      clock,
      changes: () => {
        if (!watcher) return null;
        const n = state.changes;
        state.changes = 0;
        return n;
      },
      sourceAddress: () => {
        state.lookups++;
        return state.src;
      },
    },
    "198.18.1.2",
  );
  return { clock, state, m };
}

describe("PathMonitor", () => {
  test("quiet ticks look nothing up; a notification with a new source address reports it once", () => {
    const { clock, state, m } = setup();
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      expect(m.tick()).toEqual([]);
    }
    expect(state.lookups).toBe(0);
    state.changes = 3;
    state.src = "198.18.1.3";
    clock.advance(1000);
    expect(m.tick()).toEqual([{ kind: "address-changed", from: "198.18.1.2", to: "198.18.1.3" }]);
    expect(m.current).toBe("198.18.1.3");
    state.changes = 1;
    clock.advance(1000);
    expect(m.tick()).toEqual([]);
    expect(state.lookups).toBe(2);
  });

  test("no route for a while (between networks): nothing, then the new address when a route comes", () => {
    const { clock, state, m } = setup();
    state.changes = 1;
    state.src = null;
    clock.advance(1000);
    expect(m.tick()).toEqual([]);
    state.changes = 1;
    state.src = "10.1.2.3";
    clock.advance(1000);
    expect(m.tick()).toEqual([{ kind: "address-changed", from: "198.18.1.2", to: "10.1.2.3" }]);
  });

  test("a wanted check (send error) looks without a notification", () => {
    const { clock, state, m } = setup();
    m.wantCheck();
    state.src = "198.18.1.9";
    clock.advance(1000);
    expect(m.tick()).toEqual([{ kind: "address-changed", from: "198.18.1.2", to: "198.18.1.9" }]);
  });

  test("the host slept (wall clock jumped, monotonic did not): resumed, after a look at the route", () => {
    const { clock, state, m } = setup();
    clock.setWall(clock.wallMs() + 3_600_000);
    clock.advance(1000);
    state.src = "192.168.1.20";
    expect(m.tick()).toEqual([
      { kind: "address-changed", from: "198.18.1.2", to: "192.168.1.20" },
      { kind: "resumed", gapMs: 3_601_000 },
    ]);
  });

  test("stopped for longer than the limit (both clocks): resumed; a slow tick under it is not", () => {
    const { clock, m } = setup();
    clock.advance(CLOCK_JUMP_MS - 1);
    expect(m.tick()).toEqual([]);
    clock.advance(CLOCK_JUMP_MS + 1);
    expect(m.tick()).toEqual([{ kind: "resumed", gapMs: CLOCK_JUMP_MS + 1 }]);
  });

  test(`without a watcher the route is looked at every ${FALLBACK_EVERY_TICKS} ticks`, () => {
    const { clock, state, m } = setup(false);
    for (let i = 0; i < FALLBACK_EVERY_TICKS * 3; i++) {
      clock.advance(1000);
      m.tick();
    }
    expect(state.lookups).toBe(3);
  });
});
