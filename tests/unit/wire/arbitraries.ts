// fast-check generators of VALID typed payloads and messages, shared by the round-trip and fuzz tests.
// "Valid" means: what our own code could build and a conforming peer could send, within the codec's rules.

import fc from "fast-check";
import { PayloadType } from "../../../core/wire/constants.ts";
import type {
  CfgAttribute,
  IkeHeader,
  OpaqueTrafficSelector,
  Payload,
  Proposal,
  TrafficSelector,
  Transform,
  TransformAttribute,
} from "../../../core/wire/payloads.ts";

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const critical = fc.boolean();
/** A string of one-octet characters, as the `text` fields hold. */
const octetText = (max: number) => bytes(0, max).map((b) => String.fromCharCode(...b));

export const transformAttribute: fc.Arbitrary<TransformAttribute> = fc.oneof(
  fc.record({ af: fc.constant(true as const), attrType: fc.integer({ min: 0, max: 0x7fff }), value: u16 }),
  fc.record({ af: fc.constant(false as const), attrType: fc.integer({ min: 0, max: 0x7fff }), value: bytes(0, 12) }),
);

export const transform: fc.Arbitrary<Transform> = fc.record({
  transformType: u8,
  transformId: u16,
  attributes: fc.array(transformAttribute, { maxLength: 3 }),
});

export const proposal: fc.Arbitrary<Proposal> = fc.record({
  proposalNum: u8,
  protocolId: u8,
  spi: fc.oneof(bytes(0, 0), bytes(4, 4), bytes(8, 8)),
  transforms: fc.array(transform, { maxLength: 6 }),
});

export const ipSelector: fc.Arbitrary<TrafficSelector> = fc.oneof(
  fc.record({ tsType: fc.constant(7 as const), ipProtocol: u8, startPort: u16, endPort: u16, startAddress: bytes(4, 4), endAddress: bytes(4, 4) }),
  fc.record({ tsType: fc.constant(8 as const), ipProtocol: u8, startPort: u16, endPort: u16, startAddress: bytes(16, 16), endAddress: bytes(16, 16) }),
);

const opaqueSelector: fc.Arbitrary<OpaqueTrafficSelector> = fc.record({
  tsType: u8.filter((t) => t !== 7 && t !== 8),
  opaque: fc.constant(true as const),
  data: bytes(0, 20),
});

const ip4 = bytes(4, 4);
const ip6 = bytes(16, 16);
const maybe = <T extends object>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

export const cfgAttribute: fc.Arbitrary<CfgAttribute> = fc.oneof(
  fc
    .tuple(fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const, 6 as const), maybe(fc.record({ address: ip4 })))
    .map(([attrType, v]) => ({ attrType, ...v })),
  fc
    .tuple(fc.constantFrom(8 as const, 15 as const), maybe(fc.record({ address: ip6, prefixLength: u8 })))
    .map(([attrType, v]) => ({ attrType, ...v })),
  fc.tuple(fc.constantFrom(10 as const, 12 as const), maybe(fc.record({ address: ip6 }))).map(([attrType, v]) => ({ attrType, ...v })),
  maybe(fc.record({ address: ip4, netmask: ip4 })).map((v) => ({ attrType: 13 as const, ...v })),
  octetText(30).map((text) => ({ attrType: 7 as const, text })),
  octetText(30).map((domain) => ({ attrType: 25 as const, domain })),
  fc.record({
    attrType: fc.integer({ min: 0, max: 0x7fff }).filter((t) => ![1, 2, 3, 4, 6, 7, 8, 10, 12, 13, 15, 25].includes(t)),
    raw: bytes(0, 20),
  }),
);

const KNOWN = new Set<number>(Object.values(PayloadType));

/** Every payload kind except SK/SKF (which must come last). */
export const plainPayload: fc.Arbitrary<Payload> = fc.oneof(
  fc.record({ type: fc.constant(PayloadType.SA), critical, proposals: fc.array(proposal, { maxLength: 3 }) }),
  fc.record({ type: fc.constant(PayloadType.KE), critical, dhGroup: u16, keyExchangeData: bytes(0, 133) }),
  fc.constantFrom(1, 2, 3, 5, 9, 11, 13, 200).chain((idType) =>
    fc.record({
      type: fc.constantFrom(PayloadType.IDi, PayloadType.IDr),
      critical,
      idType: fc.constant(idType),
      data: idType === 1 ? bytes(4, 4) : idType === 5 ? bytes(16, 16) : bytes(0, 40), // §3.5 address sizes
    }),
  ),
  fc.record({ type: fc.constant(PayloadType.CERT), critical, certEncoding: u8, certData: bytes(0, 300) }),
  fc.record({ type: fc.constant(PayloadType.CERTREQ), critical, certEncoding: u8, certAuthority: bytes(0, 60) }),
  fc.record({ type: fc.constant(PayloadType.AUTH), critical, authMethod: u8, authData: bytes(0, 80) }),
  fc.record({ type: fc.constant(PayloadType.NONCE), critical, nonce: bytes(16, 256) }),
  fc.record({ type: fc.constant(PayloadType.NOTIFY), critical, protocolId: u8, spi: fc.oneof(bytes(0, 0), bytes(4, 4), bytes(8, 8), bytes(0, 20)), notifyType: u16, data: bytes(0, 40) }),
  fc.integer({ min: 0, max: 16 }).chain((spiSize) =>
    fc.record({
      type: fc.constant(PayloadType.DELETE),
      critical,
      protocolId: u8,
      spiSize: fc.constant(spiSize),
      spis: spiSize === 0 ? fc.constant<Uint8Array[]>([]) : fc.array(bytes(spiSize, spiSize), { maxLength: 6 }),
    }),
  ),
  fc.record({ type: fc.constant(PayloadType.VENDOR_ID), critical, vendorId: bytes(0, 40) }),
  fc.record({
    type: fc.constantFrom(PayloadType.TSi, PayloadType.TSr),
    critical,
    selectors: fc.array(fc.oneof({ weight: 5, arbitrary: ipSelector }, { weight: 1, arbitrary: opaqueSelector }), { maxLength: 5 }),
  }),
  fc.record({ type: fc.constant(PayloadType.CP), critical, cfgType: u8, attributes: fc.array(cfgAttribute, { maxLength: 8 }) }),
  fc.oneof(
    fc.record({ type: fc.constant(PayloadType.EAP), critical, code: fc.constantFrom(1 as const, 2 as const), identifier: u8, eapType: u8, typeData: bytes(0, 60) }),
    fc.record({ type: fc.constant(PayloadType.EAP), critical, code: fc.constantFrom(3 as const, 4 as const), identifier: u8 }),
  ),
  fc.record({
    type: u8.filter((t) => !KNOWN.has(t) && t !== 0),
    critical: fc.constant(false),
    unknown: fc.constant(true as const),
    data: bytes(0, 30),
  }),
) as fc.Arbitrary<Payload>;

export const encryptedPayload: fc.Arbitrary<Payload> = fc.oneof(
  fc.record({ type: fc.constant(PayloadType.SK), critical, firstInner: u8, body: bytes(0, 120) }),
  fc
    .integer({ min: 1, max: 0xffff })
    .chain((total) =>
      fc.record({
        type: fc.constant(PayloadType.SKF),
        critical,
        firstInner: u8,
        fragmentNumber: fc.integer({ min: 1, max: total }),
        totalFragments: fc.constant(total),
        body: bytes(0, 120),
      }),
    ),
) as fc.Arbitrary<Payload>;

export const headerFields: fc.Arbitrary<Omit<IkeHeader, "length" | "nextPayload">> = fc.record({
  spiI: bytes(8, 8),
  spiR: bytes(8, 8),
  majorVersion: fc.constant(2),
  minorVersion: fc.integer({ min: 0, max: 15 }),
  exchangeType: u8,
  flags: fc.record({ initiator: fc.boolean(), response: fc.boolean(), version: fc.boolean() }),
  messageId: u32,
});

/** A payload chain: plain payloads, and possibly an SK or SKF payload at the end. */
export const payloadChain: fc.Arbitrary<Payload[]> = fc
  .tuple(fc.array(plainPayload, { maxLength: 6 }), fc.option(encryptedPayload, { nil: undefined }))
  .map(([plain, enc]) => (enc ? [...plain, enc] : plain));

export const message = fc.record({ header: headerFields, payloads: payloadChain });
