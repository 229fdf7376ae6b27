// `roam import FILE`: pick the importer by content (and extension), and read roam's own exported TOML.

import { parse } from "smol-toml";
import { decodeBase64, decodePemCertificates } from "../../core/x509/pem.ts";
import { importMobileconfig } from "./import-mobileconfig.ts";
import { importSswan } from "./import-sswan.ts";
import { importSwanctl, type SwanctlOptions } from "./import-swanctl.ts";
import { profileFromTable, sanitizeName, type Imported, type Result, type Secrets } from "./model.ts";
import { checkCertificates, checkPkcs12 } from "./pem.ts";

export type Format = "sswan" | "mobileconfig" | "swanctl" | "toml";

export function detectFormat(file: string, bytes: Uint8Array): Format {
  const lower = file.toLowerCase();
  if (lower.endsWith(".sswan")) return "sswan";
  if (lower.endsWith(".mobileconfig")) return "mobileconfig";
  if (lower.endsWith(".toml")) return "toml";
  if (lower.endsWith(".conf")) return "swanctl";
  if (bytes[0] === 0x30) return "mobileconfig"; // signed (CMS): refused by the importer with the reason
  const head = new TextDecoder().decode(bytes.subarray(0, 512)).trimStart();
  if (head.startsWith("{")) return "sswan";
  if (head.startsWith("<")) return "mobileconfig";
  if (/^\s*connections\s*\{/m.test(new TextDecoder().decode(bytes))) return "swanctl";
  return "toml";
}

/** Keys of an exported TOML file that are not profile fields. */
const EXPORT_KEYS = ["ca_pem", "pkcs12_data", "secrets"] as const;

/** A profile exported with `roam profiles export --format toml` (CA inline as ca_pem, [secrets] optional). */
export function importToml(text: string, file: string): Result<Imported[]> {
  let t: Record<string, unknown>;
  try {
    t = parse(text) as Record<string, unknown>;
  } catch (e) {
    return { ok: false, error: `${file}: not valid TOML: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}` };
  }
  if (typeof t.name !== "string") t.name = sanitizeName(file.replace(/^.*\//, "").replace(/\.toml$/i, ""));
  const assets: Imported["assets"] = { ca: [] };
  if (t.ca_pem !== undefined) {
    if (typeof t.ca_pem !== "string") return { ok: false, error: `${file}: field "ca_pem": expected PEM text` };
    const pem = decodePemCertificates(new TextEncoder().encode(t.ca_pem));
    const c = pem.ok ? checkCertificates(pem.value) : pem;
    if (!c.ok) return { ok: false, error: `${file}: field "ca_pem": ${c.error}` };
    assets.ca = c.value;
    // The inline CA replaces the store-relative file it was exported from.
    if (Array.isArray(t.ca)) t.ca = t.ca.filter((x) => x !== "ca.pem");
  }
  if (t.pkcs12_data !== undefined) {
    const der = typeof t.pkcs12_data === "string" ? decodeBase64(t.pkcs12_data) : null;
    if (!der || der[0] !== 0x30) return { ok: false, error: `${file}: field "pkcs12_data": expected a base64-encoded PKCS#12 file` };
    const check = checkPkcs12(der);
    if (check.error) return { ok: false, error: `${file}: field "pkcs12_data": ${check.error}` };
    assets.pkcs12 = der;
  }
  const secrets: Secrets = {};
  if (t.secrets !== undefined) {
    const s = t.secrets as Record<string, unknown>;
    for (const [k, prop] of [["psk", "psk"], ["eap_password", "eapPassword"], ["key_passphrase", "keyPassphrase"]] as const) {
      if (s[k] === undefined) continue;
      if (typeof s[k] !== "string") return { ok: false, error: `${file}: field "secrets.${k}": expected a string` };
      secrets[prop] = s[k] as string;
    }
  }
  const r = profileFromTable(t, EXPORT_KEYS);
  if (!r.ok) return { ok: false, error: `${file}: ${r.error}` };
  if (r.value.pkcs12 === "client.p12") delete r.value.pkcs12; // a store-relative file that did not travel
  return { ok: true, value: [{ profile: r.value, secrets, assets, warnings: r.warnings.map((w) => `${file}: ${w}`) }] };
}

/** Any supported file → profiles (a .mobileconfig or swanctl.conf may hold several). */
export function importFile(file: string, bytes: Uint8Array, opts: SwanctlOptions = {}): Result<Imported[]> {
  const format = detectFormat(file, bytes);
  const text = new TextDecoder().decode(bytes);
  switch (format) {
    case "sswan": {
      const r = importSswan(text, file);
      return r.ok ? { ok: true, value: [r.value] } : r;
    }
    case "mobileconfig":
      return importMobileconfig(text, file);
    case "swanctl":
      return importSwanctl(text, file, opts);
    case "toml":
      return importToml(text, file);
  }
}
