// The EAP-MSCHAPv2 peer against a scripted authenticator: RFC 2759 §9.2 values end to end, domain
// identities, a gateway that does not know the password, Nak, and the EAP-level rules of RFC 3748
// (Identity, Notification, duplicates, EAP-Success/Failure). The MS-CHAPv2 Failure handshake (wrong
// password, RFC 2759 §6 error codes) is in failure.test.ts.
import { expect, test } from "bun:test";
import { createMschapv2Peer } from "../../../core/eap/mschapv2.ts";
import { parseEap } from "../../../core/eap/packet.ts";
import { fromHex, toHex, utf8 } from "../../../core/util/bytes.ts";
import { AuthenticatorChallenge, eap, failure, fixedRandom, mschapData, PeerChallenge, ScriptedAuthenticator, send } from "./authenticator.ts";

const NtResponse = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
const AuthenticatorResponse = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
// MSK for these values: authenticator's receive key | its send key (RFC 3079 §3.5.3 SendStartKey128) | 32 zeros
const Msk = `D5F0E9521E3EA9589645E86051C82226${"8B7CDC149B993A1BA118CB153F56DCCB"}${"00".repeat(32)}`;

const hex = (b: Uint8Array | undefined) => toHex(b!).toUpperCase();
const spaced = (s: string) => s.replace(/\s/g, "");

function setup(identity = "User", password = "clientPass", gatewayPassword = "clientPass", extra: Partial<ConstructorParameters<typeof ScriptedAuthenticator>[0]> = {}) {
  const random = fixedRandom(PeerChallenge);
  const peer = createMschapv2Peer({ identity, password, random });
  const gw = new ScriptedAuthenticator({ password: gatewayPassword, challenge: AuthenticatorChallenge, ...extra });
  return { peer, gw, random };
}

test("RFC 2759 §9.2 end to end: Identity, Challenge, Response with the RFC NT-Response, S= verified, MSK", () => {
  const { peer, gw, random } = setup("User", "clientPass", "clientPass", { successMessage: "Welcome to roam" });
  // RFC 3748 §5.1: Identity Response, same Identifier
  expect(hex(send(peer.process(gw.identityRequest())))).toBe(`0241000901${hex(utf8("User"))}`);
  expect(random.calls).toBe(0);
  const response = send(peer.process(gw.challengeRequest()));
  expect(random.calls).toBe(1);
  // draft §2.2: 02 id Length=63 | 1A 02 MS-CHAPv2-ID MS-Length=58 | 31 | PeerChallenge | 8 zeros | NT-Response | Flags 0 | "User"
  expect(hex(response)).toBe(`0242003F1A022A003A31${hex(PeerChallenge)}${"00".repeat(8)}${NtResponse}00${hex(utf8("User"))}`);
  const success = gw.answer(response);
  // The gateway's Success carries the RFC's AuthenticatorResponse.
  expect(new TextDecoder().decode(success.subarray(9))).toBe(`${AuthenticatorResponse} M=Welcome to roam`);
  const ack = send(peer.process(success));
  expect(gw.isSuccessResponse(ack)).toBe(true);
  const done = peer.process(gw.eapSuccess());
  expect(done.send).toBeUndefined();
  if (!done.done?.ok) throw new Error(JSON.stringify(done));
  expect(hex(done.done.msk)).toBe(Msk);
  expect(hex(done.done.msk)).toBe(hex(gw.gatewayMsk()));
  expect(done.done.message).toBe("Welcome to roam");
  // Once over, the peer answers nothing more.
  expect(failure(peer.process(gw.eapSuccess())).kind).toBe("finished");
});

test("a gateway that starts with the Challenge (no EAP-Identity) works the same", () => {
  const { peer, gw } = setup();
  const success = gw.answer(send(peer.process(gw.challengeRequest())));
  send(peer.process(success));
  const done = peer.process(gw.eapSuccess()).done;
  expect(done?.ok && hex(done.msk)).toBe(Msk);
});

test('"DOMAIN\\user": the whole identity is sent, ChallengeHash uses the part after the backslash', () => {
  const { peer, gw } = setup("CORP\\User");
  expect(hex(send(peer.process(gw.identityRequest())).subarray(5))).toBe(hex(utf8("CORP\\User")));
  const response = send(peer.process(gw.challengeRequest()));
  expect(hex(response.subarray(34, 58))).toBe(NtResponse); // the RFC value computed with UserName "User"
  expect(new TextDecoder().decode(response.subarray(59))).toBe("CORP\\User");
  const success = gw.answer(response);
  expect(new TextDecoder().decode(success.subarray(9))).toBe(AuthenticatorResponse);
  send(peer.process(success));
  expect(peer.process(gw.eapSuccess()).done?.ok).toBe(true);
});

test("a gateway that does not know the password: its S= does not verify, the peer fails and gives no MSK", () => {
  const { peer, gw } = setup("User", "clientPass", "clientPass", { rogueSignsWith: "guessedPass" });
  const success = gw.answer(send(peer.process(gw.challengeRequest())));
  const f = failure(peer.process(success));
  expect(f.kind).toBe("server-unauthenticated");
  expect(f.reason).toContain("does not know the password");
  // Nothing is released afterwards, not even on EAP-Success.
  expect(failure(peer.process(gw.eapSuccess())).kind).toBe("finished");
});

test("an S= off by one digit, or missing, fails", () => {
  for (const [s, kind] of [
    ["S=407A5589115FD0D6209F510FE9C04566932CDA57", "server-unauthenticated"],
    ["S=407A5589115FD0D6209F510FE9C04566932CDA5", "malformed"],
    ["M=Welcome", "malformed"],
    ["", "malformed"],
  ] as const) {
    const { peer, gw } = setup();
    gw.answer(send(peer.process(gw.challengeRequest())));
    expect(failure(peer.process(gw.successRequest(s))).kind).toBe(kind);
  }
});

test("lower-case hex in S= is accepted (strongSwan's chunk_from_hex accepts either case)", () => {
  const { peer, gw } = setup();
  gw.answer(send(peer.process(gw.challengeRequest())));
  const ack = send(peer.process(gw.successRequest(`S=${AuthenticatorResponse.slice(2).toLowerCase()}`)));
  expect(gw.isSuccessResponse(ack)).toBe(true);
});

test("a Request of another method gets a Legacy Nak proposing MSCHAPv2 (RFC 3748 §5.3.1)", () => {
  const { peer, gw } = setup();
  // MD5-Challenge (Type 4) request
  const nak = send(peer.process(eap(1, 7, 4, fromHex("10 00112233445566778899aabbccddeeff"))));
  expect(hex(nak)).toBe(spaced("02 07 0006 03 1A"));
  // ... and the exchange goes on with MSCHAPv2.
  const success = gw.answer(send(peer.process(gw.challengeRequest())));
  send(peer.process(success));
  expect(peer.process(gw.eapSuccess()).done?.ok).toBe(true);
});

test("an Expanded Type Request gets an Expanded Nak (RFC 3748 §5.3.2)", () => {
  const { peer } = setup();
  const nak = send(peer.process(eap(1, 9, 254, fromHex("00 9f 8b 00000001 aa"))));
  // Type 254 | Vendor-Id 0 | Vendor-Type 3 (Nak) | Type 254 | Vendor-Id 0 | Vendor-Type 26
  expect(hex(nak)).toBe(spaced("02 09 0014 FE 000000 00000003 FE 000000 0000001A"));
});

test("a Notification Request is acknowledged with an empty Notification Response (RFC 3748 §5.2)", () => {
  const { peer } = setup();
  expect(hex(send(peer.process(eap(1, 3, 2, utf8("maintenance at 22:00")))))).toBe(spaced("02 03 0005 02"));
});

test("EAP-Success before the gateway proved itself, or EAP-Failure, ends in failure", () => {
  {
    const { peer, gw } = setup();
    send(peer.process(gw.challengeRequest()));
    expect(failure(peer.process(gw.eapSuccess())).kind).toBe("unexpected");
  }
  {
    const { peer, gw } = setup();
    expect(failure(peer.process(gw.eapSuccess())).kind).toBe("unexpected");
  }
  {
    const { peer, gw } = setup();
    send(peer.process(gw.challengeRequest()));
    const f = failure(peer.process(gw.eapFailure()));
    expect(f.kind).toBe("eap-failure");
    expect(f.reason).toBe("the gateway sent EAP-Failure");
  }
});

test("a repeated Request is answered with the same Response, without a second Peer-Challenge (RFC 3748 §4.1)", () => {
  const { peer, gw, random } = setup();
  const challenge = gw.challengeRequest();
  const r1 = send(peer.process(challenge));
  const r2 = send(peer.process(challenge));
  expect(hex(r2)).toBe(hex(r1));
  expect(random.calls).toBe(1);
  const success = gw.answer(r1);
  expect(hex(send(peer.process(success)))).toBe(hex(send(peer.process(success))));
  expect(peer.process(gw.eapSuccess()).done?.ok).toBe(true);
});

test("a parsed packet object works like its bytes", () => {
  const { peer, gw } = setup();
  const bytes = gw.challengeRequest();
  const parsed = parseEap(bytes);
  if (!parsed.ok) throw new Error(parsed.reason);
  const response = send(peer.process(parsed.value));
  const success = gw.answer(response);
  const p2 = parseEap(success);
  if (!p2.ok) throw new Error(p2.reason);
  send(peer.process(p2.value));
  expect(peer.process({ code: 3, identifier: gw.id }).done?.ok).toBe(true);
});

test("out-of-order MS-CHAPv2 messages fail", () => {
  {
    const { peer, gw } = setup();
    expect(failure(peer.process(gw.successRequest(AuthenticatorResponse))).kind).toBe("unexpected");
  }
  {
    const { peer, gw } = setup();
    expect(failure(peer.process(gw.failureRequest("E=691 R=0"))).kind).toBe("unexpected");
  }
  {
    const { peer, gw } = setup();
    send(peer.process(gw.challengeRequest()));
    expect(failure(peer.process(gw.challengeRequest())).kind).toBe("unexpected");
  }
  {
    const { peer, gw } = setup();
    send(peer.process(gw.challengeRequest()));
    expect(failure(peer.process(gw.identityRequest())).kind).toBe("unexpected");
  }
  {
    const { peer } = setup();
    // Change-Password (OpCode 7) is not supported
    expect(failure(peer.process(eap(1, 1, 26, mschapData(7, 1, new Uint8Array(10))))).kind).toBe("unexpected");
  }
});

test("malformed packets give typed failures", () => {
  const cases: Uint8Array[] = [
    new Uint8Array(0),
    fromHex("01 01 00"),
    fromHex("01 01 00 09 01 55"), // Length beyond the octets
    fromHex("01 01 00 04"), // Request without Type
    fromHex("03 01 00 05 00"), // Success with data
    fromHex("07 01 00 04"), // unknown Code
    fromHex("02 01 00 05 01"), // a Response, sent to the peer
    fromHex("01 01 00 06 03 1a"), // Nak as a Request
    eap(1, 1, 26, fromHex("01 01 00")), // MS-CHAPv2 header cut short
    eap(1, 1, 26, mschapData(1, 1, fromHex("08 0011223344556677"))), // Value-Size 8
    eap(1, 1, 26, mschapData(1, 1, fromHex("10 00112233"))), // Challenge cut short
  ];
  for (const c of cases) {
    const { peer } = setup();
    const f = failure(peer.process(c));
    expect(["malformed", "unexpected"]).toContain(f.kind);
    expect(f.reason.length).toBeGreaterThan(10);
  }
});

test("padding beyond the EAP Length is ignored (RFC 3748 §4.1)", () => {
  const { peer, gw } = setup();
  const challenge = gw.challengeRequest();
  const padded = new Uint8Array(challenge.length + 3).fill(0xee);
  padded.set(challenge, 0);
  const success = gw.answer(send(peer.process(padded)));
  send(peer.process(success));
  expect(peer.process(gw.eapSuccess()).done?.ok).toBe(true);
});

test("a password over 256 characters fails at the Challenge, without using randomness", () => {
  const random = fixedRandom();
  const peer = createMschapv2Peer({ identity: "User", password: "p".repeat(257), random });
  const gw = new ScriptedAuthenticator({ password: "x", challenge: AuthenticatorChallenge });
  expect(failure(peer.process(gw.challengeRequest())).kind).toBe("credentials");
  expect(random.calls).toBe(0);
});

test("wipe() ends the exchange: later packets fail and no MSK comes out", () => {
  const { peer, gw } = setup();
  const success = gw.answer(send(peer.process(gw.challengeRequest())));
  send(peer.process(success));
  peer.wipe();
  expect(failure(peer.process(gw.eapSuccess())).kind).toBe("finished");
});

test("non-ASCII passwords are hashed as UTF-16LE on both sides", () => {
  const random = fixedRandom(PeerChallenge);
  const peer = createMschapv2Peer({ identity: "jörg", password: "pässwörd€😀", random });
  const gw = new ScriptedAuthenticator({ password: "pässwörd€😀", challenge: AuthenticatorChallenge });
  const success = gw.answer(send(peer.process(gw.challengeRequest())));
  send(peer.process(success));
  const done = peer.process(gw.eapSuccess()).done;
  expect(done?.ok && hex(done.msk)).toBe(hex(gw.gatewayMsk()));
});
