// MS-CHAPv2 response and authenticator-response computations (RFC 2759 §8), used by EAP-MSCHAPv2.
//
// Deviation from the RFC's pseudocode signatures: GenerateNTResponse, GenerateAuthenticatorResponse and
// CheckAuthenticatorResponse take PasswordHash (= NtPasswordHash(Password)) instead of Password, so a
// peer can turn the password into its hash once and hold nothing else. The result is the same.

import { sha1 } from "@noble/hashes/legacy.js";
import { concatBytes, equalBytes, fromUtf8, toHex, utf8, wipe } from "../util/bytes.ts";
import { desEncryptBlock, expandDesKey } from "./des.ts";
import { md4 } from "./md4.ts";

/** RFC 2759 §8.3: the password is 0 to 256 Unicode characters. */
export const MAX_PASSWORD_CHARS = 256;

// RFC 2759 §8.7: Magic1 = "Magic server to client signing constant" (39 octets, no NUL)
const AUTH_MAGIC1 = utf8("Magic server to client signing constant");
// RFC 2759 §8.7: Magic2 = "Pad to make it do more than one iteration" (41 octets, no NUL)
const AUTH_MAGIC2 = utf8("Pad to make it do more than one iteration");

/**
 * The password as the Unicode string of RFC 2759 §8.3: UTF-16 code units, low octet first (what Windows
 * and strongSwan's utf8_to_utf16le produce). Undefined when longer than 256 characters.
 */
export function unicodePassword(password: string): Uint8Array | undefined {
  if (password.length > MAX_PASSWORD_CHARS) return undefined;
  const out = new Uint8Array(password.length * 2);
  for (let i = 0; i < password.length; i++) {
    const u = password.charCodeAt(i);
    out[2 * i] = u & 0xff;
    out[2 * i + 1] = u >>> 8;
  }
  return out;
}

/**
 * The UserName that enters ChallengeHash: RFC 2759 §8.2 uses "only the user name (as presented by the
 * peer and excluding any prepended domain name)", so "DOMAIN\user" gives "user" — the part after the
 * first backslash, as Windows and strongSwan's extract_username do. Encoded as UTF-8.
 */
export function challengeUserName(identity: string): Uint8Array {
  const bs = identity.indexOf("\\");
  return utf8(bs < 0 ? identity : identity.slice(bs + 1));
}

/** RFC 2759 §8.2 ChallengeHash: the first 8 octets of SHA1(PeerChallenge | AuthenticatorChallenge | UserName). */
export function challengeHash(peerChallenge: Uint8Array, authenticatorChallenge: Uint8Array, userName: Uint8Array): Uint8Array {
  const digest = sha1(concatBytes(peerChallenge, authenticatorChallenge, userName));
  const challenge = digest.slice(0, 8);
  wipe(digest);
  return challenge;
}

/** RFC 2759 §8.3 NtPasswordHash: MD4 of the Unicode password. Undefined when longer than 256 characters. */
export function ntPasswordHash(password: string): Uint8Array | undefined {
  const unicode = unicodePassword(password);
  if (!unicode) return undefined;
  const hash = md4(unicode);
  wipe(unicode);
  return hash;
}

/** RFC 2759 §8.4 HashNtPasswordHash: MD4(PasswordHash). */
export function hashNtPasswordHash(passwordHash: Uint8Array): Uint8Array {
  return md4(passwordHash);
}

/** RFC 2759 §8.6 DesEncrypt: DES-ECB of the 8-octet Clear under a 7-octet key expanded with parity bits. */
export function desEncrypt(clear: Uint8Array, key7: Uint8Array): Uint8Array | undefined {
  const key = expandDesKey(key7);
  if (!key) return undefined;
  const cypher = desEncryptBlock(key, clear);
  wipe(key);
  return cypher;
}

/**
 * RFC 2759 §8.5 ChallengeResponse: PasswordHash padded with zeros to 21 octets, cut into three 7-octet
 * DES keys, each encrypting the 8-octet Challenge; the 24-octet Response is the three cyphers in order.
 */
export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Uint8Array | undefined {
  if (challenge.length !== 8 || passwordHash.length !== 16) return undefined;
  const zPasswordHash = new Uint8Array(21);
  zPasswordHash.set(passwordHash);
  const out = new Uint8Array(24);
  for (let i = 0; i < 3; i++) {
    const c = desEncrypt(challenge, zPasswordHash.subarray(i * 7, i * 7 + 7))!;
    out.set(c, i * 8);
  }
  wipe(zPasswordHash);
  return out;
}

/**
 * RFC 2759 §8.1 GenerateNTResponse: ChallengeResponse(ChallengeHash(PeerChallenge, AuthenticatorChallenge,
 * UserName), PasswordHash). Both challenges are 16 octets; undefined otherwise.
 */
export function generateNtResponse(
  authenticatorChallenge: Uint8Array,
  peerChallenge: Uint8Array,
  userName: Uint8Array,
  passwordHash: Uint8Array,
): Uint8Array | undefined {
  if (authenticatorChallenge.length !== 16 || peerChallenge.length !== 16) return undefined;
  const challenge = challengeHash(peerChallenge, authenticatorChallenge, userName);
  const response = challengeResponse(challenge, passwordHash);
  wipe(challenge);
  return response;
}

/**
 * The 20-octet digest behind the authenticator response (RFC 2759 §8.7):
 *   Digest = SHA1(PasswordHashHash | NT-Response | Magic1)
 *   Digest = SHA1(Digest | ChallengeHash(PeerChallenge, AuthenticatorChallenge, UserName) | Magic2)
 */
export function authenticatorDigest(
  passwordHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: Uint8Array,
): Uint8Array {
  const passwordHashHash = hashNtPasswordHash(passwordHash);
  const inner = sha1(concatBytes(passwordHashHash, ntResponse, AUTH_MAGIC1));
  const challenge = challengeHash(peerChallenge, authenticatorChallenge, userName);
  const digest = sha1(concatBytes(inner, challenge, AUTH_MAGIC2));
  wipe(passwordHashHash, inner, challenge);
  return digest;
}

/**
 * RFC 2759 §8.7 GenerateAuthenticatorResponse: "S=" followed by the digest as 40 upper-case hex digits
 * (the 42-octet AuthenticatorResponse).
 */
export function generateAuthenticatorResponse(
  passwordHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: Uint8Array,
): string {
  const digest = authenticatorDigest(passwordHash, ntResponse, peerChallenge, authenticatorChallenge, userName);
  const s = `S=${toHex(digest).toUpperCase()}`;
  wipe(digest);
  return s;
}

/**
 * Decodes the "S=" + 40 hex digits of an authenticator response into its 20 octets (either case of hex,
 * as strongSwan's chunk_from_hex accepts). Undefined when the string is not of that form.
 */
export function parseAuthenticatorResponse(received: string | Uint8Array): Uint8Array | undefined {
  const s = typeof received === "string" ? received : fromUtf8(received);
  if (s.length !== 42 || !s.startsWith("S=") || !/^[0-9A-Fa-f]{40}$/.test(s.slice(2))) return undefined;
  const out = new Uint8Array(20);
  for (let i = 0; i < 20; i++) out[i] = parseInt(s.slice(2 + 2 * i, 4 + 2 * i), 16);
  return out;
}

/**
 * RFC 2759 §8.8 CheckAuthenticatorResponse: true when `received` ("S=" + 40 hex digits) is the response
 * the authenticator computes from the same password. The digests are compared in constant time.
 */
export function checkAuthenticatorResponse(
  passwordHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: Uint8Array,
  received: string | Uint8Array,
): boolean {
  const got = parseAuthenticatorResponse(received);
  if (!got) return false;
  const want = authenticatorDigest(passwordHash, ntResponse, peerChallenge, authenticatorChallenge, userName);
  const ok = equalBytes(want, got);
  wipe(want, got);
  return ok;
}
