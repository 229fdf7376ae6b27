// A roam data-path test endpoint for the benchmark (never part of the product CLI): roam's DataPath
// between a TUN and a UDP socket, with the CHILD_SA given on the command line — fixed test keys and
// SPIs, no IKE. Two of these in two namespaces form an ESP-in-UDP tunnel (RFC 3948) with AES-256-GCM-16
// (RFC 4106), exercising exactly the product's path:
//
//   TUN reader worker ─► DataPath.outbound (seal in place) ─► UDP sendMany ─► peer
//   peer ─► UDP receive ─► DataPath.inbound (open in place, inbound policy) ─► TUN write
//
//   bun tests/bench/endpoint.ts --local 10.99.0.1:4500 --peer 10.99.0.2:4500 \
//     --spi-out 0x2000 --spi-in 0x1000 --key-out HEX72 --key-in HEX72 \
//     --tun benchtun0 --addr 10.200.0.1/24 [--route CIDR ...] [--mtu 1400] [--udp mmsg|bun] [--offload on|off] [--gso on|off]
//
// --udp picks the UDP backend of platform/udp.ts (default: the product's, mmsg on Linux), so the
// benchmark can compare the recvmmsg worker with Bun.udpSocket in the same run. --offload on opens the
// TUN with offloads (platform/linux/tun-offload.ts: TCP super-packets segmented by the reader). --gso off
// sends datagram by datagram instead of UDP GSO runs.
//
// Prints "ready <tun name> <pid>" on stdout once the TUN is up, and the traffic counters on SIGTERM.

import "../../platform/noble.ts";
import { DataPath } from "../../cli/tunnel/datapath.ts";
import type { Selector } from "../../core/ike/selectors.ts";
import type { ChildSaParams } from "../../core/ike/types.ts";
import { fromHex } from "../../core/util/bytes.ts";
import { EncrId, IntegId } from "../../core/wire/constants.ts";
import { openTun } from "../../platform/linux/tun.ts";
import { openUdp } from "../../platform/udp.ts";

interface Args {
  localAddr: string;
  localPort: number;
  peerAddr: string;
  peerPort: number;
  spiOut: number;
  spiIn: number;
  keyOut: Uint8Array;
  keyIn: Uint8Array;
  tun: string;
  addr: string;
  routes: string[];
  mtu: number;
  udp: "mmsg" | "bun";
  offload: boolean;
  /** UDP GSO on sends (mmsg backend; default on, as roam runs). */
  gso: boolean;
}

function fail(message: string): never {
  console.error(`endpoint: ${message}`);
  process.exit(2);
}

function hostPort(flag: string, v: string | undefined): [string, number] {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(v ?? "");
  if (!m) fail(`${flag} "${v ?? ""}": expected IPv4:port`);
  return [m[1]!, Number(m[2])];
}

function spi(flag: string, v: string | undefined): number {
  const n = Number(v);
  // RFC 4303 §2.1: SPI values 0..255 are reserved by IANA.
  if (!Number.isInteger(n) || n < 256 || n > 0xffffffff) fail(`${flag} "${v ?? ""}": expected an SPI 256..0xffffffff`);
  return n >>> 0;
}

function key(flag: string, v: string | undefined): Uint8Array {
  const k = /^[0-9a-fA-F]{72}$/.test(v ?? "") ? fromHex(v!) : null;
  // RFC 4106 §8.1: AES-256-GCM keying material is the 32-octet key followed by a 4-octet salt.
  if (k === null || k.length !== 36) fail(`${flag}: expected 72 hex digits (AES-256 key + 4-octet salt)`);
  return k;
}

function udpBackend(v: string | undefined): "mmsg" | "bun" {
  if (v === undefined || v === "mmsg" || v === "bun") return v ?? "mmsg";
  fail(`--udp "${v}": expected mmsg or bun`);
}

function onOff(flag: string, v: string | undefined): boolean {
  if (v === undefined || v === "off") return false;
  if (v === "on") return true;
  fail(`${flag} "${v}": expected on or off`);
}

function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i += 2) {
    const f = argv[i]!;
    if (!f.startsWith("--") || i + 1 >= argv.length) fail(`unexpected argument "${f}"`);
    flags.set(f, [...(flags.get(f) ?? []), argv[i + 1]!]);
  }
  const one = (f: string) => flags.get(f)?.[0];
  const [localAddr, localPort] = hostPort("--local", one("--local"));
  const [peerAddr, peerPort] = hostPort("--peer", one("--peer"));
  return {
    localAddr,
    localPort,
    peerAddr,
    peerPort,
    spiOut: spi("--spi-out", one("--spi-out")),
    spiIn: spi("--spi-in", one("--spi-in")),
    keyOut: key("--key-out", one("--key-out")),
    keyIn: key("--key-in", one("--key-in")),
    tun: one("--tun") ?? "benchtun%d",
    addr: one("--addr") ?? fail("--addr CIDR is required"),
    routes: flags.get("--route") ?? [],
    mtu: Number(one("--mtu") ?? 1400),
    udp: udpBackend(one("--udp")),
    offload: onOff("--offload", one("--offload")),
    gso: one("--gso") === undefined ? true : onOff("--gso", one("--gso")),
  };
}

/** Every IPv4 address, every protocol and port: the benchmark tunnel carries everything routed into it. */
const ANY4: Selector = { family: 4, start: new Uint8Array([0, 0, 0, 0]), end: new Uint8Array([255, 255, 255, 255]), protocol: 0, startPort: 0, endPort: 65535 };

function ip(args: string[]): void {
  const r = Bun.spawnSync(["ip", ...args], { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) fail(`ip ${args.join(" ")}: ${r.stderr.toString().trim()}`);
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  let dp: DataPath | null = null;
  const udp = await openUdp({
    backend: a.udp,
    gso: a.gso,
    port: a.localPort,
    address: a.localAddr,
    onDatagram: (data, port, address) => {
      if (port === a.peerPort && address === a.peerAddr) dp?.inbound(data);
    },
  });
  dp = new DataPath({ send: (data) => udp.send(data, a.peerPort, a.peerAddr), flush: () => udp.flush() });
  const child: ChildSaParams = {
    spiIn: a.spiIn,
    spiOut: a.spiOut,
    encrId: EncrId.AES_GCM_16,
    encrKeyBits: 256,
    integId: IntegId.NONE, // RFC 4106 §5: combined-mode ESP has no separate integrity transform
    encrKeyOut: a.keyOut,
    integKeyOut: new Uint8Array(0),
    encrKeyIn: a.keyIn,
    integKeyIn: new Uint8Array(0),
    esn: false,
    tsi: [ANY4],
    tsr: [ANY4],
  };
  dp.install(child);
  const tun = await openTun({ name: a.tun, headroom: 64, tailroom: 64, offload: a.offload });
  if (a.offload && !tun.offloads) fail("--offload on: the kernel refused TUNSETOFFLOAD");
  ip(["link", "set", "dev", tun.name, "mtu", String(a.mtu)]);
  ip(["addr", "add", a.addr, "dev", tun.name]);
  ip(["link", "set", "dev", tun.name, "up"]);
  for (const r of a.routes) ip(["route", "add", r, "dev", tun.name]);
  dp.attachTun(tun);

  let closing = false;
  const stop = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    const c = dp!.counters();
    console.log(`counters ${JSON.stringify({ ...c, udp: udp.stats, coalesced: dp!.coalesced() })}`);
    dp!.close();
    await tun.close();
    udp.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  console.log(`ready ${tun.name} ${process.pid}`);
}

await main();
