// What every UDP backend of platform/udp.ts shares: the send queue, its flush on a later event-loop
// turn, the receive bookkeeping, and close() that sends what is queued first.
//
// Sends are queued and leave together on a later turn, through setImmediate. Why (RUNTIME-NOTES
// "Traps"): in Bun, a datagram sent synchronously from inside the receive callback that comes back to
// this same process stops timers from ever firing; deferring with setImmediate avoids it
// (queueMicrotask does not). With the queue the caller cannot fall into it: flush() called from inside
// the receive callback only schedules. The recvmmsg backend does not have the trap (its receive
// callback runs on a worker message), but keeps the same contract so callers need not know which
// backend they have.

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
  /**
   * "mmsg" (Linux default): a reader worker draining the socket with recvmmsg, sendmmsg for sends,
   * large socket buffers. "bun": Bun.udpSocket (the other platforms, and the benchmark's comparison).
   */
  backend?: "mmsg" | "bun";
  /**
   * "mmsg": send runs of equal datagrams to one destination as UDP GSO sends (UDP_SEGMENT). Default true;
   * false for comparisons (the benchmark's pair without it).
   */
  gso?: boolean;
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

/** The queue of datagrams to send: three parallel arrays. */
export class SendQueue {
  data: Uint8Array[] = [];
  ports: number[] = [];
  addresses: string[] = [];
  get length(): number {
    return this.data.length;
  }
  push(d: Uint8Array, port: number, address: string): void {
    this.data.push(d);
    this.ports.push(port);
    this.addresses.push(address);
  }
}

export abstract class QueuedUdp implements UdpEndpoint {
  private queue = new SendQueue();
  private scheduled = false;
  private inReceive = false;
  protected closed = false;
  readonly stats: UdpStats = { sent: 0, dropped: 0, received: 0 };

  constructor(protected readonly opts: UdpOptions) {}

  abstract get localPort(): number;
  abstract get localAddress(): string;
  /**
   * Resolves once datagrams are being received. A socket is usable from the moment it is open: what
   * arrives before this waits in the kernel's receive buffer. Rejects if receiving cannot start (the
   * error also goes to onError).
   */
  ready: Promise<void> = Promise.resolve();
  /** Hands the whole queue to the kernel; returns how many datagrams it took. */
  protected abstract sendBatch(q: SendQueue): number;
  /** Releases the socket (after the last flush). */
  protected abstract release(): void;

  /** Datagrams queued and not yet sent. */
  get pending(): number {
    return this.queue.length;
  }

  /** Called by the backend for each datagram received. */
  protected receive(data: Uint8Array, port: number, address: string): void {
    this.stats.received++;
    this.inReceive = true;
    try {
      this.opts.onDatagram(data, port, address);
    } finally {
      this.inReceive = false;
    }
  }

  /** Called by the backend for each batch of datagrams: flushes scheduled inside it wait for its end. */
  protected receiving(on: boolean): void {
    this.inReceive = on;
  }

  /**
   * Queues one datagram for the next flush. The endpoint holds `data` (no copy) until then: do not
   * change or reuse that buffer before the next event-loop turn.
   */
  send(data: Uint8Array, port: number, address: string): void {
    if (this.closed) {
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
    const batch = this.queue;
    const total = batch.length;
    if (total === 0) return;
    this.queue = new SendQueue(); // sends made while sendBatch runs (error handlers) go to the next flush
    let sent = 0;
    if (!this.closed) {
      try {
        sent = this.sendBatch(batch);
      } catch (e) {
        this.opts.onError?.(e instanceof Error ? e : new UdpError(String(e)));
      }
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
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.release();
  }
}
