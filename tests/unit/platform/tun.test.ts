// TUN through bun:ffi against the real kernel, in a private network namespace: ping 198.18.99.2 via a
// TUN holding 198.18.99.1/24, answer from userspace, see ping succeed — under `bun` and compiled.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ifreqFor, readerWorkerSpecifier } from "../../../platform/linux/tun.ts";
import { udpWorkerSpecifier } from "../../../platform/linux/udp-mmsg.ts";
import { BatchView, batchShape, dataStart } from "../../../platform/tun-batch.ts";
import { bunInNs, fixture, inNs, isRoot, repoRoot, run, withNetns } from "./netns.ts";

interface PingResult {
  name: string;
  mtu: number;
  requests: number;
  replies: number;
  pingExit: number;
  pingOut: string;
  undo: { undone: number; errors: string[] };
}

function parseResult(stdout: string): PingResult {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line) as PingResult;
}

test.skipIf(!isRoot)("ping through the TUN: echo requests read from the worker, replies written back", async () => {
  await withNetns((ns) => {
    const r = bunInNs(ns, fixture("tun-ping.ts"), [], 20_000);
    if (r.exitCode !== 0) console.error(r.stdout, r.stderr);
    const res = parseResult(r.stdout);
    expect(res.name).toBe("roamt0");
    expect(res.mtu).toBe(1400);
    expect(res.pingOut).toBe("seq 1: reply\nseq 2: reply\nseq 3: reply\n");
    expect(res.requests).toBe(3);
    expect(res.replies).toBe(3);
    expect(res.undo).toEqual({ undone: 3, errors: [] });
    expect(r.exitCode).toBe(0);
    // The TUN is gone once closed.
    expect(run(inNs(ns, ["ip", "link", "show", "dev", "roamt0"])).exitCode).not.toBe(0);
  });
});

test.skipIf(!isRoot)("a closed TUN's reader and ring serve the next TUN: the same shared buffers, pings answered both times", async () => {
  await withNetns((ns) => {
    const r = run(inNs(ns, ["env", "ROAM_TEST_TUN_ROUNDS=2", process.execPath, fixture("tun-ping.ts")]), 20_000);
    if (r.exitCode !== 0) console.error(r.stdout, r.stderr);
    const res = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
    expect(res.rounds).toBe(2);
    expect(res.pingOut).toBe("seq 1: reply\nseq 2: reply\nseq 3: reply\n");
    expect(res.replies).toBe(3);
    // No new ~4 MiB of rings per tunnel (their garbage collection landed in later connects).
    expect(res.sameRing).toBe(true);
    expect(r.exitCode).toBe(0);
  });
});

test.skipIf(!isRoot)("the reader worker opens the device: a name in use fails with TUNSETIFF's error, and the next device opens", async () => {
  await withNetns((ns) => {
    const r = bunInNs(ns, fixture("tun-open-fail.ts"), [], 20_000);
    if (r.exitCode !== 0) console.error(r.stdout, r.stderr);
    const res = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
    expect(res.first).toBe("roamdup");
    expect(res.error).toBe('TUNSETIFF "roamdup": Device or resource busy (errno 16)');
    expect(res.errno).toBe(16);
    expect(res.second).toBe("roamt0");
    expect(res.link).toBe(true);
    expect(r.exitCode).toBe(0);
    expect(run(inNs(ns, ["ip", "link", "show", "dev", "roamdup"])).exitCode).not.toBe(0);
  });
});

for (const [mode, env, accepted] of [
  ["accepted", "on", true],
  ["refused (a flag the kernel does not know): falls back to plain packets behind the header", "0x10000", false],
] as const) {
  test.skipIf(!isRoot)(`ping through a TUN opened with offloads, TUNSETOFFLOAD ${mode}`, async () => {
    await withNetns((ns) => {
      const r = run(inNs(ns, ["env", `ROAM_TEST_TUN_OFFLOAD=${env}`, process.execPath, fixture("tun-ping.ts")]), 20_000);
      if (r.exitCode !== 0) console.error(r.stdout, r.stderr);
      const res = parseResult(r.stdout) as PingResult & { offloads: boolean };
      expect(res.offloads).toBe(accepted);
      // Reads carry the virtio_net_hdr (stripped by the reader), writes get one (else the kernel drops them).
      expect(res.pingOut).toBe("seq 1: reply\nseq 2: reply\nseq 3: reply\n");
      expect(res.requests).toBe(3);
      expect(res.replies).toBe(3);
      expect(r.exitCode).toBe(0);
    });
  });
}

for (const family of [4, 6] as const) {
  test.skipIf(!isRoot)(`TSO over IPv${family}: a kernel TCP sender's super-packets are cut into MTU-sized segments that verify, in order, intact`, async () => {
    await withNetns((ns) => {
      const r = run(inNs(ns, ["env", `ROAM_TEST_FAMILY=${family}`, process.execPath, fixture("tun-tso.ts")]), 30_000);
      if (r.exitCode !== 0) console.error(r.stdout, r.stderr);
      const res = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
      expect(res.bytes).toBe(300_000);
      expect(res.badChecksum).toBe(0); // checked by the fixture's own RFC 1071 code, IP header and TCP
      expect(res.badPayload).toBe(0);
      expect(res.outOfOrder).toBe(0);
      expect(res.maxLen).toBeLessThanOrEqual(1400); // the TUN's MTU
      // The kernel did send super-packets (else this would test nothing), and each became several segments.
      expect(res.stats.superPackets).toBeGreaterThan(0);
      expect(res.stats.segments).toBeGreaterThan(res.stats.superPackets);
      expect(res.stats.dropped).toBe(0);
      expect(r.exitCode).toBe(0);
    });
  });
}

test.skipIf(!isRoot)("the reader worker also runs inside a `bun build --compile` executable", async () => {
  const dir = mkdtempSync(join(tmpdir(), "roam-compiled-"));
  try {
    // The same shape as build.ts: the worker passed as an additional entrypoint.
    const built = await Bun.build({
      entrypoints: [fixture("tun-ping.ts"), join(repoRoot, "platform/linux/tun-reader.worker.ts")],
      compile: { outfile: join(dir, "tun-ping") },
    });
    expect(built.success).toBe(true);
    await withNetns((ns) => {
      const env = `ROAM_TEST_BUN=${process.execPath}`;
      const pinger = `ROAM_TEST_PINGER=${fixture("pinger.ts")}`;
      // Run from an empty directory: the worker must come from inside the executable, not from disk.
      const r = run(inNs(ns, ["env", env, pinger, join(dir, "tun-ping")]), 20_000, dir);
      if (r.exitCode !== 0) console.error(r.stdout, r.stderr);
      const res = parseResult(r.stdout);
      expect(res.requests).toBe(3);
      expect(res.replies).toBe(3);
      expect(r.exitCode).toBe(0);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("build.ts embeds the reader worker", () => {
  expect(readFileSync(join(repoRoot, "build.ts"), "utf8")).toContain('"platform/linux/tun-reader.worker.ts"');
});

test("worker specifier: next to the module under bun, bundle-root-relative when compiled", () => {
  expect(readerWorkerSpecifier("file:///src/roam/platform/linux/tun.ts", "/src/roam/cli/main.ts")).toBe("file:///src/roam/platform/linux/tun-reader.worker.ts");
  expect(readerWorkerSpecifier("file:///$bunfs/root/roam", "/$bunfs/root/roam")).toBe("./platform/linux/tun-reader.worker.ts");
  // --bytecode: import.meta.url names the source file on the build machine; Bun.main says compiled.
  expect(readerWorkerSpecifier("file:///src/roam/platform/linux/tun.ts", "/$bunfs/root/roam")).toBe("./platform/linux/tun-reader.worker.ts");
  expect(udpWorkerSpecifier("file:///src/roam/platform/linux/udp-mmsg.ts", "/$bunfs/root/roam")).toBe("./platform/linux/udp-reader.worker.ts");
  expect(udpWorkerSpecifier("file:///src/roam/platform/linux/udp-mmsg.ts", "/src/roam/cli/main.ts")).toBe("file:///src/roam/platform/linux/udp-reader.worker.ts");
});

test("struct ifreq for TUNSETIFF: name, NUL, flags at byte 16 (little endian)", () => {
  const ifr = ifreqFor("roam%d", 0x1001)!;
  expect(ifr.length).toBe(40);
  expect(new TextDecoder().decode(ifr.subarray(0, 6))).toBe("roam%d");
  expect(ifr[6]).toBe(0);
  expect([ifr[16], ifr[17]]).toEqual([0x01, 0x10]);
  expect(ifreqFor("a-name-of-16-chr", 1)).toBeNull(); // IFNAMSIZ is 16 including the NUL
  expect(ifreqFor("", 1)).toBeNull();
  expect(ifreqFor("fifteen-chars-x", 1)).not.toBeNull();
});

test("batch layout: counts, offsets and lengths read back without copying", () => {
  const shape = batchShape(4, 100, 200, 16, 8);
  const buf = new ArrayBuffer(shape.bytes);
  const meta = new Uint32Array(buf, 0, 9);
  const start = dataStart(4);
  expect(start % 16).toBe(0);
  expect(start).toBeGreaterThanOrEqual(36);
  meta[0] = 2;
  meta[1] = start + 16;
  meta[2] = start + 16 + 50 + 8 + 16;
  meta[5] = 50;
  meta[6] = 60;
  const v = new BatchView(buf, shape);
  expect(v.count).toBe(2);
  expect([...v.offsets]).toEqual([start + 16, start + 90]);
  expect([...v.lengths]).toEqual([50, 60]);
  expect(v.data.buffer).toBe(buf);
  expect(shape.bytes).toBe(start + 4 * (16 + 100 + 8) + 16 + 200 + 8);
});

test("MemoryTun: the test double delivers the real batch layout and records writes", async () => {
  const { MemoryTun } = await import("../../../platform/testing/memory-tun.ts");
  const tun = new MemoryTun("mem0", 1400, { headroom: 32, tailroom: 16, batchPackets: 2 });
  const seen: { count: number; packets: number[][]; roomOk: boolean }[] = [];
  tun.onPackets((b) => {
    const packets: number[][] = [];
    let roomOk = true;
    for (let i = 0; i < b.count; i++) {
      const o = b.offsets[i]!;
      packets.push([...b.data.subarray(o, o + b.lengths[i]!)]);
      roomOk &&= o >= b.headroom && o + b.lengths[i]! + b.tailroom <= b.data.length;
    }
    seen.push({ count: b.count, packets, roomOk });
    tun.writeBatch(b.data, b.offsets, b.lengths, b.count);
  });
  tun.inject([new Uint8Array([0x45, 1]), new Uint8Array([0x45, 2, 2]), new Uint8Array([0x60, 3])]);
  expect(seen).toEqual([
    { count: 2, packets: [[0x45, 1], [0x45, 2, 2]], roomOk: true },
    { count: 1, packets: [[0x60, 3]], roomOk: true },
  ]);
  expect(tun.written.map((p) => [...p])).toEqual([[0x45, 1], [0x45, 2, 2], [0x60, 3]]);
  expect(() => tun.inject([new Uint8Array(1401)])).toThrow(RangeError);
  await tun.close();
  expect(tun.write(new Uint8Array(1), 0, 1)).toBe(-9);
});
