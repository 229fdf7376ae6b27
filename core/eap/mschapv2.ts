// The EAP-MSCHAPv2 peer (draft-kamath-pppext-eap-mschapv2-02, RFC 2759, RFC 3748 framing), as the IKEv2
// initiator runs it inside IKE_AUTH (RFC 7296 §2.16). Pure: EAP bytes in, EAP bytes or a result out.
//
//   gateway (authenticator)                          peer (us)
//   [EAP-Request/Identity]            ──►
//                                     ◄──  EAP-Response/Identity (identity)
//   EAP-Request/MSCHAPv2 Challenge    ──►
//                                     ◄──  EAP-Response/MSCHAPv2 Response (Peer-Challenge, NT-Response, Name)
//   EAP-Request/MSCHAPv2 Success "S=" ──►  verify S= against our password, or fail: the gateway does not know it
//                                     ◄──  EAP-Response/MSCHAPv2 Success
//   EAP-Success                       ──►  done: MSK
//
//   EAP-Request/MSCHAPv2 Failure "E=" ──►  refused (E=691 ...): we have one password, so no retry (R=1)
//                                     ◄──  EAP-Response/MSCHAPv2 Failure ([MS-CHAP] §2.2, RFC 2759 §6)
//   EAP-Failure                       ──►  done: rejected, with the gateway's reason
//
//   The Failure Response matters: strongSwan's authenticator (eap_mschapv2.c, process_server) waits for it
//   (or for a retried Response) and only then answers EAP-Failure and destroys its IKE SA; without it the
//   gateway keeps the half-open IKE SA until its timeout. An EAP-Failure without a Failure Request first
//   ends the exchange the same way.
//
//   EAP-Request/<other type>          ──►  ◄── Legacy Nak (RFC 3748 §5.3.1) proposing MSCHAPv2 (26)
//
// The password becomes PasswordHash at creation; PasswordHash and every value derived from it are wiped
// when the Response is built or the peer finishes. The caller's password string itself cannot be wiped.

import type { Random } from "../types.ts";
import { equalBytes, utf8, wipe } from "../util/bytes.ts";
import { EapCode, EapType } from "../wire/constants.ts";
import { authenticatorDigest, challengeUserName, generateNtResponse, hashNtPasswordHash, MAX_PASSWORD_CHARS, ntPasswordHash, parseAuthenticatorResponse } from "./mschap.ts";
import {
  encodeMschapAck,
  encodeMschapResponse,
  mschapErrorName,
  mschapErrorText,
  MschapOpCode,
  parseFailureMessage,
  parseMschapRequest,
  parseSuccessMessage,
} from "./mschapv2-msg.ts";
import { mschapv2Msk } from "./mppe.ts";
import { EAP_EXPANDED_TYPE, encodeEap, type EapPacket, parseEap } from "./packet.ts";

/** Why the EAP exchange failed. */
export type EapFailureKind =
  /** bytes that are not a valid EAP or MS-CHAPv2 packet */
  | "malformed"
  /** a valid packet at the wrong moment (e.g. EAP-Success before the gateway proved itself) */
  | "unexpected"
  /** the gateway's authenticator response is wrong: it does not know the password */
  | "server-unauthenticated"
  /** the gateway refused us with an MS-CHAPv2 Failure (see `code`), then ended EAP with EAP-Failure */
  | "rejected"
  /** the gateway sent EAP-Failure without an MS-CHAPv2 Failure first */
  | "eap-failure"
  /** our own credentials cannot be used (password longer than 256 characters, broken randomness) */
  | "credentials"
  /** the peer was wiped or had already finished */
  | "finished";

export type EapDone =
  | { ok: true; msk: Uint8Array; message?: string }
  | { ok: false; kind: EapFailureKind; reason: string; code?: number; retry?: boolean };

/** What to do after one EAP packet: send `send` in the next EAP payload, or stop with `done`. */
export interface EapStep {
  send?: Uint8Array;
  done?: EapDone;
}

export interface EapPeer {
  /** Takes one EAP packet from the gateway, as bytes or parsed. */
  process(eap: Uint8Array | EapPacket): EapStep;
  /** Forgets every secret; later calls to process fail. */
  wipe(): void;
}

export interface Mschapv2PeerOptions {
  /** EAP identity and MS-CHAPv2 Name, e.g. "alice" or "CORP\\alice". */
  identity: string;
  password: string;
  random: Random;
}

export function createMschapv2Peer(opts: Mschapv2PeerOptions): EapPeer {
  return new Mschapv2Peer(opts);
}

type State = "start" | "await-result" | "await-eap-success" | "await-eap-failure" | "done";

const MAX_MESSAGE_CHARS = 200;

class Mschapv2Peer implements EapPeer {
  private state: State = "start";
  private passwordHash: Uint8Array | undefined;
  private readonly identity: Uint8Array;
  private readonly userName: Uint8Array;
  private readonly random: Random;
  /** The 20-octet digest of the "S=" we expect (RFC 2759 §8.7). */
  private expectedAuth: Uint8Array | undefined;
  private msk: Uint8Array | undefined;
  /** The gateway's M= text from its Success Request, made printable. */
  private serverMessage: string | undefined;
  /** The gateway's MS-CHAPv2 Failure, reported when its EAP-Failure arrives. */
  private refusal: Extract<EapDone, { ok: false }> | undefined;
  /** RFC 3748 §4.1: a repeated Request is answered with the same Response, without processing it again. */
  private last: { request: Uint8Array; response: Uint8Array } | undefined;

  constructor(opts: Mschapv2PeerOptions) {
    this.identity = utf8(opts.identity);
    this.userName = challengeUserName(opts.identity);
    this.random = opts.random;
    this.passwordHash = ntPasswordHash(opts.password);
  }

  process(input: Uint8Array | EapPacket): EapStep {
    if (this.state === "done") return { done: { ok: false, kind: "finished", reason: "the EAP-MSCHAPv2 exchange is already over" } };
    const raw = input instanceof Uint8Array ? input : encodeEap(input);
    const parsed = parseEap(raw);
    if (!parsed.ok) return this.fail("malformed", `the gateway sent an invalid EAP packet: ${parsed.reason} (offset ${parsed.offset})`);
    const p = parsed.value;
    switch (p.code) {
      case EapCode.SUCCESS:
        // RFC 3748 §4.2, draft §2.3: EAP-Success counts only after the authenticator response was verified.
        if (this.state !== "await-eap-success") return this.fail("unexpected", "the gateway sent EAP-Success before proving it knows the password");
        return this.succeed();
      case EapCode.FAILURE:
        // RFC 3748 §4.2: EAP-Failure ends the conversation, after an MS-CHAPv2 Failure or without one.
        if (this.refusal) return this.finish(this.refusal);
        return this.fail("eap-failure", "the gateway sent EAP-Failure");
      case EapCode.RESPONSE:
        return this.fail("unexpected", "the gateway sent an EAP-Response; a gateway sends Requests");
    }
    const request = raw.subarray(0, 5 + p.data.length);
    if (this.last && equalBytes(this.last.request, request)) return { send: this.last.response.slice() };
    // After our Failure Response only EAP-Failure may come (or the same Failure Request again, above).
    if (this.state === "await-eap-failure") return this.fail("unexpected", `${this.refusal!.reason}; then, instead of EAP-Failure, it sent another EAP-Request`);
    const step = this.request(p.identifier, p.type, p.data);
    if (step.send) this.last = { request: request.slice(), response: step.send.slice() };
    return step;
  }

  private request(identifier: number, type: number, data: Uint8Array): EapStep {
    switch (type) {
      case EapType.IDENTITY:
        // RFC 3748 §5.1: answer with our identity (no NUL).
        if (this.state !== "start") return this.fail("unexpected", "the gateway asked for the EAP identity after MS-CHAPv2 had begun");
        return { send: response(identifier, EapType.IDENTITY, this.identity) };
      case EapType.NOTIFICATION:
        // RFC 3748 §5.2: a Notification Request is acknowledged by an empty Notification Response.
        return { send: response(identifier, EapType.NOTIFICATION, new Uint8Array(0)) };
      case EapType.NAK:
        // RFC 3748 §5.3: Nak exists only as a Response.
        return this.fail("malformed", "the gateway sent a Nak as an EAP-Request");
      case EapType.MSCHAPV2:
        return this.mschap(identifier, data);
      case EAP_EXPANDED_TYPE:
        // RFC 3748 §5.3.2: an Expanded Type Request gets an Expanded Nak: Type 254, Vendor-Id 0, Vendor-Type 3
        // (Nak), then the wanted method as Type 254, Vendor-Id 0 (IETF), Vendor-Type 26.
        return { send: response(identifier, EAP_EXPANDED_TYPE, Uint8Array.of(0, 0, 0, 0, 0, 0, EapType.NAK, 254, 0, 0, 0, 0, 0, 0, EapType.MSCHAPV2)) };
      default:
        // RFC 3748 §5.3.1: a Legacy Nak lists the method we want instead: MSCHAPv2 (26).
        return { send: response(identifier, EapType.NAK, Uint8Array.of(EapType.MSCHAPV2)) };
    }
  }

  private mschap(identifier: number, data: Uint8Array): EapStep {
    const parsed = parseMschapRequest(data);
    if (!parsed.ok) return this.fail("malformed", `the gateway sent an invalid MS-CHAPv2 request: ${parsed.reason}`);
    const m = parsed.value;
    if ("unsupported" in m) return this.fail("unexpected", `the gateway sent MS-CHAPv2 OpCode ${m.opCode}, which is not supported`);
    switch (m.opCode) {
      case MschapOpCode.CHALLENGE:
        if (this.state !== "start") return this.fail("unexpected", "the gateway sent a second MS-CHAPv2 Challenge");
        return this.challenge(identifier, m.mschapId, m.challenge);
      case MschapOpCode.SUCCESS:
        if (this.state !== "await-result") return this.fail("unexpected", "the gateway sent MS-CHAPv2 Success before our Response");
        return this.success(identifier, m.message);
      default:
        if (this.state !== "await-result") return this.fail("unexpected", "the gateway sent MS-CHAPv2 Failure before our Response");
        return this.failure(identifier, m.message);
    }
  }

  /** draft §2.2: the Response to a Challenge, with NT-Response of RFC 2759 §8.1. */
  private challenge(identifier: number, mschapId: number, authenticatorChallenge: Uint8Array): EapStep {
    const passwordHash = this.passwordHash;
    if (!passwordHash) return this.fail("credentials", `the password is longer than ${MAX_PASSWORD_CHARS} characters (RFC 2759 §8.3)`);
    const peerChallenge = this.random.bytes(16);
    if (peerChallenge.length !== 16) return this.fail("credentials", `the random source gave ${peerChallenge.length} octets, expected 16`);
    const ntResponse = generateNtResponse(authenticatorChallenge, peerChallenge, this.userName, passwordHash)!;
    this.expectedAuth = authenticatorDigest(passwordHash, ntResponse, peerChallenge, authenticatorChallenge, this.userName);
    const passwordHashHash = hashNtPasswordHash(passwordHash);
    this.msk = mschapv2Msk(passwordHashHash, ntResponse);
    wipe(passwordHash, passwordHashHash);
    this.passwordHash = undefined;
    // Name is the whole identity, domain included; only ChallengeHash drops the domain (as strongSwan does).
    const typeData = encodeMschapResponse(mschapId, peerChallenge, ntResponse, this.identity);
    this.state = "await-result";
    return { send: response(identifier, EapType.MSCHAPV2, typeData) };
  }

  /** draft §2.3: check "S=" (RFC 2759 §8.8) before answering with a Success Response. */
  private success(identifier: number, message: string): EapStep {
    const s = parseSuccessMessage(message);
    const got = s.authenticatorResponse ? parseAuthenticatorResponse(s.authenticatorResponse) : undefined;
    if (!got) return this.fail("malformed", "the gateway's MS-CHAPv2 Success carries no S=<40 hex digits> authenticator response");
    const ok = equalBytes(got, this.expectedAuth!); // constant time
    wipe(got);
    if (!ok) {
      return this.fail("server-unauthenticated", "the gateway's MS-CHAPv2 authenticator response is wrong: the gateway does not know the password");
    }
    this.state = "await-eap-success";
    if (s.message) this.serverMessage = printable(s.message);
    return { send: response(identifier, EapType.MSCHAPV2, encodeMschapAck(MschapOpCode.SUCCESS)) };
  }

  /**
   * RFC 2759 §6: the gateway refused our Response. A retry (R=1, with C= a new challenge) would need another
   * password, and we have one: answer with the Failure Response ([MS-CHAP] §2.2: Type 26, the Failure OpCode 4 alone), which
   * tells the gateway we give up, and wait for its EAP-Failure. Secrets are wiped now; nothing needs them.
   */
  private failure(identifier: number, message: string): EapStep {
    const f = parseFailureMessage(message);
    const meaning = f.error !== undefined ? (mschapErrorText(f.error) ?? "refused") : "refused, no error code given";
    const code = f.error !== undefined ? ` (MS-CHAPv2 E=${f.error} ${mschapErrorName(f.error)})` : "";
    const text = f.message ? `; the gateway says "${printable(f.message)}"` : "";
    const refusal: Extract<EapDone, { ok: false }> = { ok: false, kind: "rejected", reason: `the gateway refused the EAP credentials: ${meaning}${code}${text}` };
    if (f.error !== undefined) refusal.code = f.error;
    if (f.retry !== undefined) refusal.retry = f.retry;
    this.refusal = refusal;
    this.wipeSecrets();
    this.state = "await-eap-failure";
    return { send: response(identifier, EapType.MSCHAPV2, encodeMschapAck(MschapOpCode.FAILURE)) };
  }

  private succeed(): EapStep {
    const msk = this.msk!;
    this.msk = undefined; // handed over: the caller owns and wipes it
    const done: EapDone = { ok: true, msk };
    if (this.serverMessage) done.message = this.serverMessage;
    return this.finish(done);
  }

  private fail(kind: EapFailureKind, reason: string): EapStep {
    return this.finish({ ok: false, kind, reason });
  }

  private finish(done: EapDone): EapStep {
    this.wipe();
    return { done };
  }

  private wipeSecrets(): void {
    wipe(this.passwordHash, this.expectedAuth, this.msk);
    this.passwordHash = this.expectedAuth = this.msk = undefined;
  }

  wipe(): void {
    this.wipeSecrets();
    wipe(this.last?.response);
    this.last = undefined;
    this.state = "done";
  }
}

function response(identifier: number, type: number, data: Uint8Array): Uint8Array {
  return encodeEap({ code: EapCode.RESPONSE, identifier, type, data });
}

/** Text from the gateway, made safe to show: control characters replaced, length bounded. */
function printable(s: string): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  return clean.length > MAX_MESSAGE_CHARS ? `${clean.slice(0, MAX_MESSAGE_CHARS)}...` : clean;
}
