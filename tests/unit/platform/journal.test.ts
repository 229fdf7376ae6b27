// The undo journal without the kernel: order, idempotence, retry of failures, the state file's
// format and permissions, and a parser that never throws on a damaged file.
import { afterEach, beforeEach, expect, test } from "bun:test";
import fc from "fast-check";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Journal, JournalError, parseStateFile, recoverFromStateFile, type UndoAction } from "../../../platform/linux/journal.ts";
import type { Runner } from "../../../platform/linux/run.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "roam-journal-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function recorder(fail: (argv: string) => string | null = () => null): { runner: Runner; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    runner: (argv) => {
      const line = argv.join(" ");
      calls.push(line);
      const err = fail(line);
      return err === null ? { exitCode: 0, stdout: "", stderr: "" } : { exitCode: 2, stdout: "", stderr: err };
    },
  };
}

const actions: UndoAction[] = [
  { kind: "link-mtu", dev: "roam0", mtu: 1500 },
  { kind: "link-down", dev: "roam0" },
  { kind: "addr-del", dev: "roam0", cidr: "198.18.0.7/32" },
  { kind: "route-del", dev: "roam0", cidr: "10.1.0.0/16", metric: 50 },
  { kind: "resolved-revert", link: "roam0" },
];

test("undoAll runs the undo actions in reverse order, then nothing", () => {
  const { runner, calls } = recorder();
  const j = new Journal(null, runner);
  for (const a of actions) j.record(a);
  expect(j.undoAll()).toEqual({ undone: 5, errors: [] });
  expect(calls).toEqual([
    "resolvectl revert roam0",
    "ip route del 10.1.0.0/16 dev roam0 metric 50",
    "ip address del 198.18.0.7/32 dev roam0",
    "ip link set dev roam0 down",
    "ip link set dev roam0 mtu 1500",
  ]);
  expect(j.undoAll()).toEqual({ undone: 0, errors: [] });
  expect(calls.length).toBe(5);
});

test("already-gone items count as undone; real failures are kept and retried", () => {
  let denied = true;
  const { runner, calls } = recorder((line) => {
    if (line.startsWith("ip route del")) return "RTNETLINK answers: No such process";
    if (line.startsWith("ip address del")) return 'Cannot find device "roam0"';
    if (line.startsWith("resolvectl") && denied) return "Failed to revert interface configuration: Access denied";
    return null;
  });
  const statePath = join(dir, "s.json");
  const j = new Journal(statePath, runner);
  for (const a of actions) j.record(a);
  const first = j.undoAll();
  expect(first.undone).toBe(4);
  expect(first.errors).toHaveLength(1);
  expect(first.errors[0]).toContain("resolvectl revert roam0");
  expect(first.errors[0]).toContain("Access denied");
  expect(j.entries).toEqual([{ kind: "resolved-revert", link: "roam0" }]);
  // The state file still holds what is left to do.
  const parsed = parseStateFile(readFileSync(statePath, "utf8"));
  expect(parsed.ok && parsed.state.entries).toEqual([{ kind: "resolved-revert", link: "roam0" }]);
  denied = false;
  expect(j.undoAll()).toEqual({ undone: 1, errors: [] });
  expect(existsSync(statePath)).toBe(false);
  expect(calls.filter((c) => c.startsWith("resolvectl")).length).toBe(2);
});

test("guard: the undo is persisted before the change, and dropped when the change fails", () => {
  const statePath = join(dir, "deep", "er", "roam0.json");
  const j = new Journal(statePath, recorder().runner, 4242);
  const seen: string[] = [];
  j.guard(actions[0]!, () => {
    seen.push(readFileSync(statePath, "utf8"));
  });
  expect(JSON.parse(seen[0]!)).toEqual({ version: 1, pid: 4242, entries: [actions[0]] });
  expect(statSync(statePath).mode & 0o777).toBe(0o600);
  expect(statSync(join(dir, "deep", "er")).mode & 0o777).toBe(0o700);
  expect(() =>
    j.guard(actions[1]!, () => {
      throw new Error("ip said no");
    }),
  ).toThrow("ip said no");
  expect(j.entries).toEqual([actions[0]!]);
  const parsed = parseStateFile(readFileSync(statePath, "utf8"));
  expect(parsed.ok && parsed.state.entries).toEqual([actions[0]!]);
});

test("recovery refuses a journal whose process is still alive, unless forced", () => {
  const statePath = join(dir, "live.json");
  writeFileSync(statePath, JSON.stringify({ version: 1, pid: process.ppid, entries: [actions[1]] }));
  const { runner, calls } = recorder();
  expect(() => recoverFromStateFile(statePath, { runner })).toThrow(JournalError);
  expect(calls).toEqual([]);
  expect(recoverFromStateFile(statePath, { runner, force: true })).toEqual({ undone: 1, errors: [] });
  expect(calls).toEqual(["ip link set dev roam0 down"]);
});

test("recovery of a damaged state file is a JournalError naming the file and the reason", () => {
  const statePath = join(dir, "bad.json");
  writeFileSync(statePath, '{"version":1,"pid":1,"entries":[{"kind":"rm-rf","path":"/"}]}');
  expect(() => recoverFromStateFile(statePath, { runner: recorder().runner })).toThrow(/bad\.json: entry 0: unknown kind "rm-rf"/);
  expect(recoverFromStateFile(join(dir, "missing.json"))).toEqual({ undone: 0, errors: [] });
});

test("state file parser: option-like and malformed fields are rejected", () => {
  const bad = [
    "",
    "[]",
    '{"version":2,"pid":1,"entries":[]}',
    '{"version":1,"pid":"1","entries":[]}',
    '{"version":1,"pid":1,"entries":{}}',
    '{"version":1,"pid":1,"entries":[{"kind":"addr-del","dev":"-f","cidr":"1.2.3.4/32"}]}',
    '{"version":1,"pid":1,"entries":[{"kind":"link-mtu","dev":"roam0","mtu":"1500"}]}',
    '{"version":1,"pid":1,"entries":[{"kind":"file-restore","path":"/etc/resolv.conf","ours":"x","previous":{"type":"dir"}}]}',
  ];
  for (const text of bad) expect(parseStateFile(text).ok).toBe(false);
  const good = JSON.stringify({ version: 1, pid: 7, entries: [...actions, { kind: "file-restore", path: "/etc/resolv.conf", ours: "x", previous: { type: "symlink", target: "../run/x" } }] });
  expect(parseStateFile(good).ok).toBe(true);
});

test("state file parser never throws (fuzz)", () => {
  const entry = fc.oneof(
    fc.record({ kind: fc.constantFrom("addr-del", "route-del", "link-mtu", "link-down", "resolved-revert", "file-restore", "x"), dev: fc.anything(), cidr: fc.anything(), mtu: fc.anything(), link: fc.anything(), path: fc.anything(), ours: fc.anything(), previous: fc.anything(), metric: fc.anything() }, { requiredKeys: ["kind"] }),
    fc.anything(),
  );
  const doc = fc.oneof(fc.string(), fc.record({ version: fc.constantFrom(1, 2, "1"), pid: fc.oneof(fc.integer(), fc.anything()), entries: fc.oneof(fc.array(entry), fc.anything()) }).map((o) => JSON.stringify(o) ?? ""));
  fc.assert(
    fc.property(doc, (text) => {
      const r = parseStateFile(text);
      if (r.ok) expect(Array.isArray(r.state.entries)).toBe(true);
    }),
    { numRuns: 3000 },
  );
});
