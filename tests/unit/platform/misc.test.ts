// platform/random.ts, platform/clock.ts, platform/signals.ts.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock, systemClock } from "../../../platform/clock.ts";
import { systemRandom } from "../../../platform/random.ts";
import { fixture } from "./netns.ts";
import * as libc from "../../../platform/linux/libc.ts";

test("random: exact lengths, beyond getRandomValues' 65536-byte limit, and not constant", () => {
  expect(systemRandom.bytes(0).length).toBe(0);
  expect(systemRandom.bytes(32).length).toBe(32);
  const big = systemRandom.bytes(200_000);
  expect(big.length).toBe(200_000);
  // Every 64 KiB chunk was filled: no chunk is all zeros (probability 2^-524288 for a real CSPRNG).
  for (let off = 0; off < big.length; off += 65536) expect(big.subarray(off, off + 65536).some((b) => b !== 0)).toBe(true);
  // Byte values roughly uniform: each of 256 values appears (expected ~781 times each).
  const seen = new Set(big);
  expect(seen.size).toBe(256);
  expect(systemRandom.bytes(16)).not.toEqual(systemRandom.bytes(16));
  expect(() => systemRandom.bytes(-1)).toThrow(RangeError);
});

test("clock: monotonic never goes back; wall clock near Date.now", async () => {
  let last = systemClock.monotonicMs();
  for (let i = 0; i < 1000; i++) {
    const now = systemClock.monotonicMs();
    expect(now).toBeGreaterThanOrEqual(last);
    last = now;
  }
  const t0 = systemClock.monotonicMs();
  await new Promise((r) => setTimeout(r, 20));
  expect(systemClock.monotonicMs() - t0).toBeGreaterThanOrEqual(15);
  expect(Math.abs(systemClock.wallMs() - Date.now())).toBeLessThan(1000);
  const m = new ManualClock(100, 1_700_000_000_000);
  m.advance(50);
  expect([m.monotonicMs(), m.wallMs()]).toEqual([150, 1_700_000_000_050]);
  m.setWall(0); // a wall-clock jump does not move the monotonic clock
  expect(m.monotonicMs()).toBe(150);
  expect(() => m.advance(-1)).toThrow(RangeError);
});

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "roam-sig-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function startChild(mode: string, out: string) {
  const child = Bun.spawn([process.execPath, fixture("shutdown.ts"), mode, out], { stdout: "pipe", stderr: "pipe" });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  return child;
}

const ran = (out: string): string[] => (existsSync(out) ? readFileSync(out, "utf8").trim().split("\n") : []);

test("signals: SIGTERM runs the cleanup once and exits 143", async () => {
  const out = join(dir, "log");
  const child = await startChild("wait", out);
  child.kill("SIGTERM");
  expect(await child.exited).toBe(143);
  expect(ran(out)).toEqual(["SIGTERM"]);
});

test("signals: a second SIGINT during the cleanup exits without running it twice", async () => {
  const out = join(dir, "log");
  const child = await startChild("wait", out);
  child.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 10));
  child.kill("SIGINT");
  expect(await child.exited).toBe(130);
  expect(ran(out).length).toBeLessThanOrEqual(1);
  expect(ran(out).every((l) => l === "SIGINT")).toBe(true);
});

test("signals: an uncaught exception and an unhandled rejection run the cleanup once, exit 1", async () => {
  for (const [mode, reason] of [
    ["throw", "uncaughtException"],
    ["reject", "unhandledRejection"],
  ] as const) {
    const out = join(dir, `log-${mode}`);
    const child = await startChild(mode, out);
    expect(await child.exited).toBe(1);
    expect(ran(out)).toEqual([reason]);
    const stderr = await new Response(child.stderr).text();
    expect(stderr).toContain("internal error");
  }
});

test("readableNow: an eventfd is readable only once its counter is non-zero, and the call never waits", () => {
  const empty = libc.eventfd(0, libc.EFD_NONBLOCK | libc.EFD_CLOEXEC);
  const full = libc.eventfd(1, libc.EFD_NONBLOCK | libc.EFD_CLOEXEC);
  try {
    expect(empty).toBeGreaterThanOrEqual(0);
    expect(libc.readableNow(empty)).toBe(false);
    expect(libc.readableNow(full)).toBe(true);
  } finally {
    libc.close(empty);
    libc.close(full);
  }
});
