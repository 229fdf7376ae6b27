// Certificates that arrive inside imported files: base64 DER (.sswan remote.cert, plist <data>) is checked
// with the X.509 parser before it is accepted, and written out as PEM (RFC 7468 §2, 64-column lines).

import { decodeBase64, decodePemCertificates } from "../../core/x509/pem.ts";

// X.509 and PKCS#12 parsing (and noble behind them) load on first use: the profile store needs this file
// for certificatesToPem, and `roam connect NAME` with a PSK or EAP profile should not pay for them.
const x509 = (): typeof import("../../core/x509/cert.ts") => require("../../core/x509/cert.ts");
const pkcs12 = (): typeof import("../../core/x509/pkcs12.ts") => require("../../core/x509/pkcs12.ts");
import type { Result } from "./model.ts";

export function encodeBase64(der: Uint8Array): string {
  return Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
}

export function certificatesToPem(ders: Uint8Array[]): string {
  return ders.map((d) => `-----BEGIN CERTIFICATE-----\n${encodeBase64(d).replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`).join("");
}

/** A certificate given as base64 DER or as PEM text; the error says what was expected. */
export function decodeCertificateText(text: string): Result<Uint8Array[]> {
  let ders: Uint8Array[];
  if (text.includes("-----BEGIN")) {
    const r = decodePemCertificates(new TextEncoder().encode(text));
    if (!r.ok) return r;
    ders = r.value;
  } else {
    const der = decodeBase64(text);
    if (!der || der.length === 0) return { ok: false, error: "is not base64 (expected a base64-encoded DER certificate)" };
    ders = [der];
  }
  return checkCertificates(ders);
}

export function checkCertificates(ders: Uint8Array[]): Result<Uint8Array[]> {
  if (ders.length === 0) return { ok: false, error: "holds no certificate" };
  for (const der of ders) {
    const c = x509().parseCertificate(der);
    if (!c.ok) return { ok: false, error: `does not decode as an X.509 certificate (${c.error.reason} at offset ${c.error.offset})` };
  }
  return { ok: true, value: ders };
}

/** The subject CN of a DER certificate, or null. */
export function subjectCommonName(der: Uint8Array): string | null {
  const c = x509().parseCertificate(der);
  if (!c.ok) return null;
  const m = /(?:^|,\s*)CN=([^,]+)/.exec(c.value.subjectText);
  return m ? m[1]!.trim() : null;
}

/**
 * A PKCS#12 file that arrived inside an imported file. Without its password only the outer structure (PFX,
 * MacData) can be checked; with it, the whole file is read. `error`: not PKCS#12 (the import is refused);
 * `warning`: readable, but roam cannot use it as it is (an unsupported mode, or the password does not open it).
 */
export function checkPkcs12(der: Uint8Array, password?: string): { error?: string; warning?: string } {
  const r = pkcs12().readPkcs12(der, password ?? "");
  if (r.ok) return {};
  if (r.error.kind === "format") return { error: `is not a PKCS#12 file (${r.error.reason})` };
  if (r.error.kind === "password") return password === undefined ? {} : { warning: "the password given with it does not open it (wrong password or damaged file)" };
  return { warning: `cannot be used by roam: ${r.error.reason}` };
}
