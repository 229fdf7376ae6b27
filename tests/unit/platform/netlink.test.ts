// The rtnetlink watcher (platform/linux/netlink.ts) in a private namespace: silent while nothing changes,
// one or more messages after an address or route change, and route.ts then names the new source address.
import { describe, expect, test } from "bun:test";
import { bunInNs, fixture, isRoot, withNetns } from "./netns.ts";

describe.skipIf(!isRoot)("RouteChangeWatcher", () => {
  test("quiet, then address and route changes are noticed; sourceAddressFor follows the move", async () => {
    const out = await withNetns((ns) => {
      const r = bunInNs(ns, fixture("netlink-watch.ts"));
      expect(r.exitCode, r.stderr).toBe(0);
      return Object.fromEntries(r.stdout.trim().split("\n").map((l) => [l.split(" ")[0], l.split(" ").slice(1)]));
    });
    expect(out.quiet).toEqual(["0"]);
    expect(Number(out["address-added"]![0])).toBeGreaterThan(0);
    expect(out["quiet-again"]).toEqual(["0"]);
    expect(Number(out["route-added"]![0])).toBeGreaterThan(0);
    expect(out["route-added"]!.slice(1)).toEqual(["src", "198.18.1.2"]);
    expect(Number(out.moved![0])).toBeGreaterThan(0);
    expect(out.moved!.slice(1)).toEqual(["src", "198.18.1.3"]);
    expect(out.closed).toEqual(["0"]);
  });
});
