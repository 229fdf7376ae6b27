// The session's view of messages: small builders for the payloads an initiator sends, and readers
// for the ones it receives, on top of core/wire. Nothing here knows about state.

import { sha1 } from "@noble/hashes/legacy.js";
import { concatBytes, fromUtf8, readU32, toHex } from "../util/bytes.ts";
import { exchangeName, HeaderFlag, IdType, PayloadType, TransformType, TsType } from "../wire/constants.ts";
import { encodeSkEnvelope as wireSkEnvelope, encryptedPart, parseMessage, parsePayloads, serializeMessage, serializePayloads } from "../wire/message.ts";
import {
  findNotify as wireFindNotify,
  findPayload,
  findPayloads,
  isIpSelector,
  keyLength,
  transform,
  type CfgAttribute,
  type IkeHeader,
  type Payload,
  type Proposal,
  type TrafficSelector,
} from "../wire/payloads.ts";
import { formatAddress } from "../wire/addr.ts";
import { subjectPublicKeyInfo } from "../x509/cert.ts";
import type { ChosenSuite, ProposalSpec } from "./proposal.ts";
import type { Selector } from "./selectors.ts";

export type { Payload, CfgAttribute };

export interface Header {
  spiI: Uint8Array;
  spiR: Uint8Array;
  exchangeType: number;
  messageId: number;
  response: boolean;
  /** §3.1 I flag: set by the original initiator of the IKE SA. We are, unless the gateway rekeyed it (§2.18). */
  initiator?: boolean;
}

export interface InMessage extends Header {
  payloads: Payload[];
  /** Where the SK payload's body starts, and the type of its first inner payload. */
  sk?: { firstInner: number; bodyOffset: number };
  /** The message is an IKE Fragment Message (RFC 7383). */
  skf?: boolean;
}

export function exchangeText(t: number): string {
  return exchangeName(t);
}

// ---- encoding ----

export function wireHeader(h: Header): Omit<IkeHeader, "length" | "nextPayload"> {
  return {
    spiI: h.spiI,
    spiR: h.spiR,
    majorVersion: 2,
    minorVersion: 0,
    exchangeType: h.exchangeType,
    flags: { initiator: h.initiator ?? true, response: h.response, version: false },
    messageId: h.messageId,
  };
}

export function encode(h: Header, payloads: Payload[]): Uint8Array {
  return serializeMessage({ header: wireHeader(h), payloads });
}

export function encodeInner(payloads: Payload[]): { firstType: number; bytes: Uint8Array } {
  return serializePayloads(payloads);
}

export function encodeSkEnvelope(h: Header, firstInner: number, bodyLength: number): Uint8Array {
  return wireSkEnvelope(wireHeader(h), firstInner, bodyLength);
}

// ---- decoding ----

type Decoded = { ok: true; value: InMessage } | { ok: false; reason: string };

export function decodePlain(data: Uint8Array): Decoded {
  return decodeOuter(data);
}

/** Parses the unencrypted part of a message; an SK payload is left for the caller to open. */
export function decodeOuter(data: Uint8Array): Decoded {
  const r = parseMessage(data);
  if (!r.ok) return { ok: false, reason: r.error.reason };
  const { header, payloads } = r.value;
  const m: InMessage = {
    spiI: header.spiI,
    spiR: header.spiR,
    exchangeType: header.exchangeType,
    messageId: header.messageId,
    response: header.flags.response,
    initiator: header.flags.initiator,
    payloads,
  };
  const enc = encryptedPart(data, r.value);
  if (enc && enc.payload.type === PayloadType.SK) m.sk = { firstInner: enc.payload.firstInner, bodyOffset: enc.bodyOffset };
  if (enc && enc.payload.type === PayloadType.SKF) m.skf = true;
  return { ok: true, value: m };
}

export function decodeInner(firstType: number, plaintext: Uint8Array, baseOffset: number): { ok: true; value: Payload[] } | { ok: false; reason: string } {
  const r = parsePayloads(firstType, plaintext, baseOffset);
  return r.ok ? r : { ok: false, reason: r.error.reason };
}

// ---- builders ----

export function notify(notifyType: number, data: Uint8Array = new Uint8Array(0), protocolId = 0, spi: Uint8Array = new Uint8Array(0)): Payload {
  return { type: PayloadType.NOTIFY, critical: false, protocolId, spi, notifyType, data };
}

export function sa(protocolId: number, proposals: ProposalSpec[], spi: Uint8Array): Payload {
  const wire: Proposal[] = proposals.map((p, i) => ({
    proposalNum: i + 1,
    protocolId,
    spi,
    transforms: [
      ...p.encr.map((e) => transform(TransformType.ENCR, e.id, e.keyBits === 0 ? undefined : e.keyBits)),
      ...p.prf.map((id) => transform(TransformType.PRF, id)),
      ...p.integ.map((id) => transform(TransformType.INTEG, id)),
      ...p.ke.map((id) => transform(TransformType.KE, id)),
      ...p.esn.map((id) => transform(TransformType.ESN, id)),
    ],
  }));
  return { type: PayloadType.SA, critical: false, proposals: wire };
}

export function ke(group: number, data: Uint8Array): Payload {
  return { type: PayloadType.KE, critical: false, dhGroup: group, keyExchangeData: data };
}

export function nonce(n: Uint8Array): Payload {
  return { type: PayloadType.NONCE, critical: false, nonce: n };
}

export function id(which: "i" | "r", idType: number, data: Uint8Array): Payload {
  return { type: which === "i" ? PayloadType.IDi : PayloadType.IDr, critical: false, idType, data };
}

export function auth(method: number, data: Uint8Array): Payload {
  return { type: PayloadType.AUTH, critical: false, authMethod: method, authData: data };
}

/** §3.6: a CERT payload, e.g. X509_SIGNATURE (4) with one DER certificate. */
export function cert(encoding: number, data: Uint8Array): Payload {
  return { type: PayloadType.CERT, critical: false, certEncoding: encoding, certData: data };
}

export function certreq(encoding: number, authorities: Uint8Array): Payload {
  return { type: PayloadType.CERTREQ, critical: false, certEncoding: encoding, certAuthority: authorities };
}

export function cp(cfgType: number, attributes: CfgAttribute[]): Payload {
  return { type: PayloadType.CP, critical: false, cfgType, attributes };
}

export function ts(which: "i" | "r", selectors: Selector[]): Payload {
  return {
    type: which === "i" ? PayloadType.TSi : PayloadType.TSr,
    critical: false,
    selectors: selectors.map((s) => ({
      tsType: s.family === 4 ? TsType.IPV4_ADDR_RANGE : TsType.IPV6_ADDR_RANGE,
      ipProtocol: s.protocol,
      startPort: s.startPort,
      endPort: s.endPort,
      startAddress: s.start,
      endAddress: s.end,
    })),
  };
}

export function del(protocolId: number, spis: number[]): Payload {
  return {
    type: PayloadType.DELETE,
    critical: false,
    protocolId,
    spiSize: spis.length === 0 ? 0 : 4,
    spis: spis.map((s) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, s);
      return b;
    }),
  };
}

/** An EAP payload from a whole EAP packet (RFC 3748 §4: Code, Identifier, Length, [Type, Type-Data]). */
export function eap(packet: Uint8Array): Payload {
  const code = packet[0]!;
  const identifier = packet[1]!;
  if (code === 3 || code === 4) return { type: PayloadType.EAP, critical: false, code, identifier };
  return { type: PayloadType.EAP, critical: false, code: code as 1 | 2, identifier, eapType: packet[4]!, typeData: packet.subarray(5) };
}

// ---- readers ----

export function findNotify(payloads: Payload[], type: number): { data: Uint8Array } | undefined {
  return wireFindNotify(payloads, type);
}

/** The first Notify of a type, with its protocol ID and SPI (REKEY_SA, §3.10.1). */
export function findNotifyFull(payloads: Payload[], type: number): { protocolId: number; spi: Uint8Array; data: Uint8Array } | undefined {
  return wireFindNotify(payloads, type);
}

export function findNotifies(payloads: Payload[], type: number): { data: Uint8Array }[] {
  return findPayloads(payloads, PayloadType.NOTIFY).filter((n) => n.notifyType === type);
}

/** The first error notify (type < 16384, §3.10.1), or null. */
export function firstErrorNotify(payloads: Payload[]): number | null {
  const n = findPayloads(payloads, PayloadType.NOTIFY).find((x) => x.notifyType < 16384);
  return n ? n.notifyType : null;
}

export function findKe(payloads: Payload[]): { group: number; data: Uint8Array } | undefined {
  const k = findPayload(payloads, PayloadType.KE);
  return k && { group: k.dhGroup, data: k.keyExchangeData };
}

export function findNonce(payloads: Payload[]): Uint8Array | undefined {
  return findPayload(payloads, PayloadType.NONCE)?.nonce;
}

export function findId(payloads: Payload[], which: "i" | "r"): { type: number; data: Uint8Array } | undefined {
  const p = findPayload(payloads, which === "i" ? PayloadType.IDi : PayloadType.IDr);
  return p && { type: p.idType, data: p.data };
}

export function findAuth(payloads: Payload[]): { method: number; data: Uint8Array } | undefined {
  const a = findPayload(payloads, PayloadType.AUTH);
  return a && { method: a.authMethod, data: a.authData };
}

export function findCerts(payloads: Payload[]): { encoding: number; data: Uint8Array }[] {
  return findPayloads(payloads, PayloadType.CERT).map((c) => ({ encoding: c.certEncoding, data: c.certData }));
}

/** The EAP payload as a whole EAP packet. */
export function findEap(payloads: Payload[]): Uint8Array | undefined {
  const e = findPayload(payloads, PayloadType.EAP);
  if (!e) return undefined;
  const data = "typeData" in e ? e.typeData : new Uint8Array(0);
  const len = "typeData" in e ? 5 + data.length : 4;
  const out = new Uint8Array(len);
  out[0] = e.code;
  out[1] = e.identifier;
  out[2] = len >> 8;
  out[3] = len & 0xff;
  if ("typeData" in e) {
    out[4] = e.eapType;
    out.set(data, 5);
  }
  return out;
}

export function findTs(payloads: Payload[], which: "i" | "r"): Selector[] | undefined {
  const t = findPayload(payloads, which === "i" ? PayloadType.TSi : PayloadType.TSr);
  if (!t) return undefined;
  return t.selectors.filter(isIpSelector).map(selectorFromWire);
}

function selectorFromWire(s: TrafficSelector): Selector {
  return { family: s.tsType === TsType.IPV4_ADDR_RANGE ? 4 : 6, start: s.startAddress, end: s.endAddress, protocol: s.ipProtocol, startPort: s.startPort, endPort: s.endPort };
}

export function findCp(payloads: Payload[]): { type: number; attributes: CfgAttribute[] } | undefined {
  const c = findPayload(payloads, PayloadType.CP);
  return c && { type: c.cfgType, attributes: c.attributes };
}

export function deletes(payloads: Payload[]): { protocolId: number; spis: number[] }[] {
  return findPayloads(payloads, PayloadType.DELETE).map((d) => ({
    protocolId: d.protocolId,
    spis: d.spiSize === 4 ? d.spis.map((s) => readU32(s, 0)) : [],
  }));
}

/**
 * §3.3.6: the responder's SA has exactly one proposal, with one transform of each type it uses.
 * Returns the choice and the proposal's SPI.
 */
export function chosenSuite(payloads: Payload[], protocolId: number): { ok: true; suite: ChosenSuite; spi: Uint8Array } | { ok: false; error: string } {
  const s = findPayload(payloads, PayloadType.SA);
  if (!s) return { ok: false, error: "no SA payload" };
  if (s.proposals.length !== 1) return { ok: false, error: `the SA payload has ${s.proposals.length} proposals, expected exactly one` };
  const p = s.proposals[0]!;
  if (p.protocolId !== protocolId) return { ok: false, error: `the proposal is for protocol ${p.protocolId}, expected ${protocolId}` };
  const byType = new Map<number, (typeof p.transforms)[number][]>();
  for (const t of p.transforms) byType.set(t.transformType, [...(byType.get(t.transformType) ?? []), t]);
  for (const [type, list] of byType) if (list.length > 1) return { ok: false, error: `the proposal has ${list.length} transforms of type ${type}, expected one` };
  const one = (type: number) => byType.get(type)?.[0];
  const encr = one(TransformType.ENCR);
  if (!encr) return { ok: false, error: "the proposal has no encryption transform" };
  return {
    ok: true,
    spi: p.spi,
    suite: {
      encr: { id: encr.transformId, keyBits: keyLength(encr) ?? 0 },
      prf: one(TransformType.PRF)?.transformId ?? 0,
      integ: one(TransformType.INTEG)?.transformId ?? 0,
      ke: one(TransformType.KE)?.transformId ?? 0,
      esn: one(TransformType.ESN)?.transformId ?? 0,
    },
  };
}

// ---- identities and addresses ----

/** §2.15: the ID payload body after the generic header: ID Type, 3 reserved octets, data. */
export function idBody(idType: number, data: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([idType, 0, 0, 0]), data);
}

export function idText(idType: number, data: Uint8Array): string {
  switch (idType) {
    case IdType.IPV4_ADDR:
    case IdType.IPV6_ADDR:
      return formatAddress(data) ?? toHex(data);
    case IdType.FQDN:
    case IdType.RFC822_ADDR:
      return fromUtf8(data);
    case IdType.KEY_ID:
      return `keyid:${toHex(data)}`;
    default:
      return `id-type-${idType}:${toHex(data)}`;
  }
}

export function addrText(a: Uint8Array): string {
  return formatAddress(a) ?? toHex(a);
}

/** §3.7: CERTREQ for X.509 carries the SHA-1 hash of each trusted CA's Subject Public Key Info element. */
export function caKeyIds(anchors: Uint8Array[]): Uint8Array {
  const ids: Uint8Array[] = [];
  for (const der of anchors) {
    const key = subjectPublicKeyInfo(der);
    if (key) ids.push(sha1(key));
  }
  return concatBytes(...ids);
}

export { HeaderFlag };

/**
 * As responder (§2.7, §3.3.6): the first of the peer's proposals, in its order, that one of ours allows,
 * reduced to one transform of each type (the peer's order within a type). `keGroup` is the group of
 * the peer's KE payload, if any: a proposal whose KE transforms do not include it is still chosen
 * (the caller answers INVALID_KE_PAYLOAD), but one with our group preferred.
 */
export function selectFromOffer(
  payloads: Payload[],
  protocolId: number,
  ours: ProposalSpec[],
): { ok: true; suite: ChosenSuite; proposal: Proposal } | { ok: false; error: string } {
  const s = findPayload(payloads, PayloadType.SA);
  if (!s || s.proposals.length === 0) return { ok: false, error: "no SA payload" };
  for (const p of s.proposals) {
    if (p.protocolId !== protocolId) continue;
    const of = (type: number) => p.transforms.filter((t) => t.transformType === type);
    for (const o of ours) {
      const encr = of(TransformType.ENCR).find((t) => o.encr.some((e) => e.id === t.transformId && e.keyBits === (keyLength(t) ?? 0)));
      if (!encr) continue;
      const pick = (type: number, allowed: number[]) => {
        const offered = of(type);
        if (offered.length === 0) return allowed.length === 0 ? { id: 0, t: undefined } : null;
        const t = offered.find((x) => allowed.includes(x.transformId));
        return t ? { id: t.transformId, t } : null;
      };
      const prf = protocolId === 1 ? pick(TransformType.PRF, o.prf) : { id: 0, t: undefined };
      const integ = o.integ.length === 0 ? (of(TransformType.INTEG).every((t) => t.transformId === 0) ? { id: 0, t: of(TransformType.INTEG)[0] } : null) : pick(TransformType.INTEG, o.integ);
      const ke = of(TransformType.KE).length === 0 ? { id: 0, t: undefined } : pick(TransformType.KE, o.ke.length ? o.ke : [0]);
      // ESN is mandatory in ESP proposals (§3.3.3); a peer that leaves it out means "no ESN".
      const esn = protocolId === 1 || of(TransformType.ESN).length === 0 ? { id: 0, t: undefined } : pick(TransformType.ESN, o.esn);
      if (!prf || !integ || !ke || !esn) continue;
      const transforms = [encr, prf.t, integ.t, ke.t, esn.t].filter((t) => t !== undefined);
      return {
        ok: true,
        suite: { encr: { id: encr.transformId, keyBits: keyLength(encr) ?? 0 }, prf: prf.id, integ: integ.id, ke: ke.id, esn: esn.id },
        proposal: { proposalNum: p.proposalNum, protocolId, spi: p.spi, transforms },
      };
    }
  }
  return { ok: false, error: "no proposal of the peer is acceptable" };
}

/** Does the SA payload propose `protocolId` (IKE: an IKE SA rekey, §1.3.2)? */
export function offersProtocol(payloads: Payload[], protocolId: number): boolean {
  return findPayload(payloads, PayloadType.SA)?.proposals.some((p) => p.protocolId === protocolId) ?? false;
}
