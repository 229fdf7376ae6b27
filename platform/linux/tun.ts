// A Linux TUN device (Documentation/networking/tuntap.rst) through bun:ffi: open /dev/net/tun,
// TUNSETIFF with IFF_TUN|IFF_NO_PI (bare IP packets, no 4-byte packet-info header), O_NONBLOCK.
// Reading happens in a Worker (tun-reader.worker.ts); writing is a synchronous FFI write(2) per packet.
// With `offload`, also IFF_VNET_HDR + TUNSETOFFLOAD (tun-offload.ts): the reader segments TCP
// super-packets; every write gets a virtio_net_hdr saying "plain packet" (gso_type NONE, no flags).

import { readFileSync } from "node:fs";
import type { PacketBatch, TunDevice } from "../types.ts";
import * as libc from "./libc.ts";
import { isCompiledExecutable, prestartReaderWorker, recycleReaderWorker, SpareRing, startReaderWorker } from "./reader-worker.ts";
import { IFF_VNET_HDR, TUN_OFFLOADS } from "./tun-offload.ts";
import { VNET_HDR_LEN } from "../../core/net/vnet.ts";
import { BatchView, batchRing, batchShape, FREE, READER_STATS, type BatchRing, type BatchShape, type FromReader, type ToReader } from "../tun-batch.ts";

/** Batch buffers in the ring shared with the reader. */
const RING_BUFFERS = 8;
/** The ring of the last device whose reader stopped cleanly, for the next device. */
const spareRing = new SpareRing<BatchRing>();

export class TunError extends Error {
  constructor(
    message: string,
    readonly errno: number = 0,
  ) {
    super(message);
    this.name = "TunError";
  }
}

export interface OpenTunOptions {
  /** Interface name or pattern; "%d" lets the kernel pick the number. Default "roam%d". */
  name?: string;
  /** Free bytes before each packet read (room for an ESP/UDP/IP header written in place). Default 64. */
  headroom?: number;
  /** Free bytes after each packet read (room for the ESP trailer and ICV). Default 64. */
  tailroom?: number;
  /** Packets per batch at most. Default 256. */
  batchPackets?: number;
  /** Read size per packet, at least the MTU. Default 65535 (never truncates). */
  maxPacket?: number;
  /** How long close() waits for the reader to confirm before terminating it. Default 1000 ms. */
  stopTimeoutMs?: number;
  /**
   * Ask the kernel for TCP super-packets on reads (IFF_VNET_HDR, TUNSETOFFLOAD). Default false. When the
   * kernel refuses TUNSETOFFLOAD the device still works, packet by packet (`offloads` is then false).
   */
  offload?: boolean;
  /** The TUN_F_* flags to request with `offload` (default TUN_OFFLOADS); for tests of the refusal path. */
  offloadFlags?: number;
}

/** A TUN device of this module: a TunDevice that says whether the kernel accepted the offloads. */
export interface LinuxTunDevice extends TunDevice {
  /** TUNSETOFFLOAD was accepted: reads may be TCP super-packets, segmented by the reader. */
  readonly offloads: boolean;
  /**
   * Writes buf[off, off+len) as is: a virtio_net_hdr and one packet or TCP super-packet (core/net/gro.ts).
   * Only on a device opened with `offload`. Returns bytes written (header included) or a negative errno.
   */
  writeVnet(buf: Uint8Array, off: number, len: number): number;
  /** What the reader did with offloads so far: TCP super-packets read, segments made, reads dropped as malformed. */
  offloadStats(): { superPackets: number; segments: number; dropped: number };
}

/**
 * Where the reader worker lives. Under `bun run`/`bun test` a URL next to this file; inside the
 * `bun build --compile` executable the worker is a separate entrypoint (build.ts lists
 * "platform/linux/tun-reader.worker.ts") stored under the bundle root, which a root-relative path
 * reaches. Which of the two is told by `main` (Bun.main, under the bundle root when compiled), not by
 * `import.meta.url`: with --bytecode that still names the source file on the build machine, so the URL
 * form would load the worker from there (or fail on any other machine).
 */
export function readerWorkerSpecifier(moduleUrl: string = import.meta.url, main: string = Bun.main): string {
  if (isCompiledExecutable(main)) return "./platform/linux/tun-reader.worker.ts";
  return new URL("./tun-reader.worker.ts", moduleUrl).href;
}

/** Starts the reader worker of the next openTun ahead of time (see prestartReaderWorker). */
export function prestartTunReader(): void {
  prestartReaderWorker(readerWorkerSpecifier());
}

/** Builds the struct ifreq for TUNSETIFF. Names longer than IFNAMSIZ-1 bytes are rejected. */
export function ifreqFor(name: string, flags: number): Uint8Array | null {
  const nameBytes = new TextEncoder().encode(name);
  if (nameBytes.length === 0 || nameBytes.length >= libc.IFNAMSIZ || nameBytes.includes(0)) return null;
  const ifr = new Uint8Array(libc.IFREQ_SIZE);
  ifr.set(nameBytes, 0);
  new DataView(ifr.buffer).setInt16(libc.IFNAMSIZ, flags, true);
  return ifr;
}

function nameFromIfreq(ifr: Uint8Array): string {
  const end = ifr.indexOf(0);
  return new TextDecoder().decode(ifr.subarray(0, end < 0 || end > libc.IFNAMSIZ ? libc.IFNAMSIZ : end));
}

/**
 * Opens a TUN device, starts its reader, and resolves once the reader is running. The reader worker opens
 * the device and starts reading it at once (the "open" message): creating an interface is ~0.5-0.7 ms of
 * kernel work (2026-11-23), which then runs on the worker's thread while this one goes on (the roam
 * service reads a connect's command line meanwhile, cli/tunnel/runtime.ts openTunnelTun), and the reader
 * is running before IKE_SA_INIT leaves instead of starting beside the gateway's answer.
 */
export async function openTun(opts: OpenTunOptions = {}): Promise<LinuxTunDevice> {
  const wanted = opts.name ?? "roam%d";
  const vnet = opts.offload === true;
  const headroom = opts.headroom ?? 64;
  if (vnet && headroom < VNET_HDR_LEN) throw new TunError(`TUN headroom ${headroom}: offloads need at least ${VNET_HDR_LEN} octets (the virtio_net_hdr is read there)`);
  const ifr = ifreqFor(wanted, libc.IFF_TUN | libc.IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0));
  if (ifr === null) throw new TunError(`TUN name "${wanted}": expected 1 to ${libc.IFNAMSIZ - 1} bytes`);
  const stopFd = libc.eventfd(0, libc.EFD_NONBLOCK | libc.EFD_CLOEXEC);
  if (stopFd < 0) {
    const e = libc.errno();
    throw new TunError(libc.describeErrno("eventfd", e), e);
  }
  const shape = batchShape(opts.batchPackets ?? 256, 1500, opts.maxPacket ?? 65535, headroom, opts.tailroom ?? 64);
  const ring = spareRing.take(RING_BUFFERS, shape.bytes) ?? batchRing(shape, RING_BUFFERS);
  new Uint32Array(ring.stats).fill(0);
  const open: ToReader = { type: "open", ifreq: ifr, offloadFlags: vnet ? (opts.offloadFlags ?? TUN_OFFLOADS) : null, then: { stopFd, shape, ring, vnetHdr: vnet } };
  return await new Promise<LinuxTunDevice>((resolve, reject) => {
    let dev: LinuxTun | null = null;
    let failed = false;
    const reader = startReaderWorker<FromReader>(
      readerWorkerSpecifier(),
      open,
      (msg) => {
        if (msg.type === "opened") {
          dev = new LinuxTun(nameFromIfreq(msg.ifreq), msg.fd, stopFd, shape, opts.stopTimeoutMs ?? 1000, vnet, msg.offloads, reader.worker!, ring);
        } else if (msg.type === "open-failed") {
          // Nothing was opened and the worker reads nothing: it and the ring serve the next device.
          failed = true;
          libc.close(stopFd);
          spareRing.keep(ring);
          recycleReaderWorker(readerWorkerSpecifier(), reader.worker!);
          const step = msg.step === "open" ? "open /dev/net/tun" : msg.step === "TUNSETIFF" ? `TUNSETIFF "${wanted}"` : "fcntl O_NONBLOCK on TUN";
          reject(new TunError(libc.describeErrno(step, msg.errno), msg.errno));
        } else {
          dev?.onReaderMessage(msg);
        }
      },
      (message) => new TunError(`TUN reader worker failed: ${message}`),
      (err) => dev?.onReaderFailure(err),
    );
    reader.ready.then(
      () => resolve(dev!), // "ready" comes after "opened"
      (err: unknown) => {
        if (failed) return;
        // The worker failed: it is gone, and with it whatever it was doing with the device.
        reader.worker?.terminate();
        if (dev !== null) void dev.close();
        else libc.close(stopFd);
        reject(err);
      },
    );
  });
}

class LinuxTun implements LinuxTunDevice {
  private worker: Worker | null = null;
  private receiver: ((batch: PacketBatch) => void) | null = null;
  private errorHandler: ((err: Error) => void) | null = null;
  private closing: Promise<void> | null = null;
  private stoppedResolve: (() => void) | null = null;
  private readerAlive = false;
  private readonly one = new BigUint64Array([1n]);
  private state: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private stats: Uint32Array<ArrayBufferLike> = new Uint32Array(3);
  private ring: BatchRing | null = null;

  /** A device opened by `worker`, which reads it into `ring` (openTun). */
  constructor(
    readonly name: string,
    private fd: number,
    private stopFd: number,
    private readonly shape: BatchShape,
    private readonly stopTimeoutMs: number,
    private readonly vnet: boolean,
    readonly offloads: boolean,
    worker: Worker,
    ring: BatchRing,
  ) {
    this.worker = worker;
    this.ring = ring;
    this.state = new Int32Array(ring.state);
    this.stats = new Uint32Array(ring.stats);
  }

  /** The octets a virtio_net_hdr write overwrites in the caller's buffer, put back afterwards. */
  private readonly saved = new Uint8Array(VNET_HDR_LEN);
  /** For a packet with less than VNET_HDR_LEN octets before it: header + copy. */
  private scratch: Uint8Array | null = null;

  get mtu(): number {
    try {
      return Number.parseInt(readFileSync(`/sys/class/net/${this.name}/mtu`, "utf8"), 10);
    } catch {
      return 0;
    }
  }

  /** A message of the reader worker after "opened". */
  onReaderMessage(msg: FromReader): void {
    switch (msg.type) {
      case "ready":
        this.readerAlive = true;
        return;
      case "batch":
        return this.deliver(this.ring!.buffers, msg.index);
      case "error":
        this.readerAlive = false;
        return this.raise(new TunError(`TUN ${this.name} reader: ${msg.message}`));
      case "stopped":
        this.readerAlive = false;
        this.stoppedResolve?.();
        return;
    }
  }

  /** The reader worker itself failed (an uncaught error in it). */
  onReaderFailure(err: Error): void {
    this.readerAlive = false;
    this.raise(new TunError(`TUN ${this.name} ${err.message.replace(/^TUN /, "")}`));
  }

  private deliver(buffers: SharedArrayBuffer[], index: number): void {
    const cb = this.receiver;
    try {
      if (cb !== null) cb(new BatchView(buffers[index]!, this.shape));
    } finally {
      Atomics.store(this.state, index, FREE); // the batch was lent to the callback only
      Atomics.notify(this.state, index);
    }
  }

  private raise(err: Error): void {
    if (this.errorHandler !== null) this.errorHandler(err);
    else if (this.closing === null) throw err;
  }

  onPackets(cb: (batch: PacketBatch) => void): void {
    this.receiver = cb;
  }

  onError(cb: (err: Error) => void): void {
    this.errorHandler = cb;
  }

  write(buf: Uint8Array, off: number, len: number): number {
    if (this.fd < 0) return -libc.EBADF;
    if (off < 0 || len < 0 || off + len > buf.length) return -22; // EINVAL
    if (this.vnet) return this.writePlain(buf, off, len);
    const n = libc.writeAt(this.fd, buf, off, len);
    return n < 0 ? -libc.errno() : n;
  }

  offloadStats(): { superPackets: number; segments: number; dropped: number } {
    const s = this.stats;
    return { superPackets: s[READER_STATS.superPackets]!, segments: s[READER_STATS.segments]!, dropped: s[READER_STATS.dropped]! };
  }

  writeVnet(buf: Uint8Array, off: number, len: number): number {
    if (this.fd < 0) return -libc.EBADF;
    if (!this.vnet || off < 0 || len < VNET_HDR_LEN || off + len > buf.length) return -22; // EINVAL
    const n = libc.writeAt(this.fd, buf, off, len);
    return n < 0 ? -libc.errno() : n;
  }

  /** One packet behind an all-zero virtio_net_hdr (a plain packet, checksums complete), written in place. */
  private writePlain(buf: Uint8Array, off: number, len: number): number {
    let n: number;
    if (off >= VNET_HDR_LEN) {
      const h = off - VNET_HDR_LEN;
      const saved = this.saved;
      saved.set(buf.subarray(h, off));
      buf.fill(0, h, off);
      n = libc.writeAt(this.fd, buf, h, len + VNET_HDR_LEN);
      buf.set(saved, h);
    } else {
      if (this.scratch === null || this.scratch.length < len + VNET_HDR_LEN) this.scratch = new Uint8Array(Math.max(len + VNET_HDR_LEN, 2048));
      this.scratch.fill(0, 0, VNET_HDR_LEN);
      this.scratch.set(buf.subarray(off, off + len), VNET_HDR_LEN);
      n = libc.writeAt(this.fd, this.scratch, 0, len + VNET_HDR_LEN);
    }
    return n < 0 ? -libc.errno() : n - VNET_HDR_LEN;
  }

  writeBatch(data: Uint8Array, offsets: ArrayLike<number>, lengths: ArrayLike<number>, count: number): number {
    let written = 0;
    for (let i = 0; i < count; i++) {
      if (this.write(data, offsets[i]!, lengths[i]!) >= 0) written++;
    }
    return written;
  }

  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closing = this.stop();
    return this.closing;
  }

  private async stop(): Promise<void> {
    const worker = this.worker;
    let stoppedCleanly = false;
    if (worker !== null && this.readerAlive) {
      const stopped = new Promise<void>((resolve) => {
        this.stoppedResolve = () => {
          stoppedCleanly = true;
          resolve();
        };
      });
      // Wake the reader out of poll() (eventfd counter += 1).
      libc.writeAt(this.stopFd, new Uint8Array(this.one.buffer), 0, 8);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.stopTimeoutMs);
      });
      await Promise.race([stopped, timeout]);
      clearTimeout(timer);
    }
    if (worker !== null) {
      // A reader that answered "stopped" serves the next device; one that did not (a timeout, a failure) ends.
      if (stoppedCleanly) {
        recycleReaderWorker(readerWorkerSpecifier(), worker);
        if (this.ring !== null) {
          this.stats = this.stats.slice(); // the next device zeroes the shared counters; ours stay readable
          spareRing.keep(this.ring);
        }
      } else worker.terminate();
      this.worker = null;
    }
    this.ring = null;
    // Only now: the reader can no longer touch these fd numbers.
    libc.close(this.fd);
    libc.close(this.stopFd);
    this.fd = -1;
    this.stopFd = -1;
  }
}
