// netcfg + journal against the real kernel, inside a private network namespace: the code under test
// talks rtnetlink through a socket created inside the namespace (Rtnl.openIn), and runs any command
// (resolvectl) there through `ip netns exec`.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HostTools, Journal, recoverFromStateFile } from "../../../platform/linux/journal.ts";
import { applyAddressing, LinuxNetConfig, NetConfigError, prepareLink } from "../../../platform/linux/netcfg.ts";
import { Rtnl, RtnlError } from "../../../platform/linux/rtnl.ts";
import { spawnRunner } from "../../../platform/linux/run.ts";
import { fixture, inNs, isRoot, mustRun, withNetns } from "./netns.ts";

/** A fresh namespace with rtnetlink and commands of the code under test acting inside it. */
async function withNsTools(fn: (ns: string, tools: Required<HostTools>) => void | Promise<void>): Promise<void> {
  await withNetns(async (ns) => {
    const rtnl = Rtnl.openIn(ns);
    try {
      await fn(ns, { rtnl, runner: (argv) => spawnRunner(inNs(ns, [...argv])) });
    } finally {
      rtnl.close();
    }
  });
}

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
  await withNsTools((ns, tools) => {
    mustRun(["ip", "-n", ns, "tuntap", "add", "dev", "roamt1", "mode", "tun"]);
    const before = snapshot(ns, "roamt1");
    const journal = new Journal(null, tools);
    const net = new LinuxNetConfig(journal);
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

test.skipIf(!isRoot)("the device is looked up once per call, not once per change; prepareLink ahead leaves applyAddressing the addresses and routes", async () => {
  await withNsTools((ns, tools) => {
    mustRun(["ip", "-n", ns, "tuntap", "add", "dev", "roamt5", "mode", "tun"]);
    const ops: string[] = [];
    const rtnl = tools.rtnl as unknown as { request(op: string, build: unknown): unknown };
    const request = rtnl.request.bind(rtnl);
    rtnl.request = (op, build) => {
      ops.push(op);
      return request(op, build);
    };
    const journal = new Journal(null, tools);
    const net = new LinuxNetConfig(journal);
    prepareLink(net, "roamt5", 1380);
    expect(ops).toEqual(["link show dev roamt5", "link set dev roamt5 mtu 1380", "link set dev roamt5 up"]);
    ops.length = 0;
    applyAddressing(net, "roamt5", config, 1380);
    expect(ops).toEqual([
      "link show dev roamt5",
      "address add 198.18.77.5/32 dev roamt5",
      "address add 2001:db8:77::5/128 dev roamt5",
      "route add 198.19.0.0/16 dev roamt5",
      "route add 10.99.0.0/24 dev roamt5",
      "route add 2001:db8:1234::/48 dev roamt5",
    ]);
    expect(journal.entries.map((e) => e.kind)).toEqual(["link-mtu", "link-down", "addr-del", "addr-del", "route-del", "route-del", "route-del"]);
    // Outside a pinned call the kernel is asked again: it holds what was set.
    expect(net.link("roamt5")).toEqual({ mtu: 1380, up: true });
    expect(mustRun(["ip", "-n", ns, "-4", "route", "show", "dev", "roamt5"])).toContain("10.99.0.0/24");
    // A device that is not there fails the lookup in one line, with nothing journaled.
    const entries = journal.entries.length;
    expect(() => prepareLink(net, "roamt9", 1380)).toThrow("link show dev roamt9: No such device (ENODEV)");
    expect(journal.entries.length).toBe(entries);
    expect(journal.undoAll()).toEqual({ undone: 7, errors: [] });
  });
});

test.skipIf(!isRoot)("undo tolerates items that vanished with the device", async () => {
  await withNsTools((ns, tools) => {
    mustRun(["ip", "-n", ns, "tuntap", "add", "dev", "roamt2", "mode", "tun"]);
    const journal = new Journal(null, tools);
    applyAddressing(new LinuxNetConfig(journal), "roamt2", config, 1300);
    mustRun(["ip", "-n", ns, "tuntap", "del", "dev", "roamt2", "mode", "tun"]);
    expect(journal.undoAll()).toEqual({ undone: 7, errors: [] });
  });
});

test.skipIf(!isRoot)("a failing change is a typed error naming the operation, and is not journaled", async () => {
  await withNsTools((ns, tools) => {
    mustRun(["ip", "-n", ns, "tuntap", "add", "dev", "roamt3", "mode", "tun"]);
    const journal = new Journal(null, tools);
    const net = new LinuxNetConfig(journal);
    net.linkUp("roamt3");
    net.addRoute("roamt3", "198.19.0.0/16");
    let err: unknown;
    try {
      net.addRoute("roamt3", "198.19.0.0/16"); // already there: "File exists"
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetConfigError);
    expect((err as Error).message).toContain("route add 198.19.0.0/16 dev roamt3");
    expect((err as Error).message).toContain("File exists");
    expect((err as Error).message).toBe("route add 198.19.0.0/16 dev roamt3: File exists (EEXIST)");
    expect((err as NetConfigError).errno).toBe(17);
    expect(journal.entries.length).toBe(2);
    // A device that is not there: one line, ENODEV, nothing journaled.
    expect(() => net.addRoute("roamt9", "10.98.0.0/24")).toThrow("route add 10.98.0.0/24 dev roamt9: No such device (ENODEV)");
    expect(() => net.setMtu("roamt9", 1400)).toThrow("link show dev roamt9: No such device (ENODEV)");
    // The kernel's own explanation (extended ACK) is kept.
    expect(() => net.addRoute("roamt3", "10.97.0.5/24")).toThrow("route add 10.97.0.5/24 dev roamt3: Invalid argument (EINVAL): Invalid prefix for given prefix length");
    expect(journal.entries.length).toBe(2);
    expect(() => net.addRoute("roamt3", "198.19.0.0/33")).toThrow(NetConfigError);
    expect(() => net.addAddress("-roamt3", "198.18.0.1/32")).toThrow(NetConfigError);
    expect(journal.undoAll()).toEqual({ undone: 2, errors: [] });
  });
});

test.skipIf(!isRoot)("crash recovery: a SIGKILLed process's journal is undone from its state file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "roam-journal-"));
  try {
    await withNsTools(async (ns, tools) => {
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

      const report = recoverFromStateFile(statePath, tools);
      expect(report).toEqual({ undone: 6, errors: [] }); // MTU, link, 2 addresses, 2 routes
      expect(existsSync(statePath)).toBe(false);
      expect(snapshot(ns, "roamt4")).toBe(before);
      // A second recovery finds nothing to do.
      expect(recoverFromStateFile(statePath, tools)).toEqual({ undone: 0, errors: [] });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.skipIf(!isRoot)("routes and addresses look exactly as `ip route add` / `ip address add ... nodad` make them", async () => {
  await withNsTools((ns, tools) => {
    mustRun(["ip", "-n", ns, "tuntap", "add", "dev", "roamt5", "mode", "tun"]);
    const net = new LinuxNetConfig(new Journal(null, tools));
    net.linkUp("roamt5");
    const ip = (...args: string[]): string => mustRun(["ip", "-n", ns, ...args]);
    // Same command shapes, different prefixes: ours, then ip's.
    net.addRoute("roamt5", "10.91.0.0/24");
    ip("route", "add", "10.92.0.0/24", "dev", "roamt5");
    net.addRoute("roamt5", "10.93.0.0/24", { metric: 50 });
    ip("route", "add", "10.94.0.0/24", "dev", "roamt5", "metric", "50");
    net.addRoute("roamt5", "2001:db8:91::/48");
    ip("route", "add", "2001:db8:92::/48", "dev", "roamt5");
    net.addAddress("roamt5", "198.18.91.1/32");
    ip("address", "add", "198.18.92.1/32", "dev", "roamt5");
    net.addAddress("roamt5", "2001:db8:91::1/128");
    ip("-6", "address", "add", "2001:db8:92::1/128", "dev", "roamt5", "nodad");
    /** The line of `text` naming `ours` equals the one naming `theirs`, prefixes aside. */
    const pair = (text: string, ours: string, theirs: string): void => {
      const line = (x: string): string | undefined =>
        text
          .split("\n")
          .find((l) => l.includes(x))
          ?.replaceAll(x, "P")
          .trimEnd();
      expect(line(ours)).toBeDefined();
      expect(line(ours)).toBe(line(theirs));
    };
    const r4 = ip("-d", "-4", "route", "show", "table", "all", "dev", "roamt5");
    pair(r4, "10.91.0.0/24", "10.92.0.0/24");
    pair(r4, "10.93.0.0/24", "10.94.0.0/24");
    expect(r4).toContain("unicast 10.93.0.0/24 table main proto boot scope link metric 50");
    pair(ip("-d", "-6", "route", "show", "table", "all", "dev", "roamt5"), "2001:db8:91::/48", "2001:db8:92::/48");
    pair(ip("-d", "-6", "route", "show", "table", "local"), "2001:db8:91::1", "2001:db8:92::1");
    pair(ip("-d", "-4", "route", "show", "table", "local"), "198.18.91.1", "198.18.92.1");
    const addrs = ip("-d", "address", "show", "dev", "roamt5");
    const block = (a: string): string => {
      const i = addrs.indexOf(a);
      expect(i).toBeGreaterThan(0);
      return addrs.slice(i, addrs.indexOf("\n", addrs.indexOf("\n", i) + 1)).replace(a, "A");
    };
    expect(block("198.18.91.1/32")).toBe(block("198.18.92.1/32"));
    expect(block("2001:db8:91::1/128")).toBe(block("2001:db8:92::1/128"));
    expect(block("2001:db8:91::1/128")).toContain("nodad");
  });
});

test.skipIf(!isRoot)("undo counts a route or address removed behind our back as done (ESRCH, EADDRNOTAVAIL)", async () => {
  await withNsTools((ns, tools) => {
    mustRun(["ip", "-n", ns, "tuntap", "add", "dev", "roamt6", "mode", "tun"]);
    const journal = new Journal(null, tools);
    applyAddressing(new LinuxNetConfig(journal), "roamt6", config, 1300);
    mustRun(["ip", "-n", ns, "route", "del", "10.99.0.0/24", "dev", "roamt6"]);
    mustRun(["ip", "-n", ns, "address", "del", "198.18.77.5/32", "dev", "roamt6"]);
    let gone: unknown;
    try {
      tools.rtnl.delRoute("roamt6", "10.99.0.0/24");
    } catch (e) {
      gone = e;
    }
    expect(gone).toBeInstanceOf(RtnlError);
    expect((gone as RtnlError).errno).toBe(3);
    expect(() => tools.rtnl.delAddress("roamt6", "198.18.77.5/32")).toThrow("(EADDRNOTAVAIL)");
    expect(journal.undoAll()).toEqual({ undone: 7, errors: [] });
    expect(tools.rtnl.link("roamt6")).toMatchObject({ mtu: 1500, up: false });
  });
});

test.skipIf(!isRoot)("Rtnl.openIn returns this thread to its own namespace; the socket stays in the other", async () => {
  const own = readlinkSync("/proc/thread-self/ns/net");
  await withNsTools((ns, tools) => {
    expect(readlinkSync("/proc/thread-self/ns/net")).toBe(own);
    mustRun(["ip", "-n", ns, "tuntap", "add", "dev", "roamt7", "mode", "tun"]);
    expect(tools.rtnl.link("roamt7").index).toBeGreaterThan(0);
    const here = Rtnl.open();
    try {
      expect(() => here.link("roamt7")).toThrow("(ENODEV)");
    } finally {
      here.close();
    }
  });
  expect(() => Rtnl.openIn("roam-t-no-such-ns")).toThrow("open /var/run/netns/roam-t-no-such-ns: No such file or directory (ENOENT)");
  expect(readlinkSync("/proc/thread-self/ns/net")).toBe(own);
});
