// MOBIKE (RFC 4555) as the initiator of the IKE SA: we say we support it in IKE_AUTH (§3.3), and when
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
// we send a source hash that cannot match and the gateway keeps UDP 4500 (§3.10). COOKIE2 (§3.12) binds
// the answer to this request. The task does no I/O: the session sends what it builds, and feeds back
// the answer.

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
  /** Both sides announced MOBIKE_SUPPORTED in IKE_AUTH (§3.3). */
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

  /** §3.3: MOBIKE_SUPPORTED in the first IKE_AUTH request (when the user did not turn it off). */
  authNotifies(): M.Payload[] {
    return this.cfg.mobike ? [M.notify(NotifyStatus.MOBIKE_SUPPORTED)] : [];
  }

  /** §3.3: the gateway's IKE_AUTH answer says whether it supports MOBIKE too. */
  onAuthResponse(payloads: M.Payload[]): void {
    this.peerSupports = this.cfg.mobike && M.findNotify(payloads, NotifyStatus.MOBIKE_SUPPORTED) !== undefined;
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

  /** Whether the last path we were told of has not been announced yet (a change during another request). */
  get updatePending(): boolean {
    return !samePath(this.path, this.announced);
  }

  /** §3.5: the UPDATE_SA_ADDRESSES request's payloads for the SA with these SPIs. */
  buildUpdate(spiI: Uint8Array, spiR: Uint8Array, gateway: LocalPath): M.Payload[] {
    this.cookie2 = this.env.random.bytes(16); // §3.12: 8 to 64 octets of random data
    // With forced encapsulation a source hash that cannot match, as in IKE_SA_INIT (see init.ts).
    const src = this.cfg.forceEncap ? this.env.random.bytes(20) : natHash(spiI, spiR, this.path.address, this.path.port);
    this.sentFor = { address: this.path.address, port: this.path.port };
    return [
      M.notify(NotifyStatus.UPDATE_SA_ADDRESSES),
      M.notify(NotifyStatus.NAT_DETECTION_SOURCE_IP, src),
      M.notify(NotifyStatus.NAT_DETECTION_DESTINATION_IP, natHash(spiI, spiR, gateway.address, gateway.port)),
      M.notify(NotifyStatus.COOKIE2, this.cookie2),
    ];
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
    // §3.12: the answer must carry our COOKIE2 back unchanged.
    const cookie = M.findNotify(payloads, NotifyStatus.COOKIE2);
    if (!cookie || !this.cookie2 || !equalBytes(cookie.data, this.cookie2)) return { ok: false, reason: "the gateway's UPDATE_SA_ADDRESSES answer does not return our COOKIE2" };
    this.cookie2 = null;
    if (sentFor) this.announced = sentFor;
    // RFC 7296 §2.23 on the new path: the gateway's hashes of what it sees of us and of itself.
    const at = this.announced;
    const dst = M.findNotify(payloads, NotifyStatus.NAT_DETECTION_DESTINATION_IP);
    const srcs = M.findNotifies(payloads, NotifyStatus.NAT_DETECTION_SOURCE_IP);
    const natLocal = dst ? !equalBytes(dst.data, natHash(spiI, spiR, at.address, at.port)) : true;
    const expect = natHash(spiI, spiR, gateway.address, gateway.port);
    const natRemote = srcs.length > 0 ? !srcs.some((n) => equalBytes(n.data, expect)) : false;
    return { ok: true, natLocal, natRemote };
  }
}

/**
 * §3.12: a request of the gateway's carrying COOKIE2 (its return routability check) is answered with the
 * same COOKIE2. Returns the payloads to add to our answer.
 */
export function echoCookie2(request: M.Payload[]): M.Payload[] {
  const c = M.findNotify(request, NotifyStatus.COOKIE2);
  return c ? [M.notify(NotifyStatus.COOKIE2, c.data)] : [];
}

function samePath(a: LocalPath, b: LocalPath): boolean {
  return a.port === b.port && equalBytes(a.address, b.address);
}
