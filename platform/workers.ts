// The tunnel's reader workers (TUN, UDP), started ahead of time by `roam connect` so that their start
// overlaps with loading the rest of roam and with IKE (platform/linux/reader-worker.ts).

import { prestartTunReader } from "./linux/tun.ts";
import { prestartUdpReader } from "./linux/udp-mmsg.ts";

export function prestartTunnelWorkers(): void {
  if (process.platform !== "linux") return;
  prestartUdpReader();
  prestartTunReader();
}
