// Redirect Mechanism for IKEv2 (RFC 5685): a gateway sends us to another gateway, in the IKE_SA_INIT
// answer (§3), in the last IKE_AUTH answer (§6), or later in an INFORMATIONAL request (§5). We
// announce REDIRECT_SUPPORTED in IKE_SA_INIT (§3, §8.1) and name the gateway that sent us in
// REDIRECTED_FROM when we arrive at the new one (§3, §8.3). Following is the caller's job; so is the
// loop limit (§7: the session knows only one gateway).
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Protocol ID(=0)| SPI Size (=0) |      Notify Message Type      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | GW Ident Type |  GW Ident Len |                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               ~
//   ~                   New Responder GW Identity                   ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                        Nonce Data                             ~   (§8.2: only in IKE_SA_INIT)
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

import { concatBytes, equalBytes } from "../util/bytes.ts";
import { formatAddress } from "../wire/addr.ts";
import { NotifyStatus } from "../wire/constants.ts";
import * as M from "./msg.ts";

/** RFC 5685 §8.2, §9: Gateway Identity Types. */
export const GwIdentType = { IPV4: 1, IPV6: 2, FQDN: 3 } as const;

/** Where a gateway sends us: an address (4 or 16 octets) or a host name to resolve. */
export type RedirectTarget = { kind: "address"; address: Uint8Array; text: string } | { kind: "fqdn"; text: string };

export type RedirectParse = { ok: true; target: RedirectTarget; nonce: Uint8Array } | { ok: false; reason: string };

/** Parses REDIRECT (or REDIRECTED_FROM) notification data (§8.2, §8.3); never throws. */
export function parseRedirectData(data: Uint8Array): RedirectParse {
  if (data.length < 2) return { ok: false, reason: "REDIRECT data shorter than 2 octets" };
  const type = data[0]!;
  const len = data[1]!;
  if (2 + len > data.length) return { ok: false, reason: `REDIRECT identity of ${len} octets overruns the ${data.length}-octet notification` };
  const ident = data.subarray(2, 2 + len);
  const nonce = data.slice(2 + len);
  switch (type) {
    case GwIdentType.IPV4:
    case GwIdentType.IPV6: {
      if (len !== (type === GwIdentType.IPV4 ? 4 : 16)) return { ok: false, reason: `REDIRECT address of ${len} octets for identity type ${type}` };
      return { ok: true, target: { kind: "address", address: ident.slice(), text: formatAddress(ident)! }, nonce };
    }
    case GwIdentType.FQDN: {
      // A host name: letters, digits, '-', '.', nothing else (so it is safe in messages and to resolve).
      const text = String.fromCharCode(...ident);
      if (len === 0 || !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(text)) return { ok: false, reason: "REDIRECT FQDN is not a host name" };
      return { ok: true, target: { kind: "fqdn", text }, nonce };
    }
    default:
      return { ok: false, reason: `REDIRECT with unknown gateway identity type ${type}` };
  }
}

/** The GW Ident Type, Len and identity for an address (REDIRECTED_FROM, §8.3; and the fake gateway's REDIRECT). */
export function gatewayIdentity(target: { address: Uint8Array } | { fqdn: string }, nonce: Uint8Array = new Uint8Array(0)): Uint8Array {
  const ident = "address" in target ? target.address : new TextEncoder().encode(target.fqdn);
  const type = "fqdn" in target ? GwIdentType.FQDN : ident.length === 4 ? GwIdentType.IPV4 : GwIdentType.IPV6;
  return concatBytes(new Uint8Array([type, ident.length]), ident, nonce);
}

/** §3: REDIRECT_SUPPORTED in the first IKE_SA_INIT; REDIRECTED_FROM instead at the gateway we were sent to (§8.3). */
export function initNotifies(redirectedFrom: Uint8Array | undefined): M.Payload[] {
  if (redirectedFrom) return [M.notify(NotifyStatus.REDIRECTED_FROM, gatewayIdentity({ address: redirectedFrom }))];
  return [M.notify(NotifyStatus.REDIRECT_SUPPORTED)];
}

export type RedirectFound = { kind: "none" } | { kind: "redirect"; target: RedirectTarget } | { kind: "invalid"; reason: string };

/**
 * A REDIRECT among `payloads`. In IKE_SA_INIT (§3) its Nonce Data must be our Ni, or the notification is
 * ignored as forged (an off-path attacker cannot know Ni); later (§5, §6) the message is authenticated.
 */
export function findRedirect(payloads: M.Payload[], ni?: Uint8Array): RedirectFound {
  const n = M.findNotify(payloads, NotifyStatus.REDIRECT);
  if (!n) return { kind: "none" };
  const r = parseRedirectData(n.data);
  if (!r.ok) return { kind: "invalid", reason: r.reason };
  if (ni && !equalBytes(r.nonce, ni)) return { kind: "invalid", reason: "REDIRECT nonce is not our Ni" };
  return { kind: "redirect", target: r.target };
}
