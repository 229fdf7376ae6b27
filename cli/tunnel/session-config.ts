// The IKE session's configuration for one attempt: the user's request (flags or profile) with where we
// connect from and to this time.

import { nativePrimitives } from "../../platform/crypto/ike-native.ts";
import type { SessionConfig } from "../../core/ike/config.ts";
import type { SessionEnv } from "../../core/ike/types.ts";
import { parseIdentity } from "../../core/ike/identity.ts";
import { CONNECT_RETRANSMIT, ESTABLISHED_RETRANSMIT } from "../../core/ike/retransmit.ts";
import { parseAddress } from "../../core/wire/addr.ts";
import pkg from "../../package.json" with { type: "json" };
import { systemClock } from "../../platform/clock.ts";
import { nativeKeyExchangeFactory } from "../../platform/crypto/dh-native.ts";
import { systemRandom } from "../../platform/random.ts";
import type { ConnectRequest } from "../connect-options.ts";
import { FAILOVER_INIT_RETRANSMIT } from "./gateways.ts";

export interface Attempt {
  /** The gateway's name as given, and the address it resolved to. */
  gatewayHost: string;
  gatewayAddress: string;
  localAddress: string;
  localPort: number;
  /** More than one gateway to try: IKE_SA_INIT gives up sooner on each. */
  failover: boolean;
  /** The gateway that redirected us here (RFC 5685 REDIRECTED_FROM). */
  redirectedFrom: Uint8Array | undefined;
}

/**
 * What the session gets from the host: system randomness, the wall clock (certificate validity) and BoringSSL's
 * key exchanges (X25519 and ECP; the first noble X25519 key generation costs ~56 ms cold in the binary).
 */
export const SESSION_ENV: SessionEnv = {
  random: systemRandom,
  wallTime: () => systemClock.wallMs(),
  keyExchanges: nativeKeyExchangeFactory,
  primitives: nativePrimitives,
};

export function sessionConfigFor(req: ConnectRequest, at: Attempt): SessionConfig {
  const gw = parseAddress(at.gatewayAddress)!;
  return {
    gatewayAddress: gw,
    gatewayPort: req.gatewayPort,
    localAddress: parseAddress(at.localAddress)!,
    localPort: at.localPort,
    gatewayName: at.gatewayHost === at.gatewayAddress ? at.gatewayAddress : `${at.gatewayHost} (${at.gatewayAddress})`,
    localId: req.localId ?? identityOrThrow(at.localAddress),
    remoteId: req.remoteId,
    credentials: req.credentials,
    trustAnchors: req.trustAnchors,
    ikeProposals: req.ikeProposals,
    espProposals: req.espProposals,
    remoteSelectors: req.remoteSelectors,
    requestIp6: req.requestIp6,
    forceEncap: true,
    fragmentation: req.fragmentation,
    dpdIntervalMs: req.dpdSeconds * 1000,
    childRekeyMs: req.childRekeySeconds * 1000,
    ikeRekeyMs: req.ikeRekeySeconds * 1000,
    ikeMtu: req.ikeMtu,
    connectRetransmit: CONNECT_RETRANSMIT,
    ...(at.failover ? { initRetransmit: { ...FAILOVER_INIT_RETRANSMIT } } : {}),
    retransmit: ESTABLISHED_RETRANSMIT,
    applicationVersion: `roam ${pkg.version}`,
    mobike: req.mobike ?? true,
    ...(at.redirectedFrom ? { redirectedFrom: at.redirectedFrom } : {}),
  };
}

function identityOrThrow(text: string) {
  const r = parseIdentity(text);
  if (!r.ok) throw new Error(`local identity ${text}: ${r.error}`);
  return r.value;
}
