// A UDP endpoint for IKE (port 500, NAT-T 4500, RFC 7296 §2.23) and UDP-encapsulated ESP (RFC 3948).
// Two backends behind one interface (the queue they share is in udp-queue.ts):
//   - Linux: platform/linux/udp-mmsg.ts, a reader worker with recvmmsg(2), sendmmsg(2), large buffers;
//   - elsewhere (and for the benchmark's comparison): Bun.udpSocket, below.

import type { udp } from "bun";
import { openMmsgUdp } from "./linux/udp-mmsg.ts";
import { QueuedUdp, UdpError, type SendQueue, type UdpOptions } from "./udp-queue.ts";

export { UdpError, type UdpOptions, type UdpStats } from "./udp-queue.ts";
/** An open UDP endpoint, whichever backend it runs on. */
export type UdpSocket = QueuedUdp;

/** Opens a UDP socket bound to `address:port`. */
export async function openUdp(opts: UdpOptions): Promise<UdpSocket> {
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UdpError(`UDP port ${port}: expected 0..65535`);
  const backend = opts.backend ?? (process.platform === "linux" ? "mmsg" : "bun");
  return backend === "mmsg" ? openMmsgUdp(opts) : openBunUdp(opts);
}

async function openBunUdp(opts: UdpOptions): Promise<BunUdpEndpoint> {
  const endpoint = new BunUdpEndpoint(opts);
  const hostname = opts.address ?? "0.0.0.0";
  const port = opts.port ?? 0;
  try {
    const socket = await Bun.udpSocket({
      hostname,
      port,
      binaryType: "uint8array",
      socket: {
        data: (_s, data, rport, raddr) => endpoint.deliver(data, rport, raddr),
        error: (_s, err) => opts.onError?.(err),
      },
    });
    endpoint.attach(socket);
  } catch (e) {
    throw new UdpError(`bind UDP ${hostname}:${port}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return endpoint;
}

/** Bun.udpSocket: one receive callback per datagram, sendMany for a flush. */
export class BunUdpEndpoint extends QueuedUdp {
  private socket: udp.Socket<"uint8array"> | null = null;

  /** @internal */
  attach(socket: udp.Socket<"uint8array">): void {
    this.socket = socket;
  }

  get localPort(): number {
    return this.socket?.port ?? 0;
  }

  get localAddress(): string {
    return this.socket?.address.address ?? "";
  }

  /** @internal Called by the socket for each datagram. */
  deliver(data: Uint8Array, port: number, address: string): void {
    this.receive(data, port, address);
  }

  protected sendBatch(q: SendQueue): number {
    const socket = this.socket;
    if (socket === null || socket.closed) return 0;
    if (q.length === 1) return socket.send(q.data[0]!, q.ports[0]!, q.addresses[0]!) ? 1 : 0;
    const flat: (Uint8Array | number | string)[] = [];
    for (let i = 0; i < q.length; i++) flat.push(q.data[i]!, q.ports[i]!, q.addresses[i]!);
    return socket.sendMany(flat);
  }

  protected release(): void {
    this.socket?.close();
  }
}
