// The TUN reader thread (RUNTIME-NOTES "TUN": the measured fast shape, ~225k packets/s, idle CPU ~0).
//
//   poll([tun fd, stop eventfd], -1)  ──►  read(tun fd) into the next FREE ring buffer until EAGAIN/full
//        ▲                                         │
//        └──── next event-loop turn ◄── mark it FULL, postMessage(its index)  (tun-batch.ts)
//
// The worker opens the device itself (the "open" message, tun.ts openTun: the kernel's work of making the
// interface runs on this thread) and then reads it. It blocks in poll() (bun:ffi has no async calls, so
// blocking is only acceptable off the main thread). The main thread stops it by writing the eventfd; the
// worker never closes the fds (the main thread owns them from "opened" on and closes them after
// "stopped", so no fd number is reused while this thread can still read it). Buffers come back by their
// FREE flag; none free means wait.

import { ptr } from "bun:ffi";
import * as libc from "./libc.ts";
import type { BatchShape, FromReader, ReaderStart, ToReader } from "../tun-batch.ts";
import { dataStart, FREE, FULL, READER_STATS } from "../tun-batch.ts";
import { setOffload } from "./tun-offload.ts";
import { completeChecksum, segmentCount, tcpHeadersLength, writeTcpSegment } from "../../core/net/gso.ts";
import { readVnetHdr, VNET_F_NEEDS_CSUM, VNET_GSO_NONE, VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_HDR_LEN, type VnetHdr } from "../../core/net/vnet.ts";

declare const self: Worker;

/** Batches posted per wake-up before yielding (so a stop gets in). */
const MAX_BATCHES_PER_TURN = 8;
/** How long to wait for the main thread to hand a ring buffer back before polling again, ms. */
const RING_WAIT_MS = 20;

let tunFd = -1;
let stopFd = -1;
let shape: BatchShape | null = null;
let ring: Uint8Array<ArrayBufferLike>[] = [];
let state: Int32Array<ArrayBufferLike> = new Int32Array(0);
let next = 0;
const pollfds = new Uint8Array(16);
const pollView = new DataView(pollfds.buffer);
let running = false;

// IFF_VNET_HDR (tun.ts, offload): every read starts with a virtio_net_hdr, read into the packet's headroom.
// A TCP super-packet (TSO) is copied to `scratch` and cut into segments in the batch (core/net/gso.ts);
// one that does not fit the batch continues in the next (pend*).
let vnet = false;
let scratch = new Uint8Array(0);
const hdr: VnetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
let pendLen = 0;
let pendHdrLen = 0;
let pendGsoSize = 0;
let pendNext = 0;
let pendCount = 0;
let stats: Uint32Array<ArrayBufferLike> = new Uint32Array(3);

function post(msg: FromReader): void {
  self.postMessage(msg);
}

function fail(message: string): void {
  running = false;
  post({ type: "error", message });
}

/**
 * Reads into the next ring buffer until EAGAIN or full. Returns [its index or -1, stop for now (EAGAIN,
 * or no buffer came back in time: the TUN queue holds the rest)].
 */
function fillBatch(s: BatchShape): [number, boolean] {
  const index = next;
  if (Atomics.load(state, index) !== FREE && Atomics.wait(state, index, FULL, RING_WAIT_MS) === "timed-out") return [-1, true];
  const u8 = ring[index]!;
  const meta = new Uint32Array(u8.buffer, 0, 1 + 2 * s.maxCount);
  const base = ptr(u8);
  let off = dataStart(s.maxCount);
  let count = 0;
  let eagain = false;
  while (count < s.maxCount && off + s.headroom + s.maxPacket + s.tailroom <= s.bytes) {
    const start = off + s.headroom;
    if (pendNext < pendCount) {
      // The next segment of the super-packet in scratch (at most maxPacket octets: room was checked).
      const n = writeTcpSegment(scratch, 0, pendLen, pendHdrLen, pendGsoSize, pendNext++, u8, start);
      meta[1 + count] = start;
      meta[1 + s.maxCount + count] = n;
      count++;
      off = start + n + s.tailroom;
      continue;
    }
    const n = vnet ? libc.readRaw(tunFd, base + start - VNET_HDR_LEN, s.maxPacket + VNET_HDR_LEN) : libc.readRaw(tunFd, base + start, s.maxPacket);
    if (n < 0) {
      const e = libc.errno();
      if (e === libc.EINTR) continue;
      if (e === libc.EAGAIN) {
        eagain = true;
        break;
      }
      fail(libc.describeErrno("read from TUN", e));
      break;
    }
    let len = n;
    if (vnet) {
      if (n <= VNET_HDR_LEN) continue;
      len = n - VNET_HDR_LEN;
      readVnetHdr(u8, start - VNET_HDR_LEN, hdr);
      const gso = hdr.gsoType & 0x7f;
      if (gso === VNET_GSO_TCPV4 || gso === VNET_GSO_TCPV6) {
        const h = tcpHeadersLength(u8, start, len);
        const c = h < 0 ? 0 : segmentCount(len, h, hdr.gsoSize);
        if (c === 0) {
          stats[READER_STATS.dropped]!++; // not the TCP super-packet its header claims
          continue;
        }
        stats[READER_STATS.superPackets]!++;
        stats[READER_STATS.segments]! += c;
        scratch.set(u8.subarray(start, start + len));
        pendLen = len;
        pendHdrLen = h;
        pendGsoSize = hdr.gsoSize;
        pendNext = 0;
        pendCount = c;
        continue;
      }
      if (gso !== VNET_GSO_NONE || (hdr.flags & VNET_F_NEEDS_CSUM && !completeChecksum(u8, start, len, hdr.csumStart, hdr.csumOffset))) {
        stats[READER_STATS.dropped]!++; // UDP segmentation offload is never enabled; offsets past the end
        continue;
      }
    }
    if (len === 0) continue; // a zero-length read carries no packet
    meta[1 + count] = start;
    meta[1 + s.maxCount + count] = len;
    count++;
    off = start + len + s.tailroom;
  }
  meta[0] = count;
  if (count === 0) return [-1, eagain];
  Atomics.store(state, index, FULL);
  next = (index + 1) % ring.length;
  return [index, eagain];
}

function cycle(): void {
  if (!running || shape === null) return;
  pollView.setInt32(0, tunFd, true);
  pollView.setInt16(4, libc.POLLIN, true);
  pollView.setInt16(6, 0, true);
  pollView.setInt32(8, stopFd, true);
  pollView.setInt16(12, libc.POLLIN, true);
  pollView.setInt16(14, 0, true);
  // Segments of a super-packet still waiting for a batch: look, do not block.
  const rc = libc.poll(pollfds, 2, pendNext < pendCount ? 0 : -1);
  if (rc < 0) {
    const e = libc.errno();
    if (e !== libc.EINTR) return fail(libc.describeErrno("poll on TUN", e));
    setImmediate(cycle);
    return;
  }
  const stopEvents = pollView.getInt16(14, true);
  if (stopEvents !== 0) {
    stop();
    return;
  }
  const tunEvents = pollView.getInt16(6, true);
  if (tunEvents & (libc.POLLERR | libc.POLLHUP | libc.POLLNVAL)) {
    return fail(`TUN fd ${tunFd} reported poll events 0x${tunEvents.toString(16)} (device gone?)`);
  }
  if (tunEvents & libc.POLLIN || pendNext < pendCount) {
    for (let i = 0; i < MAX_BATCHES_PER_TURN && running; i++) {
      const [index, stop] = fillBatch(shape);
      if (index >= 0) post({ type: "batch", index });
      if (stop || index < 0) break;
    }
  }
  if (running) setImmediate(cycle);
}

/**
 * The loop is over: the owner may close the fds and hand this worker to the next device
 * (reader-worker.ts recycleReaderWorker), which sends "open" again. The last device's buffers are let go.
 */
function stop(): void {
  running = false;
  ring = [];
  state = new Int32Array(0);
  scratch = new Uint8Array(0);
  next = 0;
  pendLen = pendHdrLen = pendGsoSize = pendNext = pendCount = 0;
  post({ type: "stopped" });
}

/** Opens the TUN device for the main thread (tun.ts openTun), which owns the fd once it is "opened". */
function openDevice(ifreq: Uint8Array, offloadFlags: number | null): FromReader {
  const fd = libc.open("/dev/net/tun", libc.O_RDWR | libc.O_CLOEXEC);
  if (fd < 0) return { type: "open-failed", step: "open", errno: libc.errno() };
  const failed = (step: "TUNSETIFF" | "O_NONBLOCK"): FromReader => {
    const errno = libc.errno();
    libc.close(fd);
    return { type: "open-failed", step, errno };
  };
  if (libc.ioctl(fd, libc.TUNSETIFF, ifreq) < 0) return failed("TUNSETIFF");
  // A refusal (an old kernel, or flags it does not know) leaves the virtio_net_hdr on, without offloads.
  const offloads = offloadFlags !== null && setOffload(fd, offloadFlags) === 0;
  if (!libc.setNonBlocking(fd)) return failed("O_NONBLOCK");
  return { type: "opened", fd, ifreq, offloads };
}

/** Starts the loop on the device "open" has opened. */
function begin(msg: ReaderStart): void {
  tunFd = msg.tunFd;
  stopFd = msg.stopFd;
  shape = msg.shape;
  ring = msg.ring.buffers.map((b) => new Uint8Array(b));
  state = new Int32Array(msg.ring.state);
  vnet = msg.vnetHdr;
  stats = new Uint32Array(msg.ring.stats);
  if (vnet) scratch = new Uint8Array(msg.shape.maxPacket);
  running = true;
  post({ type: "ready" });
  setImmediate(cycle);
}

self.onmessage = (ev: MessageEvent<ToReader>) => {
  const msg = ev.data;
  if (running || msg.type !== "open") return;
  const opened = openDevice(msg.ifreq, msg.offloadFlags);
  post(opened);
  if (opened.type === "opened") begin({ ...msg.then, tunFd: opened.fd });
};
