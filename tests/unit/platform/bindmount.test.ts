// /etc/resolv.conf is often a bind mount (`ip netns exec`, containers): rename(2) onto it fails with
// EBUSY, so writeFileAtomic must rewrite it in place, and restoreFile put the old content back.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = process.getuid?.() === 0;
if (!root) console.warn("SKIP bind-mount test: needs root (mount namespace)");

test.skipIf(!root)("writeFileAtomic and restoreFile work on a bind-mounted file", () => {
  const dir = mkdtempSync(join(tmpdir(), "roam-bind-"));
  try {
    const target = join(dir, "resolv.conf");
    const source = join(dir, "netns-resolv.conf");
    writeFileSync(target, "nameserver 192.0.2.53\n");
    writeFileSync(source, "nameserver 198.18.1.1\n");
    const script = join(import.meta.dir, "fixtures/write-atomic.ts");
    const r = Bun.spawnSync(["unshare", "-m", "sh", "-c", `mount --bind "$1" "$2" && "$3" "$4" "$2" "$5"`, "sh", source, target, process.execPath, script, "nameserver 203.0.113.53\n"]);
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toBe("written\nrestored\n");
    // The bind source got the write and then its old content back; the file underneath was never touched.
    expect(readFileSync(source, "utf8")).toBe("nameserver 198.18.1.1\n");
    expect(readFileSync(target, "utf8")).toBe("nameserver 192.0.2.53\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
