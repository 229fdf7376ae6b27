// .ci/run must run exactly the test command that README.md gives a newcomer.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../../..");

test(".ci/run runs the README's test command", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const m = readme.match(/<!-- test-command -->\s*```(?:sh|bash)?\n([^\n]+)\n```/);
  expect(m).not.toBeNull();
  const command = m![1]!.trim();
  const ci = readFileSync(join(root, ".ci/run"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#") && !l.startsWith("set ") && !l.startsWith("cd "));
  expect(ci).toEqual([command]);
});
