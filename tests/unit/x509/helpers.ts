// Shared by the x509 tests: fixtures made by fixtures/make.sh, and a deterministic Random.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCertificate, type Certificate } from "../../../core/x509/cert.ts";
import { decodePemCertificates } from "../../../core/x509/pem.ts";
import type { Random } from "../../../core/types.ts";

export const FIXTURES = join(import.meta.dir, "fixtures");

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), "utf8");
}

export function certDer(name: string): Uint8Array {
  const d = decodePemCertificates(new Uint8Array(readFileSync(join(FIXTURES, `${name}.crt`))));
  if (!d.ok || d.value.length !== 1) throw new Error(`fixture ${name}.crt does not hold one certificate`);
  return d.value[0]!;
}

export function cert(name: string): Certificate {
  const c = parseCertificate(certDer(name));
  if (!c.ok) throw new Error(`fixture ${name}.crt does not parse: ${c.error.reason} at ${c.error.offset}`);
  return c.value;
}

/** xorshift32 stream: reproducible, NOT secure; only for tests. */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0 || 1;
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        s ^= s << 13;
        s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5;
        s >>>= 0;
        out[i] = s & 0xff;
      }
      return out;
    },
  };
}

/** A fixed instant inside the validity of every fixture except gw-expired. */
export const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
