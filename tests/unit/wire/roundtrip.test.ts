// Property tests: every payload kind, any valid value → serialize → parse → the same value, and the
// serialization of what was parsed is the same bytes (one canonical encoding).

import { expect, test } from "bun:test";
import fc from "fast-check";
import { PayloadType, payloadName } from "../../../core/wire/constants.ts";
import { parseMessage, parsePayloads, serializeMessage, serializePayloads } from "../../../core/wire/message.ts";
import type { Payload } from "../../../core/wire/payloads.ts";
import { encryptedPayload, message, payloadChain, plainPayload } from "./arbitraries.ts";

function roundTrip(payloads: Payload[]): void {
  const { firstType, bytes } = serializePayloads(payloads);
  const parsed = parsePayloads(firstType, bytes);
  if (!parsed.ok) throw new Error(`parse failed: ${JSON.stringify(parsed.error)}`);
  expect(parsed.value).toEqual(payloads);
  expect(serializePayloads(parsed.value).bytes).toEqual(bytes);
}

// One property per payload type, so that a failure names the payload and each type gets its own runs.
const kinds: [string, (p: Payload) => boolean][] = [
  ...[
    PayloadType.SA,
    PayloadType.KE,
    PayloadType.IDi,
    PayloadType.IDr,
    PayloadType.CERT,
    PayloadType.CERTREQ,
    PayloadType.AUTH,
    PayloadType.NONCE,
    PayloadType.NOTIFY,
    PayloadType.DELETE,
    PayloadType.VENDOR_ID,
    PayloadType.TSi,
    PayloadType.TSr,
    PayloadType.CP,
    PayloadType.EAP,
  ].map((t): [string, (p: Payload) => boolean] => [payloadName(t), (p) => p.type === t && !("unknown" in p)]),
  ["unknown non-critical", (p) => "unknown" in p],
];

for (const [name, is] of kinds) {
  test(`round trip: ${name} payload`, () => {
    // Rejection would waste runs; draw until the kind appears, then round-trip it alone and in a chain.
    const arb = plainPayload.filter(is);
    fc.assert(
      fc.property(arb, fc.array(plainPayload, { maxLength: 2 }), (p, others) => {
        roundTrip([p]);
        roundTrip([...others, p]);
      }),
      { numRuns: 150 },
    );
  });
}

test("round trip: SK and SKF payloads (last in the chain, Next Payload = first inner payload)", () => {
  fc.assert(
    fc.property(fc.array(plainPayload, { maxLength: 3 }), encryptedPayload, (plain, enc) => roundTrip([...plain, enc])),
    { numRuns: 300 },
  );
});

test("round trip: inner payload chains", () => {
  fc.assert(fc.property(payloadChain, (chain) => roundTrip(chain)), { numRuns: 300 });
});

test("round trip: whole messages (header fields, Next Payload and Length filled in)", () => {
  fc.assert(
    fc.property(message, (m) => {
      const bytes = serializeMessage(m);
      const parsed = parseMessage(bytes);
      if (!parsed.ok) throw new Error(`parse failed: ${JSON.stringify(parsed.error)}`);
      expect(parsed.value.header).toEqual({ ...m.header, nextPayload: m.payloads[0]?.type ?? 0, length: bytes.length });
      expect(parsed.value.payloads).toEqual(m.payloads);
      expect(serializeMessage(parsed.value)).toEqual(bytes);
    }),
    { numRuns: 400 },
  );
});
