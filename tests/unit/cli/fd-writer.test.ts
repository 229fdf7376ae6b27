import { expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fdWriter, lineWriterIgnoringErrors } from "../../../cli/fd-writer.ts";

test("fdWriter writes each string whole, in order, as UTF-8", () => {
  const dir = mkdtempSync(join(tmpdir(), "roam-fdw-"));
  try {
    const path = join(dir, "out");
    const fd = openSync(path, "w");
    const w = fdWriter(fd);
    w.write("roam: connecting to 192.0.2.1\n");
    w.write(`${"x".repeat(200_000)}\n`);
    w.write("roam: tunnel up — ok\n");
    closeSync(fd);
    expect(readFileSync(path, "utf8")).toBe(`roam: connecting to 192.0.2.1\n${"x".repeat(200_000)}\nroam: tunnel up — ok\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a descriptor that cannot be written: fdWriter throws, the stderr writer carries on", () => {
  const dir = mkdtempSync(join(tmpdir(), "roam-fdw-"));
  try {
    const fd = openSync(join(dir, "ro"), "w");
    closeSync(fd); // now a closed descriptor: EBADF
    expect(() => fdWriter(fd).write("lost\n")).toThrow();
    expect(() => lineWriterIgnoringErrors(fd).write("lost\n")).not.toThrow();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a full non-blocking pipe: the write waits for the reader instead of failing (EAGAIN)", async () => {
  // The child fills its stdout pipe (a pipe or socket buffer) several times over while the parent reads only after a pause.
  const script = `import { fdWriter } from ${JSON.stringify(join(import.meta.dir, "../../../cli/fd-writer.ts"))};
import { setNonBlocking } from ${JSON.stringify(join(import.meta.dir, "../../../platform/linux/libc.ts"))};
if (!setNonBlocking(1)) process.exit(9);
const w = fdWriter(1);
for (let i = 0; i < 1024; i++) w.write("y".repeat(4095) + "\\n");
w.write("end\\n");`;
  const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  await Bun.sleep(300);
  const out = await new Response(proc.stdout).text();
  expect(await proc.exited).toBe(0);
  expect(out.length).toBe(1024 * 4096 + 4);
  expect(out.endsWith("end\n")).toBe(true);
});
