// The TUN reader thread (RUNTIME-NOTES "TUN": the measured fast shape, ~225k packets/s, idle CPU ~0).
//
//   poll([tun fd, stop eventfd], -1)  ──►  read(tun fd) until EAGAIN or the batch is full
//        ▲                                         │
//        └──── next event-loop turn ◄── postMessage(batch buffer, transferred)
//
// The worker blocks in poll() (bun:ffi has no async calls, so blocking is only acceptable off the main
// thread). The main thread stops it by writing the eventfd; the worker never closes the fds it was
// given (the main thread owns them and closes them after "stopped", so no fd number is reused while
// this thread can still read it). Buffers come back from the main thread ("recycle") and are reused.

import { ptr } from "bun:ffi";
import * as libc from "./libc.ts";
import type { BatchShape, FromReader, ToReader } from "../tun-batch.ts";
import { dataStart } from "../tun-batch.ts";

declare const self: Worker;

/** Batches posted per wake-up before yielding so "recycle" messages get in. */
const MAX_BATCHES_PER_TURN = 8;

let tunFd = -1;
let stopFd = -1;
let shape: BatchShape | null = null;
const free: ArrayBuffer[] = [];
const pollfds = new Uint8Array(16);
const pollView = new DataView(pollfds.buffer);
let running = false;

function post(msg: FromReader, transfer?: ArrayBuffer[]): void {
  if (transfer) self.postMessage(msg, transfer);
  else self.postMessage(msg);
}

function takeBuffer(s: BatchShape): ArrayBuffer {
  return free.pop() ?? new ArrayBuffer(s.bytes);
}

function fail(message: string): void {
  running = false;
  post({ type: "error", message });
}

/** Reads into one batch buffer until EAGAIN or full. Returns [buffer or null, sawEagain]. */
function fillBatch(s: BatchShape): [ArrayBuffer | null, boolean] {
  const buffer = takeBuffer(s);
  const u8 = new Uint8Array(buffer);
  const meta = new Uint32Array(buffer, 0, 1 + 2 * s.maxCount);
  const base = ptr(u8);
  let off = dataStart(s.maxCount);
  let count = 0;
  let eagain = false;
  while (count < s.maxCount && off + s.headroom + s.maxPacket + s.tailroom <= s.bytes) {
    const start = off + s.headroom;
    const n = libc.readRaw(tunFd, base + start, s.maxPacket);
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
    if (n === 0) continue; // a zero-length read carries no packet
    meta[1 + count] = start;
    meta[1 + s.maxCount + count] = n;
    count++;
    off = start + n + s.tailroom;
  }
  meta[0] = count;
  if (count === 0) {
    free.push(buffer);
    return [null, eagain];
  }
  return [buffer, eagain];
}

function cycle(): void {
  if (!running || shape === null) return;
  pollView.setInt32(0, tunFd, true);
  pollView.setInt16(4, libc.POLLIN, true);
  pollView.setInt16(6, 0, true);
  pollView.setInt32(8, stopFd, true);
  pollView.setInt16(12, libc.POLLIN, true);
  pollView.setInt16(14, 0, true);
  const rc = libc.poll(pollfds, 2, -1);
  if (rc < 0) {
    const e = libc.errno();
    if (e !== libc.EINTR) return fail(libc.describeErrno("poll on TUN", e));
    setImmediate(cycle);
    return;
  }
  const stopEvents = pollView.getInt16(14, true);
  if (stopEvents !== 0) {
    running = false;
    post({ type: "stopped" });
    return;
  }
  const tunEvents = pollView.getInt16(6, true);
  if (tunEvents & (libc.POLLERR | libc.POLLHUP | libc.POLLNVAL)) {
    return fail(`TUN fd ${tunFd} reported poll events 0x${tunEvents.toString(16)} (device gone?)`);
  }
  if (tunEvents & libc.POLLIN) {
    for (let i = 0; i < MAX_BATCHES_PER_TURN && running; i++) {
      const [buffer, eagain] = fillBatch(shape);
      if (buffer !== null) post({ type: "batch", buffer }, [buffer]);
      if (eagain || buffer === null) break;
    }
  }
  if (running) setImmediate(cycle);
}

self.onmessage = (ev: MessageEvent<ToReader>) => {
  const msg = ev.data;
  if (msg.type === "recycle") {
    if (shape !== null && msg.buffer.byteLength === shape.bytes && free.length < 16) free.push(msg.buffer);
    return;
  }
  if (msg.type === "start" && !running) {
    tunFd = msg.tunFd;
    stopFd = msg.stopFd;
    shape = msg.shape;
    running = true;
    post({ type: "ready" });
    setImmediate(cycle);
  }
};
