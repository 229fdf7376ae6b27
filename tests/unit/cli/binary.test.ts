// The compiled single executable answers --version and --help (built by tests/run.sh before the unit tests).
import { beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
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
