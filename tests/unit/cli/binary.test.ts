// The compiled single executable answers --version and --help (built by tests/run.sh before the unit tests).
import { beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../../package.json" with { type: "json" };

const root = join(import.meta.dir, "../../..");
const bin = join(root, "dist/roam");

beforeAll(() => {
  if (!existsSync(bin)) {
    const r = Bun.spawnSync([process.execPath, "build.ts"], { cwd: root });
    if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
  }
});

function run(...args: string[]) {
  // An empty environment: the binary must not depend on anything from the developer's shell.
  const r = Bun.spawnSync([bin, ...args], { env: {}, cwd: "/" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

test("dist/roam --version prints the package version", () => {
  const r = run("--version");
  expect(r.code).toBe(0);
  expect(r.out.trim()).toBe(pkg.version);
});

test("dist/roam --help prints usage", () => {
  const r = run("--help");
  expect(r.code).toBe(0);
  expect(r.out).toMatchSnapshot();
});

test("an unknown option is a usage error: exit 2 and one line naming it", () => {
  const r = run("--no-such-option");
  expect(r.code).toBe(2);
  expect(r.err).toContain("unknown option '--no-such-option'");
  expect(r.err).not.toContain("    at ");
});

/** Pids of processes whose environment holds `marker` (the tunnel process inherits the parent's). */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(marker)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

// cli/background.ts starts the --background tunnel process before the options are checked: a parent that
// then refuses them must not leave that process behind, nor have it touch anything.
test("connect --background with a bad option: exit 2, one line, and the tunnel process started ahead ends too", async () => {
  const marker = `ROAM_TEST_MARK=${process.pid}-${Date.now()}`;
  const runDir = mkdtempSync(join(tmpdir(), "roam-bg-"));
  try {
    const r = Bun.spawnSync([bin, "connect", "--background", "--gateway", "192.0.2.1", "--mtu", "12"], { env: { [marker.split("=")[0]!]: marker.split("=")[1]!, ROAM_RUN_DIR: runDir }, cwd: "/" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString().trim().split("\n")).toHaveLength(1);
    let left = processesWith(marker);
    for (let i = 0; i < 100 && left.length > 0; i++) {
      await Bun.sleep(20);
      left = processesWith(marker);
    }
    expect(left).toEqual([]);
    // It read an empty request and did nothing: no socket, journal or log in the run directory.
    expect(readdirSync(runDir)).toEqual([]);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});
