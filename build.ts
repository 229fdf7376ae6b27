// Builds the single executable dist/roam with `bun build --compile`.
// Worker entry points must be listed here so that they are embedded in the binary.
import { $ } from "bun";
import { existsSync, mkdirSync } from "node:fs";

const entrypoints = ["cli/main.ts", ...workerEntrypoints()];

function workerEntrypoints(): string[] {
  const workers = ["platform/linux/tun-reader.worker.ts", "platform/linux/udp-reader.worker.ts"];
  return workers.filter((w) => existsSync(w));
}

mkdirSync("dist", { recursive: true });
const result = await Bun.build({
  entrypoints,
  compile: { outfile: "dist/roam" },
  minify: false,
  bytecode: true,
  sourcemap: "linked",
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
await $`chmod 755 dist/roam`;
console.log(`built dist/roam (${entrypoints.join(", ")})`);
