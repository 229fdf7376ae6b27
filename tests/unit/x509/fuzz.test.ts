// Mutation fuzz of the DER-based parsers: ~20k mutated certificates (and keys, names, AlgorithmIdentifiers)
// must each give a result or a typed failure; nothing may throw.
import { expect, test } from "bun:test";
import { parseCertificate } from "../../../core/x509/cert.ts";
import { validateChain } from "../../../core/x509/chain.ts";
import { parseName } from "../../../core/x509/dn.ts";
import { identityMatches } from "../../../core/x509/identity.ts";
import { parsePrivateKeyDer, parsePublicKey } from "../../../core/x509/keys.ts";
import { decodePem } from "../../../core/x509/pem.ts";
import { encodeSignatureScheme, signatureSchemeFromDer } from "../../../core/x509/sigalg.ts";
import { IdType } from "../../../core/wire/constants.ts";
import { NOW, cert, certDer, fixtureText, seededRandom } from "./helpers.ts";

const rnd = seededRandom(20261123);
function int(n: number): number {
  const b = rnd.bytes(4);
  return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % n;
}

/** One to three mutations: flip a bit, set a byte to a boundary value, insert, delete, truncate, splice. */
function mutate(src: Uint8Array): Uint8Array {
  let b = src.slice();
  for (let m = 1 + int(3); m > 0; m--) {
    const at = int(Math.max(1, b.length));
    switch (int(6)) {
      case 0:
        b[at]! ^= 1 << int(8);
        break;
      case 1:
        b[at] = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff][int(8)]!;
        break;
      case 2: {
        const n = new Uint8Array(b.length + 1);
        n.set(b.subarray(0, at));
        n[at] = int(256);
        n.set(b.subarray(at), at + 1);
        b = n;
        break;
      }
      case 3:
        b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 1 + int(8))]);
        break;
      case 4:
        b = b.slice(0, at);
        break;
      default: {
        // copy a chunk from elsewhere (shuffles whole TLVs around)
        const from = int(b.length);
        const len = 1 + int(32);
        b.set(b.slice(from, from + len).subarray(0, Math.max(0, b.length - at)), at);
      }
    }
  }
  return b;
}

const seeds = ["gw-rsa2048", "gw-p256", "gw-pss", "inter-p384", "root-rsa"].map(certDer);
const root = cert("root-rsa");
const inter = cert("inter-p384");

test("20k mutated certificates parse or fail with a typed failure; parsed ones survive validation", () => {
  let parsed = 0;
  let failed = 0;
  for (let i = 0; i < 20_000; i++) {
    const der = mutate(seeds[i % seeds.length]!);
    let r: ReturnType<typeof parseCertificate>;
    try {
      r = parseCertificate(der);
    } catch (e) {
      throw new Error(`parseCertificate threw on case ${i}: ${e}\n${Buffer.from(der).toString("hex")}`);
    }
    if (r.ok) {
      parsed++;
      expect(typeof r.value.subjectText).toBe("string");
      if (parsed % 3 === 0) {
        // Signature checks are the slow part: a sample. Whatever still validates must be the original
        // certificate (a mutation that rewrote a byte with its own value).
        const v = validateChain(r.value, [inter], [root], NOW);
        if (v.ok) expect(Buffer.from(der).equals(Buffer.from(seeds[i % seeds.length]!))).toBe(true);
      }
      identityMatches(r.value, IdType.FQDN, new TextEncoder().encode("gw.roam.test"));
      identityMatches(r.value, IdType.DER_ASN1_DN, r.value.subject);
    } else {
      failed++;
      expect(r.error.offset).toBeGreaterThanOrEqual(0);
      expect(r.error.reason.length).toBeGreaterThan(0);
    }
  }
  // Most mutations break the structure; some (inside strings, keys, signatures) still parse.
  expect(failed).toBeGreaterThan(5_000);
  expect(parsed).toBeGreaterThan(500);
  if (process.env.X509_FUZZ_STATS) console.log({ parsed, failed });
});

test("mutated keys, names, AlgorithmIdentifiers and PEM never throw", () => {
  const pk8 = decodePem(fixtureText("gw-p256.key"));
  const rsa8 = decodePem(fixtureText("gw-rsa2048.key"));
  if (!pk8.ok || !rsa8.ok) throw new Error("fixtures");
  const c = cert("gw-rsa2048");
  const inputs: [Uint8Array, (b: Uint8Array) => { ok: boolean }][] = [
    [pk8.value[0]!.der, parsePrivateKeyDer],
    [rsa8.value[0]!.der, parsePrivateKeyDer],
    [c.spki, parsePublicKey],
    [cert("gw-p256").spki, parsePublicKey],
    [c.subject, parseName],
    [encodeSignatureScheme(cert("gw-pss").signatureScheme!), signatureSchemeFromDer],
  ];
  for (let i = 0; i < 6_000; i++) {
    const [src, f] = inputs[i % inputs.length]!;
    const m = mutate(src);
    const r = f(m);
    expect(typeof r.ok).toBe("boolean");
  }
  const text = fixtureText("root-rsa.crt");
  for (let i = 0; i < 1_000; i++) {
    const m = mutate(new TextEncoder().encode(text));
    expect(typeof decodePem(new TextDecoder().decode(m)).ok).toBe("boolean");
  }
});
