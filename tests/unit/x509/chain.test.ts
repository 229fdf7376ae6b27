// Path validation (RFC 5280 §6.1 subset) over the openssl-made fixtures.
import { expect, test } from "bun:test";
import { validateChain } from "../../../core/x509/chain.ts";
import { parseCertificate } from "../../../core/x509/cert.ts";
import { NOW, cert, certDer } from "./helpers.ts";

const root = cert("root-rsa");
const inter = cert("inter-p384");
const other = cert("other-ca");

function path(r: ReturnType<typeof validateChain>): string[] {
  if (!r.ok) throw new Error(r.reason);
  return r.path.map((c) => c.subjectText.replace(/.*CN=/, ""));
}

test("valid paths: directly under the root, through an intermediate, PSS-signed, anchors in any order", () => {
  expect(path(validateChain(cert("gw-rsa2048"), [], [root], NOW))).toEqual(["gw.roam.test", "Roam Test Root CA"]);
  expect(path(validateChain(cert("gw-rsa3072"), [], [other, root], NOW))).toEqual(["big.roam.test", "Roam Test Root CA"]);
  expect(path(validateChain(cert("gw-pss"), [], [root], NOW))).toEqual(["pss.roam.test", "Roam Test Root CA"]);
  expect(path(validateChain(cert("gw-p256"), [inter], [root], NOW))).toEqual(["ecgw.roam.test", "Roam Test Intermediate CA", "Roam Test Root CA"]);
  // unrelated certificates among the intermediates are ignored
  expect(path(validateChain(cert("gw-p256"), [cert("gw-rsa2048"), other, inter], [root], NOW))).toHaveLength(3);
  // the intermediate given as an anchor is enough
  expect(path(validateChain(cert("gw-p256"), [], [inter], NOW))).toHaveLength(2);
  expect(path(validateChain(cert("gw-other"), [], [other], NOW))).toEqual(["gw.roam.test", "Other CA"]);
  // a certificate that is itself an anchor
  expect(path(validateChain(cert("gw-rsa2048"), [], [cert("gw-rsa2048")], NOW))).toEqual(["gw.roam.test"]);
});

test("failures name the problem", () => {
  const cases: [ReturnType<typeof validateChain>, string, RegExp][] = [
    [validateChain(cert("gw-expired"), [], [root], NOW), "expired", /certificate "O=Roam Test, CN=old.roam.test" expired on 2021-01-01/],
    [validateChain(cert("gw-rsa2048"), [], [root], Date.UTC(2025, 0, 1)), "not-yet-valid", /not valid before 2025-06-01/],
    [validateChain(cert("gw-rsa2048"), [], [root], Date.UTC(2036, 0, 1)), "expired", /expired on 2035-06-01/],
    [validateChain(cert("gw-other"), [], [root], NOW), "untrusted", /^issuer not trusted: O=Elsewhere, CN=Other CA$/],
    [validateChain(cert("gw-p256"), [], [root], NOW), "untrusted", /^issuer not trusted: C=DE, O=Roam Test, CN=Roam Test Intermediate CA$/],
    [validateChain(cert("gw-p256"), [inter], [other], NOW), "untrusted", /issuer not trusted: C=DE, O=Roam Test, CN=Roam Test Root CA/],
    [validateChain(cert("gw-deep"), [cert("sub-inter"), inter], [root], NOW), "path-length", /allows 0 intermediate CA\(s\) below it, the path has 1/],
    [validateChain(cert("gw-by-leaf"), [cert("gw-rsa2048")], [root], NOW), "not-a-ca", /"C=DE, O=Roam Test, OU=Gateways, CN=gw.roam.test" is not a CA/],
    [validateChain(cert("gw-noku"), [cert("inter-noku")], [root], NOW), "key-usage", /keyUsage lacks keyCertSign/],
    // an intermediate past its notAfter (the parsed field changed; its signature is not what fails first)
    [validateChain(cert("gw-p256"), [{ ...inter, notAfter: Date.UTC(2026, 0, 1) }], [root], NOW), "expired", /^certificate "C=DE, O=Roam Test, CN=Roam Test Intermediate CA" expired on 2026-01-01$/],
    [validateChain(cert("gw-rsa2048"), [], [{ ...root, notAfter: Date.UTC(2026, 0, 1) }], NOW), "expired", /Root CA" expired on 2026-01-01/],
  ];
  for (const [r, code, re] of cases) {
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code as typeof r.code);
      expect(r.reason).toMatch(re);
    }
  }
});

test("a certificate whose signature was altered does not chain", () => {
  const der = certDer("gw-rsa2048").slice();
  der[der.length - 10]! ^= 0x40; // inside signatureValue
  const c = parseCertificate(der);
  if (!c.ok) throw new Error(c.error.reason);
  const r = validateChain(c.value, [], [root], NOW);
  expect(r).toMatchObject({ ok: false, code: "bad-signature" });
  if (!r.ok) expect(r.reason).toMatch(/signature of "C=DE, O=Roam Test, OU=Gateways, CN=gw.roam.test" by "C=DE, O=Roam Test, CN=Roam Test Root CA" does not verify/);
  // A changed subject (tbsCertificate altered, signature kept) does not verify either.
  const der2 = certDer("gw-rsa2048").slice();
  const at = Buffer.from(der2).indexOf("gw.roam.test");
  der2[at] = "x".charCodeAt(0);
  const c2 = parseCertificate(der2);
  expect(c2.ok && validateChain(c2.value, [], [root], NOW)).toMatchObject({ ok: false, code: "bad-signature" });
});

test("a SHA-1 signed certificate is refused unless allowed", () => {
  // gw-rsa2048's own tbsCertificate re-signed by nobody: pretend the scheme is SHA-1 to exercise the policy.
  const gw = cert("gw-rsa2048");
  const sha1 = { ...gw, signatureScheme: { kind: "rsa-pkcs1", hash: "sha1" } as const };
  expect(validateChain(sha1, [], [root], NOW)).toMatchObject({ ok: false, code: "weak-signature" });
  expect(validateChain(sha1, [], [root], NOW, { allowSha1: true })).toMatchObject({ ok: false, code: "bad-signature" });
});

test("unknown critical extensions are refused; path length is bounded", () => {
  const gw = cert("gw-rsa2048");
  const crit = { ...gw, extensions: { ...gw.extensions, unknownCritical: ["2.5.29.30"] } };
  expect(validateChain(crit, [], [root], NOW)).toMatchObject({ ok: false, code: "critical-extension" });
  expect(validateChain(cert("gw-p256"), [inter], [root], NOW, { maxLength: 2 })).toMatchObject({ ok: false, code: "too-long" });
});
