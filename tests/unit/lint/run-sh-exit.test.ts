// tests/run.sh is the CI: its exit status must be the tests' verdict, not its cleanup's.
// (Its EXIT trap once ran `kill` on the already-reaped background job under set -e, so a fully green
// run exited 1.) The trap line is taken from run.sh itself and run in the same situation.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const runSh = readFileSync(join(import.meta.dir, "../../run.sh"), "utf8");
const trapLine = runSh.split("\n").find((l) => /^trap .* EXIT$/.test(l));

function exitStatusWith(verdict: number): number {
  const script = [
    "set -euo pipefail",
    'slow_log=$(mktemp /tmp/roam-run-sh-test.XXXXXX)',
    "sleep 0 & slow_pid=$!",
    trapLine!,
    'wait "$slow_pid"',
    `[ ${verdict} -eq 0 ]`,
  ].join("\n");
  return Bun.spawnSync(["bash", "-c", script]).exitCode;
}

test("run.sh has one EXIT trap", () => {
  expect(trapLine).toBeDefined();
});

test("run.sh's EXIT trap keeps exit 0 when everything passed, after the background job was reaped", () => {
  expect(exitStatusWith(0)).toBe(0);
});

test("run.sh's EXIT trap keeps a failure a failure", () => {
  expect(exitStatusWith(1)).toBe(1);
});
