// --background starts a second process of this executable (Bun cannot fork). Starting it costs as much as
// starting roam itself (~25-40 ms of loading), so cli/main.ts starts it first thing, before the parent
// loads and checks anything; the child loads while the parent works and then waits for the request on
// its standard input. A parent that ends without sending one (a usage error, --help) closes that input,
// and the child ends without having done anything.

import { existsSync } from "node:fs";
import { SERVICE_SOCKET } from "./state-dir.ts";

type TunnelProcess = Bun.Subprocess<"pipe", "pipe", "ignore">;

let ahead: TunnelProcess | null = null;

/** How to run this same program again: the compiled executable, or bun with the script. */
export function selfCommand(): string[] {
  const script = process.argv[1];
  if (script && /\.(ts|js)$/.test(script) && !script.startsWith("/$bunfs/")) return [process.execPath, script];
  return [process.execPath];
}

// Bun.spawn rather than node:child_process: the first node spawn of a process costs ~5-9 ms (its module
// loads), Bun.spawn ~0.4 ms (measured 2026-11-23 on the 2-core machine, compiled binaries).
function startTunnelProcess(): TunnelProcess {
  const [exe, ...pre] = selfCommand();
  return Bun.spawn([exe!, ...pre, "connect", "--internal-child"], { stdin: "pipe", stdout: "pipe", stderr: "ignore", detached: true });
}

/**
 * `roam connect ... --background` (before any option is checked): start the tunnel process now, unless a
 * roam service listens, which runs the tunnel itself (cli/service.ts).
 */
export function startTunnelProcessAhead(argv: readonly string[]): void {
  if (ahead === null && argv[0] === "connect" && argv.includes("--background") && !argv.includes("--internal-child") && !existsSync(SERVICE_SOCKET)) {
    ahead = startTunnelProcess();
  }
}

/** The tunnel process for a --background connect: the one started ahead, or a new one. */
export function takeTunnelProcess(): TunnelProcess {
  const child = ahead ?? startTunnelProcess();
  ahead = null;
  return child;
}

/** Ends a tunnel process started ahead that was not needed after all (it has done nothing yet). */
export function discardTunnelProcess(): void {
  if (ahead === null) return;
  void ahead.stdin.end();
  ahead = null;
}
