// Keys from MS-CHAPv2 (RFC 3079 §3) and the EAP-MSCHAPv2 MSK that IKEv2 signs its AUTH with
// (RFC 7296 §2.16).

import { sha1 } from "@noble/hashes/legacy.js";
import { concatBytes, utf8, wipe } from "../util/bytes.ts";

// RFC 3079 §3.4: Magic1 = "This is the MPPE Master Key" (27 octets)
const MAGIC1 = utf8("This is the MPPE Master Key");
// RFC 3079 §3.4: Magic2, the key the client sends with and the server receives with (84 octets)
const MAGIC2 = utf8("On the client side, this is the send key; on the server side, it is the receive key.");
// RFC 3079 §3.4: Magic3, the key the client receives with and the server sends with (84 octets)
const MAGIC3 = utf8("On the client side, this is the receive key; on the server side, it is the send key.");
// RFC 3079 §3.4: SHSpad1 = 40 x 0x00, SHSpad2 = 40 x 0xF2
const SHS_PAD1 = new Uint8Array(40);
const SHS_PAD2 = new Uint8Array(40).fill(0xf2);

/** RFC 3079 §3.4 GetMasterKey: the first 16 octets of SHA1(PasswordHashHash | NTResponse | Magic1). */
export function getMasterKey(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  const digest = sha1(concatBytes(passwordHashHash, ntResponse, MAGIC1));
  const masterKey = digest.slice(0, 16);
  wipe(digest);
  return masterKey;
}

/**
 * RFC 3079 §3.4 GetAsymmetricStartKey: the first `sessionKeyLength` octets (8 for 40/56-bit, 16 for
 * 128-bit keys) of SHA1(MasterKey | SHSpad1 | s | SHSpad2), where s is Magic2 for the client's send key
 * and the server's receive key, Magic3 for the other two.
 */
export function getAsymmetricStartKey(masterKey: Uint8Array, sessionKeyLength: 8 | 16, isSend: boolean, isServer: boolean): Uint8Array {
  const s = isSend === isServer ? MAGIC3 : MAGIC2;
  const digest = sha1(concatBytes(masterKey, SHS_PAD1, s, SHS_PAD2));
  const key = digest.slice(0, sessionKeyLength);
  wipe(digest);
  return key;
}

/** Length of the EAP-MSCHAPv2 MSK: two 16-octet keys and 32 octets of zeros. */
export const MSCHAPV2_MSK_LENGTH = 64;

/**
 * The EAP-MSCHAPv2 Master Session Key (RFC 3748 §7.10), 64 octets, the same on both sides:
 *
 *   MSK = MasterReceiveKey | MasterSendKey | 32 zero octets
 *
 * where MasterReceiveKey and MasterSendKey are the authenticator's 16-octet keys of RFC 3079 §3.3
 * (MasterReceiveKey = GetAsymmetricStartKey(MasterKey, 16, IsSend=false, IsServer=true), i.e. Magic2 —
 * which is also the peer's own send key; MasterSendKey uses Magic3). Sources of the rule:
 * - Microsoft [MS-CHAP] "Key Management" (learn.microsoft.com/en-us/openspecs/windows_protocols/ms-chap/
 *   5a860bf5-2aeb-485b-82ee-fac1e8e6b76f): "MSK = MasterReceiveKey + MasterSendKey + 32 bytes zeroes
 *   (padding)", MasterReceiveKey/MasterSendKey as in RFC 3079 §3.3 on the authenticator.
 * - strongSwan src/libcharon/plugins/eap_mschapv2/eap_mschapv2.c, GenerateMSK() (used by its peer and
 *   its server alike): SHA1 over Magic2 first, then Magic3, each cut to 16 octets, then two 16-octet zero
 *   pads; its commit 5775283f8b (2009) moved the pads to the end "compatible with Win7/2008 RC".
 * (Android's EAP-MSCHAPv2, in AOSP's IPsec module tests, expects only the first 32 octets; same prf output
 * with HMAC prfs, different with the AES-based ones.)
 * The trailing zeros matter to IKEv2: with an HMAC prf they do not change prf(MSK, ...), but with
 * PRF_AES128_XCBC or PRF_AES128_CMAC (RFC 4434, RFC 4615) the whole 64-octet key is compressed first.
 */
export function mschapv2Msk(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  const masterKey = getMasterKey(passwordHashHash, ntResponse);
  const masterReceiveKey = getAsymmetricStartKey(masterKey, 16, false, true);
  const masterSendKey = getAsymmetricStartKey(masterKey, 16, true, true);
  const msk = new Uint8Array(MSCHAPV2_MSK_LENGTH);
  msk.set(masterReceiveKey, 0);
  msk.set(masterSendKey, 16);
  wipe(masterKey, masterReceiveKey, masterSendKey);
  return msk;
}
