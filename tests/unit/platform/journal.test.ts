// The undo journal without the kernel: order, idempotence, retry of failures, the state file's
// format and permissions, and a parser that never throws on a damaged file. rtnetlink and resolvectl are
// replaced by a recorder; netcfg.test.ts runs the same undo against the real kernel.
import { afterEach, beforeEach, expect, test } from "bun:test";
import fc from "fast-check";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HostTools, Journal, JournalError, parseStateFile, recoverFromStateFile, type UndoAction } from "../../../platform/linux/journal.ts";
import { type LinkOps, RtnlError } from "../../../platform/linux/rtnl.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "roam-journal-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Records each undo step as one line (the rtnetlink operation in `ip` words, or the command line) and
 * fails the ones `fail` names: an errno for an rtnetlink operation, stderr text for a command.
 */
function recorder(fail: (line: string) => number | string | null = () => null): { tools: HostTools; calls: string[] } {
  const calls: string[] = [];
  const op = (line: string): void => {
    calls.push(line);
    const err = fail(line);
    if (typeof err === "number") throw new RtnlError(line, err);
  };
  const notUndo = (): never => {
    throw new Error("undo never adds or reads");
  };
  const rtnl: LinkOps = {
    link: notUndo,
    addAddress: notUndo,
    addRoute: notUndo,
    setMtu: (dev, mtu) => op(`link set dev ${dev} mtu ${mtu}`),
    setUp: (dev, up) => op(`link set dev ${dev} ${up ? "up" : "down"}`),
    delAddress: (dev, cidr) => op(`address del ${cidr} dev ${dev}`),
    delRoute: (dev, cidr, metric) => op(`route del ${cidr} dev ${dev}${metric !== undefined ? ` metric ${metric}` : ""}`),
  };
  return {
    calls,
    tools: {
      rtnl,
      runner: (argv) => {
        const line = argv.join(" ");
        calls.push(line);
        const err = fail(line);
        return typeof err === "string" ? { exitCode: 2, stdout: "", stderr: err } : { exitCode: 0, stdout: "", stderr: "" };
      },
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
  const { tools, calls } = recorder();
  const j = new Journal(null, tools);
  for (const a of actions) j.record(a);
  expect(j.undoAll()).toEqual({ undone: 5, errors: [] });
  expect(calls).toEqual([
    "resolvectl revert roam0",
    "route del 10.1.0.0/16 dev roam0 metric 50",
    "address del 198.18.0.7/32 dev roam0",
    "link set dev roam0 down",
    "link set dev roam0 mtu 1500",
  ]);
  expect(j.undoAll()).toEqual({ undone: 0, errors: [] });
  expect(calls.length).toBe(5);
});

test("already-gone items count as undone; real failures are kept and retried", () => {
  let denied = true;
  const { tools, calls } = recorder((line) => {
    if (line.startsWith("route del")) return 3; // ESRCH: the route is gone
    if (line.startsWith("address del")) return 99; // EADDRNOTAVAIL: the address is gone
    if (line.startsWith("link set dev roam0 down")) return 19; // ENODEV: the device is gone
    if (line.startsWith("resolvectl") && denied) return "Failed to revert interface configuration: Access denied";
    return null;
  });
  const statePath = join(dir, "s.json");
  const j = new Journal(statePath, tools);
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
  const j = new Journal(statePath, recorder().tools, 4242);
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

test("volatile entries (our TUN's settings) are undone in order but never written; the file is written only when what it holds changes", () => {
  const statePath = join(dir, "roam0.json");
  const { tools, calls } = recorder();
  const j = new Journal(statePath, tools, 4242);
  const writes: string[] = [];
  const watch = () => writes.push(existsSync(statePath) ? readFileSync(statePath, "utf8") : "(none)");
  j.guard(actions[0]!, watch, { volatile: true });
  j.guard(actions[1]!, watch, { volatile: true });
  expect(writes).toEqual(["(none)", "(none)"]);
  j.guard(actions[4]!, watch);
  expect(JSON.parse(writes[2]!).entries).toEqual([actions[4]]);
  const before = statSync(statePath).ino;
  j.guard(actions[2]!, () => {}, { volatile: true });
  j.guard(actions[3]!, () => {}, { volatile: true });
  // The durable entries did not change: the same file, not rewritten.
  expect(statSync(statePath).ino).toBe(before);
  expect(parseStateFile(readFileSync(statePath, "utf8"))).toEqual({ ok: true, state: { version: 1, pid: 4242, entries: [actions[4]!] } });
  expect(j.entries).toEqual([actions[0]!, actions[1]!, actions[4]!, actions[2]!, actions[3]!]);
  expect(j.undoAll()).toEqual({ undone: 5, errors: [] });
  expect(calls).toEqual(["route del 10.1.0.0/16 dev roam0 metric 50", "address del 198.18.0.7/32 dev roam0", "resolvectl revert roam0", "link set dev roam0 down", "link set dev roam0 mtu 1500"]);
  expect(existsSync(statePath)).toBe(false);
});

test("a kernel refusal on undo is kept and reported as one line naming the operation and errno", () => {
  let refuse = true;
  const { tools } = recorder((line) => (line.startsWith("route del") && refuse ? 1 : null)); // EPERM
  const j = new Journal(null, tools);
  for (const a of actions.slice(0, 4)) j.record(a);
  const report = j.undoAll();
  expect(report.undone).toBe(3);
  expect(report.errors).toEqual(["route del 10.1.0.0/16 dev roam0 metric 50: Operation not permitted (EPERM)"]);
  expect(j.entries).toEqual([actions[3]!]);
  refuse = false;
  expect(j.undoAll()).toEqual({ undone: 1, errors: [] });
});

test("a journal written by an older roam (the same version-1 file, made when undo spawned `ip`) is undone", () => {
  const statePath = join(dir, "roam0.json");
  // Verbatim what roam wrote before the move to rtnetlink (JSON.stringify(state, null, 1)).
  writeFileSync(
    statePath,
    '{\n "version": 1,\n "pid": 2147483646,\n "entries": [\n  {\n   "kind": "link-mtu",\n   "dev": "roam0",\n   "mtu": 1500\n  },\n  {\n   "kind": "link-down",\n   "dev": "roam0"\n  },\n  {\n   "kind": "addr-del",\n   "dev": "roam0",\n   "cidr": "198.19.0.1/32"\n  },\n  {\n   "kind": "route-del",\n   "dev": "roam0",\n   "cidr": "203.0.113.0/24"\n  },\n  {\n   "kind": "resolved-revert",\n   "link": "roam0"\n  }\n ]\n}\n',
    { mode: 0o600 },
  );
  const { tools, calls } = recorder();
  expect(recoverFromStateFile(statePath, tools)).toEqual({ undone: 5, errors: [] });
  expect(calls).toEqual(["resolvectl revert roam0", "route del 203.0.113.0/24 dev roam0", "address del 198.19.0.1/32 dev roam0", "link set dev roam0 down", "link set dev roam0 mtu 1500"]);
  expect(existsSync(statePath)).toBe(false);
});

test("recovery refuses a journal whose process is still alive, unless forced", () => {
  const statePath = join(dir, "live.json");
  writeFileSync(statePath, JSON.stringify({ version: 1, pid: process.ppid, entries: [actions[1]] }));
  const { tools, calls } = recorder();
  expect(() => recoverFromStateFile(statePath, { ...tools })).toThrow(JournalError);
  expect(calls).toEqual([]);
  expect(recoverFromStateFile(statePath, { ...tools, force: true })).toEqual({ undone: 1, errors: [] });
  expect(calls).toEqual(["link set dev roam0 down"]);
});

test("recovery of a damaged state file is a JournalError naming the file and the reason", () => {
  const statePath = join(dir, "bad.json");
  writeFileSync(statePath, '{"version":1,"pid":1,"entries":[{"kind":"rm-rf","path":"/"}]}');
  expect(() => recoverFromStateFile(statePath, recorder().tools)).toThrow(/bad\.json: entry 0: unknown kind "rm-rf"/);
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
