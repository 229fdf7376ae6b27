// Two network namespaces joined by one veth link: the plain-routing reference, and the "wire" two roam
// data-path endpoints tunnel over.
//
//   roam-b-left-<tag>                           roam-b-right-<tag>
//  +----------------------+       veth        +----------------------+
//  | bench0 10.99.0.1/24  |-------------------| bench0 10.99.0.2/24  |
//  | TUN    10.200.0.1/24 |  ESP-in-UDP 4500  | TUN    10.200.0.2/24 |
//  +----------------------+                   +----------------------+
//
// Only namespaces made here are touched; destroy() (also run on exit and on SIGINT/SIGTERM) kills what
// is left inside them and deletes them.

import { closeSync, openSync } from "node:fs";
import { mustRun, onCleanup, run, type RunOptions, type RunResult } from "../../interop/lib/proc.ts";
import { killAllIn } from "../../interop/lib/topology.ts";

export const PAIR = {
  left: "10.99.0.1",
  right: "10.99.0.2",
  leftInner: "10.200.0.1",
  rightInner: "10.200.0.2",
  innerPrefix: 24,
} as const;

export interface Pair {
  readonly left: string;
  readonly right: string;
  exec(ns: string, argv: readonly string[], opts?: RunOptions): RunResult;
  /** A long-running argv in `ns` (`ip netns exec` execs it: the pid is the command's own). */
  spawn(ns: string, argv: readonly string[], logFile?: string): Bun.Subprocess<"ignore", "pipe", "pipe" | number>;
  destroy(): void;
}

export function createPair(): Pair {
  const tag = `${process.pid}-${Math.floor(Math.random() * 0x10000).toString(16)}`;
  const left = `roam-b-left-${tag}`;
  const right = `roam-b-right-${tag}`;
  const created: string[] = [];
  let destroyed = false;
  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    for (const ns of created) killAllIn(ns);
    for (const ns of created) run(["ip", "netns", "del", ns]);
  };
  const unregister = onCleanup(destroy);
  try {
    for (const ns of [left, right]) {
      mustRun(["ip", "netns", "add", ns]);
      created.push(ns);
      mustRun(["ip", "-n", ns, "link", "set", "lo", "up"]);
      mustRun(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
    }
    mustRun(["ip", "link", "add", "name", "bench0", "netns", left, "type", "veth", "peer", "name", "bench0", "netns", right]);
    mustRun(["ip", "-n", left, "addr", "add", `${PAIR.left}/24`, "dev", "bench0"]);
    mustRun(["ip", "-n", right, "addr", "add", `${PAIR.right}/24`, "dev", "bench0"]);
    mustRun(["ip", "-n", left, "link", "set", "bench0", "up"]);
    mustRun(["ip", "-n", right, "link", "set", "bench0", "up"]);
  } catch (e) {
    unregister();
    throw e;
  }
  return {
    left,
    right,
    exec: (ns, argv, opts) => run(["ip", "netns", "exec", ns, ...argv], opts),
    spawn(ns, argv, logFile) {
      const fd = logFile === undefined ? undefined : openSync(logFile, "a");
      try {
        return Bun.spawn(["ip", "netns", "exec", ns, ...argv], { stdin: "ignore", stdout: "pipe", stderr: fd ?? "pipe" });
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    },
    destroy: unregister,
  };
}

