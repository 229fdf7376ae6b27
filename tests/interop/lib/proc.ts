// Process helpers for the interop harness: run an argv (never a shell string), wait for a condition,
// stop a pid and prove it is gone, and a process-wide list of cleanups that also runs on SIGINT/SIGTERM
// and at exit, so a failing or interrupted test still removes what it made.

import { existsSync, readFileSync } from "node:fs";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: Record<string, string>;
  /** Kill the command after this many milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  readonly stdin?: string;
}

/** Runs argv to completion; never throws on a non-zero exit (the caller reads `code`). */
export function run(argv: readonly string[], opts: RunOptions = {}): RunResult {
  const r = Bun.spawnSync([...argv], {
    env: { ...process.env, ...opts.env },
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 30_000,
    killSignal: "SIGKILL",
  });
  return {
    code: r.exitCode ?? -1,
    stdout: r.stdout.toString(),
    stderr: r.stderr.toString(),
  };
}

/** Runs argv and throws (quoting the command and its stderr) when it does not exit 0. */
export function mustRun(argv: readonly string[], opts: RunOptions = {}): string {
  const r = run(argv, opts);
  if (r.code !== 0) {
    throw new Error(`command failed (exit ${r.code}): ${argv.join(" ")}\n${r.stderr}${r.stdout}`.trimEnd());
  }
  return r.stdout;
}

/** A text file's contents, or "" while it does not exist (logs of processes just started). */
export const readIfExists = (path: string): string => (existsSync(path) ? readFileSync(path, "utf8") : "");

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `intervalMs` until it returns a truthy value; throws `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | null,
  timeoutMs = 10_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** True while `pid` is a live process (a zombie counts as gone). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // /proc/PID/stat: "pid (comm) STATE ..."; comm may hold spaces, so read after the last ')'.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Sends SIGTERM to `pid`, then SIGKILL after `graceMs`; resolves once the pid is gone, throws if it stays. */
export async function stopPid(pid: number, graceMs = 5_000): Promise<void> {
  if (!pidAlive(pid)) return;
  signal(pid, "SIGTERM");
  try {
    await waitFor(`pid ${pid} to exit after SIGTERM`, () => !pidAlive(pid), graceMs, 50);
    return;
  } catch {
    signal(pid, "SIGKILL");
  }
  await waitFor(`pid ${pid} to exit after SIGKILL`, () => !pidAlive(pid), 2_000, 20);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

// ---- cleanup registry -----------------------------------------------------------------------------

type Cleanup = () => void;
const cleanups = new Map<number, Cleanup>();
let nextCleanupId = 1;
let hooksInstalled = false;

/**
 * Registers a synchronous cleanup; returns a function that runs it now (once) and unregisters it.
 * Every registered cleanup runs, newest first, on SIGINT/SIGTERM/SIGHUP and at process exit.
 */
export function onCleanup(fn: Cleanup): () => void {
  installHooks();
  const id = nextCleanupId++;
  cleanups.set(id, fn);
  return () => {
    if (cleanups.delete(id)) fn();
  };
}

/** Runs every pending cleanup, newest first; errors are reported and do not stop the others. */
export function runAllCleanups(): void {
  const pending = [...cleanups.entries()].reverse();
  cleanups.clear();
  for (const [, fn] of pending) {
    try {
      fn();
    } catch (e) {
      console.error("interop cleanup failed:", e);
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", runAllCleanups);
  const exitCodes = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
  for (const sig of ["SIGHUP", "SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      runAllCleanups();
      process.exit(exitCodes[sig]);
    });
  }
}
