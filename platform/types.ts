// What the rest of roam needs from an operating system, as small interfaces (wireguard-go's tun.Device
// shape): one folder per OS fills them (platform/linux/ now; macOS utun and Windows wintun later).

/**
 * Packets read from the TUN in one wake-up, all in ONE buffer (one transfer from the reader thread).
 * Packet i is `data[offsets[i] .. offsets[i] + lengths[i])`. Every packet has `headroom` free bytes
 * before it and `tailroom` after it inside `data`, so ESP can write its header and trailer in place.
 *
 * The batch is lent to the callback: its buffer goes back to the reader when the callback returns.
 * Copy what must outlive the callback.
 */
export interface PacketBatch {
  readonly count: number;
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly headroom: number;
  readonly tailroom: number;
}

export interface TunDevice {
  /** The interface name the kernel gave (e.g. "roam0"). */
  readonly name: string;
  /** The link MTU as the kernel reports it now. */
  readonly mtu: number;
  /** Sets the receiver of packet batches (one receiver; a later call replaces it). */
  onPackets(cb: (batch: PacketBatch) => void): void;
  /** Reader failures (the device vanished, ...). Without a handler they are thrown. */
  onError(cb: (err: Error) => void): void;
  /** Writes one IP packet. Returns bytes written, or a negative errno (the packet is dropped). */
  write(buf: Uint8Array, off: number, len: number): number;
  /** Writes `count` packets laid out like a PacketBatch. Returns how many were written. */
  writeBatch(data: Uint8Array, offsets: ArrayLike<number>, lengths: ArrayLike<number>, count: number): number;
  /** Stops the reader and closes the device (the kernel removes a non-persistent TUN). Idempotent. */
  close(): Promise<void>;
}

/** Address, MTU, link state and routes of the tunnel interface, each change undoable. */
export interface NetConfig {
  setMtu(dev: string, mtu: number): void;
  linkUp(dev: string): void;
  /** "198.18.0.7/32" or "2001:db8::7/128": the virtual IP from the configuration payload. */
  addAddress(dev: string, cidr: string): void;
  /** One route per traffic selector subnet, via the tunnel (split tunnel). */
  addRoute(dev: string, cidr: string, opts?: { metric?: number }): void;
}

/** DNS servers and search/routing domains from the configuration payload (RFC 7296 §3.15). */
export interface DnsSettings {
  servers: string[];
  domains: string[];
}

export interface DnsConfig {
  apply(dev: string, settings: DnsSettings): void;
}

/** A UDP endpoint for IKE (500/4500) and UDP-encapsulated ESP (RFC 3948). */
export interface UdpEndpoint {
  readonly localPort: number;
  readonly localAddress: string;
  /** Queues one datagram; it leaves on a later event-loop turn (see platform/udp.ts for why). */
  send(data: Uint8Array, port: number, address: string): void;
  /** Sends the queue now. Never call it from inside the receive callback. */
  flush(): void;
  close(): void;
}

/** Clocks: monotonic for timers and lifetimes, wall-clock only for certificate validity. */
export interface Clock {
  /** Milliseconds on a monotonic clock (never jumps back; arbitrary origin). */
  monotonicMs(): number;
  /** Milliseconds since the Unix epoch (can jump: NTP, suspend). */
  wallMs(): number;
}
