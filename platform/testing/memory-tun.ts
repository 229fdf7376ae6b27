// An in-memory TunDevice (wireguard-go's tun/tuntest idea): tests of the data path push packets in as
// if the kernel routed them to the TUN, and read back what was written, with the same batch layout
// (one buffer, headroom and tailroom around every packet) as the real Linux reader.

import { BatchView, batchShape, dataStart, type BatchShape } from "../tun-batch.ts";
import type { PacketBatch, TunDevice } from "../types.ts";

export class MemoryTun implements TunDevice {
  readonly written: Uint8Array[] = [];
  private receiver: ((batch: PacketBatch) => void) | null = null;
  private closed = false;
  private readonly shape: BatchShape;

  constructor(
    readonly name = "mem0",
    readonly mtu = 1400,
    opts: { headroom?: number; tailroom?: number; batchPackets?: number } = {},
  ) {
    this.shape = batchShape(opts.batchPackets ?? 64, mtu, mtu, opts.headroom ?? 64, opts.tailroom ?? 64);
  }

  onPackets(cb: (batch: PacketBatch) => void): void {
    this.receiver = cb;
  }

  onError(_cb: (err: Error) => void): void {
    // nothing fails in memory
  }

  /** Delivers `packets` as batches (as many as the batch size needs), synchronously. */
  inject(packets: Uint8Array[]): void {
    for (let first = 0; first < packets.length; first += this.shape.maxCount) {
      const group = packets.slice(first, first + this.shape.maxCount);
      const buffer = new ArrayBuffer(this.shape.bytes);
      const u8 = new Uint8Array(buffer);
      const meta = new Uint32Array(buffer, 0, 1 + 2 * this.shape.maxCount);
      let off = dataStart(this.shape.maxCount);
      group.forEach((p, i) => {
        if (p.length > this.mtu) throw new RangeError(`MemoryTun.inject: packet of ${p.length} bytes exceeds MTU ${this.mtu}`);
        const start = off + this.shape.headroom;
        u8.set(p, start);
        meta[1 + i] = start;
        meta[1 + this.shape.maxCount + i] = p.length;
        off = start + p.length + this.shape.tailroom;
      });
      meta[0] = group.length;
      this.receiver?.(new BatchView(buffer, this.shape));
    }
  }

  write(buf: Uint8Array, off: number, len: number): number {
    if (this.closed) return -9; // EBADF
    if (off < 0 || len < 0 || off + len > buf.length) return -22; // EINVAL
    this.written.push(buf.slice(off, off + len));
    return len;
  }

  writeBatch(data: Uint8Array, offsets: ArrayLike<number>, lengths: ArrayLike<number>, count: number): number {
    let n = 0;
    for (let i = 0; i < count; i++) if (this.write(data, offsets[i]!, lengths[i]!) >= 0) n++;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
