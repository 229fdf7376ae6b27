// The Linux UDP backend of platform/udp.ts: a non-blocking socket made through bun:ffi, drained by a
// reader worker with recvmmsg(2) (udp-reader.worker.ts, batches handed over without copies), sending
// with one sendmmsg(2) per flush, with socket buffers large enough for a burst of ESP (4 MiB each way;
// SO_RCVBUFFORCE as root, else whatever net.core.rmem_max allows).
//
// Why (bench/datapath): one Bun receive callback per datagram left the main thread behind under
// iperf3 TCP and the 208 KiB default receive buffer overflowed (~16% of datagrams).

import { ptr } from "bun:ffi";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../../core/wire/addr.ts";
import { QueuedUdp, UdpError, type SendQueue, type UdpOptions } from "../udp-queue.ts";
import * as libc from "./libc.ts";
import { isCompiledExecutable, prestartReaderWorker, recycleReaderWorker, SpareRing, startReaderWorker } from "./reader-worker.ts";
import { FREE, TRUNCATED, udpBatchShape, udpRing, type FromUdpReader, type ToUdpReader, type UdpBatchShape, type UdpRing } from "./udp-batch.ts";

/** Socket buffer size asked for each way. */
export const SOCKET_BUFFER = 4 << 20;
/** Datagrams per receive batch (one recvmmsg call). */
const RECV_BATCH = 32;
/**
 * Batch buffers in the ring shared with the reader (2 MiB each, as every slot can take a 64 KiB
 * datagram; only touched pages cost memory). 8 MiB in all: allocating 32 MiB cost ~15 ms of connect time.
 */
const RING_BUFFERS = 4;
/** The ring of the last socket whose reader stopped cleanly, for the next socket. */
const spareRing = new SpareRing<UdpRing>();
/** Datagrams per sendmmsg call (a flush of more makes several calls). */
const SEND_BATCH = 256;
/** UDP GSO (udp(7) UDP_SEGMENT): at most this many datagrams and octets per send (UDP_MAX_SEGMENTS, IP's 64 KiB). */
const GSO_MAX_SEGMENTS = 64;
const GSO_MAX_BYTES = 65_000;
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
/** CMSG_LEN(2) and CMSG_SPACE(2) on 64-bit Linux. */
const CMSG_SEGMENT_LEN = 18;
const CMSG_SEGMENT_SPACE = 24;
/** struct msghdr's msg_control and msg_controllen (inside struct mmsghdr, 64-bit). */
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
/** How long a flush waits for room in a full send buffer before dropping the rest, ms. */
const SEND_WAIT_MS = 5;

/** See readerWorkerSpecifier in tun.ts: inside the compiled executable the worker sits under the bundle root. */
export function udpWorkerSpecifier(moduleUrl: string = import.meta.url, main: string = Bun.main): string {
  if (isCompiledExecutable(main)) return "./platform/linux/udp-reader.worker.ts";
  return new URL("./udp-reader.worker.ts", moduleUrl).href;
}

/** Starts the reader worker of the next openMmsgUdp ahead of time (see prestartReaderWorker). */
export function prestartUdpReader(): void {
  prestartReaderWorker(udpWorkerSpecifier());
}

/** struct sockaddr_in / sockaddr_in6 for `address`:`port` into `out` (28 octets); its length, or 0 if unparsable. */
export function encodeSockaddr(out: Uint8Array, family: number, address: string, port: number): number {
  out.fill(0);
  if (family === libc.AF_INET) {
    const a = parseIPv4(address);
    if (a === null) return 0;
    out[0] = libc.AF_INET; // sa_family_t, host order (little-endian here)
    out[2] = port >>> 8; // network order
    out[3] = port & 0xff;
    out.set(a, 4);
    return 16;
  }
  let a = parseIPv6(address);
  if (a === null) {
    const v4 = parseIPv4(address);
    if (v4 === null) return 0;
    a = new Uint8Array(16); // RFC 4291 §2.5.5.2: IPv4-mapped, for an IPv4 peer on an IPv6 socket
    a[10] = a[11] = 0xff;
    a.set(v4, 12);
  }
  out[0] = libc.AF_INET6;
  out[2] = port >>> 8;
  out[3] = port & 0xff;
  out.set(a, 8); // after sin6_flowinfo
  return 28;
}

/** The sender's address as text from a struct sockaddr at `off` (RFC 5952 §5 for IPv4-mapped). */
export function sockaddrAddress(b: Uint8Array, off: number): string {
  if (b[off] === libc.AF_INET) return `${b[off + 4]}.${b[off + 5]}.${b[off + 6]}.${b[off + 7]}`;
  const a = b.subarray(off + 8, off + 24);
  let mapped = a[10] === 0xff && a[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = a[i] === 0;
  return mapped ? `::ffff:${formatIPv4(a.subarray(12))}` : formatIPv6(a);
}

export async function openMmsgUdp(opts: UdpOptions): Promise<MmsgUdpEndpoint> {
  const address = opts.address ?? "0.0.0.0";
  const port = opts.port ?? 0;
  const family = parseIPv4(address) !== null ? libc.AF_INET : libc.AF_INET6;
  const name = new Uint8Array(libc.SOCKADDR_SIZE);
  const nameLen = encodeSockaddr(name, family, address, port);
  if (nameLen === 0) throw new UdpError(`bind UDP ${address}:${port}: "${address}" is not an IPv4 or IPv6 address`);
  const fd = libc.socket(family, libc.SOCK_DGRAM | libc.SOCK_NONBLOCK | libc.SOCK_CLOEXEC, 0);
  if (fd < 0) throw new UdpError(libc.describeErrno("socket(SOCK_DGRAM)", libc.errno()));
  let stopFd = -1;
  try {
    for (const [force, plain] of [
      [libc.SO_RCVBUFFORCE, libc.SO_RCVBUF],
      [libc.SO_SNDBUFFORCE, libc.SO_SNDBUF],
    ] as const) {
      // Without CAP_NET_ADMIN the FORCE variant fails; the plain one is capped by net.core.[rw]mem_max.
      if (libc.setsockoptInt(fd, libc.SOL_SOCKET, force, SOCKET_BUFFER) < 0) libc.setsockoptInt(fd, libc.SOL_SOCKET, plain, SOCKET_BUFFER);
    }
    if (libc.bind(fd, name, nameLen) < 0) throw new UdpError(libc.describeErrno(`bind UDP ${address}:${port}`, libc.errno()));
    const local = new Uint8Array(libc.SOCKADDR_SIZE);
    if (libc.getsockname(fd, local) < 0) throw new UdpError(libc.describeErrno("getsockname", libc.errno()));
    stopFd = libc.eventfd(0, libc.EFD_NONBLOCK | libc.EFD_CLOEXEC);
    if (stopFd < 0) throw new UdpError(libc.describeErrno("eventfd", libc.errno()));
    const endpoint = new MmsgUdpEndpoint(opts, fd, stopFd, family, (local[2]! << 8) | local[3]!, sockaddrAddress(local, 0));
    // Not awaited: the socket sends at once and the kernel keeps what arrives until the reader runs, so a
    // connect's first IKE message need not wait for the reader worker to start (~5 ms of a connect).
    endpoint.ready = endpoint.start(udpBatchShape(RECV_BATCH));
    endpoint.ready.catch(() => {}); // reported through onError; owners that care await `ready`
    return endpoint;
  } catch (e) {
    if (stopFd >= 0) libc.close(stopFd);
    libc.close(fd);
    throw e;
  }
}

export class MmsgUdpEndpoint extends QueuedUdp {
  private worker: Worker | null = null;
  private shape: UdpBatchShape | null = null;
  private ring: Uint8Array<ArrayBufferLike>[] = [];
  private sharedRing: UdpRing | null = null;
  private state: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private readerAlive = false;
  // sendmmsg scratch: struct mmsghdr[SEND_BATCH], struct iovec[SEND_BATCH], the names, then one UDP_SEGMENT
  // control message per mmsghdr.
  private readonly hdrs = new Uint8Array(SEND_BATCH * (libc.MMSGHDR_SIZE + libc.IOVEC_SIZE + libc.SOCKADDR_SIZE + CMSG_SEGMENT_SPACE));
  /** Datagrams in each mmsghdr of the last sendChunk, and each datagram's sockaddr length. */
  private readonly perMsg = new Uint16Array(SEND_BATCH);
  private readonly nameLens = new Uint8Array(SEND_BATCH);
  /** Runs of equal datagrams to one destination leave as one UDP GSO send until the kernel refuses one. */
  private gso: boolean;
  private readonly hdr32 = new Uint32Array(this.hdrs.buffer);
  private readonly pollfd = new Uint8Array(8);
  /** Destination address text → sockaddr with port 0 (length in octet 27's place kept apart). */
  private readonly names = new Map<string, { bytes: Uint8Array; len: number }>();
  /** The last sender seen (4 octets as a number) and its text: one string for a whole flow. */
  private lastV4 = -1;
  private lastV4Text = "";

  constructor(
    opts: UdpOptions,
    private fd: number,
    private stopFd: number,
    private readonly family: number,
    readonly localPort: number,
    readonly localAddress: string,
  ) {
    super(opts);
    this.gso = opts.gso !== false;
  }

  /** Socket buffer sizes the kernel granted (it reports twice what was set, see socket(7)). */
  bufferSizes(): { receive: number; send: number } {
    return { receive: libc.getsockoptInt(this.fd, libc.SOL_SOCKET, libc.SO_RCVBUF), send: libc.getsockoptInt(this.fd, libc.SOL_SOCKET, libc.SO_SNDBUF) };
  }

  start(shape: UdpBatchShape): Promise<void> {
    this.shape = shape;
    const ring = spareRing.take(RING_BUFFERS, shape.bytes) ?? udpRing(shape, RING_BUFFERS);
    this.sharedRing = ring;
    this.ring = ring.buffers.map((b) => new Uint8Array(b));
    this.state = new Int32Array(ring.state);
    const start: ToUdpReader = { type: "start", fd: this.fd, stopFd: this.stopFd, shape, ring };
    const reader = startReaderWorker<FromUdpReader>(
      udpWorkerSpecifier(),
      start,
      (msg) => {
        switch (msg.type) {
          case "ready":
            this.readerAlive = true;
            return;
          case "batch":
            return this.deliver(msg.index);
          case "error":
            if (msg.fatal) this.readerAlive = false;
            this.opts.onError?.(new UdpError(`UDP reader: ${msg.message}`));
            return;
          case "stopped":
            this.readerAlive = false;
            this.releaseFds(true);
            return;
        }
      },
      (message) => new UdpError(`UDP reader worker failed: ${message}`),
      (err) => this.opts.onError?.(err),
    );
    this.worker = reader.worker;
    return reader.ready;
  }

  private deliver(index: number): void {
    const s = this.shape!;
    const u8 = this.ring[index]!;
    const buffer = u8.buffer;
    const meta = new Uint32Array(buffer, 0, 1 + s.maxCount);
    const count = meta[0]!;
    this.receiving(true);
    try {
      for (let i = 0; i < count && !this.closed; i++) {
        const len = meta[1 + i]!;
        if (len === TRUNCATED) continue;
        const n = s.namesOff + i * libc.SOCKADDR_SIZE;
        const port = (u8[n + 2]! << 8) | u8[n + 3]!;
        let address: string;
        if (u8[n] === libc.AF_INET) {
          const key = ((u8[n + 4]! << 24) | (u8[n + 5]! << 16) | (u8[n + 6]! << 8) | u8[n + 7]!) >>> 0;
          if (key !== this.lastV4) {
            this.lastV4 = key;
            this.lastV4Text = sockaddrAddress(u8, n);
          }
          address = this.lastV4Text;
        } else {
          address = sockaddrAddress(u8, n);
        }
        this.receive(new Uint8Array(buffer, s.dataOff + i * s.slotBytes, len), port, address);
      }
    } finally {
      this.receiving(false);
      Atomics.store(this.state, index, FREE); // the datagrams were lent to the callbacks only
      Atomics.notify(this.state, index);
    }
    // What the callbacks queued leaves now, once per batch, not a setImmediate later (~60 µs on a
    // loaded machine, per hop of every round trip). Bun's trap (udp-queue.ts) is specific to sends from
    // inside Bun's own socket callback; this runs on a worker message.
    if (this.pending > 0 && !this.closed) {
      this.flush();
    }
  }

  private nameFor(address: string): { bytes: Uint8Array; len: number } {
    let n = this.names.get(address);
    if (n === undefined) {
      const bytes = new Uint8Array(libc.SOCKADDR_SIZE);
      n = { bytes, len: encodeSockaddr(bytes, this.family, address, 0) };
      if (this.names.size >= 64) this.names.clear(); // a tunnel talks to one gateway; keep the cache small
      this.names.set(address, n);
    }
    return n;
  }

  protected sendBatch(q: SendQueue): number {
    if (this.fd < 0) return 0;
    let sent = 0;
    for (let start = 0; start < q.length; ) {
      const [n, skipped] = this.sendChunk(q, start, Math.min(SEND_BATCH, q.length - start));
      sent += n;
      start += n + skipped;
      if (n === 0 && skipped === 0) break; // the send buffer stayed full: drop the rest
    }
    return sent;
  }

  private setPtr(byteOff: number, p: number): void {
    this.hdr32[byteOff >>> 2] = p >>> 0;
    this.hdr32[(byteOff >>> 2) + 1] = Math.floor(p / 0x1_0000_0000);
  }

  /**
   * One sendmmsg of q[start, start + count). Returns [sent, skipped (refused by the kernel, or bad address)].
   * With UDP GSO (UDP_SEGMENT, Linux 4.18): consecutive datagrams to the same address and port, all as long
   * as the first but the last (which may be shorter), go as one mmsghdr of several iovecs that the kernel
   * cuts into datagrams of that length, below the IP layer: one trip through routing and netfilter instead
   * of one per datagram. A full-size TCP flow's ESP datagrams are such runs.
   */
  private sendChunk(q: SendQueue, start: number, count: number): [number, number] {
    const hdrs = this.hdrs;
    const base = ptr(hdrs);
    const iovOff = SEND_BATCH * libc.MMSGHDR_SIZE;
    const nameOff = iovOff + SEND_BATCH * libc.IOVEC_SIZE;
    const cmsgOff = nameOff + SEND_BATCH * libc.SOCKADDR_SIZE;
    let k = 0;
    for (; k < count; k++) {
      const i = start + k;
      const name = this.nameFor(q.addresses[i]!);
      if (name.len === 0) break; // not an address of this socket's family: skipped below
      const no = nameOff + k * libc.SOCKADDR_SIZE;
      hdrs.set(name.bytes, no);
      this.nameLens[k] = name.len;
      const port = q.ports[i]!;
      hdrs[no + 2] = port >>> 8;
      hdrs[no + 3] = port & 0xff;
      const d = q.data[i]!;
      const v = iovOff + k * libc.IOVEC_SIZE;
      this.setPtr(v, d.length > 0 ? ptr(d) : base); // a zero-length datagram still needs a valid pointer
      this.setPtr(v + 8, d.length);
    }
    if (k === 0) {
      this.opts.onError?.(new UdpError(`send to ${q.addresses[start]}: not an address this ${this.family === libc.AF_INET ? "IPv4" : "IPv6"} socket can reach`));
      return [0, 1];
    }
    // The mmsghdrs: one per run (GSO) or one per datagram.
    let m = 0;
    for (let j = 0; j < k; m++) {
      const i = start + j;
      const len = q.data[i]!.length;
      let n = 1;
      if (this.gso && len > 0) {
        let bytes = len;
        while (
          j + n < k &&
          n < GSO_MAX_SEGMENTS &&
          q.data[i + n - 1]!.length === len && // only the run's last may be shorter
          q.ports[i + n] === q.ports[i] &&
          q.addresses[i + n] === q.addresses[i] &&
          q.data[i + n]!.length > 0 &&
          q.data[i + n]!.length <= len &&
          bytes + q.data[i + n]!.length <= GSO_MAX_BYTES
        ) {
          bytes += q.data[i + n]!.length;
          n++;
        }
      }
      const h = m * libc.MMSGHDR_SIZE;
      this.setPtr(h + libc.MSG_NAME, base + nameOff + j * libc.SOCKADDR_SIZE);
      this.hdr32[(h + libc.MSG_NAMELEN) >>> 2] = this.nameLens[j]!;
      this.setPtr(h + libc.MSG_IOV, base + iovOff + j * libc.IOVEC_SIZE);
      this.setPtr(h + libc.MSG_IOVLEN, n);
      if (n > 1) {
        // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } + u16 gso_size.
        const c = cmsgOff + m * CMSG_SEGMENT_SPACE;
        this.setPtr(c, CMSG_SEGMENT_LEN);
        this.hdr32[(c + 8) >>> 2] = SOL_UDP;
        this.hdr32[(c + 12) >>> 2] = UDP_SEGMENT;
        hdrs[c + 16] = len & 0xff;
        hdrs[c + 17] = len >>> 8;
        this.setPtr(h + MSG_CONTROL, base + c);
        this.setPtr(h + MSG_CONTROLLEN, CMSG_SEGMENT_SPACE);
      } else {
        this.setPtr(h + MSG_CONTROL, 0);
        this.setPtr(h + MSG_CONTROLLEN, 0);
      }
      this.hdr32[(h + libc.MSG_FLAGS) >>> 2] = 0;
      this.perMsg[m] = n;
      j += n;
    }
    for (let waited = false; ; waited = true) {
      const sentMsgs = libc.sendmmsg(this.fd, hdrs, m, 0);
      if (sentMsgs >= 0) {
        let sent = 0;
        for (let x = 0; x < sentMsgs; x++) sent += this.perMsg[x]!;
        return [sent, 0];
      }
      const e = libc.errno();
      if (e === libc.EINTR) continue;
      if (e === libc.EAGAIN && !waited) {
        // The send buffer is full: wait briefly for room (UDP: the kernel drains it at line rate).
        const pv = new DataView(this.pollfd.buffer);
        pv.setInt32(0, this.fd, true);
        pv.setInt16(4, libc.POLLOUT, true);
        pv.setInt16(6, 0, true);
        libc.poll(this.pollfd, 1, SEND_WAIT_MS);
        continue;
      }
      if (e === libc.EAGAIN) return [0, 0];
      if (this.perMsg[0]! > 1 && (e === libc.EIO || e === libc.EINVAL || e === libc.EMSGSIZE || e === libc.ENOPROTOOPT)) {
        // No UDP GSO on this path (a kernel without it, a device without checksum offload, segments
        // larger than the route's MTU): datagram by datagram from now on, as before GSO.
        this.gso = false;
        return this.sendChunk(q, start, count);
      }
      // The first datagram (or run) was refused (unreachable, no route, ...): report it and go on with the rest.
      this.opts.onError?.(new UdpError(libc.describeErrno(`send to ${q.addresses[start]}:${q.ports[start]}`, e)));
      return [0, this.perMsg[0]!];
    }
  }

  protected release(): void {
    const worker = this.worker;
    if (worker !== null && this.readerAlive) {
      // Wake the reader out of poll(); it answers "stopped", then the fds are closed (releaseFds).
      libc.writeAt(this.stopFd, new Uint8Array(new BigUint64Array([1n]).buffer), 0, 8);
      setTimeout(() => this.releaseFds(), 1000).unref();
    } else {
      this.releaseFds();
    }
  }

  /** `recycle`: the reader answered "stopped" and serves the next socket; otherwise it ends. */
  private releaseFds(recycle = false): void {
    if (this.worker !== null) {
      if (recycle) {
        recycleReaderWorker(udpWorkerSpecifier(), this.worker);
        if (this.sharedRing !== null) spareRing.keep(this.sharedRing);
      } else this.worker.terminate();
    }
    this.worker = null;
    this.sharedRing = null;
    if (this.fd >= 0) libc.close(this.fd);
    if (this.stopFd >= 0) libc.close(this.stopFd);
    this.fd = -1;
    this.stopFd = -1;
  }
}
