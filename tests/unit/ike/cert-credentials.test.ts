// The CLI's client-certificate loading: PKCS#1 and SEC1 keys become the PKCS#8 that openssl writes for the
// same key (fixtures made by tests/unit/x509/fixtures/make.sh), the default IDi is the subject DN, and a
// key that is not the certificate's, or is encrypted, is refused in one line.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { clientCertificate } from "../../../cli/connect-options.ts";
import { UserError } from "../../../cli/exit.ts";
import { toHex } from "../../../core/util/bytes.ts";
import { IdType } from "../../../core/wire/constants.ts";
import { decodePem } from "../../../core/x509/pem.ts";
import { parsePrivateKeyDer } from "../../../core/x509/keys.ts";

const FIX = join(import.meta.dir, "../x509/fixtures");
const file = (n: string) => new Uint8Array(readFileSync(join(FIX, n)));
const text = (n: string) => readFileSync(join(FIX, n), "utf8");
const pkcs8Der = (n: string) => {
  const b = decodePem(text(n));
  if (!b.ok) throw new Error(b.error);
  return b.value[0]!.der;
};

test("a PKCS#1 RSA key is wrapped into the PKCS#8 openssl makes (RFC 5958, rsaEncryption + NULL)", () => {
  const c = clientCertificate(file("gw-rsa2048.crt"), text("gw-rsa2048.pkcs1.key"), "cert", "key", true);
  expect(c.credentials.kind).toBe("cert");
  if (c.credentials.kind !== "cert") return;
  expect(toHex(c.credentials.privateKey)).toBe(toHex(pkcs8Der("gw-rsa2048.key")));
  expect(c.credentials.rsaPss).toBe(true);
  expect(c.identity.type).toBe(IdType.DER_ASN1_DN);
  expect(c.identity.text).toBe("C=DE, O=Roam Test, OU=Gateways, CN=gw.roam.test");
});

test("a SEC1 EC key becomes PKCS#8 with id-ecPublicKey and the curve, same scalar", () => {
  const c = clientCertificate(file("gw-p256.crt"), text("gw-p256.sec1.key"), "cert", "key", false);
  if (c.credentials.kind !== "cert") throw new Error("not cert");
  const ours = parsePrivateKeyDer(c.credentials.privateKey);
  const theirs = parsePrivateKeyDer(pkcs8Der("gw-p256.key"));
  expect(ours.ok && theirs.ok && ours.value.kind === "ec" && theirs.value.kind === "ec" && toHex(ours.value.scalar) === toHex(theirs.value.scalar)).toBe(true);
  expect(c.identity.text).toBe("C=DE, O=Roam Test, CN=ecgw.roam.test");
});

test("refusals: another certificate's key, an encrypted key, RSA-PSS with an EC key", () => {
  expect(() => clientCertificate(file("gw-p256.crt"), text("gw-rsa2048.key"), "--cert c", "--key k", false)).toThrow("--key k is not the private key of --cert c");
  const enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n";
  expect(() => clientCertificate(file("gw-p256.crt"), enc, "c", "--key k", false)).toThrow("encrypted");
  expect(() => clientCertificate(file("gw-p256.crt"), text("gw-p256.key"), "c", "k", true)).toThrow(UserError);
});
