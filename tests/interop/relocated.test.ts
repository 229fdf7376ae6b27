// The executable works away from the tree it was built from, as on a user's machine. With --bytecode,
// import.meta.url inside dist/roam still names the source files on the build machine; when the reader
// workers (TUN, UDP) were located from it, the binary loaded them from the sources when they were there
// (every earlier test here) and could not start them anywhere else. This builds roam in a scratch copy of
// the sources, deletes that copy, and connects with the binary left over: PSK, ping through the tunnel,
// disconnect. One stage and one build, about 15 s. Needs root and tests/interop/install-deps.sh.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientRunFiles, createStage, interopUnavailable, type Stage } from "./lib/stage.ts";
import { NET } from "./lib/topology.ts";

const root = join(import.meta.dir, "../..");
const unavailable = interopUnavailable();
if (unavailable !== undefined) console.warn(`SKIP tests/interop/relocated.test.ts: ${unavailable}`);

describe.skipIf(unavailable !== undefined)("dist/roam built elsewhere, its sources gone", () => {
  let stage: Stage;
  let binDir: string;
  let runDir: string;
  let pskFile: string;

  beforeAll(async () => {
    const src = mkdtempSync(join(tmpdir(), "roam-relocate-src-"));
    binDir = mkdtempSync(join(tmpdir(), "roam-relocate-bin-"));
    try {
      for (const f of ["build.ts", "package.json", "tsconfig.json", "cli", "core", "platform"]) cpSync(join(root, f), join(src, f), { recursive: true });
      symlinkSync(join(root, "node_modules"), join(src, "node_modules"));
      const b = Bun.spawnSync([process.execPath, "build.ts"], { cwd: src });
      if (b.exitCode !== 0) throw new Error(`build in ${src} failed: ${b.stderr.toString()}`);
      renameSync(join(src, "dist/roam"), join(binDir, "roam"));
    } finally {
      rmSync(src, { recursive: true, force: true });
    }
    stage = await createStage();
    ({ runDir, pskFile } = clientRunFiles(stage));
  }, 120_000);
  afterAll(async () => {
    if (stage) stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, join(binDir, "roam"), "disconnect"]);
    await stage?.destroy();
    rmSync(binDir, { recursive: true, force: true });
  });

  test("connect --background, a ping through the tunnel, disconnect", () => {
    const roam = (args: string[]) => stage.topo.exec(stage.topo.names.client, ["env", `ROAM_RUN_DIR=${runDir}`, join(binDir, "roam"), ...args], { timeoutMs: 60_000 });
    expect(existsSync(join(binDir, "roam"))).toBe(true);
    const up = roam(["connect", "--gateway", NET.gateway, "--remote-id", stage.creds.gatewayId, "--id", stage.creds.pskClientId, "--psk-file", pskFile, "--background"]);
    expect(up.code, up.stderr).toBe(0);
    const ping = stage.topo.exec(stage.topo.names.client, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", NET.corpAServer]);
    expect(ping.code, ping.stdout).toBe(0);
    const down = roam(["disconnect"]);
    expect(down.code, down.stderr).toBe(0);
  });
});
