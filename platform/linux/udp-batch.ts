// The layout of one UDP receive batch (filled by recvmmsg(2) in udp-reader.worker.ts) and the messages
// between platform/linux/udp-mmsg.ts and that worker.
//
// A ring of SharedArrayBuffers, each one batch, shared by both threads (nothing is copied or
// allocated per batch). `state[i]` says who owns buffer i: FREE (the worker may fill it) or FULL (the
// main thread reads it, then stores FREE and notifies). The worker fills them in ring order and only
// posts the index. (Transferring ArrayBuffers instead, as the TUN reader did, allocated a new buffer
// per batch whenever the worker was blocked in poll() when the "recycle" message came: ~1 ms a datagram.)
//
// One batch buffer:
//
//   +-------+---------------------+--------------------------+-----------------------------------+
//   | count | lengths[maxCount]   | names[maxCount] (28 each) | slot 0 | slot 1 | ... (slotBytes)  |
//   +-------+---------------------+--------------------------+-----------------------------------+
//     u32     u32 each (TRUNCATED   struct sockaddr_in or       one datagram per slot, at its start
//             when cut short)       sockaddr_in6 of the sender
//
// Slots are fixed (recvmmsg needs every buffer before it knows the sizes) and as large as a UDP
// datagram can be, so nothing is ever truncated; only the pages a datagram touches cost memory.

import { SOCKADDR_SIZE } from "./libc.ts";

/** Largest UDP payload over IPv4 (65535 - 20 - 8), rounded up; IPv6 jumbograms do not exist here. */
export const MAX_DATAGRAM = 65536;
/** lengths[i] of a datagram longer than its slot (never with MAX_DATAGRAM slots; kept for safety). */
export const TRUNCATED = 0xffffffff;

export interface UdpBatchShape {
  maxCount: number;
  slotBytes: number;
  namesOff: number;
  dataOff: number;
  bytes: number;
}

export function udpBatchShape(maxCount: number, slotBytes: number = MAX_DATAGRAM): UdpBatchShape {
  const namesOff = 4 * (1 + maxCount);
  const dataOff = (namesOff + SOCKADDR_SIZE * maxCount + 63) & ~63;
  return { maxCount, slotBytes, namesOff, dataOff, bytes: dataOff + maxCount * slotBytes };
}

export const FREE = 0;
export const FULL = 1;

/** The buffers and their ownership flags, made by the main thread and shared with the worker. */
export interface UdpRing {
  buffers: SharedArrayBuffer[];
  /** Int32 per buffer: FREE or FULL. */
  state: SharedArrayBuffer;
}

export function udpRing(shape: UdpBatchShape, count: number): UdpRing {
  const buffers: SharedArrayBuffer[] = [];
  for (let i = 0; i < count; i++) buffers.push(new SharedArrayBuffer(shape.bytes));
  return { buffers, state: new SharedArrayBuffer(4 * count) };
}

/** Main thread → worker. */
export type ToUdpReader = { type: "start"; fd: number; stopFd: number; shape: UdpBatchShape; ring: UdpRing };

/** Worker → main thread. */
export type FromUdpReader =
  | { type: "ready" }
  /** ring.buffers[index] is FULL. */
  | { type: "batch"; index: number }
  /** fatal: the reader stopped. Otherwise one failed receive (e.g. an ICMP error surfaced). */
  | { type: "error"; message: string; fatal: boolean }
  | { type: "stopped" };
