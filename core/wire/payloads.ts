// Typed IKEv2 messages and payloads: what the codec produces and consumes (RFC 7296 §3).
// A discriminated union on `type` (the Next Payload value naming each payload). The wire layouts
// are declared as field tables in core/wire/payload/*.ts.

import { PayloadType } from "./constants.ts";

/** RFC 7296 §3.1: the IKE header. */
export interface IkeHeader {
  spiI: Uint8Array; // 8 bytes
  spiR: Uint8Array; // 8 bytes, zero in the first IKE_SA_INIT request
  nextPayload: number;
  majorVersion: number;
  minorVersion: number;
  exchangeType: number;
  flags: { initiator: boolean; response: boolean; version: boolean };
  messageId: number;
  length: number;
}

export interface IkeMessage {
  header: IkeHeader;
  payloads: Payload[];
}

interface Base<T extends number> {
  type: T;
  /** RFC 7296 §3.2: the sender's Critical bit; ignored by the receiver for payloads it knows. */
  critical: boolean;
}

/** RFC 7296 §3.3.5: a Transform Attribute, TV (AF=1, 16-bit value) or TLV (AF=0). */
export type TransformAttribute =
  | { af: true; attrType: number; value: number }
  | { af: false; attrType: number; value: Uint8Array };

/** RFC 7296 §3.3.2 */
export interface Transform {
  transformType: number;
  transformId: number;
  attributes: TransformAttribute[];
}

/** RFC 7296 §3.3.1 */
export interface Proposal {
  proposalNum: number;
  protocolId: number;
  spi: Uint8Array; // empty, 4 (AH/ESP) or 8 (IKE rekey) bytes
  transforms: Transform[];
}

export interface SaPayload extends Base<typeof PayloadType.SA> {
  proposals: Proposal[];
}

/** RFC 7296 §3.4 (RFC 9370 renames the group "Key Exchange Method"). */
export interface KePayload extends Base<typeof PayloadType.KE> {
  dhGroup: number;
  keyExchangeData: Uint8Array;
}

/** RFC 7296 §3.5. IPV4_ADDR data is 4 bytes, IPV6_ADDR 16; others as sent (see identity.ts for text). */
export interface IdPayload extends Base<typeof PayloadType.IDi | typeof PayloadType.IDr> {
  idType: number;
  data: Uint8Array;
}

/** RFC 7296 §3.6 */
export interface CertPayload extends Base<typeof PayloadType.CERT> {
  certEncoding: number;
  certData: Uint8Array;
}

/** RFC 7296 §3.7: for X.509, a concatenation of 20-byte SHA-1 hashes of CA public keys. */
export interface CertReqPayload extends Base<typeof PayloadType.CERTREQ> {
  certEncoding: number;
  certAuthority: Uint8Array;
}

/** RFC 7296 §3.8 */
export interface AuthPayload extends Base<typeof PayloadType.AUTH> {
  authMethod: number;
  authData: Uint8Array;
}

/** RFC 7296 §3.9: Ni or Nr, 16 to 256 bytes. */
export interface NoncePayload extends Base<typeof PayloadType.NONCE> {
  nonce: Uint8Array;
}

/** RFC 7296 §3.10 */
export interface NotifyPayload extends Base<typeof PayloadType.NOTIFY> {
  protocolId: number;
  spi: Uint8Array;
  notifyType: number;
  data: Uint8Array;
}

/** RFC 7296 §3.11: every SPI is `spiSize` bytes (0 and no SPIs for the IKE SA). */
export interface DeletePayload extends Base<typeof PayloadType.DELETE> {
  protocolId: number;
  spiSize: number;
  spis: Uint8Array[];
}

/** RFC 7296 §3.12 */
export interface VendorIdPayload extends Base<typeof PayloadType.VENDOR_ID> {
  vendorId: Uint8Array;
}

/** RFC 7296 §3.13.1: TS_IPV4_ADDR_RANGE (4-byte addresses) or TS_IPV6_ADDR_RANGE (16-byte). */
export interface TrafficSelector {
  tsType: 7 | 8;
  ipProtocol: number; // 0 = any
  startPort: number;
  endPort: number;
  startAddress: Uint8Array;
  endAddress: Uint8Array;
}

/** A selector of a type we do not interpret (e.g. RFC 9478 TS_SECLABEL), kept as sent. */
export interface OpaqueTrafficSelector {
  tsType: number;
  opaque: true;
  data: Uint8Array;
}

export interface TsPayload extends Base<typeof PayloadType.TSi | typeof PayloadType.TSr> {
  selectors: (TrafficSelector | OpaqueTrafficSelector)[];
}

/**
 * RFC 7296 §3.14: the Encrypted payload. `firstInner` is its Next Payload field, the type of the first
 * payload inside; `body` is IV | ciphertext | ICV, kept raw for the IKE layer to open.
 */
export interface SkPayload extends Base<typeof PayloadType.SK> {
  firstInner: number;
  body: Uint8Array;
}

/** RFC 7383 §2.5: the Encrypted Fragment payload. `firstInner` is 0 on all fragments but the first. */
export interface SkfPayload extends Base<typeof PayloadType.SKF> {
  firstInner: number;
  fragmentNumber: number;
  totalFragments: number;
  body: Uint8Array;
}

/**
 * RFC 7296 §3.15.1 and RFC 8598 configuration attributes. Address fields are absent in the request
 * form (zero-length value).
 */
export type CfgAttribute =
  | { attrType: 1 | 2 | 3 | 4 | 6; address?: Uint8Array } // INTERNAL_IP4_ADDRESS/NETMASK/DNS/NBNS/DHCP
  | { attrType: 8 | 15; address?: Uint8Array; prefixLength?: number } // INTERNAL_IP6_ADDRESS/SUBNET
  | { attrType: 10 | 12; address?: Uint8Array } // INTERNAL_IP6_DNS/DHCP
  | { attrType: 13; address?: Uint8Array; netmask?: Uint8Array } // INTERNAL_IP4_SUBNET
  | { attrType: 7; text: string } // APPLICATION_VERSION (printable ASCII)
  | { attrType: 25; domain: string } // INTERNAL_DNS_DOMAIN, RFC 8598 §4
  | { attrType: number; raw: Uint8Array }; // anything else, kept as sent

export interface CpPayload extends Base<typeof PayloadType.CP> {
  cfgType: number;
  attributes: CfgAttribute[];
}

/** RFC 7296 §3.16 carrying an RFC 3748 §4 EAP packet. Success and Failure have no Type. */
export type EapPayload = Base<typeof PayloadType.EAP> &
  ({ code: 1 | 2; identifier: number; eapType: number; typeData: Uint8Array } | { code: 3 | 4; identifier: number });

/** A payload type we do not implement, skipped per RFC 7296 §2.5 (only when not critical). */
export interface UnknownPayload {
  type: number;
  critical: boolean;
  unknown: true;
  data: Uint8Array;
}

export type KnownPayload =
  | SaPayload
  | KePayload
  | IdPayload
  | CertPayload
  | CertReqPayload
  | AuthPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorIdPayload
  | TsPayload
  | SkPayload
  | SkfPayload
  | CpPayload
  | EapPayload;

export type Payload = KnownPayload | UnknownPayload;

/** The payload interface for a type number. */
export type PayloadOf<T extends KnownPayload["type"]> = Extract<KnownPayload, { type: T }>;

export function isKnown(p: Payload): p is KnownPayload {
  return !("unknown" in p);
}

/** The first payload of a type, typed. */
export function findPayload<T extends KnownPayload["type"]>(payloads: readonly Payload[], type: T): PayloadOf<T> | undefined {
  return payloads.find((p) => p.type === type && isKnown(p)) as PayloadOf<T> | undefined;
}

/** All payloads of a type, typed, in order. */
export function findPayloads<T extends KnownPayload["type"]>(payloads: readonly Payload[], type: T): PayloadOf<T>[] {
  return payloads.filter((p) => p.type === type && isKnown(p)) as PayloadOf<T>[];
}

/** The first Notify of a Notify Message Type. */
export function findNotify(payloads: readonly Payload[], notifyType: number): NotifyPayload | undefined {
  return findPayloads(payloads, PayloadType.NOTIFY).find((n) => n.notifyType === notifyType);
}

export function isIpSelector(s: TrafficSelector | OpaqueTrafficSelector): s is TrafficSelector {
  return !("opaque" in s);
}

/** RFC 7296 §3.3.5: the KEY_LENGTH attribute (type 14, TV) of a transform, if any. */
export function keyLength(t: Transform): number | undefined {
  for (const a of t.attributes) if (a.af && a.attrType === 14) return a.value;
  return undefined;
}

/** A transform, with a KEY_LENGTH attribute when `keyBits` is given. */
export function transform(transformType: number, transformId: number, keyBits?: number): Transform {
  return { transformType, transformId, attributes: keyBits === undefined ? [] : [{ af: true, attrType: 14, value: keyBits }] };
}
