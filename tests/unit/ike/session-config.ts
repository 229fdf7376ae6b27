// The SessionConfig the exchange tests start from: a PSK client behind NAT talking to 192.0.2.1.
// Tests override what they exercise; a new SessionConfig field is added here once.

import type { SessionConfig } from "../../../core/ike/config.ts";
import { parseIdentity } from "../../../core/ike/identity.ts";
import { defaultProposals } from "../../../core/ike/proposal.ts";
import { CONNECT_RETRANSMIT, ESTABLISHED_RETRANSMIT } from "../../../core/ike/retransmit.ts";
import { utf8 } from "../../../core/util/bytes.ts";
import { parseAddress } from "../../../core/wire/addr.ts";

export const TEST_PSK = utf8("correct horse battery staple");

function id(text: string) {
  const r = parseIdentity(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

export function testSessionConfig(over: Partial<SessionConfig> = {}): SessionConfig {
  return {
    gatewayAddress: parseAddress("192.0.2.1")!,
    gatewayPort: 500,
    localAddress: parseAddress("198.18.1.2")!,
    localPort: 40000,
    gatewayName: "192.0.2.1",
    localId: id("client@roam.test"),
    remoteId: id("gw.roam.test"),
    credentials: { kind: "psk", secret: TEST_PSK },
    trustAnchors: [],
    ikeProposals: defaultProposals("ike"),
    espProposals: defaultProposals("esp"),
    remoteSelectors: [],
    requestIp6: false,
    forceEncap: true,
    connectRetransmit: CONNECT_RETRANSMIT,
    retransmit: ESTABLISHED_RETRANSMIT,
    applicationVersion: "roam test",
    fragmentation: true,
    ikeMtu: 1280,
    dpdIntervalMs: 30_000,
    childRekeyMs: 0,
    mobike: true,
    ikeRekeyMs: 0,
    ...over,
  };
}
