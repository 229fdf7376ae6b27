// A scripted IKEv2 responder for exchange tests: it builds its answers with core/wire and core/crypto,
// independently of core/ike. It is a test double, never interop: real gateways are in tests/interop.

import { pskAuth, signedOctets } from "../../../core/crypto/auth.ts";
import { createKeyExchange } from "../../../core/crypto/dh.ts";
import { createSkSuite, type SkSuite } from "../../../core/crypto/encr.ts";
import { computeRekeySkeyseed, computeSkeyseed, deriveChildSaKeys, deriveIkeSaKeys, type IkeSaKeys } from "../../../core/crypto/keys.ts";
import { prfById, type Prf } from "../../../core/crypto/prf.ts";
import type { Random } from "../../../core/types.ts";
import { concatBytes, equalBytes, utf8 } from "../../../core/util/bytes.ts";
import { CfgAttr, CfgType, ExchangeType, IdType, NotifyError, NotifyStatus, PayloadType, ProtocolId, TransformType, TsType } from "../../../core/wire/constants.ts";
import { encodeSkEnvelope, encryptedPart, parseMessage, parsePayloads, serializeMessage, serializePayloads } from "../../../core/wire/message.ts";
import { findNotify, findPayload, keyLength, type Payload, type Proposal } from "../../../core/wire/payloads.ts";
import { parseAddress } from "../../../core/wire/addr.ts";
export { seededRandom } from "../../lib/seeded.ts";
import { FragmentReassembler, fragmentMessage } from "../../../core/ike/fragment.ts";
import { FakeEapRound, type EapRoundOptions } from "./fake-eap-round.ts";


export interface FakeGatewayOptions {
  psk: Uint8Array;
  id: string; // FQDN
  random: Random;
  /** Behaviours to script failures. */
  cookie?: boolean;
  demandGroup?: number;
  rejectAuth?: boolean;
  vip?: string;
  dns?: string;
  narrowTo?: string[];
  /** Announce RFC 7383 fragmentation and fragment own messages larger than this many bytes. */
  fragmentBudget?: number;
  /** Announce RFC 7427 SIGNATURE_HASH_ALGORITHMS with these Hash Algorithm Identifiers in IKE_SA_INIT. */
  hashAlgorithms?: number[];
  /**
   * A certificate responder (RFC 7296 §2.15): given the client's IKE_AUTH payloads and the octets each side
   * signs, checks the client's AUTH and returns the gateway's IDr, CERT and AUTH, or null to refuse.
   */
  certAuth?: (client: Payload[], octets: SignedOctetsFor) => Payload[] | null;
  /** Announce MOBIKE_SUPPORTED in the IKE_AUTH answer (RFC 4555 "Signaling Support for MOBIKE") and answer UPDATE_SA_ADDRESSES. */
  mobike?: boolean;
  /** RFC 5685: send the client to this gateway (REDIRECT data without nonce) in IKE_SA_INIT or in IKE_AUTH. */
  redirectInit?: Uint8Array;
  redirectAuth?: Uint8Array;
  /** Announce RFC 4739 MULTIPLE_AUTH_SUPPORTED in the IKE_SA_INIT answer. */
  multipleAuth?: boolean;
  /**
   * RFC 4739 §3.2: after the certAuth round (which must carry ANOTHER_AUTH_FOLLOWS), a second round of
   * EAP-MSCHAPv2; the CHILD_SA comes in its last answer.
   */
  secondRound?: EapRoundOptions;
}

/** The §2.15 octets: InitiatorSignedOctets over IDi' and ResponderSignedOctets over IDr'. */
export interface SignedOctetsFor {
  initiator(idBody: Uint8Array): Uint8Array;
  responder(idBody: Uint8Array): Uint8Array;
}

/** One IKE SA as the fake gateway holds it. */
export interface FakeSa {
  spiI: Uint8Array;
  spiR: Uint8Array;
  keys: IkeSaKeys;
  /** The gateway is its original initiator (it rekeyed the SA). */
  weInitiated: boolean;
}

export class FakeGateway {
  private prf!: Prf;
  private sk!: SkSuite;
  private keys!: IkeSaKeys;
  private spiI: Uint8Array = new Uint8Array(8);
  private spiR: Uint8Array;
  private ni!: Uint8Array;
  private nr!: Uint8Array;
  private initResponse!: Uint8Array;
  private initRequest!: Uint8Array;
  private cookieSent = false;
  childKeys: ReturnType<typeof deriveChildSaKeys> | null = null;
  espSpi = 0xc0ffee01;
  clientEspSpi = 0;
  deleted = false;
  received: { exchangeType: number; response: boolean; payloads: Payload[] }[] = [];
  /** The client announced MULTIPLE_AUTH_SUPPORTED in IKE_SA_INIT (RFC 4739 §3.1). */
  clientMultipleAuth = false;
  /** The second authentication round, once the first is done. */
  eapRound: FakeEapRound | null = null;
  private firstRound: { client: Payload[]; idrBody: Uint8Array } | null = null;

  constructor(private readonly o: FakeGatewayOptions) {
    this.spiR = o.random.bytes(8);
  }

  fragmentsReceived = 0;
  private clientFragmentation = false;
  private reassembler: FragmentReassembler | null = null;

  /** Handles one datagram from the client; returns the answer's datagrams (none, one, or fragments). */
  receive(data: Uint8Array): Uint8Array[] {
    const r = this.receiveOne(data);
    if (r === null) return [];
    return Array.isArray(r) ? r : [r];
  }

  private receiveOne(data: Uint8Array): Uint8Array | Uint8Array[] | null {
    const r = parseMessage(data);
    if (!r.ok) throw new Error(`fake gateway: client sent an unparsable message: ${r.error.reason}`);
    const { header } = r.value;
    if (header.exchangeType === ExchangeType.IKE_SA_INIT) return this.onInit(data, r.value.payloads, header.spiI);
    // A message for an IKE SA that is not the current one (replaced by a rekey, or the other of a collision).
    if (!equalBytes(header.spiI, this.spiI) || !equalBytes(header.spiR, this.spiR)) {
      const other = this.retiredSas.find((x) => equalBytes(x.spiI, header.spiI) && equalBytes(x.spiR, header.spiR));
      if (!other) throw new Error("fake gateway: a message for an unknown IKE SA");
      return this.onSa(other, () => this.receiveOne(data));
    }
    const enc = encryptedPart(data, r.value);
    if (!enc) throw new Error("fake gateway: protected exchange without SK");
    let firstInner = enc.payload.firstInner;
    let plaintext: Uint8Array;
    if (enc.payload.type === PayloadType.SKF) {
      this.fragmentsReceived++;
      this.reassembler ??= new FragmentReassembler(this.sk, this.recvKeys());
      const f = this.reassembler.add(data, 0);
      if (f.kind === "incomplete") return null;
      if (f.kind === "dropped") throw new Error(`fake gateway: fragment dropped: ${f.detail}`);
      firstInner = f.firstInner;
      plaintext = f.plaintext;
    } else {
      const opened = this.sk.open(this.recvKeys(), enc.aad, enc.body);
      if (!opened.ok) throw new Error(`fake gateway: cannot open the client's SK payload: ${opened.message}`);
      plaintext = opened.plaintext;
    }
    const inner = parsePayloads(firstInner, plaintext);
    if (!inner.ok) throw new Error(`fake gateway: bad inner payloads: ${inner.error.reason}`);
    this.received.push({ exchangeType: header.exchangeType, response: header.flags.response, payloads: inner.value });
    if (header.flags.response) return null;
    if (header.exchangeType === ExchangeType.IKE_AUTH) return this.protectAll(ExchangeType.IKE_AUTH, header.messageId, true, this.onAuth(inner.value));
    if (header.exchangeType === ExchangeType.INFORMATIONAL) {
      if (findPayload(inner.value, PayloadType.DELETE)?.protocolId === ProtocolId.IKE) this.deleted = true;
      return this.protect(ExchangeType.INFORMATIONAL, header.messageId, true, this.onMobikeUpdate(inner.value));
    }
    if (header.exchangeType === ExchangeType.CREATE_CHILD_SA) {
      const sa = findPayload(inner.value, PayloadType.SA);
      if (sa?.proposals[0]?.protocolId === ProtocolId.IKE) {
        const { payloads, next } = this.onClientIkeRekey(inner.value);
        const answer = this.protect(ExchangeType.CREATE_CHILD_SA, header.messageId, true, payloads);
        if (next && this.adoptClientIkeRekey) this.switchTo(next);
        else if (next) this.retiredSas.push(next);
        return answer;
      }
      return this.protect(ExchangeType.CREATE_CHILD_SA, header.messageId, true, this.onClientRekey(inner.value));
    }
    throw new Error(`fake gateway: unexpected exchange ${header.exchangeType}`);
  }

  /** What the client's IKE_SA_INIT request carried (REDIRECT_SUPPORTED, REDIRECTED_FROM, ...). */
  initRequestPayloads: Payload[] = [];
  /** How to answer UPDATE_SA_ADDRESSES: normally, with an error notify, or with a wrong COOKIE2. */
  mobikeAnswer: "ok" | "unacceptable" | "bad-cookie" = "ok";
  /** UPDATE_SA_ADDRESSES requests received. */
  updates = 0;

  /**
   * The gateway's hash of where it sees the client (its NAT_DETECTION_DESTINATION_IP): in IKE_SA_INIT and
   * in answers to INFORMATIONALs that carry NAT detection. A test changes it to play a NAT mapping change.
   */
  natView: Uint8Array = new Uint8Array(20).fill(0x5a);

  /**
   * RFC 4555 §3.5: answers UPDATE_SA_ADDRESSES with NAT detection and the COOKIE2 back; other
   * INFORMATIONALs with NAT detection (MOBIKE liveness checks) get NAT detection back, as strongSwan does.
   */
  private onMobikeUpdate(payloads: Payload[]): Payload[] {
    if (!this.o.mobike) return [];
    if (!findNotify(payloads, NotifyStatus.UPDATE_SA_ADDRESSES)) {
      if (!findNotify(payloads, NotifyStatus.NAT_DETECTION_DESTINATION_IP)) return [];
      return [notify(NotifyStatus.NAT_DETECTION_SOURCE_IP, this.o.random.bytes(20)), notify(NotifyStatus.NAT_DETECTION_DESTINATION_IP, this.natView)];
    }
    this.updates++;
    if (this.mobikeAnswer === "unacceptable") return [notify(NotifyError.UNACCEPTABLE_ADDRESSES)];
    const cookie2 = findNotify(payloads, NotifyStatus.COOKIE2)?.data ?? new Uint8Array(0);
    return [
      notify(NotifyStatus.NAT_DETECTION_SOURCE_IP, this.o.random.bytes(20)),
      notify(NotifyStatus.NAT_DETECTION_DESTINATION_IP, this.natView),
      notify(NotifyStatus.COOKIE2, this.mobikeAnswer === "bad-cookie" ? this.o.random.bytes(16) : cookie2),
    ];
  }

  private onInit(data: Uint8Array, payloads: Payload[], spiI: Uint8Array): Uint8Array {
    const plain = (p: Payload[]) => serializeMessage({ header: this.header(spiI, new Uint8Array(8), ExchangeType.IKE_SA_INIT, 0, true), payloads: p });
    this.initRequestPayloads = payloads;
    if (this.o.redirectInit) {
      // RFC 5685 §3: the REDIRECT carries the client's Ni as its Nonce Data.
      return plain([notify(NotifyStatus.REDIRECT, concatBytes(this.o.redirectInit, findPayload(payloads, PayloadType.NONCE)!.nonce))]);
    }
    if (this.o.cookie && !this.cookieSent) {
      this.cookieSent = true;
      return plain([notify(NotifyStatus.COOKIE, utf8("cookie-0123456789"))]);
    }
    if (this.o.cookie && !equalBytes(findNotify(payloads, NotifyStatus.COOKIE)?.data ?? new Uint8Array(0), utf8("cookie-0123456789"))) {
      throw new Error("fake gateway: the client did not return the COOKIE");
    }
    const sa = findPayload(payloads, PayloadType.SA)!;
    const ke = findPayload(payloads, PayloadType.KE)!;
    if (this.o.demandGroup !== undefined && ke.dhGroup !== this.o.demandGroup) {
      const d = new Uint8Array(2);
      d[0] = this.o.demandGroup >> 8;
      d[1] = this.o.demandGroup & 0xff;
      return plain([notify(NotifyError.INVALID_KE_PAYLOAD, d)]);
    }
    this.spiI = spiI;
    this.initRequest = data;
    this.clientFragmentation = findNotify(payloads, NotifyStatus.IKEV2_FRAGMENTATION_SUPPORTED) !== undefined;
    this.clientMultipleAuth = findNotify(payloads, NotifyStatus.MULTIPLE_AUTH_SUPPORTED) !== undefined;
    this.ni = findPayload(payloads, PayloadType.NONCE)!.nonce;
    const chosen = choose(sa.proposals[0]!, ke.dhGroup);
    this.prf = prfById(chosen.prf)!;
    const suite = createSkSuite(chosen.encr, chosen.keyBits, chosen.integ);
    if (!suite.ok) throw new Error(suite.reason);
    this.sk = suite.suite;
    const myKe = createKeyExchange(ke.dhGroup, this.o.random);
    const shared = myKe.computeShared(ke.keyExchangeData);
    if (!shared.ok) throw new Error(shared.reason);
    this.nr = this.o.random.bytes(32);
    const skeyseed = computeSkeyseed(this.prf, this.ni, this.nr, shared.secret);
    this.keys = deriveIkeSaKeys(this.prf, skeyseed, this.ni, this.nr, spiI, this.spiR, { encr: this.sk.encrKeyLength, integ: this.sk.integKeyLength });
    const resp: Payload[] = [
      { type: PayloadType.SA, critical: false, proposals: [chosen.proposal] },
      { type: PayloadType.KE, critical: false, dhGroup: ke.dhGroup, keyExchangeData: myKe.publicKey },
      { type: PayloadType.NONCE, critical: false, nonce: this.nr },
      notify(NotifyStatus.NAT_DETECTION_SOURCE_IP, this.o.random.bytes(20)),
      notify(NotifyStatus.NAT_DETECTION_DESTINATION_IP, this.natView),
      ...(this.o.fragmentBudget ? [notify(NotifyStatus.IKEV2_FRAGMENTATION_SUPPORTED)] : []),
      ...(this.o.multipleAuth ? [notify(NotifyStatus.MULTIPLE_AUTH_SUPPORTED)] : []),
      ...(this.o.hashAlgorithms ? [notify(NotifyStatus.SIGNATURE_HASH_ALGORITHMS, new Uint8Array(this.o.hashAlgorithms.flatMap((h) => [h >> 8, h & 0xff])))] : []),
    ];
    this.initResponse = serializeMessage({ header: this.header(spiI, this.spiR, ExchangeType.IKE_SA_INIT, 0, true), payloads: resp });
    return this.initResponse;
  }

  private onAuth(payloads: Payload[]): Payload[] {
    const octets: SignedOctetsFor = {
      initiator: (idBody) => signedOctets(this.prf, this.initRequest, this.nr, this.keys.SK_pi, idBody),
      responder: (idBody) => signedOctets(this.prf, this.initResponse, this.ni, this.keys.SK_pr, idBody),
    };
    if (this.eapRound) {
      const first = this.firstRound!;
      return this.eapRound.answer(payloads, this.prf, { initiator: octets.initiator, responder: () => octets.responder(first.idrBody) }, () => this.childPayloads(first.client));
    }
    if (this.o.certAuth) {
      const ours = this.o.certAuth(payloads, octets);
      if (!ours) return [notify(NotifyError.AUTHENTICATION_FAILED)];
      if (this.o.secondRound) {
        // RFC 4739 §3.2: a gateway configured for two rounds refuses a client that ends after one.
        if (!this.clientMultipleAuth || !findNotify(payloads, NotifyStatus.ANOTHER_AUTH_FOLLOWS)) return [notify(NotifyError.AUTHENTICATION_FAILED)];
        const idr = findPayload(ours, PayloadType.IDr as typeof PayloadType.IDi | typeof PayloadType.IDr)!;
        this.firstRound = { client: payloads, idrBody: concatBytes(new Uint8Array([idr.idType, 0, 0, 0]), idr.data) };
        this.eapRound = new FakeEapRound(this.o.secondRound);
        return ours;
      }
      return [...ours, ...this.childPayloads(payloads)];
    }
    const idi = findPayload(payloads, PayloadType.IDi as typeof PayloadType.IDi | typeof PayloadType.IDr)!;
    const auth = findPayload(payloads, PayloadType.AUTH);
    if (!auth) throw new Error("fake gateway: PSK client sent no AUTH");
    const idiBody = concatBytes(new Uint8Array([idi.idType, 0, 0, 0]), idi.data);
    const expect = pskAuth(this.prf, this.o.psk, signedOctets(this.prf, this.initRequest, this.nr, this.keys.SK_pi, idiBody));
    if (this.o.rejectAuth || !equalBytes(expect, auth.authData)) return [notify(NotifyError.AUTHENTICATION_FAILED)];
    const idr = utf8(this.o.id);
    const idrBody = concatBytes(new Uint8Array([IdType.FQDN, 0, 0, 0]), idr);
    const myAuth = pskAuth(this.prf, this.o.psk, signedOctets(this.prf, this.initResponse, this.ni, this.keys.SK_pr, idrBody));
    if (this.o.redirectAuth) {
      // RFC 5685 §6: authenticated, then sent elsewhere: no CHILD_SA.
      return [{ type: PayloadType.IDr, critical: false, idType: IdType.FQDN, data: idr }, { type: PayloadType.AUTH, critical: false, authMethod: 2, authData: myAuth }, notify(NotifyStatus.REDIRECT, this.o.redirectAuth)];
    }
    return [
      { type: PayloadType.IDr, critical: false, idType: IdType.FQDN, data: idr },
      { type: PayloadType.AUTH, critical: false, authMethod: 2, authData: myAuth },
      ...(this.o.mobike ? [notify(NotifyStatus.MOBIKE_SUPPORTED)] : []),
      ...this.childPayloads(payloads),
    ];
  }

  /** CP, SAr2, TSi, TSr of the IKE_AUTH answer, and the CHILD_SA keys. */
  private childPayloads(payloads: Payload[]): Payload[] {
    const sa = findPayload(payloads, PayloadType.SA)!;
    const chosen = choose(sa.proposals[0]!, 0);
    this.clientEspSpi = new DataView(sa.proposals[0]!.spi.buffer, sa.proposals[0]!.spi.byteOffset).getUint32(0);
    const espSpi = new Uint8Array(4);
    new DataView(espSpi.buffer).setUint32(0, this.espSpi);
    chosen.proposal.spi = espSpi;
    const childSuite = createSkSuite(chosen.encr, chosen.keyBits, chosen.integ);
    if (!childSuite.ok) throw new Error(childSuite.reason);
    this.childKeys = deriveChildSaKeys(this.prf, this.keys.SK_d, this.ni, this.nr, { encr: childSuite.suite.encrKeyLength, integ: childSuite.suite.integKeyLength });
    const vip = parseAddress(this.o.vip ?? "198.19.0.1")!;
    const ranges = (this.o.narrowTo ?? ["203.0.113.0", "203.0.113.255", "198.51.100.0", "198.51.100.255"]).map((a) => parseAddress(a)!);
    const tsr = [];
    for (let i = 0; i < ranges.length; i += 2) tsr.push(sel(ranges[i]!, ranges[i + 1]!));
    return [
      {
        type: PayloadType.CP,
        critical: false,
        cfgType: CfgType.REPLY,
        attributes: [
          { attrType: CfgAttr.INTERNAL_IP4_ADDRESS, address: vip },
          { attrType: CfgAttr.INTERNAL_IP4_DNS, address: parseAddress(this.o.dns ?? "203.0.113.53")! },
        ],
      },
      { type: PayloadType.SA, critical: false, proposals: [chosen.proposal] },
      { type: PayloadType.TSi, critical: false, selectors: [sel(vip, vip)] },
      { type: PayloadType.TSr, critical: false, selectors: tsr },
    ];
  }

  /** The client rekeys the CHILD_SA: answer as strongSwan would, and remember the new KEYMAT. */
  clientRekeys: { ni: Uint8Array; nr: Uint8Array; rekeyed: number; newSpiOfClient: number; keys: ReturnType<typeof deriveChildSaKeys> }[] = [];
  /** Refuse the client's CHILD_SA rekeys: true for NO_PROPOSAL_CHOSEN, or this error notify. */
  rejectClientRekey: boolean | number = false;
  /** The Nr of the next answer to a client's rekey (CHILD_SA or IKE SA), to pin a collision's outcome. */
  nextNr: Uint8Array | null = null;
  private takeNr(): Uint8Array {
    const nr = this.nextNr ?? this.o.random.bytes(32);
    this.nextNr = null;
    return nr;
  }
  private onClientRekey(payloads: Payload[]): Payload[] {
    if (this.rejectClientRekey !== false) return [notify(this.rejectClientRekey === true ? NotifyError.NO_PROPOSAL_CHOSEN : this.rejectClientRekey)];
    const rekey = findNotify(payloads, NotifyStatus.REKEY_SA)!;
    const sa = findPayload(payloads, PayloadType.SA)!;
    const ni = findPayload(payloads, PayloadType.NONCE)!.nonce;
    const chosen = choose(sa.proposals[0]!, 0);
    const nr = this.takeNr();
    this.espSpi += 1;
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, this.espSpi);
    chosen.proposal.spi = spi;
    const keys = deriveChildSaKeys(this.prf, this.keys.SK_d, ni, nr, { encr: 36, integ: 0 });
    this.clientRekeys.push({ ni, nr, rekeyed: new DataView(rekey.spi.buffer, rekey.spi.byteOffset).getUint32(0), newSpiOfClient: new DataView(sa.proposals[0]!.spi.buffer, sa.proposals[0]!.spi.byteOffset).getUint32(0), keys });
    return [
      { type: PayloadType.SA, critical: false, proposals: [chosen.proposal] },
      { type: PayloadType.NONCE, critical: false, nonce: nr },
      findPayload(payloads, PayloadType.TSi)!,
      findPayload(payloads, PayloadType.TSr)!,
    ];
  }

  /** A CREATE_CHILD_SA request rekeying the CHILD_SA (RFC 7296 §1.3.3), as strongSwan sends it. */
  rekeyChildRequest(messageId: number, newSpi: number, opts: { rekeySpi?: number; protocolId?: number; ni?: Uint8Array } = {}): { datagram: Uint8Array; ni: Uint8Array } {
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, newSpi);
    const old = new Uint8Array(4);
    new DataView(old.buffer).setUint32(0, opts.rekeySpi ?? this.espSpi);
    const ni = opts.ni ?? this.o.random.bytes(32);
    const vip = parseAddress(this.o.vip ?? "198.19.0.1")!;
    const payloads: Payload[] = [
      { type: PayloadType.NOTIFY, critical: false, protocolId: ProtocolId.ESP, spi: old, notifyType: NotifyStatus.REKEY_SA, data: new Uint8Array(0) },
      {
        type: PayloadType.SA,
        critical: false,
        proposals: [
          {
            proposalNum: 1,
            protocolId: opts.protocolId ?? ProtocolId.ESP,
            spi,
            transforms: [
              { transformType: TransformType.ENCR, transformId: 20, attributes: [{ af: true, attrType: 14, value: 256 }] },
              { transformType: TransformType.ESN, transformId: 0, attributes: [] },
            ],
          },
        ],
      },
      { type: PayloadType.NONCE, critical: false, nonce: ni },
      { type: PayloadType.TSi, critical: false, selectors: [sel(parseAddress("203.0.113.0")!, parseAddress("203.0.113.255")!)] },
      { type: PayloadType.TSr, critical: false, selectors: [sel(vip, vip)] },
    ];
    return { datagram: this.protect(ExchangeType.CREATE_CHILD_SA, messageId, false, payloads), ni };
  }

  /** Opens a response from the client. */
  openResponse(data: Uint8Array): Payload[] {
    const r = parseMessage(data);
    if (!r.ok) throw new Error(r.error.reason);
    const enc = encryptedPart(data, r.value)!;
    const opened = this.sk.open(this.recvKeys(), enc.aad, enc.body);
    if (!opened.ok) throw new Error(opened.message);
    const inner = parsePayloads(enc.payload.firstInner, opened.plaintext);
    if (!inner.ok) throw new Error(inner.error.reason);
    return inner.value;
  }

  /** CHILD_SA keys for a rekey where the gateway initiated: KEYMAT = prf+(SK_d, Ni | Nr) (§2.17). */
  rekeyKeys(ni: Uint8Array, nr: Uint8Array) {
    return deriveChildSaKeys(this.prf, this.keys.SK_d, ni, nr, { encr: 36, integ: 0 });
  }

  /** After an IKE SA rekey the gateway is the original initiator of the new SA (RFC 7296 §2.18). */
  private weInitiated = false;
  private sendKeys() {
    return this.weInitiated ? { encr: this.keys.SK_ei, integ: this.keys.SK_ai } : { encr: this.keys.SK_er, integ: this.keys.SK_ar };
  }
  private recvKeys() {
    return this.weInitiated ? { encr: this.keys.SK_er, integ: this.keys.SK_ar } : { encr: this.keys.SK_ei, integ: this.keys.SK_ai };
  }

  /** A CREATE_CHILD_SA request rekeying the IKE SA (§1.3.2): SA with our new SPI, Ni, KEi (x25519). */
  rekeyIkeRequest(messageId: number, opts: { ni?: Uint8Array } = {}) {
    const newSpiI = this.o.random.bytes(8);
    const ni = opts.ni ?? this.o.random.bytes(32);
    const kx = createKeyExchange(31, this.o.random);
    const payloads: Payload[] = [
      {
        type: PayloadType.SA,
        critical: false,
        proposals: [
          {
            proposalNum: 1,
            protocolId: ProtocolId.IKE,
            spi: newSpiI,
            transforms: [
              { transformType: TransformType.ENCR, transformId: 20, attributes: [{ af: true, attrType: 14, value: 256 }] },
              { transformType: TransformType.PRF, transformId: 5, attributes: [] },
              { transformType: TransformType.KE, transformId: 31, attributes: [] },
            ],
          },
        ],
      },
      { type: PayloadType.NONCE, critical: false, nonce: ni },
      { type: PayloadType.KE, critical: false, dhGroup: 31, keyExchangeData: kx.publicKey },
    ];
    return { datagram: this.protect(ExchangeType.CREATE_CHILD_SA, messageId, false, payloads), ctx: { newSpiI, ni, kx } };
  }

  /** Reads the client's answer and switches to the new IKE SA, as its original initiator. */
  completeIkeRekey(answer: Uint8Array, ctx: ReturnType<FakeGateway["rekeyIkeRequest"]>["ctx"], opts: { adopt?: boolean } = {}): { oldSpiI: Uint8Array; oldSpiR: Uint8Array; sa: FakeSa } {
    const payloads = this.openResponse(answer);
    const sa = findPayload(payloads, PayloadType.SA)!;
    const nr = findPayload(payloads, PayloadType.NONCE)!.nonce;
    const ke = findPayload(payloads, PayloadType.KE)!;
    const shared = ctx.kx.computeShared(ke.keyExchangeData);
    if (!shared.ok) throw new Error(shared.reason);
    const spiR = sa.proposals[0]!.spi;
    const skeyseed = computeRekeySkeyseed(this.prf, this.keys.SK_d, shared.secret, ctx.ni, nr);
    const keys = deriveIkeSaKeys(this.prf, skeyseed, ctx.ni, nr, ctx.newSpiI, spiR, { encr: this.sk.encrKeyLength, integ: this.sk.integKeyLength });
    const next: FakeSa = { spiI: ctx.newSpiI, spiR, keys, weInitiated: true };
    const old = this.current();
    if (opts.adopt === false) this.retiredSas.push(next);
    else this.switchTo(next);
    return { oldSpiI: old.spiI, oldSpiR: old.spiR, sa: next };
  }

  /** The client rekeys the IKE SA (§1.3.2): the new SA, of which the client is the original initiator. */
  clientIkeRekeys: { spiI: Uint8Array; spiR: Uint8Array; ni: Uint8Array; nr: Uint8Array; sa: FakeSa }[] = [];
  /** Switch to the IKE SA the client's rekey made once it is answered (as strongSwan does); false keeps the old. */
  adoptClientIkeRekey = true;
  private onClientIkeRekey(payloads: Payload[]): { payloads: Payload[]; next: FakeSa | null } {
    const sa = findPayload(payloads, PayloadType.SA)!;
    const ke = findPayload(payloads, PayloadType.KE)!;
    const ni = findPayload(payloads, PayloadType.NONCE)!.nonce;
    const chosen = choose(sa.proposals[0]!, ke.dhGroup);
    const kx = createKeyExchange(ke.dhGroup, this.o.random);
    const shared = kx.computeShared(ke.keyExchangeData);
    if (!shared.ok) throw new Error(shared.reason);
    const nr = this.takeNr();
    const spiR = this.o.random.bytes(8);
    chosen.proposal.spi = spiR;
    const skeyseed = computeRekeySkeyseed(this.prf, this.keys.SK_d, shared.secret, ni, nr);
    const keys = deriveIkeSaKeys(this.prf, skeyseed, ni, nr, sa.proposals[0]!.spi, spiR, { encr: this.sk.encrKeyLength, integ: this.sk.integKeyLength });
    const next: FakeSa = { spiI: sa.proposals[0]!.spi, spiR, keys, weInitiated: false };
    this.clientIkeRekeys.push({ spiI: next.spiI, spiR, ni, nr, sa: next });
    return {
      payloads: [
        { type: PayloadType.SA, critical: false, proposals: [chosen.proposal] },
        { type: PayloadType.NONCE, critical: false, nonce: nr },
        { type: PayloadType.KE, critical: false, dhGroup: ke.dhGroup, keyExchangeData: kx.publicKey },
      ],
      next,
    };
  }

  /** IKE SAs other than the current one (replaced, or the other of a collision): messages on them are still read. */
  private retiredSas: FakeSa[] = [];
  private previous: FakeSa | null = null;

  private current(): FakeSa {
    return { spiI: this.spiI, spiR: this.spiR, keys: this.keys, weInitiated: this.weInitiated };
  }

  private use(sa: FakeSa): void {
    this.spiI = sa.spiI;
    this.spiR = sa.spiR;
    this.keys = sa.keys;
    this.weInitiated = sa.weInitiated;
  }

  /** Makes `next` the current IKE SA; the current one is kept as `previous` (see onOldSa). */
  switchTo(next: FakeSa): void {
    const old = this.current();
    this.previous = old;
    this.retiredSas = [old, ...this.retiredSas.filter((x) => !equalBytes(x.spiI, next.spiI) || !equalBytes(x.spiR, next.spiR))];
    this.use(next);
  }

  /** Runs `fn` as if `sa` were the current IKE SA (requests on it, opening answers on it). */
  onSa<T>(sa: FakeSa, fn: () => T): T {
    const now = this.current();
    this.use(sa);
    try {
      return fn();
    } finally {
      this.use(now);
    }
  }

  /** A request on the IKE SA that was rekeyed away (e.g. its DELETE), and opening the answer to it. */
  onOldSa<T>(fn: () => T): T {
    return this.onSa(this.previous!, fn);
  }

  /** The current IKE SA, to come back to it with onSa. */
  get currentSa(): FakeSa {
    return this.current();
  }

  /** An INFORMATIONAL request, fragmented when it is larger than the budget (RFC 7383). */
  requestFragments(messageId: number, payloads: Payload[]): Uint8Array[] {
    return this.protectAll(ExchangeType.INFORMATIONAL, messageId, false, payloads);
  }

  /** An INFORMATIONAL request from the gateway (e.g. a liveness check or a DELETE). */
  request(messageId: number, payloads: Payload[]): Uint8Array {
    return this.protect(ExchangeType.INFORMATIONAL, messageId, false, payloads);
  }

  private header(spiI: Uint8Array, spiR: Uint8Array, exchangeType: number, messageId: number, response: boolean) {
    return { spiI, spiR, majorVersion: 2, minorVersion: 0, exchangeType, flags: { initiator: this.weInitiated, response, version: false }, messageId };
  }

  /** Like protect, but as RFC 7383 fragments when a budget is set and the message is larger. */
  private protectAll(exchangeType: number, messageId: number, response: boolean, payloads: Payload[]): Uint8Array[] {
    const whole = this.protect(exchangeType, messageId, response, payloads);
    // RFC 7383 §2.3: only when both sides announced support.
    if (!this.o.fragmentBudget || !this.clientFragmentation || whole.length <= this.o.fragmentBudget) return [whole];
    const inner = serializePayloads(payloads);
    return fragmentMessage({
      header: this.header(this.spiI, this.spiR, exchangeType, messageId, response),
      innerFirstType: inner.firstType,
      inner: inner.bytes,
      suite: this.sk,
      keys: this.sendKeys(),
      random: this.o.random,
      maxDatagram: this.o.fragmentBudget,
    });
  }

  private protect(exchangeType: number, messageId: number, response: boolean, payloads: Payload[]): Uint8Array {
    const inner = serializePayloads(payloads);
    const bodyLength = this.sk.bodyLength(inner.bytes.length);
    const aad = encodeSkEnvelope(this.header(this.spiI, this.spiR, exchangeType, messageId, response), inner.firstType, bodyLength);
    const body = this.sk.seal(this.sendKeys(), aad, inner.bytes, this.o.random.bytes(this.sk.ivLength));
    return concatBytes(aad, body);
  }
}

function notify(notifyType: number, data: Uint8Array = new Uint8Array(0)): Payload {
  return { type: PayloadType.NOTIFY, critical: false, protocolId: 0, spi: new Uint8Array(0), notifyType, data };
}

function sel(start: Uint8Array, end: Uint8Array) {
  return { tsType: start.length === 4 ? TsType.IPV4_ADDR_RANGE : TsType.IPV6_ADDR_RANGE, ipProtocol: 0, startPort: 0, endPort: 65535, startAddress: start, endAddress: end } as const;
}

/** Takes the first transform of each type from a proposal (the group given, when the proposal has KE). */
function choose(p: Proposal, group: number) {
  const first = (type: number) => p.transforms.find((t) => t.transformType === type);
  const encr = first(TransformType.ENCR)!;
  const picked = [encr, first(TransformType.PRF), first(TransformType.INTEG), group ? p.transforms.find((t) => t.transformType === TransformType.KE && t.transformId === group) : undefined, first(TransformType.ESN)].filter((t) => t !== undefined);
  return {
    proposal: { proposalNum: p.proposalNum, protocolId: p.protocolId, spi: new Uint8Array(0), transforms: picked } as Proposal,
    encr: encr.transformId,
    keyBits: keyLength(encr),
    prf: first(TransformType.PRF)?.transformId ?? 0,
    integ: first(TransformType.INTEG)?.transformId ?? 0,
  };
}
