// `roam profiles export NAME`: a standalone file another machine can `roam import`. TOML carries the CA
// inline (ca_pem) and, only with --with-secrets, a [secrets] table; .sswan never carries secrets.

import { readFileSync } from "node:fs";
import { stringify } from "smol-toml";
import { decodePemCertificates } from "../../core/x509/pem.ts";
import { UserError } from "../exit.ts";
import { exportSswan } from "./import-sswan.ts";
import { profileToTable, type Secrets } from "./model.ts";
import { certificatesToPem, encodeBase64 } from "./pem.ts";
import { assetPath, type StoredProfile } from "./store.ts";

function storeCa(s: StoredProfile): { ders: Uint8Array[]; storeRelative: boolean } {
  const ders: Uint8Array[] = [];
  let storeRelative = false;
  for (const ca of s.profile.ca) {
    if (ca.startsWith("/")) continue; // an absolute path stays a path
    storeRelative = true;
    const path = assetPath(s.dir, s.profile.name, ca);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch {
      throw new UserError(`export: CA file "${path}" cannot be read`);
    }
    const r = decodePemCertificates(bytes);
    if (!r.ok) throw new UserError(`export: CA file "${path}": ${r.error}`);
    ders.push(...r.value);
  }
  return { ders, storeRelative };
}

/** Without secrets, a store-relative PKCS#12 bundle is left out (the caller warns: see tomlExportDrops). */
export function exportToml(s: StoredProfile, secrets: Secrets | undefined): string {
  const table: Record<string, unknown> = profileToTable(s.profile);
  const { ders } = storeCa(s);
  if (ders.length > 0) {
    table.ca = s.profile.ca.filter((c) => c.startsWith("/"));
    if ((table.ca as string[]).length === 0) delete table.ca;
    table.ca_pem = certificatesToPem(ders);
  }
  if (s.profile.pkcs12 && !s.profile.pkcs12.startsWith("/")) {
    // The bundle holds the private key: it travels only with the secrets.
    delete table.pkcs12;
    if (secrets) {
      try {
        table.pkcs12_data = encodeBase64(new Uint8Array(readFileSync(assetPath(s.dir, s.profile.name, s.profile.pkcs12))));
      } catch {
        throw new UserError(`export: PKCS#12 file "${s.profile.pkcs12}" cannot be read`);
      }
    }
  }
  if (secrets) {
    const t: Record<string, string> = {};
    if (secrets.psk !== undefined) t.psk = secrets.psk;
    if (secrets.eapPassword !== undefined) t.eap_password = secrets.eapPassword;
    if (secrets.keyPassphrase !== undefined) t.key_passphrase = secrets.keyPassphrase;
    if (Object.keys(t).length > 0) table.secrets = t;
  }
  return `# roam profile export: roam import FILE\n${stringify(table)}\n`;
}

export function exportSswanFile(s: StoredProfile, uuid: string): { text: string; dropped: string[] } {
  const { ders } = storeCa(s);
  let p12: Uint8Array | undefined;
  if (s.profile.pkcs12) {
    try {
      p12 = new Uint8Array(readFileSync(assetPath(s.dir, s.profile.name, s.profile.pkcs12)));
    } catch {
      throw new UserError(`export: PKCS#12 file "${s.profile.pkcs12}" cannot be read`);
    }
  }
  const r = exportSswan(s.profile, ders, p12, uuid);
  if (!r.ok) throw new UserError(`export: ${r.error}`);
  return r.value;
}

/** What a TOML export without --with-secrets leaves out. */
export function tomlExportDrops(s: StoredProfile, withSecrets: boolean): string[] {
  if (withSecrets || !s.profile.pkcs12 || s.profile.pkcs12.startsWith("/")) return [];
  return ["pkcs12 (the client key bundle travels only with --with-secrets)"];
}
