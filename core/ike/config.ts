// What a session needs to know before it starts: addresses, identities, credentials, proposals.
// Built by cli/ from flags or a profile; the core checks nothing about the host.

import type { ProposalSpec } from "./proposal.ts";
import type { RetransmitPolicy } from "./retransmit.ts";
import type { Selector } from "./selectors.ts";

/** An IKE identity (RFC 7296 §3.5): the ID type and its data as sent on the wire. */
export interface Identity {
  type: number;
  data: Uint8Array;
  /** For messages to people: "gw.example.com", "198.51.100.1", "CN=gw, O=Example". */
  text: string;
}

export type Credentials =
  | { kind: "psk"; secret: Uint8Array }
  /** The gateway proves itself with a certificate chaining to `trustAnchors`; we answer EAP-MSCHAPv2. */
  | { kind: "eap-mschapv2"; identity: string; password: string }
  /**
   * We prove ourselves with a signature (RFC 7296 §2.15, RFC 7427) by the key of `certChain[0]`; the gateway
   * proves itself with a certificate chaining to `trustAnchors`. `certChain` is DER, end entity first, then
   * intermediates. `privateKey` is a DER PKCS#8 PrivateKeyInfo (RFC 5958): bytes, so a request can cross a
   * process boundary as JSON. `rsaPss`: sign with RSASSA-PSS (RFC 7427 §3) instead of PKCS#1 v1.5.
   */
  | { kind: "cert"; certChain: Uint8Array[]; privateKey: Uint8Array; rsaPss?: boolean }
  /**
   * RFC 4739 multiple authentication: a first round with the certificate as for "cert", then a second
   * round in which we send `identity` as IDi and answer EAP-MSCHAPv2 with `password`. The gateway proves
   * itself once, with its certificate, in the first round.
   */
  | { kind: "cert+eap"; certChain: Uint8Array[]; privateKey: Uint8Array; rsaPss?: boolean; identity: string; password: string };

export interface SessionConfig {
  /** The gateway's address as bytes (4 or 16) and the port IKE_SA_INIT goes to (500, or 4500). */
  gatewayAddress: Uint8Array;
  gatewayPort: number;
  /** Our address and port as the socket sees them (for NAT detection, RFC 7296 §2.23). */
  localAddress: Uint8Array;
  localPort: number;
  /** For messages: "192.0.2.1" or the host name the user gave. */
  gatewayName: string;
  localId: Identity;
  /** The identity the gateway must prove; also sent as IDr. */
  remoteId: Identity;
  credentials: Credentials;
  /** DER certificates the gateway's chain must end at (required with certificate authentication). */
  trustAnchors: Uint8Array[];
  ikeProposals: ProposalSpec[];
  espProposals: ProposalSpec[];
  /** Remote subnets asked for (TSr); the gateway may narrow them. Default 0.0.0.0/0 and ::/0. */
  remoteSelectors: Selector[];
  /** Ask for an IPv6 virtual address and DNS servers too. */
  requestIp6: boolean;
  /** Always use UDP encapsulation, even without NAT (a userspace client has no raw ESP socket). */
  forceEncap: boolean;
  connectRetransmit: RetransmitPolicy;
  /** IKE_SA_INIT only, when set: shorter when other gateways wait to be tried (an unreachable one fails sooner). */
  initRetransmit?: RetransmitPolicy;
  retransmit: RetransmitPolicy;
  /**
   * Dead peer detection (RFC 7296 §2.4): after this long without anything from the gateway, send an
   * empty INFORMATIONAL; 0 turns it off.
   */
  dpdIntervalMs: number;
  /**
   * Rekey the CHILD_SA ourselves this long after it was made (less up to 10% jitter), unless the gateway
   * rekeyed it first (§2.8); 0 leaves rekeying to the gateway.
   */
  childRekeyMs: number;
  /**
   * Rekey the IKE SA ourselves (RFC 7296 §2.18) this long after it was made (less up to 10% jitter),
   * unless the gateway rekeyed it first; 0 leaves it to the gateway.
   */
  ikeRekeyMs: number;
  /** Offer IKE fragmentation (RFC 7383); used when the gateway offers it too. */
  fragmentation: boolean;
  /** Path MTU for IKE messages (RFC 7383 §2.5.1); 1280 works on every IPv6 path. */
  ikeMtu: number;
  /** Sent as APPLICATION_VERSION in the configuration request. */
  applicationVersion: string;
  /** Announce MOBIKE (RFC 4555) and move the SAs to a new local address with UPDATE_SA_ADDRESSES. */
  mobike: boolean;
  /** The gateway that sent us here with a REDIRECT (RFC 5685 §8.3: REDIRECTED_FROM), if one did. */
  redirectedFrom?: Uint8Array;
}
