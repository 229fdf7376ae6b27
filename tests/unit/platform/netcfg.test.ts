// netcfg + journal against the real kernel, inside a private network namespace.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Journal, recoverFromStateFile } from "../../../platform/linux/journal.ts";
import { applyAddressing, LinuxNetConfig, NetConfigError } from "../../../platform/linux/netcfg.ts";
import { type Runner, spawnRunner } from "../../../platform/linux/run.ts";
import { fixture, inNs, isRoot, mustRun, withNetns } from "./netns.ts";

/** Runs every command of the code under test inside namespace `ns`. */
const nsRunner = (ns: string): Runner => (argv) => spawnRunner(inNs(ns, [...argv]));

/**
 * Everything netcfg may touch: routes of all tables (v4 and v6), addresses, link MTU and state. The
 * qdisc is left out: the kernel attaches pfifo_fast the first time a link goes up and keeps it.
 */
function snapshot(ns: string, dev: string): string {
  return [
    mustRun(["ip", "-n", ns, "-4", "route", "show", "table", "all"]),
    mustRun(["ip", "-n", ns, "-6", "route", "show", "table", "all"]),
    mustRun(["ip", "-n", ns, "address", "show"]),
    mustRun(["ip", "-n", ns, "-o", "link", "show", "dev", dev]),
  ]
    .join("\n---\n")
    .replace(/ qdisc \S+/g, "");
}

const config = { ip4: ["198.18.77.5"], ip6: ["2001:db8:77::5"], routes: ["198.19.0.0/16", "10.99.0.0/24", "2001:db8:1234::/48"] };

test.skipIf(!isRoot)("addresses and routes applied, then undoAll leaves `ip route`/`ip addr` exactly as before", async () => {
  await withNetns((ns) => {
    mustRun(["ip", "-n", ns, "tuntap", "add", "dev", "roamt1", "mode", "tun"]);
    const before = snapshot(ns, "roamt1");
    const journal = new Journal(null, nsRunner(ns));
    const net = new LinuxNetConfig(journal, nsRunner(ns));
    applyAddressing(net, "roamt1", config, 1380);
    expect(journal.entries.map((e) => e.kind)).toEqual(["link-mtu", "link-down", "addr-del", "addr-del", "route-del", "route-del", "route-del"]);
    const routes4 = mustRun(["ip", "-n", ns, "-4", "route", "show", "dev", "roamt1"]);
    expect(routes4).toContain("198.19.0.0/16");
    expect(routes4).toContain("10.99.0.0/24");
    expect(mustRun(["ip", "-n", ns, "-6", "route", "show", "dev", "roamt1"])).toContain("2001:db8:1234::/48");
    const addrs = mustRun(["ip", "-n", ns, "address", "show", "dev", "roamt1"]);
    expect(addrs).toContain("inet 198.18.77.5/32");
    expect(addrs).toContain("inet6 2001:db8:77::5/128");
    expect(net.link("roamt1")).toEqual({ mtu: 1380, up: true });

    const report = journal.undoAll();
    expect(report).toEqual({ undone: 7, errors: [] });
    expect(snapshot(ns, "roamt1")).toBe(before);
    // Idempotent: nothing left to undo.
    expect(journal.undoAll()).toEqual({ undone: 0, errors: [] });
    expect(snapshot(ns, "roamt1")).toBe(before);
  });
});

test.skipIf(!isRoot)("undo tolerates items that vanished with the device", async () => {
  await withNetns((ns) => {
    mustRun(["ip", "-n", ns, "tuntap", "add", "dev", "roamt2", "mode", "tun"]);
    const journal = new Journal(null, nsRunner(ns));
    applyAddressing(new LinuxNetConfig(journal, nsRunner(ns)), "roamt2", config, 1300);
    mustRun(["ip", "-n", ns, "tuntap", "del", "dev", "roamt2", "mode", "tun"]);
    expect(journal.undoAll()).toEqual({ undone: 7, errors: [] });
  });
});

test.skipIf(!isRoot)("a failing change is a typed error naming the command, and is not journaled", async () => {
  await withNetns((ns) => {
    mustRun(["ip", "-n", ns, "tuntap", "add", "dev", "roamt3", "mode", "tun"]);
    const journal = new Journal(null, nsRunner(ns));
    const net = new LinuxNetConfig(journal, nsRunner(ns));
    net.linkUp("roamt3");
    net.addRoute("roamt3", "198.19.0.0/16");
    let err: unknown;
    try {
      net.addRoute("roamt3", "198.19.0.0/16"); // already there: "File exists"
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetConfigError);
    expect((err as Error).message).toContain("ip route add 198.19.0.0/16 dev roamt3");
    expect((err as Error).message).toContain("File exists");
    expect(journal.entries.length).toBe(2);
    expect(() => net.addRoute("roamt3", "198.19.0.0/33")).toThrow(NetConfigError);
    expect(() => net.addAddress("-roamt3", "198.18.0.1/32")).toThrow(NetConfigError);
    expect(journal.undoAll()).toEqual({ undone: 2, errors: [] });
  });
});

test.skipIf(!isRoot)("crash recovery: a SIGKILLed process's journal is undone from its state file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "roam-journal-"));
  try {
    await withNetns(async (ns) => {
      mustRun(["ip", "-n", ns, "tuntap", "add", "dev", "roamt4", "mode", "tun"]);
      const before = snapshot(ns, "roamt4");
      const statePath = join(dir, "run", "roam", "roamt4.json");
      const child = Bun.spawn(inNs(ns, [process.execPath, fixture("netcfg-crash.ts"), statePath, "roamt4"]), { stdout: "pipe", stderr: "pipe" });
      const reader = child.stdout.getReader();
      let out = "";
      while (!out.includes("configured")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`child ended early: ${await new Response(child.stderr).text()}`);
        out += new TextDecoder().decode(value);
      }
      child.kill("SIGKILL");
      await child.exited;
      expect(child.signalCode).toBe("SIGKILL");
      expect(snapshot(ns, "roamt4")).not.toBe(before);
      expect(statSync(statePath).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, "run", "roam")).mode & 0o777).toBe(0o700);

      const report = recoverFromStateFile(statePath, { runner: nsRunner(ns) });
      expect(report).toEqual({ undone: 6, errors: [] }); // MTU, link, 2 addresses, 2 routes
      expect(existsSync(statePath)).toBe(false);
      expect(snapshot(ns, "roamt4")).toBe(before);
      // A second recovery finds nothing to do.
      expect(recoverFromStateFile(statePath, { runner: nsRunner(ns) })).toEqual({ undone: 0, errors: [] });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
