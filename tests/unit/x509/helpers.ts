// Shared by the x509 tests: fixtures made by fixtures/make.sh, and a deterministic Random.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCertificate, type Certificate } from "../../../core/x509/cert.ts";
import { decodePemCertificates } from "../../../core/x509/pem.ts";

export const FIXTURES = join(import.meta.dir, "fixtures");

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), "utf8");
}

export function certDer(name: string): Uint8Array {
  const d = decodePemCertificates(new Uint8Array(readFileSync(join(FIXTURES, `${name}.crt`))));
  if (!d.ok || d.value.length !== 1) throw new Error(`fixture ${name}.crt does not hold one certificate`);
  return d.value[0]!;
}

export { seededRandom } from "../../lib/seeded.ts";

export function cert(name: string): Certificate {
  const c = parseCertificate(certDer(name));
  if (!c.ok) throw new Error(`fixture ${name}.crt does not parse: ${c.error.reason} at ${c.error.offset}`);
  return c.value;
}


/** A fixed instant inside the validity of every fixture except gw-expired. */
export const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
