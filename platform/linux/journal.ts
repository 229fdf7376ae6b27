// The undo journal: every change roam makes to the system (address, route, MTU, link state, DNS) is
// first written down as the action that reverts it, and the list is persisted as JSON, so that a
// later process can revert what a crashed one left behind (`roam disconnect`, the next connect). Changes
// that end with the process anyway (the settings of its own TUN device, RecordOptions.volatile) stay in
// memory only.
//
// Write-ahead: the undo action is recorded and persisted BEFORE the change is made; if the change
// then fails, the entry is dropped again. A crash between the two leaves an undo for something that
// may not exist, which undo tolerates ("already gone" counts as done).

import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type PreviousFile, readIfPresent, restoreFile } from "./files.ts";
import { type LinkOps, isGone, RtnlError, sharedRtnl } from "./rtnl.ts";
import { CommandError, isGoneError, type Runner, spawnRunner } from "./run.ts";

export type UndoAction =
  | { kind: "addr-del"; dev: string; cidr: string }
  | { kind: "route-del"; dev: string; cidr: string; metric?: number }
  | { kind: "link-mtu"; dev: string; mtu: number }
  | { kind: "link-down"; dev: string }
  | { kind: "resolved-revert"; link: string }
  /** Put `previous` back at `path`, unless someone replaced our content (`ours`) meanwhile. */
  | { kind: "file-restore"; path: string; previous: PreviousFile; ours: string };

export interface StateFile {
  version: 1;
  /** The process that made the changes (a live one must not be undone under its feet). */
  pid: number;
  entries: UndoAction[];
}

export interface UndoReport {
  /** Actions reverted (or found already reverted). */
  undone: number;
  /** One line per action that could not be reverted; those stay in the journal. */
  errors: string[];
}

export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JournalError";
  }
}

/** What undo uses: rtnetlink for links, addresses and routes; a command runner for resolvectl. */
export interface HostTools {
  /** Defaults to spawning the command. */
  runner?: Runner;
  /** Defaults to this process's own rtnetlink socket (sharedRtnl), opened on first use. */
  rtnl?: LinkOps;
}

/**
 * Runs one undo action. Throws on failure, except when the thing is already gone (the TUN vanished and
 * took its routes and addresses with it, or an earlier undo already ran).
 */
export function executeUndo(action: UndoAction, runner: Runner, rtnl: () => LinkOps): void {
  try {
    switch (action.kind) {
      case "addr-del":
        return rtnl().delAddress(action.dev, action.cidr);
      case "route-del":
        return rtnl().delRoute(action.dev, action.cidr, action.metric);
      case "link-mtu":
        return rtnl().setMtu(action.dev, action.mtu);
      case "link-down":
        return rtnl().setUp(action.dev, false);
      case "resolved-revert": {
        const argv = ["resolvectl", "revert", action.link];
        const r = runner(argv);
        if (r.exitCode !== 0 && !isGoneError(r.stderr)) throw new CommandError(argv, r.exitCode, r.stderr);
        return;
      }
      case "file-restore": {
        const now = readIfPresent(action.path);
        // Someone else (NetworkManager, the admin) rewrote the file after us: theirs wins.
        if (now !== null && now !== action.ours) return;
        restoreFile(action.path, action.previous);
        return;
      }
    }
  } catch (e) {
    if (!isGone(e)) throw e;
  }
}

/** One line for the undo report: RtnlError and CommandError name their operation already. */
function failureLine(a: UndoAction, e: unknown): string {
  if (e instanceof RtnlError || e instanceof CommandError) return e.message;
  const what = a.kind === "file-restore" ? `restore ${a.path}` : a.kind;
  return `${what}: ${e instanceof Error ? e.message : String(e)}`;
}

export interface RecordOptions {
  /**
   * The change ends with this process anyway: a setting of our own TUN device (its MTU, link state,
   * addresses, routes through it), which the kernel removes with the device when the process's descriptor
   * closes, however it ends. Kept for the orderly undo, not written to the state file (a write costs
   * ~0.2 ms, and a connect makes five or more such changes).
   */
  volatile?: boolean;
}

export class Journal {
  private readonly list: UndoAction[];
  /** Entries recorded as volatile (see RecordOptions): never in the state file. */
  private readonly volatile = new WeakSet<UndoAction>();
  /** What the state file holds as far as this journal knows (null: no file); undefined until it writes. */
  private written: string | null | undefined = undefined;

  /** `statePath` null keeps the journal in memory only; `entries` continues a loaded journal. */
  constructor(
    readonly statePath: string | null,
    private readonly tools: HostTools = {},
    private readonly pid: number = process.pid,
    entries: readonly UndoAction[] = [],
  ) {
    this.list = [...entries];
  }

  /** The rtnetlink socket changes and undo go through (LinuxNetConfig uses it too). */
  get rtnl(): LinkOps {
    return this.tools.rtnl ?? sharedRtnl();
  }

  get entries(): readonly UndoAction[] {
    return this.list;
  }

  /** Appends an undo action and persists the journal before the caller makes the change. */
  record(action: UndoAction, opts: RecordOptions = {}): void {
    if (opts.volatile) this.volatile.add(action);
    this.list.push(action);
    this.persist();
  }

  /** Removes `action` (the change it would revert was not made after all). */
  drop(action: UndoAction): void {
    const i = this.list.lastIndexOf(action);
    if (i >= 0) this.list.splice(i, 1);
    this.persist();
  }

  /** Records `undo`, runs `change`, and drops `undo` again if `change` throws. */
  guard<T>(undo: UndoAction, change: () => T, opts: RecordOptions = {}): T {
    this.record(undo, opts);
    try {
      return change();
    } catch (e) {
      this.drop(undo);
      throw e;
    }
  }

  /**
   * Reverts everything in reverse order. Items already gone count as undone; failures are reported
   * and kept so a later call can retry. Calling it again after success does nothing.
   */
  undoAll(): UndoReport {
    const report: UndoReport = { undone: 0, errors: [] };
    const kept: UndoAction[] = [];
    for (let i = this.list.length - 1; i >= 0; i--) {
      const action = this.list[i]!;
      try {
        executeUndo(action, this.tools.runner ?? spawnRunner, () => this.rtnl);
        report.undone++;
      } catch (e) {
        report.errors.push(failureLine(action, e));
        kept.unshift(action);
      }
    }
    this.list.length = 0;
    this.list.push(...kept);
    this.persist();
    return report;
  }

  /** Writes the entries that are not volatile to the state file (removes it when there are none), if they changed. */
  private persist(): void {
    if (this.statePath === null) return;
    const entries = this.list.filter((a) => !this.volatile.has(a));
    if (entries.length === 0) {
      if (this.written !== null) removeStateFile(this.statePath);
      this.written = null;
      return;
    }
    const state: StateFile = { version: 1, pid: this.pid, entries };
    const text = `${JSON.stringify(state, null, 1)}\n`;
    if (text === this.written) return;
    mkdirSync(dirname(this.statePath), { recursive: true, mode: 0o700 });
    const tmp = `${this.statePath}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, this.statePath);
    this.written = text;
  }
}

function removeStateFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there: nothing to remove
  }
}

/** Parses a state file's text. Returns a reason instead of throwing on malformed content. */
export function parseStateFile(text: string): { ok: true; state: StateFile } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (typeof raw !== "object" || raw === null) return { ok: false, reason: "not an object" };
  const o = raw as Record<string, unknown>;
  if (o.version !== 1) return { ok: false, reason: `unknown version ${JSON.stringify(o.version)}, expected 1` };
  if (typeof o.pid !== "number" || !Number.isInteger(o.pid)) return { ok: false, reason: "pid is not an integer" };
  if (!Array.isArray(o.entries)) return { ok: false, reason: "entries is not a list" };
  for (const [i, e] of o.entries.entries()) {
    const why = checkAction(e);
    if (why !== null) return { ok: false, reason: `entry ${i}: ${why}` };
  }
  return { ok: true, state: { version: 1, pid: o.pid, entries: o.entries as UndoAction[] } };
}

const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0 && !v.startsWith("-");

function checkAction(e: unknown): string | null {
  if (typeof e !== "object" || e === null) return "not an object";
  const a = e as Record<string, unknown>;
  switch (a.kind) {
    case "addr-del":
    case "route-del":
      if (a.metric !== undefined && !Number.isInteger(a.metric)) return "metric is not an integer";
      return isStr(a.dev) && isStr(a.cidr) ? null : "needs dev and cidr";
    case "link-mtu":
      return isStr(a.dev) && Number.isInteger(a.mtu) ? null : "needs dev and an integer mtu";
    case "link-down":
      return isStr(a.dev) ? null : "needs dev";
    case "resolved-revert":
      return isStr(a.link) ? null : "needs link";
    case "file-restore": {
      if (!isStr(a.path) || typeof a.ours !== "string") return "needs path and ours";
      const p = a.previous as Record<string, unknown> | null;
      if (typeof p !== "object" || p === null) return "needs previous";
      if (p.type === "absent") return null;
      if (p.type === "symlink") return typeof p.target === "string" ? null : "symlink needs target";
      if (p.type === "file") return typeof p.content === "string" && Number.isInteger(p.mode) ? null : "file needs content and mode";
      return `unknown previous type ${JSON.stringify(p.type)}`;
    }
    default:
      return `unknown kind ${JSON.stringify(a.kind)}`;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/**
 * Reverts the journal a dead process left at `path` and removes the file when everything was undone.
 * A missing file means nothing to do. Refuses while the recorded process is still alive (unless
 * `force`), and throws JournalError for a file it cannot read or understand.
 */
export function recoverFromStateFile(path: string, opts: HostTools & { force?: boolean } = {}): UndoReport {
  if (!existsSync(path)) return { undone: 0, errors: [] };
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new JournalError(`reading state file ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = parseStateFile(text);
  if (!parsed.ok) throw new JournalError(`state file ${path}: ${parsed.reason}`);
  const { pid, entries } = parsed.state;
  if (!opts.force && pid !== process.pid && processAlive(pid)) {
    throw new JournalError(`state file ${path} belongs to running process ${pid}; stop it first`);
  }
  return new Journal(path, { runner: opts.runner, rtnl: opts.rtnl }, pid, entries).undoAll();
}
