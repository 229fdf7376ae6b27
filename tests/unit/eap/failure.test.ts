// The MS-CHAPv2 Failure handshake (RFC 2759 §6; [MS-CHAP] §2.2, §3.2.5.4, §3.2.5.6, Microsoft's open
// specification of EAP-MSCHAPv2): the Failure Request's message fields, the peer's Failure Response
// octets, and the end of EAP with the gateway's EAP-Failure, which carries the reason of the Failure
// Request before it. No retry: roam has one password.
import { describe, expect, test } from "bun:test";
import { createMschapv2Peer } from "../../../core/eap/mschapv2.ts";
import { encodeMschapAck, mschapErrorText, MschapOpCode, parseFailureMessage } from "../../../core/eap/mschapv2-msg.ts";
import { fromHex, toHex } from "../../../core/util/bytes.ts";
import { AuthenticatorChallenge, eap, failure, fixedRandom, mschapData, PeerChallenge, ScriptedAuthenticator, send } from "./authenticator.ts";


const hex = (b: Uint8Array) => toHex(b).toUpperCase();

/** A peer whose Response the authenticator has refused; `refusal` is the Failure Request it answers. */
function refused(password = "wrongPass") {
  const peer = createMschapv2Peer({ identity: "User", password, random: fixedRandom(PeerChallenge) });
  const gw = new ScriptedAuthenticator({ password: "clientPass", challenge: AuthenticatorChallenge });
  const refusal = gw.answer(send(peer.process(gw.challengeRequest())));
  return { peer, gw, refusal };
}

describe("RFC 2759 §6 Failure message", () => {
  test('the full format "E=eeeeeeeeee R=r C=<32 hex> V=vvvvvvvvvv M=<msg>"', () => {
    const f = parseFailureMessage("E=691 R=1 C=0123456789ABCDEF0123456789ABCDEF V=3 M=Authentication failure, try again");
    expect(f.error).toBe(691);
    expect(f.retry).toBe(true);
    expect(hex(f.challenge!)).toBe("0123456789ABCDEF0123456789ABCDEF");
    expect(f.version).toBe(3);
    // M= runs to the end of the message, spaces included.
    expect(f.message).toBe("Authentication failure, try again");
  });

  test("strongSwan's Failure Request: E=691 R=1 C= only (eap_mschapv2.c FAILURE_MESSAGE), lower-case hex too", () => {
    const f = parseFailureMessage("E=691 R=1 C=00112233445566778899aabbccddeeff");
    expect(f).toEqual({ error: 691, retry: true, challenge: fromHex("00112233445566778899aabbccddeeff") });
  });

  test("the non-retryable codes of §6: R=0, no challenge", () => {
    for (const code of [646, 647, 648, 649, 709]) {
      expect(parseFailureMessage(`E=${code} R=0 V=3`)).toEqual({ error: code, retry: false, version: 3 });
    }
  });

  test("bad fields are left out, not guessed: a short challenge, a non-numeric code, R=2", () => {
    expect(parseFailureMessage("E=abc R=2 C=0123 V=x M=")).toEqual({ message: "" });
    expect(parseFailureMessage("")).toEqual({});
    // Text after M= is the message even when it looks like fields.
    expect(parseFailureMessage("M=E=647 R=0")).toEqual({ message: "E=647 R=0" });
  });

  test("error codes in words (§6)", () => {
    expect(mschapErrorText(691)).toBe("authentication failure (wrong user name or password)");
    expect(mschapErrorText(647)).toBe("account disabled");
    expect(mschapErrorText(648)).toBe("password expired");
    expect(mschapErrorText(649)).toBe("no dial-in permission");
    expect(mschapErrorText(646)).toBe("logon not allowed at this time (restricted logon hours)");
    expect(mschapErrorText(709)).toBe("error changing password");
    expect(mschapErrorText(1234)).toBeUndefined();
  });
});

describe("the peer's answer to a Failure Request", () => {
  test("a Failure Response (EAP-Response, Type 26, OpCode 4 alone, the Request's Identifier), then the EAP-Failure ends it", () => {
    const { peer, gw, refusal } = refused();
    // The scripted authenticator refused with E=691 R=1 C=... V=3 M=Authentication failure.
    expect(refusal[5]).toBe(MschapOpCode.FAILURE);
    const answer = send(peer.process(refusal));
    // [MS-CHAP] §2.2: Code 2 | Identifier | Length 6 | Type 26 | OpCode 4
    expect(hex(answer)).toBe(`02${gw.id.toString(16).toUpperCase()}00061A04`);
    expect(hex(encodeMschapAck(MschapOpCode.FAILURE))).toBe("04");
    const f = failure(peer.process(gw.eapFailure()));
    expect(f.kind).toBe("rejected");
    expect(f.code).toBe(691);
    expect(f.retry).toBe(true); // the gateway allowed a retry; we did not take it
    expect(f.reason).toBe(
      'the gateway refused the EAP credentials: authentication failure (wrong user name or password) (MS-CHAPv2 E=691 ERROR_AUTHENTICATION_FAILURE); the gateway says "Authentication failure"',
    );
    // Over: nothing more is answered.
    expect(failure(peer.process(gw.eapFailure())).kind).toBe("finished");
  });

  test("no retry with R=1: the peer never asks for randomness again and sends no second Response", () => {
    const random = fixedRandom(PeerChallenge);
    const peer = createMschapv2Peer({ identity: "User", password: "wrongPass", random });
    const gw = new ScriptedAuthenticator({ password: "clientPass", challenge: AuthenticatorChallenge });
    const answer = send(peer.process(gw.answer(send(peer.process(gw.challengeRequest())))));
    expect(answer[4]).toBe(26);
    expect(answer[5]).toBe(MschapOpCode.FAILURE);
    expect(answer.length).toBe(6);
    expect(random.calls).toBe(1);
  });

  test("each RFC 2759 §6 code is reported in words, with the gateway's M= made printable", () => {
    for (const [code, words, name] of [
      [647, "account disabled", "ERROR_ACCT_DISABLED"],
      [648, "password expired", "ERROR_PASSWD_EXPIRED"],
      [649, "no dial-in permission", "ERROR_NO_DIALIN_PERMISSION"],
      [646, "logon not allowed at this time (restricted logon hours)", "ERROR_RESTRICTED_LOGON_HOURS"],
      [709, "error changing password", "ERROR_CHANGING_PASSWORD"],
      [1234, "refused", "error 1234"],
    ] as const) {
      const peer = createMschapv2Peer({ identity: "User", password: "clientPass", random: fixedRandom(PeerChallenge) });
      const gw = new ScriptedAuthenticator({ password: "clientPass", challenge: AuthenticatorChallenge });
      send(peer.process(gw.challengeRequest()));
      send(peer.process(gw.failureRequest(`E=${code} R=0 V=3 M=see your admin\u0007`)));
      const f = failure(peer.process(gw.eapFailure()));
      expect(f.kind).toBe("rejected");
      expect(f.code).toBe(code);
      expect(f.retry).toBe(false);
      expect(f.reason).toBe(`the gateway refused the EAP credentials: ${words} (MS-CHAPv2 E=${code} ${name}); the gateway says "see your admin?"`);
    }
  });

  test("a Failure Request without E= or M= still ends cleanly", () => {
    const peer = createMschapv2Peer({ identity: "User", password: "clientPass", random: fixedRandom(PeerChallenge) });
    const gw = new ScriptedAuthenticator({ password: "clientPass", challenge: AuthenticatorChallenge });
    send(peer.process(gw.challengeRequest()));
    send(peer.process(gw.failureRequest("")));
    const f = failure(peer.process(gw.eapFailure()));
    expect(f.kind).toBe("rejected");
    expect(f.code).toBeUndefined();
    expect(f.reason).toBe("the gateway refused the EAP credentials: refused, no error code given");
  });

  test("a repeated Failure Request gets the same Failure Response (RFC 3748 §4.1)", () => {
    const { peer, gw, refusal } = refused();
    const a1 = send(peer.process(refusal));
    expect(hex(send(peer.process(refusal)))).toBe(hex(a1));
    expect(failure(peer.process(gw.eapFailure())).kind).toBe("rejected");
  });

  test("after the Failure Response, EAP-Success or another Request is a failure that keeps the refusal's reason", () => {
    {
      const { peer, gw, refusal } = refused();
      send(peer.process(refusal));
      const f = failure(peer.process(gw.challengeRequest()));
      expect(f.kind).toBe("unexpected");
      expect(f.reason).toStartWith("the gateway refused the EAP credentials: authentication failure");
    }
    {
      const { peer, gw, refusal } = refused();
      send(peer.process(refusal));
      expect(failure(peer.process(gw.eapSuccess())).kind).toBe("unexpected");
    }
    {
      const { peer, refusal } = refused();
      send(peer.process(refusal));
      expect(failure(peer.process(eap(1, 99, 2, new Uint8Array(0)))).kind).toBe("unexpected");
    }
  });

  test("an EAP-Failure without a Failure Request first: a plain EAP failure, at any point", () => {
    const gw = new ScriptedAuthenticator({ password: "clientPass", challenge: AuthenticatorChallenge });
    for (const before of [[], [gw.identityRequest()], [gw.challengeRequest()]]) {
      const peer = createMschapv2Peer({ identity: "User", password: "clientPass", random: fixedRandom(PeerChallenge) });
      for (const b of before) send(peer.process(b));
      const f = failure(peer.process(eap(4, 1)));
      expect(f.kind).toBe("eap-failure");
      expect(f.reason).toBe("the gateway sent EAP-Failure");
    }
  });

  test("a Failure Request before our Response is out of order", () => {
    const peer = createMschapv2Peer({ identity: "User", password: "clientPass", random: fixedRandom(PeerChallenge) });
    expect(failure(peer.process(eap(1, 5, 26, mschapData(4, 1, new TextEncoder().encode("E=691 R=0"))))).kind).toBe("unexpected");
  });
});
