// The ESP data path of one tunnel (wireguard-go's device/send.go shape, written down):
//
//   outbound: TUN batch ─► for each packet: seal in place (ESP header in the headroom, trailer and ICV in
//             the tailroom) ─► queue on the UDP socket ─► flush once per batch, while the batch is still ours
//   inbound:  UDP datagram (port 4500, ESP) ─► open in place ─► inbound policy check (RFC 4301 §5.2)
//             ─► TUN write; on a TUN with offloads (platform/linux/tun-offload.ts), in-order segments of
//             one TCP flow are joined first (core/net/gro.ts) and written once per UDP batch
//
// No allocation per packet: the buffers are the TUN reader's and the socket's; results are reused.

import { ESP_HEADROOM, ESP_TAILROOM, EspEngine } from "../../core/esp/engine.ts";
import type { EspCipher, EspCipherParams } from "../../core/esp/cipher.ts";
import { createNobleEspCipher } from "../../core/esp/noble.ts";
import { InboundSa, OutboundSa, type EspLifetime, type LifetimeSignal } from "../../core/esp/sa.ts";
import { InboundPolicy } from "../../core/ike/selectors.ts";
import type { ChildSaParams } from "../../core/ike/types.ts";
import { wipe } from "../../core/util/bytes.ts";
import { TcpCoalescer } from "../../core/net/gro.ts";
import { createLibcryptoEspCipher } from "../../platform/crypto/esp-libcrypto.ts";
import { createNativeEspCipher } from "../../platform/crypto/esp-native.ts";
import { systemRandom } from "../../platform/random.ts";
import type { PacketBatch, TunDevice } from "../../platform/types.ts";

export interface Traffic {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

export interface EspSender {
  /** Queues one ESP datagram for the gateway's NAT-T port; the buffer must stay unchanged until flush. */
  send(data: Uint8Array): void;
  /** Sends what is queued now. */
  flush(): void;
  /** Byte and packet limits of every ESP SA installed (RFC 4301 §4.4.2.1); none when left out. */
  lifetime?: EspLifetime;
  /**
   * An SA of the CHILD_SA with inbound SPI `spiIn` crossed a limit: "soft" (rekey now) once per SA, "hard"
   * (it carries nothing more; also when the sequence numbers are spent, RFC 4303 §3.3.3).
   */
  onLimit?(spiIn: number, limit: "soft" | "hard"): void;
}

/** A TUN that takes TCP super-packets behind a virtio_net_hdr (platform/linux/tun.ts with `offload`). */
interface VnetTun extends TunDevice {
  readonly offloads: boolean;
  writeVnet(buf: Uint8Array, off: number, len: number): number;
}

function isVnetTun(t: TunDevice): t is VnetTun {
  return (t as Partial<VnetTun>).offloads === true && typeof (t as Partial<VnetTun>).writeVnet === "function";
}

export class DataPath {
  private readonly engine = new EspEngine();
  private policy: InboundPolicy | null = null;
  private tun: TunDevice | null = null;
  private readonly traffic: Traffic = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
  private readonly extraDrops = { policy: 0, "no-sa": 0, "tun-write": 0, "no-room": 0 };
  private outSpiFor = new Map<number, number>(); // spiIn -> spiOut
  private inSpiFor = new Map<number, number>(); // spiOut -> spiIn
  /** SAs (by inbound SPI) already reported as hard-limited: the report goes out once. */
  private hardReported = new Set<number>();
  /** A new outbound SA waiting for the gateway to use the new inbound one (or to delete the old). */
  private pendingOut: { spiIn: number; sa: OutboundSa } | null = null;

  private activatePending(): void {
    if (!this.pendingOut) return;
    this.engine.setOutbound(this.pendingOut.sa);
    this.pendingOut = null;
  }

  constructor(private readonly out: EspSender) {}

  /** Installs a CHILD_SA: our outbound SA and our inbound SA, and its selectors for the inbound check. */
  install(c: ChildSaParams): void {
    const base = { encrId: c.encrId, keyBits: c.encrKeyBits || undefined, integId: c.integId, esn: c.esn };
    const outCipher = createCipher({ ...base, encrKey: c.encrKeyOut, integKey: c.integKeyOut });
    const inCipher = createCipher({ ...base, encrKey: c.encrKeyIn, integKey: c.integKeyIn });
    // The ciphers copied the keys: the session's copies are no longer needed.
    wipe(c.encrKeyOut, c.integKeyOut, c.encrKeyIn, c.integKeyIn);
    const lifetime = this.out.lifetime;
    this.engine.addInbound(new InboundSa({ spi: c.spiIn, cipher: inCipher, esn: c.esn, lifetime }));
    this.outSpiFor.set(c.spiIn >>> 0, c.spiOut >>> 0);
    this.inSpiFor.set(c.spiOut >>> 0, c.spiIn >>> 0);
    if (c.inboundOnly) {
      // The redundant SA of a rekey collision we lost (RFC 7296 §2.8.1): received on until deleted, never sent on.
      outCipher.dispose();
      this.policy ??= new InboundPolicy(c.tsi, c.tsr);
      return;
    }
    const out = new OutboundSa({ spi: c.spiOut, cipher: outCipher, esn: c.esn, random: systemRandom, lifetime });
    if (c.deferOutbound && this.engine.outbound) {
      this.pendingOut?.sa.dispose();
      this.pendingOut = { spiIn: c.spiIn >>> 0, sa: out };
    } else {
      // A newer SA we send on at once supersedes one still waiting for the gateway (a collision we won).
      this.pendingOut?.sa.dispose();
      this.pendingOut = null;
      this.engine.setOutbound(out);
    }
    // Inbound packets come from the remote selectors (TSr) to the local ones (TSi).
    this.policy = new InboundPolicy(c.tsi, c.tsr);
  }

  remove(spiIn: number): void {
    const spiOut = this.outSpiFor.get(spiIn >>> 0);
    this.engine.removeInbound(spiIn);
    if (spiOut !== undefined && this.engine.outbound?.spi === spiOut) {
      // The old SA is gone: send on its successor if one waits, else nothing is sent until a new one.
      if (this.pendingOut) this.activatePending();
      else this.engine.setOutbound(undefined);
    }
    this.outSpiFor.delete(spiIn >>> 0);
    if (spiOut !== undefined) this.inSpiFor.delete(spiOut);
    this.hardReported.delete(spiIn >>> 0);
  }

  /** Reports a lifetime signal of the SA pair with inbound SPI `spiIn` (once for hard; sa.ts raises soft once). */
  private signal(spiIn: number | undefined, s: LifetimeSignal): void {
    if (s === "none" || spiIn === undefined || !this.out.onLimit) return;
    if (s === "hard") {
      if (this.hardReported.has(spiIn)) return;
      this.hardReported.add(spiIn);
    }
    this.out.onLimit(spiIn, s);
  }

  /** Joins inbound TCP segments when the TUN takes super-packets; written when the UDP batch ends. */
  private coalescer: TcpCoalescer | null = null;
  private flushQueued = false;
  private readonly flushInbound = (): void => {
    this.flushQueued = false;
    this.coalescer?.flush();
  };

  attachTun(tun: TunDevice): void {
    this.tun = tun;
    if (isVnetTun(tun)) {
      this.coalescer = new TcpCoalescer((buf, off, len) => {
        if (tun.writeVnet(buf, off, len) < 0) this.extraDrops["tun-write"]++;
      });
    }
    tun.onPackets((b) => this.outboundBatch(b));
  }

  private outboundBatch(b: PacketBatch): void {
    if (b.headroom < ESP_HEADROOM || b.tailroom < ESP_TAILROOM) throw new Error(`TUN batch has ${b.headroom}/${b.tailroom} bytes of head/tail room, ESP needs ${ESP_HEADROOM}/${ESP_TAILROOM}`);
    const t = this.traffic;
    for (let i = 0; i < b.count; i++) {
      const off = b.offsets[i]!;
      const len = b.lengths[i]!;
      const r = this.engine.seal(b.data, off, len);
      if (r.signal !== "none") this.signal(this.inSpiFor.get(this.engine.outbound!.spi), r.signal);
      if (r.status !== "ok") {
        if (r.status === "no-sa" || r.status === "expired" || r.status === "seq-exhausted") this.extraDrops["no-sa"]++;
        else this.extraDrops["no-room"]++;
        continue;
      }
      t.packetsOut++;
      t.bytesOut += len;
      this.out.send(b.data.subarray(r.offset, r.offset + r.length));
    }
    // The batch goes back to the reader when we return: send now, not on a later turn.
    this.out.flush();
  }

  /** One ESP datagram from the gateway (without UDP header). Decrypted in place. */
  inbound(data: Uint8Array): void {
    const r = this.engine.open(data, 0, data.length);
    if (r.signal !== "none") this.signal(r.spi >>> 0, r.signal);
    if (r.status !== "ok") return; // counted by the engine
    if (this.pendingOut !== null && r.spi === this.pendingOut.spiIn) this.activatePending(); // the gateway uses the new SA
    if (!this.policy?.allows(data, r.offset, r.length)) {
      this.extraDrops.policy++;
      return;
    }
    const co = this.coalescer;
    if (co !== null) {
      co.add(data, r.offset, r.length);
      // The UDP reader hands a whole batch over in one task: join across it, write when it is done.
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(this.flushInbound);
      }
      this.traffic.packetsIn++;
      this.traffic.bytesIn += r.length;
      return;
    }
    const tun = this.tun;
    if (!tun || tun.write(data, r.offset, r.length) < 0) {
      this.extraDrops["tun-write"]++;
      return;
    }
    this.traffic.packetsIn++;
    this.traffic.bytesIn += r.length;
  }

  counters(): { traffic: Traffic; drops: Record<string, number> } {
    return { traffic: { ...this.traffic }, drops: { ...this.engine.drops, ...this.extraDrops } };
  }

  /** TCP super-packets written to the TUN and the segments they held (0 without offloads). */
  coalesced(): { superPackets: number; segments: number } {
    return { superPackets: this.coalescer?.superPackets ?? 0, segments: this.coalescer?.joinedSegments ?? 0 };
  }

  close(): void {
    this.coalescer?.flush();
    this.pendingOut?.sa.dispose();
    this.pendingOut = null;
    this.engine.dispose();
    this.policy = null;
  }
}

/**
 * The fastest cipher there is for the suite (tests/bench/esp.ts): the system libcrypto in place for the
 * AEAD suites (AES-GCM ~2.7x node:crypto at 1400 octets, ChaCha20-Poly1305 ~16x noble), node:crypto for
 * AES-CBC + HMAC and when no libcrypto is installed, noble last (ChaCha20-Poly1305 without libcrypto).
 */
function createCipher(p: EspCipherParams): EspCipher {
  const c = createLibcryptoEspCipher(p) ?? createNativeEspCipher(p) ?? createNobleEspCipher(p);
  if (!c) throw new Error(`ESP suite encr ${p.encrId}/${p.keyBits ?? "-"} integ ${p.integId} is not implemented`);
  return c;
}
