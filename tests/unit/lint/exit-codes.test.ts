// README.md's exit-code table and cli/exit.ts say the same thing.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ExitCode } from "../../../cli/exit.ts";

test("every exit code is documented in the README, and only those", () => {
  const readme = readFileSync(join(import.meta.dir, "../../../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Exit codes"));
  const documented = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
  expect(documented.sort((a, b) => a - b)).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
});
