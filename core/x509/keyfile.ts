// A client's private key file (PEM) → DER PKCS#8 PrivateKeyInfo (RFC 5958 §2), the form the IKE signer
// takes and the --background child receives. Reads "PRIVATE KEY" (PKCS#8), "RSA PRIVATE KEY" (PKCS#1),
// "EC PRIVATE KEY" (SEC1) and "ENCRYPTED PRIVATE KEY" (RFC 5958 §3 / RFC 7468 §11, PBES2: see pbe.ts).
// OpenSSL's legacy encryption (RFC 1421 headers "Proc-Type: 4,ENCRYPTED" + "DEK-Info") is refused with
// the command that converts it.

import { encNull, encOctets, encOid, encSeq, encUint } from "./der.ts";
import { CURVES, parsePrivateKeyDer, parsePrivateKeyPem, type PrivateKey } from "./keys.ts";
import { OID } from "./oids.ts";
import { decryptPrivateKeyInfo, passwordOf, wipePassword, type PbeFailure } from "./pbe.ts";
import { decodePem } from "./pem.ts";

export type KeyFileResult = { ok: true; pkcs8: Uint8Array; key: PrivateKey } | { ok: false; kind: PbeFailure["kind"]; error: string };

const LABELS = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"];

/** Whether the key file needs a passphrase (its first key block is "ENCRYPTED PRIVATE KEY"). */
export function keyFileIsEncrypted(text: string): boolean {
  const m = /-----BEGIN ([A-Z0-9 ]*)-----/g;
  for (const hit of text.matchAll(m)) if (LABELS.includes(hit[1]!)) return hit[1] === "ENCRYPTED PRIVATE KEY";
  return false;
}

/**
 * The first key block of `text` as PKCS#8 DER, with the decoded key (the caller wipes both). `password` is
 * needed only for "ENCRYPTED PRIVATE KEY"; a wrong one is `kind: "password"`.
 */
export function readKeyFile(text: string, password?: string): KeyFileResult {
  if (/Proc-Type:\s*4,\s*ENCRYPTED/.test(text)) {
    return { ok: false, kind: "unsupported", error: "the key uses OpenSSL's legacy PEM encryption (Proc-Type: 4,ENCRYPTED), which roam does not read; convert it to PKCS#8 with: openssl pkcs8 -topk8 -in OLD.key -out NEW.key" };
  }
  const blocks = decodePem(text);
  if (!blocks.ok) return { ok: false, kind: "format", error: blocks.error };
  const block = blocks.value.find((b) => LABELS.includes(b.label));
  if (!block) return { ok: false, kind: "format", error: 'no "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY" or "EC PRIVATE KEY" PEM block found' };
  if (block.label === "ENCRYPTED PRIVATE KEY") {
    if (password === undefined) return { ok: false, kind: "password", error: "the private key is encrypted and no passphrase was given" };
    const pw = passwordOf(password);
    const plain = decryptPrivateKeyInfo(block.der, pw);
    wipePassword(pw);
    const wrong = "wrong passphrase for the encrypted private key (or the key is damaged)";
    if (!plain.ok) return { ok: false, kind: plain.error.kind, error: plain.error.kind === "password" ? wrong : `encrypted private key: ${plain.error.reason}` };
    // A wrong passphrase gives valid-looking padding about once in 256 tries: the garbage then fails to decode.
    const key = fromPkcs8(plain.value);
    return key.ok ? key : { ok: false, kind: "password", error: wrong };
  }
  if (block.label === "PRIVATE KEY") return fromPkcs8(block.der);
  // PKCS#1 / SEC1: decoded by parsePrivateKeyPem, then wrapped in a PrivateKeyInfo.
  const key = parsePrivateKeyPem(text);
  if (!key.ok) return { ok: false, kind: "format", error: key.error };
  // RFC 8017 App. A.1.1: rsaEncryption with NULL parameters; RFC 5915 §3 / RFC 5480 §2.1.1: id-ecPublicKey + namedCurve.
  const alg = key.value.kind === "ec" ? encSeq(encOid(OID.ecPublicKey), encOid(CURVES[key.value.curve].oid)) : encSeq(encOid(OID.rsaEncryption), encNull());
  return { ok: true, pkcs8: encSeq(encUint(0n), alg, encOctets(block.der)), key: key.value };
}

function fromPkcs8(der: Uint8Array): KeyFileResult {
  const key = parsePrivateKeyDer(der);
  if (!key.ok) {
    der.fill(0);
    return { ok: false, kind: "format", error: key.error };
  }
  return { ok: true, pkcs8: der, key: key.value };
}

