// DNS: resolv.conf rewrite and exact restore on temp files (regular file, symlink, absent), the
// systemd-resolved backend through a recording runner, and detection of resolved.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { composeResolvConf, DnsError, LinuxDns, resolvedRunning } from "../../../platform/linux/dns.ts";
import { Journal, recoverFromStateFile } from "../../../platform/linux/journal.ts";
import type { RunResult, Runner } from "../../../platform/linux/run.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "roam-dns-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ORIGINAL = "# from the DHCP client\nnameserver 192.0.2.53\nsearch corp.example\noptions edns0 trust-ad\n";
const settings = { servers: ["10.8.0.1", "2001:db8::53"], domains: ["vpn.example", "internal.example"] };

/** A runner that records argv and answers from a table (default: success). */
function recorder(answers: (argv: readonly string[]) => Partial<RunResult> = () => ({})): { runner: Runner; calls: string[] } {
  const calls: string[] = [];
  const runner: Runner = (argv) => {
    calls.push(argv.join(" "));
    return { exitCode: 0, stdout: "", stderr: "", ...answers(argv) };
  };
  return { runner, calls };
}

test("resolv.conf: ours first, previous servers after (at most 3), search merged, options kept", () => {
  expect(composeResolvConf("roam0", settings, ORIGINAL)).toBe(
    "# Written by roam for roam0; the previous file comes back when the tunnel closes.\n" +
      "nameserver 10.8.0.1\nnameserver 2001:db8::53\nnameserver 192.0.2.53\n" +
      "search vpn.example internal.example corp.example\noptions edns0 trust-ad\n",
  );
  expect(composeResolvConf("roam0", { servers: ["10.8.0.1"], domains: [] }, null)).toBe(
    "# Written by roam for roam0; the previous file comes back when the tunnel closes.\nnameserver 10.8.0.1\n",
  );
});

test("regular resolv.conf: atomic rewrite, then the exact content and mode come back", () => {
  const path = join(dir, "resolv.conf");
  writeFileSync(path, ORIGINAL);
  chmodSync(path, 0o640);
  const journal = new Journal(null);
  new LinuxDns(journal, { resolvConfPath: path, backend: "resolv.conf" }).apply("roam0", settings);
  expect(readFileSync(path, "utf8")).toContain("nameserver 10.8.0.1\n");
  expect(lstatSync(path).mode & 0o777).toBe(0o644);
  expect(journal.undoAll()).toEqual({ undone: 1, errors: [] });
  expect(readFileSync(path, "utf8")).toBe(ORIGINAL);
  expect(lstatSync(path).mode & 0o777).toBe(0o640);
  expect(journal.undoAll()).toEqual({ undone: 0, errors: [] });
});

test("symlinked resolv.conf (resolved's stub): the link is replaced, then the symlink itself restored", () => {
  const target = join(dir, "stub-resolv.conf");
  writeFileSync(target, ORIGINAL);
  const path = join(dir, "resolv.conf");
  symlinkSync(target, path);
  const journal = new Journal(null);
  new LinuxDns(journal, { resolvConfPath: path, backend: "resolv.conf" }).apply("roam0", settings);
  expect(lstatSync(path).isSymbolicLink()).toBe(false);
  expect(readFileSync(path, "utf8")).toContain("nameserver 192.0.2.53\n"); // previous servers read through the link
  expect(readFileSync(target, "utf8")).toBe(ORIGINAL); // the target is untouched
  journal.undoAll();
  expect(lstatSync(path).isSymbolicLink()).toBe(true);
  expect(readlinkSync(path)).toBe(target);
  expect(readFileSync(target, "utf8")).toBe(ORIGINAL);
});

test("dangling symlink and absent file are restored as they were", () => {
  const path = join(dir, "resolv.conf");
  symlinkSync("../run/nowhere/resolv.conf", path);
  const j1 = new Journal(null);
  new LinuxDns(j1, { resolvConfPath: path, backend: "resolv.conf" }).apply("roam0", settings);
  j1.undoAll();
  expect(readlinkSync(path)).toBe("../run/nowhere/resolv.conf");

  const absent = join(dir, "absent.conf");
  const j2 = new Journal(null);
  new LinuxDns(j2, { resolvConfPath: absent, backend: "resolv.conf" }).apply("roam0", settings);
  expect(existsSync(absent)).toBe(true);
  j2.undoAll();
  expect(existsSync(absent)).toBe(false);
});

test("a resolv.conf rewritten by someone else after us is left alone on undo", () => {
  const path = join(dir, "resolv.conf");
  writeFileSync(path, ORIGINAL);
  const journal = new Journal(null);
  new LinuxDns(journal, { resolvConfPath: path, backend: "resolv.conf" }).apply("roam0", settings);
  writeFileSync(path, "nameserver 198.51.100.1\n");
  expect(journal.undoAll()).toEqual({ undone: 1, errors: [] });
  expect(readFileSync(path, "utf8")).toBe("nameserver 198.51.100.1\n");
});

test("resolv.conf change survives a crash: the state file restores it", () => {
  const path = join(dir, "resolv.conf");
  writeFileSync(path, ORIGINAL);
  const statePath = join(dir, "state", "roam0.json");
  // A journal whose process "died" (never undone); pid 0x7ffffffe is not a live process.
  new LinuxDns(new Journal(statePath, undefined, 0x7ffffffe), { resolvConfPath: path, backend: "resolv.conf" }).apply("roam0", settings);
  expect(readFileSync(path, "utf8")).not.toBe(ORIGINAL);
  expect(recoverFromStateFile(statePath)).toEqual({ undone: 1, errors: [] });
  expect(readFileSync(path, "utf8")).toBe(ORIGINAL);
  expect(existsSync(statePath)).toBe(false);
});

test("systemd-resolved: per-link servers and routing-only domains, reverted per link", () => {
  const { runner, calls } = recorder();
  const journal = new Journal(null, { runner });
  const dns = new LinuxDns(journal, { runner, backend: "resolved" });
  dns.apply("roam0", settings);
  expect(calls).toEqual(["resolvectl dns roam0 10.8.0.1 2001:db8::53", "resolvectl domain roam0 ~vpn.example ~internal.example"]);
  journal.undoAll();
  expect(calls.at(-1)).toBe("resolvectl revert roam0");
});

test("systemd-resolved failure: typed error with the command, link reverted, nothing journaled", () => {
  const { runner, calls } = recorder((argv) => (argv[1] === "domain" ? { exitCode: 1, stderr: "Failed to set domain configuration: Access denied" } : {}));
  const journal = new Journal(null, { runner });
  const dns = new LinuxDns(journal, { runner, backend: "resolved" });
  expect(() => dns.apply("roam0", settings)).toThrow(/resolvectl domain roam0 ~vpn.example ~internal.example.*Access denied/);
  expect(calls.at(-1)).toBe("resolvectl revert roam0");
  expect(journal.entries.length).toBe(0);
});

test("resolved detection needs both its runtime directory and a working `resolvectl status`", () => {
  const runtime = join(dir, "resolve");
  const ok = recorder();
  expect(resolvedRunning(ok.runner, runtime)).toBe(false); // no directory
  expect(ok.calls).toEqual([]);
  mkdirSync(runtime);
  expect(resolvedRunning(ok.runner, runtime)).toBe(true);
  expect(ok.calls).toEqual(["resolvectl status"]);
  const down = recorder(() => ({ exitCode: 1, stderr: "Failed to get global data: Unit dbus-org.freedesktop.resolve1.service not found." }));
  expect(resolvedRunning(down.runner, runtime)).toBe(false);
  const path = join(dir, "resolv.conf");
  writeFileSync(path, ORIGINAL);
  expect(new LinuxDns(new Journal(null), { runner: down.runner, resolvedRuntimeDir: runtime, resolvConfPath: path }).chooseBackend()).toBe("resolv.conf");
  expect(new LinuxDns(new Journal(null), { runner: ok.runner, resolvedRuntimeDir: runtime, resolvConfPath: path }).chooseBackend()).toBe("resolved");
});

test("bad servers, domains and link names are rejected before anything changes", () => {
  const path = join(dir, "resolv.conf");
  writeFileSync(path, ORIGINAL);
  const dns = new LinuxDns(new Journal(null), { resolvConfPath: path, backend: "resolv.conf" });
  expect(() => dns.apply("roam0", { servers: ["10.8.0.256"], domains: [] })).toThrow(DnsError);
  expect(() => dns.apply("roam0", { servers: ["10.8.0.1"], domains: ["bad domain\nnameserver 6.6.6.6"] })).toThrow(DnsError);
  expect(() => dns.apply("-x", { servers: ["10.8.0.1"], domains: [] })).toThrow(DnsError);
  expect(readFileSync(path, "utf8")).toBe(ORIGINAL);
});
