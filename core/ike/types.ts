// The IKE session's contract with the world: events in, actions out (boringtun style).
// The session never does I/O and never reads a clock; `now` arrives with every event.

import type { SymmetricPrimitives } from "../crypto/primitives.ts";
import type { KeyExchangeFactory } from "../crypto/dh.ts";
import type { Random } from "../types.ts";
import type { RedirectTarget } from "./redirect.ts";
import type { Selector } from "./selectors.ts";

/** Where a datagram goes: the gateway's IKE port (500) or its NAT-T port (4500, with non-ESP marker). */
export type IkePort = "ike" | "natt";

export type SessionEvent =
  | { kind: "start" }
  | { kind: "datagram"; data: Uint8Array; port: IkePort }
  | { kind: "timer"; timer: TimerName }
  /**
   * The liveness timer fired; `lastInbound` is when anything (IKE or ESP) last came from the gateway.
   * `resumed`: the host slept (or the process was stopped): check now, whatever the interval says.
   */
  | { kind: "liveness"; lastInbound: number; resumed?: boolean }
  /** Our address towards the gateway (or our port) changed: move the SAs (RFC 4555 §3.5) or give up. */
  | { kind: "path-changed"; localAddress: Uint8Array; localPort: number }
  /**
   * An ESP SA of a CHILD_SA crossed a lifetime limit (bytes, packets, or the sequence number space, RFC 4303
   * §3.3.3): "soft" asks for a rekey, "hard" means the SA can carry no more. `spiIn` names the CHILD_SA.
   */
  | { kind: "child-limit"; spiIn: number; limit: "soft" | "hard" }
  | { kind: "close" };

/** Timers are named after the event they wait for. */
export type TimerName = "retransmit" | "liveness" | "child-rekey" | "ike-rekey";

export type Action =
  | { kind: "send"; data: Uint8Array; port: IkePort }
  | { kind: "arm-timer"; timer: TimerName; at: number }
  | { kind: "cancel-timer"; timer: TimerName }
  | { kind: "progress"; stage: ProgressStage; detail?: string }
  | { kind: "install-child"; child: ChildSaParams }
  | { kind: "remove-child"; spiIn: number; spiOut: number }
  | { kind: "apply-config"; config: TunnelConfig }
  | { kind: "established"; info: EstablishedInfo }
  | { kind: "failed"; failure: SessionFailure }
  /**
   * The gateway sent us elsewhere (RFC 5685): the session is over (its IKE SA, if any, deleted); the caller
   * connects to `target` with a new session, REDIRECTED_FROM naming `from`.
   */
  | { kind: "redirect"; target: RedirectTarget; from: Uint8Array; stage: "ike-sa-init" | "ike-auth" | "informational" }
  | { kind: "closed"; reason: string };

export type ProgressStage = "ike-sa-init" | "authenticating" | "eap" | "child-sa" | "ike-rekey" | "mobike";

/** Why a session ended without a tunnel. `code` picks the process exit code. */
export interface SessionFailure {
  code: "auth" | "unreachable" | "protocol" | "config" | "certificate" | "lost";
  message: string;
}

export interface ChildSaParams {
  /** Our inbound SPI (the gateway sends with it) and the gateway's, both host order. */
  spiIn: number;
  spiOut: number;
  encrId: number;
  encrKeyBits: number;
  integId: number;
  /** Keys for packets we send (initiator→responder) and for packets we receive. */
  encrKeyOut: Uint8Array;
  integKeyOut: Uint8Array;
  encrKeyIn: Uint8Array;
  integKeyIn: Uint8Array;
  esn: boolean;
  tsi: Selector[];
  tsr: Selector[];
  /**
   * We answered the gateway's rekey: keep sending on the old SA until the new inbound SA carries traffic
   * or the old one is deleted, since the gateway installs its side only once it has our answer.
   */
  deferOutbound?: boolean;
  /**
   * The redundant SA of a rekey collision we lost (§2.8.1): receive on it until our DELETE for it is
   * answered, never send on it.
   */
  inboundOnly?: boolean;
}

export interface TunnelConfig {
  ip4: string[];
  ip6: string[];
  dns: string[];
  domains: string[];
  /** Remote traffic selectors as subnets (CIDR) to route into the tunnel. */
  routes: string[];
}

export interface EstablishedInfo {
  ikeSpiI: string;
  ikeSpiR: string;
  natLocal: boolean;
  natRemote: boolean;
  ikeProposal: string;
  espProposal: string;
  remoteId: string;
  localId: string;
}

export interface SessionEnv {
  random: Random;
  /** Wall-clock time in ms since the epoch, only for certificate validity. */
  wallTime(): number;
  /** Where key exchanges (KE payloads) come from; noble's reference when absent. */
  keyExchanges?: KeyExchangeFactory;
  /** HMAC and AES-GCM under the PRFs and SK payloads; noble's reference when absent. */
  primitives?: SymmetricPrimitives;
}
