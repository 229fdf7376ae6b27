// AUTH payload data (RFC 7296 §2.15, §2.16) against an independent node:crypto computation.
import { expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { authMatches, eapAuth, KEY_PAD, pskAuth, signedOctets } from "../../../core/crypto/auth.ts";
import { prfById } from "../../../core/crypto/prf.ts";
import { concatBytes, fromHex, toHex, utf8 } from "../../../core/util/bytes.ts";
import { IdType, PrfId } from "../../../core/wire/constants.ts";
import { PRF_HASHES } from "./suites.ts";

const hmac = (hash: string, key: Uint8Array, data: Uint8Array) => new Uint8Array(createHmac(hash, key).update(data).digest());

// An IKE_SA_INIT pair stands in as opaque bytes: AUTH covers them verbatim.
const realMessage1 = fromHex("0123456789abcdef 0000000000000000 21202208 00000000 00000040");
const realMessage2 = fromHex("0123456789abcdef fedcba9876543210 21202220 00000000 00000050");
const Ni = fromHex("11".repeat(32));
const Nr = fromHex("22".repeat(48));
const SK_pi = fromHex("a1".repeat(32));
const SK_pr = fromHex("b2".repeat(32));
// RestOfInitIDPayload = IDType | RESERVED (3 octets) | identification data.
const restOfIdi = concatBytes(Uint8Array.of(IdType.FQDN, 0, 0, 0), utf8("roadwarrior.example.org"));
const restOfIdr = concatBytes(Uint8Array.of(IdType.IPV4_ADDR, 0, 0, 0), Uint8Array.of(192, 0, 2, 1));

test('"Key Pad for IKEv2" is the 17 ASCII octets, no NUL (RFC 7296 §2.15)', () => {
  expect(toHex(KEY_PAD)).toBe("4b65792050616420666f7220494b457632");
  expect(KEY_PAD.length).toBe(17);
});

test("initiator and responder signed octets and shared-key AUTH match node:crypto", () => {
  for (const [id, hash] of PRF_HASHES) {
    const prf = prfById(id)!;
    const psk = utf8("a pre-shared key, any length");
    // InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload)
    const octI = signedOctets(prf, realMessage1, Nr, SK_pi, restOfIdi);
    expect(toHex(octI)).toBe(toHex(concatBytes(realMessage1, Nr, hmac(hash, SK_pi, restOfIdi))));
    // ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, RestOfRespIDPayload)
    const octR = signedOctets(prf, realMessage2, Ni, SK_pr, restOfIdr);
    expect(toHex(octR)).toBe(toHex(concatBytes(realMessage2, Ni, hmac(hash, SK_pr, restOfIdr))));
    for (const oct of [octI, octR]) {
      const want = hmac(hash, hmac(hash, psk, utf8("Key Pad for IKEv2")), oct);
      const got = pskAuth(prf, psk, oct);
      expect(toHex(got)).toBe(toHex(want));
      expect(authMatches(want, got)).toBe(true);
    }
  }
});

test("EAP AUTH uses the MSK, or SK_pi / SK_pr when the method has none (RFC 7296 §2.16)", () => {
  const prf = prfById(PrfId.HMAC_SHA2_256)!;
  const msk = fromHex("5c".repeat(64));
  const oct = signedOctets(prf, realMessage1, Nr, SK_pi, restOfIdi);
  expect(toHex(eapAuth(prf, msk, SK_pi, oct))).toBe(toHex(hmac("sha256", hmac("sha256", msk, KEY_PAD), oct)));
  expect(toHex(eapAuth(prf, undefined, SK_pi, oct))).toBe(toHex(hmac("sha256", hmac("sha256", SK_pi, KEY_PAD), oct)));
});

test("AUTH depends on every input, and a changed or truncated AUTH does not match", () => {
  const prf = prfById(PrfId.HMAC_SHA2_256)!;
  const psk = utf8("secret");
  const good = pskAuth(prf, psk, signedOctets(prf, realMessage1, Nr, SK_pi, restOfIdi));
  const variants = [
    pskAuth(prf, psk, signedOctets(prf, realMessage1, Ni, SK_pi, restOfIdi)), // own nonce instead of the peer's
    pskAuth(prf, psk, signedOctets(prf, realMessage2, Nr, SK_pi, restOfIdi)), // the other message
    pskAuth(prf, psk, signedOctets(prf, realMessage1, Nr, SK_pr, restOfIdi)), // SK_pr instead of SK_pi
    pskAuth(prf, psk, signedOctets(prf, realMessage1, Nr, SK_pi, restOfIdr)), // another identity
    pskAuth(prf, utf8("Secret"), signedOctets(prf, realMessage1, Nr, SK_pi, restOfIdi)),
  ];
  for (const v of variants) expect(authMatches(good, v)).toBe(false);
  const flipped = good.slice();
  flipped[31]! ^= 1;
  expect(authMatches(good, flipped)).toBe(false);
  expect(authMatches(good, good.subarray(0, 31))).toBe(false);
});
