// The UDP reader thread: the TUN reader's shape (tun-reader.worker.ts) for the socket, draining it with
// recvmmsg(2) so that one system call and one message to the main thread carry many datagrams.
//
//   poll([socket, stop eventfd], -1) ──► recvmmsg(MSG_DONTWAIT) into the next FREE ring buffer
//        ▲                                          │
//        └──── next event-loop turn ◄── mark it FULL, postMessage(its index)
//
// Why: with one Bun receive callback per datagram the main thread fell behind and the socket's receive
// buffer overflowed (~16% of datagrams under iperf3 TCP, bench/datapath). The worker never closes the
// fds it was given; the main thread closes them after "stopped".

import { ptr } from "bun:ffi";
import * as libc from "./libc.ts";
import { FREE, FULL, TRUNCATED, type FromUdpReader, type ToUdpReader, type UdpBatchShape } from "./udp-batch.ts";

declare const self: Worker;

/** Batches posted per wake-up before yielding so "recycle" messages get in. */
const MAX_BATCHES_PER_TURN = 8;
/** How long to wait for the main thread to hand a ring buffer back before polling again, ms. */
const RING_WAIT_MS = 20;

let fd = -1;
let stopFd = -1;
let shape: UdpBatchShape | null = null;
let running = false;
let ring: Uint8Array<ArrayBufferLike>[] = [];
let state: Int32Array<ArrayBufferLike> = new Int32Array(0);
let next = 0;
const pollfds = new Uint8Array(16);
const pollView = new DataView(pollfds.buffer);
// struct mmsghdr[maxCount] then struct iovec[maxCount]: thread-local, rewritten for every batch buffer.
let hdrs = new Uint8Array(0);
let hdr32 = new Uint32Array(0);

function post(msg: FromUdpReader): void {
  self.postMessage(msg);
}

function fail(message: string): void {
  running = false;
  post({ type: "error", message, fatal: true });
}

/** Writes a 64-bit pointer as two 32-bit halves (pointers from ptr() are numbers below 2^53). */
function setPtr(u32: Uint32Array, byteOff: number, p: number): void {
  u32[byteOff >>> 2] = p >>> 0;
  u32[(byteOff >>> 2) + 1] = Math.floor(p / 0x1_0000_0000);
}

/** Points every mmsghdr at its slot and name in `buffer`. */
function aim(s: UdpBatchShape, buffer: Uint8Array): void {
  const base = ptr(buffer);
  const hbase = ptr(hdrs);
  const iovs = s.maxCount * libc.MMSGHDR_SIZE;
  for (let i = 0; i < s.maxCount; i++) {
    const h = i * libc.MMSGHDR_SIZE;
    setPtr(hdr32, h + libc.MSG_NAME, base + s.namesOff + i * libc.SOCKADDR_SIZE);
    hdr32[(h + libc.MSG_NAMELEN) >>> 2] = libc.SOCKADDR_SIZE;
    setPtr(hdr32, h + libc.MSG_IOV, hbase + iovs + i * libc.IOVEC_SIZE);
    setPtr(hdr32, h + libc.MSG_IOVLEN, 1);
    setPtr(hdr32, h + 32, 0); // msg_control
    setPtr(hdr32, h + 40, 0); // msg_controllen
    hdr32[(h + libc.MSG_FLAGS) >>> 2] = 0;
    const v = iovs + i * libc.IOVEC_SIZE;
    setPtr(hdr32, v, base + s.dataOff + i * s.slotBytes);
    setPtr(hdr32, v + 8, s.slotBytes);
  }
}

/**
 * One recvmmsg into the next ring buffer. Returns [its index or -1, drained (EAGAIN or fewer than
 * asked, or no buffer came back in time: the socket's buffer holds the rest)].
 */
function fillBatch(s: UdpBatchShape): [number, boolean] {
  const index = next;
  if (Atomics.load(state, index) !== FREE && Atomics.wait(state, index, FULL, RING_WAIT_MS) === "timed-out") return [-1, true];
  const u8 = ring[index]!;
  aim(s, u8);
  let n: number;
  for (;;) {
    n = libc.recvmmsg(fd, hdrs, s.maxCount, libc.MSG_DONTWAIT);
    if (n >= 0) break;
    const e = libc.errno();
    if (e === libc.EINTR) continue;
    if (e === libc.EAGAIN) return [-1, true];
    // An ICMP error queued on the socket (ECONNREFUSED, ...) fails one call; the next one goes on.
    post({ type: "error", message: libc.describeErrno("recvmmsg", e), fatal: false });
    return [-1, false];
  }
  const meta = new Uint32Array(u8.buffer, 0, 1 + s.maxCount);
  for (let i = 0; i < n; i++) {
    const h = i * libc.MMSGHDR_SIZE;
    const len = hdr32[(h + libc.MSG_LEN) >>> 2]!;
    meta[1 + i] = hdr32[(h + libc.MSG_FLAGS) >>> 2]! & libc.MSG_TRUNC ? TRUNCATED : len;
  }
  meta[0] = n;
  if (n === 0) return [-1, true];
  Atomics.store(state, index, FULL);
  next = (index + 1) % ring.length;
  return [index, n < s.maxCount];
}

function cycle(): void {
  if (!running || shape === null) return;
  pollView.setInt32(0, fd, true);
  pollView.setInt16(4, libc.POLLIN, true);
  pollView.setInt16(6, 0, true);
  pollView.setInt32(8, stopFd, true);
  pollView.setInt16(12, libc.POLLIN, true);
  pollView.setInt16(14, 0, true);
  const rc = libc.poll(pollfds, 2, -1);
  if (rc < 0) {
    const e = libc.errno();
    if (e !== libc.EINTR) return fail(libc.describeErrno("poll on UDP socket", e));
    setImmediate(cycle);
    return;
  }
  if (pollView.getInt16(14, true) !== 0) {
    stop();
    return;
  }
  const events = pollView.getInt16(6, true);
  if (events & libc.POLLNVAL) return fail(`UDP socket fd ${fd} is not open (poll events 0x${events.toString(16)})`);
  // POLLERR: a pending socket error; the next recvmmsg reports and clears it.
  if (events & (libc.POLLIN | libc.POLLERR)) {
    for (let i = 0; i < MAX_BATCHES_PER_TURN && running; i++) {
      const [index, drained] = fillBatch(shape);
      if (index >= 0) post({ type: "batch", index });
      if (drained) break;
    }
  }
  if (running) setImmediate(cycle);
}

/**
 * The loop is over: the owner may close the fds and hand this worker to the next socket
 * (reader-worker.ts recycleReaderWorker), which sends "start" again. The last socket's buffers are let go.
 */
function stop(): void {
  running = false;
  ring = [];
  state = new Int32Array(0);
  next = 0;
  post({ type: "stopped" });
}

self.onmessage = (ev: MessageEvent<ToUdpReader>) => {
  const msg = ev.data;
  if (msg.type === "start" && !running) {
    fd = msg.fd;
    stopFd = msg.stopFd;
    shape = msg.shape;
    ring = msg.ring.buffers.map((b) => new Uint8Array(b));
    state = new Int32Array(msg.ring.state);
    hdrs = new Uint8Array(shape.maxCount * (libc.MMSGHDR_SIZE + libc.IOVEC_SIZE));
    hdr32 = new Uint32Array(hdrs.buffer);
    running = true;
    post({ type: "ready" });
    setImmediate(cycle);
  }
};
