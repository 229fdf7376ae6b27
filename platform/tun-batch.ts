// The layout of one TUN read batch (any OS; MemoryTun uses it too) and the messages between
// platform/linux/tun.ts and its reader worker.
//
// One ArrayBuffer per batch, transferred (not copied) to the main thread and handed back after use:
//
//   +-------+-------------------+-------------------+----------+-------------------------------+
//   | count | offsets[maxCount] | lengths[maxCount] | pad → 16 | hr | pkt 0 | tr | hr | pkt 1 ...  |
//   +-------+-------------------+-------------------+----------+-------------------------------+
//     u32      u32 each            u32 each                       hr/tr = headroom/tailroom
//
// offsets[i] is the byte index of packet i in the whole buffer.

import type { PacketBatch } from "./types.ts";

export interface BatchShape {
  /** At most this many packets per batch. */
  maxCount: number;
  /** Largest packet a single read may return (the read size; a TUN truncates longer packets). */
  maxPacket: number;
  headroom: number;
  tailroom: number;
  /** Total buffer size. */
  bytes: number;
}

export function dataStart(maxCount: number): number {
  const meta = 4 * (1 + 2 * maxCount);
  return (meta + 15) & ~15;
}

/** A shape with room for `maxCount` packets of `typical` bytes plus one packet of `maxPacket`. */
export function batchShape(maxCount: number, typical: number, maxPacket: number, headroom: number, tailroom: number): BatchShape {
  const slot = headroom + typical + tailroom;
  const bytes = dataStart(maxCount) + maxCount * slot + headroom + maxPacket + tailroom;
  return { maxCount, maxPacket, headroom, tailroom, bytes };
}

/** A read-only view of a filled batch buffer (no copy). */
export class BatchView implements PacketBatch {
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly count: number;
  constructor(
    readonly buffer: ArrayBuffer,
    shape: BatchShape,
  ) {
    const meta = new Uint32Array(buffer, 0, 1 + 2 * shape.maxCount);
    this.count = meta[0]!;
    this.offsets = meta.subarray(1, 1 + this.count);
    this.lengths = meta.subarray(1 + shape.maxCount, 1 + shape.maxCount + this.count);
    this.data = new Uint8Array(buffer);
    this.headroom = shape.headroom;
    this.tailroom = shape.tailroom;
  }
  readonly headroom: number;
  readonly tailroom: number;
}

/** Main thread → worker. */
export type ToReader =
  | { type: "start"; tunFd: number; stopFd: number; shape: BatchShape }
  | { type: "recycle"; buffer: ArrayBuffer };

/** Worker → main thread. */
export type FromReader =
  | { type: "ready" }
  | { type: "batch"; buffer: ArrayBuffer }
  | { type: "error"; message: string }
  | { type: "stopped" };
