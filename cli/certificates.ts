// Client certificates for `roam connect`: a certificate with its PEM key, or a PKCS#12 file, checked and
// turned into cert credentials. Loaded on demand (see certificates() in cli/connect-options.ts): it brings
// X.509, key parsing, PKCS#12 and noble's curves, hashes and ciphers with it.

import type { Credentials, Identity } from "../core/ike/config.ts";
import { IdType } from "../core/wire/constants.ts";
import { parseCertificate } from "../core/x509/cert.ts";
import { parsePrivateKeyDer, publicKeyOf, samePublicKey, wipePrivateKey, type PrivateKey } from "../core/x509/keys.ts";
import { readKeyFile } from "../core/x509/keyfile.ts";
import { decodePemCertificates } from "../core/x509/pem.ts";
import { readPkcs12 } from "../core/x509/pkcs12.ts";
import { PASSPHRASE_SOURCES } from "./connect-options.ts";
import { UserError } from "./exit.ts";

export { keyFileIsEncrypted } from "../core/x509/keyfile.ts";
export { parseCertificate } from "../core/x509/cert.ts";

/**
 * A client certificate (PEM or DER; end entity first, then intermediates) and its PEM private key →
 * cert credentials (key as PKCS#8 DER, RFC 5958) and the default IDi: the certificate's subject DN.
 * `passphrase` opens an "ENCRYPTED PRIVATE KEY". Refuses (one line) a key that is encrypted without a
 * passphrase, does not decode, or is not the certificate's.
 */
export function clientCertificate(certBytes: Uint8Array, keyPem: string, certWhat: string, keyWhat: string, rsaPss: boolean, passphrase?: string): { credentials: Credentials; identity: Identity } {
  const certs = decodePemCertificates(certBytes);
  if (!certs.ok) throw new UserError(`connect: ${certWhat}: ${certs.error}`);
  if (certs.value.length === 0) throw new UserError(`connect: ${certWhat} holds no certificate (expected PEM "BEGIN CERTIFICATE" or DER)`);
  const key = readKeyFile(keyPem, passphrase);
  if (!key.ok && key.kind === "password" && passphrase === undefined) throw new UserError(`connect: ${keyWhat} is encrypted: ${PASSPHRASE_SOURCES}`);
  if (!key.ok) throw new UserError(`connect: ${keyWhat}: ${key.error}`);
  return certCredentials(certs.value, key.pkcs8, key.key, certWhat, keyWhat, rsaPss);
}

/**
 * A PKCS#12 file (RFC 7292) → cert credentials: its key, the certificate that matches it, and its other
 * certificates except roots (sent as intermediates). `password` undefined: no password was given, so
 * the empty password is tried, and a file that needs one is refused naming the ways to give it.
 */
export function pkcs12Certificate(bytes: Uint8Array, password: string | undefined, what: string, rsaPss: boolean): { credentials: Credentials; identity: Identity } {
  const r = readPkcs12(bytes, password ?? "");
  if (!r.ok) {
    const e = r.error;
    if (e.kind === "password" && password === undefined) throw new UserError(`connect: ${what} is protected by a password: ${PASSPHRASE_SOURCES}`);
    const convert = "convert it with: openssl pkcs12 -in OLD.p12 -legacy -nodes | openssl pkcs12 -export -out NEW.p12";
    if (e.kind === "unsupported") throw new UserError(`connect: ${what}: ${e.reason}; ${convert}`);
    throw new UserError(`connect: ${what}: ${e.reason}`);
  }
  const key = parsePrivateKeyDer(r.value.privateKey);
  if (!key.ok) throw new UserError(`connect: ${what}: the private key does not decode (${key.error})`);
  return certCredentials([r.value.certificate, ...r.value.intermediates], r.value.privateKey, key.value, what, `the key of ${what}`, rsaPss);
}

function certCredentials(certChain: Uint8Array[], pkcs8: Uint8Array, key: PrivateKey, certWhat: string, keyWhat: string, rsaPss: boolean): { credentials: Credentials; identity: Identity } {
  try {
    const ee = parseCertificate(certChain[0]!);
    if (!ee.ok) throw new UserError(`connect: ${certWhat}: the certificate does not decode (${ee.error.reason})`);
    if (!samePublicKey(publicKeyOf(key), ee.value.publicKey)) {
      throw new UserError(`connect: ${keyWhat} is not the private key of ${certWhat} (${ee.value.subjectText})`);
    }
    if (key.kind === "ed25519") throw new UserError(`connect: ${keyWhat}: Ed25519 client keys are not supported yet (use RSA or ECDSA)`);
    if (rsaPss && key.kind !== "rsa") throw new UserError(`connect: --rsa-pss needs an RSA key, ${keyWhat} is ${key.kind}`);
    return {
      credentials: { kind: "cert", certChain, privateKey: pkcs8, rsaPss },
      identity: { type: IdType.DER_ASN1_DN, data: ee.value.subject, text: ee.value.subjectText },
    };
  } catch (e) {
    pkcs8.fill(0);
    throw e;
  } finally {
    wipePrivateKey(key);
  }
}
