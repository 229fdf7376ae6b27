// RFC 2759 §9.2 hash example and §9.3, RFC 3079 §3.5.3 sample key derivation, and the EAP-MSCHAPv2 MSK.
// Every expected value below is typed in from the RFC text unless its comment says otherwise.
import { expect, test } from "bun:test";
import {
  challengeHash,
  challengeResponse,
  challengeUserName,
  checkAuthenticatorResponse,
  generateAuthenticatorResponse,
  generateNtResponse,
  hashNtPasswordHash,
  ntPasswordHash,
  parseAuthenticatorResponse,
  unicodePassword,
} from "../../../core/eap/mschap.ts";
import { getAsymmetricStartKey, getMasterKey, mschapv2Msk } from "../../../core/eap/mppe.ts";
import { fromHex, toHex, utf8 } from "../../../core/util/bytes.ts";

const hex = (b: Uint8Array | undefined) => toHex(b!).toUpperCase();
const spaced = (s: string) => s.replace(/\s/g, "");

// RFC 2759 §9.2 Hash Example
const UserName = utf8("User"); // 55 73 65 72
const Password = "clientPass";
const PasswordUnicode = "63 00 6C 00 69 00 65 00 6E 00 74 00 50 00 61 00 73 00 73 00";
const AuthenticatorChallenge = fromHex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28");
const PeerChallenge = fromHex("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E");
const Challenge = "D0 2E 43 86 BC E9 12 26";
const PasswordHash = "44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE";
const NtResponse = "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF";
const PasswordHashHash = "41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F";
const AuthenticatorResponse = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

test("RFC 2759 §9.2: UserName and Unicode password", () => {
  expect(hex(UserName)).toBe("55736572");
  expect(hex(unicodePassword(Password))).toBe(spaced(PasswordUnicode));
});

test("RFC 2759 §9.2: ChallengeHash, NtPasswordHash, HashNtPasswordHash", () => {
  expect(hex(challengeHash(PeerChallenge, AuthenticatorChallenge, UserName))).toBe(spaced(Challenge));
  expect(hex(ntPasswordHash(Password))).toBe(spaced(PasswordHash));
  expect(hex(hashNtPasswordHash(fromHex(PasswordHash)))).toBe(spaced(PasswordHashHash));
});

test("RFC 2759 §9.2: ChallengeResponse and GenerateNTResponse give the NT-Response", () => {
  expect(hex(challengeResponse(fromHex(Challenge), fromHex(PasswordHash)))).toBe(spaced(NtResponse));
  expect(hex(generateNtResponse(AuthenticatorChallenge, PeerChallenge, UserName, ntPasswordHash(Password)!))).toBe(spaced(NtResponse));
});

test("RFC 2759 §9.2: GenerateAuthenticatorResponse gives the 42-octet S= string", () => {
  const s = generateAuthenticatorResponse(fromHex(PasswordHash), fromHex(NtResponse), PeerChallenge, AuthenticatorChallenge, UserName);
  expect(s).toBe(AuthenticatorResponse);
  expect(s.length).toBe(42);
});

test("RFC 2759 §8.8: CheckAuthenticatorResponse accepts the RFC value and refuses any other", () => {
  const check = (received: string | Uint8Array, password = Password) =>
    checkAuthenticatorResponse(ntPasswordHash(password)!, fromHex(NtResponse), PeerChallenge, AuthenticatorChallenge, UserName, received);
  expect(check(AuthenticatorResponse)).toBe(true);
  expect(check(utf8(AuthenticatorResponse))).toBe(true);
  expect(check(AuthenticatorResponse.toLowerCase().replace("s=", "S="))).toBe(true);
  expect(check(AuthenticatorResponse, "clientPasS")).toBe(false);
  expect(check("S=407A5589115FD0D6209F510FE9C04566932CDA57")).toBe(false);
  expect(check("S=407A5589115FD0D6209F510FE9C04566932CDA5")).toBe(false);
  expect(check("T=407A5589115FD0D6209F510FE9C04566932CDA56")).toBe(false);
  expect(check("S=407A5589115FD0D6209F510FE9C04566932CDAZZ")).toBe(false);
  expect(check("")).toBe(false);
  expect(parseAuthenticatorResponse(AuthenticatorResponse)!.length).toBe(20);
});

test("RFC 2759 §9.3: NtPasswordHash of \"MyPw\"", () => {
  expect(hex(unicodePassword("MyPw"))).toBe("4D00790050007700");
  expect(hex(ntPasswordHash("MyPw"))).toBe("FC156AF7EDCD6C0EDDE3337D427F4EAC");
});

test("RFC 2759 §8.3: the password is at most 256 Unicode characters; non-ASCII is UTF-16LE", () => {
  expect(ntPasswordHash("x".repeat(256))).toBeDefined();
  expect(ntPasswordHash("x".repeat(257))).toBeUndefined();
  expect(hex(unicodePassword("é€"))).toBe("E900AC20");
  expect(hex(unicodePassword("😀"))).toBe("3DD800DE"); // a surrogate pair, low octet first
});

test("RFC 2759 §8.2: the domain before a backslash is not part of ChallengeHash's UserName", () => {
  expect(challengeUserName("User")).toEqual(UserName);
  expect(challengeUserName("CORP\\User")).toEqual(UserName);
  expect(challengeUserName("a\\b\\User")).toEqual(utf8("b\\User"));
  expect(challengeUserName("user@example.org")).toEqual(utf8("user@example.org"));
});

// RFC 3079 §3.5.3 Sample Key Derivations: the same inputs as RFC 2759 §9.2.
const MasterKey = "FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31";
const SendStartKey128 = "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB";
const SendStartKey40 = "8B 7C DC 14 9B 99 3A 1B"; // the 40- and 56-bit examples start from 8 octets

test("RFC 3079 §3.5.3: GetMasterKey", () => {
  expect(hex(getMasterKey(fromHex(PasswordHashHash), fromHex(NtResponse)))).toBe(spaced(MasterKey));
});

test("RFC 3079 §3.5.3: GetAsymmetricStartKey for 128-bit and 40/56-bit keys", () => {
  const mk = fromHex(MasterKey);
  // The RFC's sample is the authenticator's send key (IsSend, IsServer: Magic3) ...
  expect(hex(getAsymmetricStartKey(mk, 16, true, true))).toBe(spaced(SendStartKey128));
  expect(hex(getAsymmetricStartKey(mk, 8, true, true))).toBe(spaced(SendStartKey40));
  // ... which is the peer's receive key; the peer's send key is the authenticator's receive key (Magic2).
  expect(hex(getAsymmetricStartKey(mk, 16, false, false))).toBe(spaced(SendStartKey128));
  const peerSend = getAsymmetricStartKey(mk, 16, true, false);
  expect(hex(getAsymmetricStartKey(mk, 16, false, true))).toBe(hex(peerSend));
  expect(hex(peerSend)).not.toBe(spaced(SendStartKey128));
  // Not in the RFC: the Magic2 key for these inputs, as Android's EAP-MSCHAPv2 tests also expect it
  // (its "send key"); pinned so that a swap of the magic strings cannot go unnoticed.
  expect(hex(peerSend)).toBe("D5F0E9521E3EA9589645E86051C82226");
});

test("MSK = MasterReceiveKey | MasterSendKey | 32 zero octets ([MS-CHAP] key management, strongSwan GenerateMSK)", () => {
  const msk = mschapv2Msk(fromHex(PasswordHashHash), fromHex(NtResponse));
  expect(msk.length).toBe(64);
  expect(hex(msk.subarray(0, 16))).toBe("D5F0E9521E3EA9589645E86051C82226"); // authenticator's receive key
  expect(hex(msk.subarray(16, 32))).toBe(spaced(SendStartKey128)); // authenticator's send key (RFC 3079 §3.5.3)
  expect(msk.subarray(32).every((b) => b === 0)).toBe(true);
});
