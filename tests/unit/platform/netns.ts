// Test helpers: a private network namespace per test (name prefix "roam-t-"), always deleted.
import { join } from "node:path";

export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
export const ROOT_SKIP_REASON = "needs root (network namespaces, /dev/net/tun): skipped";
if (!isRoot) console.warn(`tests/unit/platform: ${ROOT_SKIP_REASON}`);

export const repoRoot = join(import.meta.dir, "../../..");
export const fixture = (name: string): string => join(import.meta.dir, "fixtures", name);

export interface Ran {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function run(argv: string[], timeoutMs = 20_000, cwd?: string): Ran {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore", timeout: timeoutMs, cwd, env: { ...process.env, LC_ALL: "C" } });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export function mustRun(argv: string[]): string {
  const r = run(argv);
  if (r.exitCode !== 0) throw new Error(`\`${argv.join(" ")}\` exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

/** Creates a fresh namespace, runs fn, deletes the namespace even when fn throws. */
export async function withNetns<T>(fn: (ns: string) => T | Promise<T>): Promise<T> {
  const ns = `roam-t-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`;
  mustRun(["ip", "netns", "add", ns]);
  try {
    mustRun(["ip", "-n", ns, "link", "set", "lo", "up"]);
    return await fn(ns);
  } finally {
    run(["ip", "netns", "del", ns]);
  }
}

/** argv prefixed to run a command inside the namespace. */
export const inNs = (ns: string, argv: string[]): string[] => ["ip", "netns", "exec", ns, ...argv];

/** Runs a bun script inside the namespace. */
export function bunInNs(ns: string, script: string, args: string[] = [], timeoutMs = 20_000): Ran {
  return run(inNs(ns, [process.execPath, script, ...args]), timeoutMs);
}
