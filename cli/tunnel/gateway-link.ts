// The tunnel's UDP link to the gateway: one socket, IKE on the gateway's port (500) or on the NAT-T port
// (4500, behind the non-ESP marker, RFC 3948 §2.2), ESP on the NAT-T port, and NAT keepalives (§4).
//
//   gateway:500  ─► onIke(message, "ike")
//   gateway:4500 ─► non-ESP marker? onIke(message, "natt") : keepalive? drop : onEsp(datagram)

import type { IkePort } from "../../core/ike/types.ts";
import { classifyUdp4500, NON_ESP_MARKER } from "../../core/esp/udpencap.ts";
import { parseAddress } from "../../core/wire/addr.ts";
import { systemClock } from "../../platform/clock.ts";
import { openUdp, type UdpSocket } from "../../platform/udp.ts";

export interface GatewayLinkHandlers {
  /** An IKE message from the gateway (a copy, without the non-ESP marker). */
  onIke(data: Uint8Array, port: IkePort): void;
  /** An ESP datagram from the gateway (lent for the call). */
  onEsp(data: Uint8Array): void;
  /** A send failed (ENETUNREACH and friends): the path may have changed under us. */
  onError(): void;
  /** The socket cannot receive (its reader did not start): the tunnel cannot work. */
  onFailed(err: Error): void;
}

export class GatewayLink {
  private udp: UdpSocket | null = null;
  private keepalive: ReturnType<typeof setInterval> | null = null;
  /** The gateway's address in use (text). */
  address = "";
  /** Monotonic time anything last arrived from the gateway (for dead peer detection). */
  lastInbound = 0;
  /** RFC 3948: NAT-T goes to 4500, or to the gateway's own port when that is not 500. */
  readonly natPort: number;

  constructor(
    private readonly gatewayPort: number,
    private readonly handlers: GatewayLinkHandlers,
  ) {
    this.natPort = gatewayPort === 500 ? 4500 : gatewayPort;
  }

  /** Whether a socket is open. */
  get open(): boolean {
    return this.udp !== null;
  }

  /** Our UDP port (the socket must be open). */
  get localPort(): number {
    return this.udp!.localPort;
  }

  /**
   * Talks to `address` from now on. One UDP socket, bound to the wildcard address: the kernel picks the
   * source address for each datagram from the routing table, so after an address change our datagrams
   * leave from the new address without rebinding (RFC 4555 §3.5 "sent from the new address"). A gateway
   * of the other family needs a new one.
   */
  async connectTo(address: string): Promise<void> {
    this.address = address;
    const family = parseAddress(address)!.length === 4 ? "0.0.0.0" : "::";
    if (this.udp && this.udp.localAddress === family) return;
    this.udp?.close();
    const udp = await openUdp({
      address: family,
      onDatagram: (data, port, from) => this.onDatagram(data, port, from),
      onError: () => this.handlers.onError(),
    });
    this.udp = udp;
    // Sending starts now; what the gateway answers waits in the socket until the reader runs.
    udp.ready.catch((e: unknown) => {
      if (this.udp === udp) this.handlers.onFailed(e instanceof Error ? e : new Error(String(e)));
    });
  }

  sendIke(data: Uint8Array, port: IkePort): void {
    if (!this.udp) return;
    if (port === "ike") this.udp.send(data, this.gatewayPort, this.address);
    else {
      // RFC 3948 §2.2: IKE on the NAT-T port is preceded by four zero octets.
      const out = new Uint8Array(data.length + 4);
      out.set(NON_ESP_MARKER, 0);
      out.set(data, 4);
      this.udp.send(out, this.natPort, this.address);
    }
  }

  sendEsp(data: Uint8Array): void {
    this.udp?.send(data, this.natPort, this.address);
  }

  flush(): void {
    this.udp?.flush();
  }

  /** RFC 3948 §4: keep the NAT mapping alive while we are behind one (we always encapsulate); 0: never. */
  startKeepalive(seconds: number): void {
    this.stopKeepalive();
    if (seconds > 0) this.keepalive = setInterval(() => this.udp?.send(new Uint8Array([0xff]), this.natPort, this.address), seconds * 1000);
  }

  stopKeepalive(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
  }

  /** Sends what is queued, then closes the socket. */
  close(): void {
    this.udp?.close();
  }

  private onDatagram(data: Uint8Array, port: number, from: string): void {
    if (from !== this.address && from !== `::ffff:${this.address}`) return;
    this.lastInbound = systemClock.monotonicMs();
    if (port === this.gatewayPort && port !== this.natPort) {
      this.handlers.onIke(data.slice(), "ike");
      return;
    }
    if (port !== this.natPort) return;
    const c = classifyUdp4500(data);
    switch (c.kind) {
      case "ike":
        this.handlers.onIke(c.message.slice(), "natt");
        break;
      case "esp":
        this.handlers.onEsp(data);
        break;
      default:
        break; // keepalive or runt
    }
  }
}

export class GatewayResolveError extends Error {}

/** The gateway's address: `host` itself when it is one, else its name resolved. */
export async function resolveGateway(host: string): Promise<string> {
  if (parseAddress(host)) return host;
  try {
    const { lookup } = await import("node:dns/promises");
    const r = await lookup(host);
    return r.address;
  } catch {
    throw new GatewayResolveError(`cannot resolve gateway "${host}"`);
  }
}
