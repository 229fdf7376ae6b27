// A UDP endpoint for IKE (port 500, NAT-T 4500, RFC 7296 §2.23) and UDP-encapsulated ESP (RFC 3948),
// on Bun.udpSocket.
//
// Sends are queued and leave together (sendMany) on a later event-loop turn, through setImmediate.
// Why (RUNTIME-NOTES "Traps"): in Bun, a datagram sent synchronously from inside the receive callback
// that comes back to this same process stops timers from ever firing; deferring with setImmediate
// avoids it (queueMicrotask does not). With the queue the caller cannot fall into it: flush() called
// from inside the receive callback only schedules.

import type { udp } from "bun";
import type { UdpEndpoint } from "./types.ts";

export interface UdpOptions {
  /** Local port; 0 or absent for an ephemeral one. */
  port?: number;
  /** Local address; default "0.0.0.0". Use "::" for IPv6. */
  address?: string;
  /** Each datagram received. `data` is only valid during the call. */
  onDatagram(data: Uint8Array, port: number, address: string): void;
  /** Socket errors (ICMP unreachable surfaced by the kernel, ...). Default: ignored. */
  onError?(err: Error): void;
}

export interface UdpStats {
  sent: number;
  /** Datagrams the kernel did not take (buffer full, unreachable): UDP may drop, the caller retransmits. */
  dropped: number;
  received: number;
}

export class UdpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UdpError";
  }
}

/** Opens a UDP socket bound to `address:port`. */
export async function openUdp(opts: UdpOptions): Promise<BunUdpEndpoint> {
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UdpError(`UDP port ${port}: expected 0..65535`);
  const endpoint = new BunUdpEndpoint(opts);
  const hostname = opts.address ?? "0.0.0.0";
  try {
    const socket = await Bun.udpSocket({
      hostname,
      port,
      binaryType: "uint8array",
      socket: {
        data: (_s, data, rport, raddr) => endpoint.receive(data, rport, raddr),
        error: (_s, err) => opts.onError?.(err),
      },
    });
    endpoint.attach(socket);
  } catch (e) {
    throw new UdpError(`bind UDP ${hostname}:${port}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return endpoint;
}

export class BunUdpEndpoint implements UdpEndpoint {
  private socket: udp.Socket<"uint8array"> | null = null;
  /** [data, port, address, data, port, address, ...]: the shape sendMany takes. */
  private queue: (Uint8Array | number | string)[] = [];
  private scheduled = false;
  private inReceive = false;
  readonly stats: UdpStats = { sent: 0, dropped: 0, received: 0 };

  constructor(private readonly opts: UdpOptions) {}

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

  /** Datagrams queued and not yet sent. */
  get pending(): number {
    return this.queue.length / 3;
  }

  /** @internal Called by the socket for each datagram. */
  receive(data: Uint8Array, port: number, address: string): void {
    this.stats.received++;
    this.inReceive = true;
    try {
      this.opts.onDatagram(data, port, address);
    } finally {
      this.inReceive = false;
    }
  }

  /**
   * Queues one datagram for the next flush. The endpoint holds `data` (no copy) until then: do not
   * change or reuse that buffer before the next event-loop turn.
   */
  send(data: Uint8Array, port: number, address: string): void {
    if (this.socket === null || this.socket.closed) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(data, port, address);
    this.schedule();
  }

  /** Sends everything queued now; from inside the receive callback it only schedules (see above). */
  flush(): void {
    if (this.inReceive) {
      this.schedule();
      return;
    }
    this.scheduled = false;
    const socket = this.socket;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const total = batch.length / 3;
    if (socket === null || socket.closed) {
      this.stats.dropped += total;
      return;
    }
    let sent = 0;
    try {
      sent = total === 1 ? (socket.send(batch[0] as Uint8Array, batch[1] as number, batch[2] as string) ? 1 : 0) : socket.sendMany(batch);
    } catch (e) {
      this.opts.onError?.(e instanceof Error ? e : new UdpError(String(e)));
    }
    this.stats.sent += sent;
    this.stats.dropped += total - sent;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Sends what is still queued (the last IKE message of a tunnel, say), then closes. Called from inside the
   * receive callback, where sending must wait a turn (see above), it does both on the next turn.
   */
  close(): void {
    if (this.inReceive) {
      setImmediate(() => this.close());
      return;
    }
    this.flush();
    this.socket?.close();
  }
}
