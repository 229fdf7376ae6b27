// MOBIKE (RFC 4555) as the initiator of the IKE SA: we say we support it in IKE_AUTH ("Signaling Support
// for MOBIKE"; section names are quoted where we are not sure of the numbers), and when
// our address or network changes we move the IKE SA and its CHILD_SAs to the new path with one
// INFORMATIONAL exchange (§3.5), sent from the new address:
//
//   Initiator (roam, new address)                  Responder (gateway)
//   HDR, SK { N(UPDATE_SA_ADDRESSES),
//             N(NAT_DETECTION_SOURCE_IP),
//             N(NAT_DETECTION_DESTINATION_IP),
//             N(COOKIE2) }                 -->
//                                          <--   HDR, SK { N(NAT_DETECTION_SOURCE_IP),
//                                                          N(NAT_DETECTION_DESTINATION_IP),
//                                                          N(COOKIE2) }
//
// The NAT detection notifications (§3.5, RFC 7296 §2.23) tell the gateway whether we are behind a NAT on
// the new path; we always encapsulate (a userspace client has no raw ESP socket), so like at IKE_SA_INIT
// we send a source hash that cannot match and the gateway keeps UDP 4500. COOKIE2 ("Return Routability
// Check") binds the answer to this request. The task does no I/O: the session sends what it builds, and
// feeds back the answer.
//
// A NAT between us may also change its mapping (a flushed or expired entry) while our address stays: the
// gateway, with MOBIKE, then keeps sending to the old mapping. Like strongSwan, our liveness checks carry
// NAT detection too, and when the gateway's hash of where it sees us differs from the last one, we send
// UPDATE_SA_ADDRESSES from where we are ("Changes in NAT Mappings").

import { equalBytes } from "../util/bytes.ts";
import { NotifyError, NotifyStatus, notifyName } from "../wire/constants.ts";
import type { SessionConfig } from "./config.ts";
import { natHash } from "./init.ts";
import * as M from "./msg.ts";
import type { SessionEnv } from "./types.ts";

/** Our end of the path: the address the kernel sends from towards the gateway, and our UDP port. */
export interface LocalPath {
  address: Uint8Array;
  port: number;
}

export type UpdateResult =
  | { ok: true; natLocal: boolean; natRemote: boolean }
  /** The gateway refused the new addresses (§3.5: UNACCEPTABLE_ADDRESSES, UNEXPECTED_NAT_DETECTED) or answered something else. */
  | { ok: false; reason: string };

export class MobikeTask {
  /** Both sides announced MOBIKE_SUPPORTED in IKE_AUTH. */
  private peerSupports = false;
  private cookie2: Uint8Array | null = null;
  private path: LocalPath;
  /** Where we are and where we have last told the gateway we are (equal when nothing is to do). */
  private announced: LocalPath;

  constructor(
    private readonly cfg: SessionConfig,
    private readonly env: SessionEnv,
  ) {
    this.path = { address: cfg.localAddress, port: cfg.localPort };
    this.announced = this.path;
  }

  /** MOBIKE_SUPPORTED in the first IKE_AUTH request (when the user did not turn it off). */
  authNotifies(): M.Payload[] {
    return this.cfg.mobike ? [M.notify(NotifyStatus.MOBIKE_SUPPORTED)] : [];
  }

  /**
   * The gateway's IKE_AUTH answer says whether it supports MOBIKE too. `peerSawUs` is its
   * NAT_DETECTION_DESTINATION_IP from IKE_SA_INIT (same SPIs): the first view to compare with.
   */
  onAuthResponse(payloads: M.Payload[], peerSawUs: Uint8Array | null): void {
    this.peerSupports = this.cfg.mobike && M.findNotify(payloads, NotifyStatus.MOBIKE_SUPPORTED) !== undefined;
    this.peerView = peerSawUs;
  }

  /** The gateway's last NAT_DETECTION_DESTINATION_IP, and whether a changed one asks for an update. */
  private peerView: Uint8Array | null = null;
  private mappingChanged = false;

  /** "Changes in NAT Mappings": NAT detection in a liveness check (with MOBIKE only; empty otherwise). */
  livenessPayloads(spiI: Uint8Array, spiR: Uint8Array, gateway: LocalPath): M.Payload[] {
    if (!this.peerSupports) return [];
    return this.natDetection(spiI, spiR, gateway);
  }

  /** The answer to a liveness check: true when the gateway now sees us elsewhere (update needed). */
  onLivenessResponse(payloads: M.Payload[]): boolean {
    const dst = M.findNotify(payloads, NotifyStatus.NAT_DETECTION_DESTINATION_IP);
    if (!this.peerSupports || !dst) return false;
    if (this.peerView && !equalBytes(dst.data, this.peerView)) this.mappingChanged = true;
    this.peerView = dst.data;
    return this.mappingChanged;
  }

  /** After an IKE SA rekey the hashes change with the SPIs: the next answer is the new baseline. */
  resetPeerView(): void {
    this.peerView = null;
  }

  private natDetection(spiI: Uint8Array, spiR: Uint8Array, gateway: LocalPath): M.Payload[] {
    // With forced encapsulation a source hash that cannot match, as in IKE_SA_INIT (see init.ts).
    const src = this.cfg.forceEncap ? this.env.random.bytes(20) : natHash(spiI, spiR, this.path.address, this.path.port);
    return [M.notify(NotifyStatus.NAT_DETECTION_SOURCE_IP, src), M.notify(NotifyStatus.NAT_DETECTION_DESTINATION_IP, natHash(spiI, spiR, gateway.address, gateway.port))];
  }

  get supported(): boolean {
    return this.peerSupports;
  }

  get local(): LocalPath {
    return this.path;
  }

  /** The runtime saw our address (or port) change. Returns true when the gateway must be told. */
  pathChanged(path: LocalPath): boolean {
    this.path = { address: path.address.slice(), port: path.port };
    return !samePath(this.path, this.announced);
  }

  /** Why the next UPDATE_SA_ADDRESSES goes out, for the log. */
  get updateReason(): string {
    return samePath(this.path, this.announced) ? "the NAT remapped us" : "our address changed";
  }

  /** Whether the gateway must be told where we are: a path not announced yet, or a changed NAT mapping. */
  get updatePending(): boolean {
    return this.mappingChanged || !samePath(this.path, this.announced);
  }

  /** §3.5: the UPDATE_SA_ADDRESSES request's payloads for the SA with these SPIs. */
  buildUpdate(spiI: Uint8Array, spiR: Uint8Array, gateway: LocalPath): M.Payload[] {
    this.cookie2 = this.env.random.bytes(16); // COOKIE2: 8 to 64 octets of random data
    this.sentFor = { address: this.path.address, port: this.path.port };
    return [M.notify(NotifyStatus.UPDATE_SA_ADDRESSES), ...this.natDetection(spiI, spiR, gateway), M.notify(NotifyStatus.COOKIE2, this.cookie2)];
  }

  private sentFor: LocalPath | null = null;

  /** The gateway's answer to UPDATE_SA_ADDRESSES. */
  processUpdateResponse(payloads: M.Payload[], spiI: Uint8Array, spiR: Uint8Array, gateway: LocalPath): UpdateResult {
    const sentFor = this.sentFor;
    this.sentFor = null;
    const err = M.firstErrorNotify(payloads);
    if (err === NotifyError.UNACCEPTABLE_ADDRESSES || err === NotifyError.UNEXPECTED_NAT_DETECTED) {
      return { ok: false, reason: `the gateway refused our new address: ${notifyName(err)}` };
    }
    if (err !== null) return { ok: false, reason: `the gateway refused UPDATE_SA_ADDRESSES: ${notifyName(err)}` };
    // Return routability: the answer must carry our COOKIE2 back unchanged.
    const cookie = M.findNotify(payloads, NotifyStatus.COOKIE2);
    if (!cookie || !this.cookie2 || !equalBytes(cookie.data, this.cookie2)) return { ok: false, reason: "the gateway's UPDATE_SA_ADDRESSES answer does not return our COOKIE2" };
    this.cookie2 = null;
    if (sentFor) this.announced = sentFor;
    this.mappingChanged = false;
    // RFC 7296 §2.23 on the new path: the gateway's hashes of what it sees of us and of itself.
    const at = this.announced;
    const dst = M.findNotify(payloads, NotifyStatus.NAT_DETECTION_DESTINATION_IP);
    const srcs = M.findNotifies(payloads, NotifyStatus.NAT_DETECTION_SOURCE_IP);
    if (dst) this.peerView = dst.data;
    const natLocal = dst ? !equalBytes(dst.data, natHash(spiI, spiR, at.address, at.port)) : true;
    const expect = natHash(spiI, spiR, gateway.address, gateway.port);
    const natRemote = srcs.length > 0 ? !srcs.some((n) => equalBytes(n.data, expect)) : false;
    return { ok: true, natLocal, natRemote };
  }
}

/**
 * Return routability: a request of the gateway's carrying COOKIE2 (its return routability check) is answered with the
 * same COOKIE2. Returns the payloads to add to our answer.
 */
export function echoCookie2(request: M.Payload[]): M.Payload[] {
  const c = M.findNotify(request, NotifyStatus.COOKIE2);
  return c ? [M.notify(NotifyStatus.COOKIE2, c.data)] : [];
}

function samePath(a: LocalPath, b: LocalPath): boolean {
  return a.port === b.port && equalBytes(a.address, b.address);
}
