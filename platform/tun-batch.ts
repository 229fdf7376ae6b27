// The layout of one TUN read batch (any OS; MemoryTun uses it too) and the messages between
// platform/linux/tun.ts and its reader worker.
//
// A ring of SharedArrayBuffers, one batch each, shared by the reader worker and the main thread:
// `state[i]` is FREE (the reader may fill buffer i) or FULL (lent to the main thread, which stores FREE
// after the callback and notifies). Only the index crosses threads. (Transferring a buffer per batch
// and posting it back allocated, and zeroed, a new ~0.5 MB buffer whenever the "recycle" message found
// the reader blocked in poll(): ~3% of all CPU samples under iperf3, in memset.)
//
// One batch buffer:
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
    readonly buffer: ArrayBufferLike,
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

export const FREE = 0;
export const FULL = 1;

/** The batch buffers and their ownership flags (Int32 each), made by the main thread. */
export interface BatchRing {
  buffers: SharedArrayBuffer[];
  state: SharedArrayBuffer;
  /** Reader counters, Uint32 each, written by the reader only: see READER_STATS. */
  stats: SharedArrayBuffer;
}

/** Indexes into BatchRing.stats: TCP super-packets read, segments made of them, reads dropped as malformed. */
export const READER_STATS = { superPackets: 0, segments: 1, dropped: 2 } as const;

export function batchRing(shape: BatchShape, count: number): BatchRing {
  const buffers: SharedArrayBuffer[] = [];
  for (let i = 0; i < count; i++) buffers.push(new SharedArrayBuffer(shape.bytes));
  return { buffers, state: new SharedArrayBuffer(4 * count), stats: new SharedArrayBuffer(4 * 3) };
}

/** What a reader needs to run: the device, the eventfd that stops it, and the ring it reads into. */
export interface ReaderStart {
  tunFd: number;
  stopFd: number;
  shape: BatchShape;
  ring: BatchRing;
  /** Reads start with a virtio_net_hdr (IFF_VNET_HDR): TCP super-packets are segmented by the reader. */
  vnetHdr: boolean;
}

/**
 * Main thread → worker, Linux: open the device on the worker's thread (/dev/net/tun, TUNSETIFF with this
 * struct ifreq, TUNSETOFFLOAD with `offloadFlags` unless null, O_NONBLOCK), answer "opened" (or
 * "open-failed"), and start reading it (`then`, with the device's fd): "ready".
 */
export type ToReader = { type: "open"; ifreq: Uint8Array; offloadFlags: number | null; then: Omit<ReaderStart, "tunFd"> };

/** Worker → main thread. */
export type FromReader =
  /** The device is open; the main thread owns `fd` from now on. `ifreq` holds the name the kernel gave it. */
  | { type: "opened"; fd: number; ifreq: Uint8Array; offloads: boolean }
  /** Opening failed at `step` with `errno`; nothing is left open, and the worker reads nothing. */
  | { type: "open-failed"; step: "open" | "TUNSETIFF" | "O_NONBLOCK"; errno: number }
  | { type: "ready" }
  /** ring.buffers[index] is FULL. */
  | { type: "batch"; index: number }
  | { type: "error"; message: string }
  | { type: "stopped" };
