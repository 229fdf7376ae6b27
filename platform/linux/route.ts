// Which local address the kernel would use to reach a host (`ip route get`): the address the gateway
// sees us from before any NAT, needed for NAT detection (RFC 7296 §2.23).

import { spawnRunner, type Runner } from "./run.ts";

/** The preferred source address towards `dest`, or null when there is no route. */
export function sourceAddressFor(dest: string, runner: Runner = spawnRunner): string | null {
  const r = runner(["ip", "-j", "route", "get", dest]);
  if (r.exitCode !== 0) return null;
  try {
    const rows = JSON.parse(r.stdout) as { prefsrc?: unknown }[];
    const src = rows[0]?.prefsrc;
    return typeof src === "string" ? src : null;
  } catch {
    return null;
  }
}
