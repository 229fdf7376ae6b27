// Proposals in strongSwan's syntax ("aes256gcm16-prfsha256-x25519", "aes256-sha256-modp2048",
// "aes256gcm16" for ESP), the defaults roam offers, and the check of the gateway's chosen proposal
// (RFC 7296 §3.3.6: the responder picks exactly one transform of each type from one proposal).

import { EncrId, EsnId, IntegId, KeId, PrfId } from "../wire/constants.ts";

export interface Encr {
  id: number;
  /** Key length attribute in bits; 0 for ciphers with a fixed key (ChaCha20-Poly1305). */
  keyBits: number;
}

/** One proposal: the alternatives for each transform type. */
export interface ProposalSpec {
  encr: Encr[];
  prf: number[];
  integ: number[];
  ke: number[];
  esn: number[];
}

/** The gateway's choice: one of each. */
export interface ChosenSuite {
  encr: Encr;
  prf: number; // 0 for ESP
  integ: number; // IntegId.NONE with AEAD
  ke: number; // KeId.NONE when absent
  esn: number;
}

export type ProposalKind = "ike" | "esp";

const AEAD = new Set<number>([EncrId.AES_GCM_8, EncrId.AES_GCM_12, EncrId.AES_GCM_16, EncrId.CHACHA20_POLY1305]);
export function isAead(encrId: number): boolean {
  return AEAD.has(encrId);
}

const ENCR: Record<string, Encr> = {};
for (const bits of [128, 192, 256]) {
  ENCR[`aes${bits}`] = { id: EncrId.AES_CBC, keyBits: bits };
  ENCR[`aes${bits}gcm16`] = { id: EncrId.AES_GCM_16, keyBits: bits };
  ENCR[`aes${bits}gcm128`] = { id: EncrId.AES_GCM_16, keyBits: bits };
  ENCR[`aes${bits}gcm`] = { id: EncrId.AES_GCM_16, keyBits: bits };
  ENCR[`aes${bits}gcm12`] = { id: EncrId.AES_GCM_12, keyBits: bits };
  ENCR[`aes${bits}gcm96`] = { id: EncrId.AES_GCM_12, keyBits: bits };
  ENCR[`aes${bits}gcm8`] = { id: EncrId.AES_GCM_8, keyBits: bits };
  ENCR[`aes${bits}gcm64`] = { id: EncrId.AES_GCM_8, keyBits: bits };
}
ENCR["aes"] = { id: EncrId.AES_CBC, keyBits: 128 };
ENCR["chacha20poly1305"] = { id: EncrId.CHACHA20_POLY1305, keyBits: 0 };

const INTEG: Record<string, number> = {
  sha1: IntegId.HMAC_SHA1_96,
  sha: IntegId.HMAC_SHA1_96,
  sha256: IntegId.HMAC_SHA2_256_128,
  sha2_256: IntegId.HMAC_SHA2_256_128,
  sha384: IntegId.HMAC_SHA2_384_192,
  sha2_384: IntegId.HMAC_SHA2_384_192,
  sha512: IntegId.HMAC_SHA2_512_256,
  sha2_512: IntegId.HMAC_SHA2_512_256,
};

const PRF: Record<string, number> = {
  prfsha1: PrfId.HMAC_SHA1,
  prfsha256: PrfId.HMAC_SHA2_256,
  prfsha384: PrfId.HMAC_SHA2_384,
  prfsha512: PrfId.HMAC_SHA2_512,
};

/** strongSwan derives the PRF from the integrity algorithm when no prf keyword is given. */
const PRF_FOR_INTEG: Record<number, number> = {
  [IntegId.HMAC_SHA1_96]: PrfId.HMAC_SHA1,
  [IntegId.HMAC_SHA2_256_128]: PrfId.HMAC_SHA2_256,
  [IntegId.HMAC_SHA2_384_192]: PrfId.HMAC_SHA2_384,
  [IntegId.HMAC_SHA2_512_256]: PrfId.HMAC_SHA2_512,
};

const KE: Record<string, number> = {
  modp2048: KeId.MODP_2048,
  modp3072: KeId.MODP_3072,
  modp4096: KeId.MODP_4096,
  ecp256: KeId.ECP_256,
  ecp384: KeId.ECP_384,
  ecp521: KeId.ECP_521,
  x25519: KeId.CURVE25519,
  curve25519: KeId.CURVE25519,
};

const ESN: Record<string, number> = { esn: EsnId.ESN, noesn: EsnId.NO_ESN };

export type ProposalParse = { ok: true; value: ProposalSpec } | { ok: false; error: string };

/** Parses one proposal in strongSwan's syntax. */
export function parseProposal(text: string, kind: ProposalKind): ProposalParse {
  const spec: ProposalSpec = { encr: [], prf: [], integ: [], ke: [], esn: [] };
  const tokens = text.trim().toLowerCase().split("-");
  for (const t of tokens) {
    if (t === "") return { ok: false, error: `empty algorithm in proposal "${text}"` };
    if (ENCR[t]) spec.encr.push(ENCR[t]!);
    else if (INTEG[t] !== undefined) spec.integ.push(INTEG[t]!);
    else if (PRF[t] !== undefined && kind === "ike") spec.prf.push(PRF[t]!);
    else if (KE[t] !== undefined) spec.ke.push(KE[t]!);
    else if (ESN[t] !== undefined && kind === "esp") spec.esn.push(ESN[t]!);
    else return { ok: false, error: `unknown or unsupported algorithm "${t}" in ${kind} proposal "${text}"` };
  }
  if (spec.encr.length === 0) return { ok: false, error: `${kind} proposal "${text}" names no encryption algorithm` };
  const aead = spec.encr.filter((e) => isAead(e.id)).length;
  if (aead > 0 && aead < spec.encr.length) {
    return { ok: false, error: `${kind} proposal "${text}" mixes AEAD and non-AEAD ciphers: write them as two proposals` };
  }
  if (aead > 0 && spec.integ.length > 0) return { ok: false, error: `${kind} proposal "${text}" adds an integrity algorithm to an AEAD cipher` };
  if (aead === 0 && spec.integ.length === 0) return { ok: false, error: `${kind} proposal "${text}" needs an integrity algorithm (e.g. sha256)` };
  if (kind === "ike") {
    if (spec.prf.length === 0) {
      if (aead > 0) return { ok: false, error: `ike proposal "${text}" with an AEAD cipher needs a prf (e.g. prfsha256)` };
      for (const i of spec.integ) {
        const p = PRF_FOR_INTEG[i];
        if (p !== undefined && !spec.prf.includes(p)) spec.prf.push(p);
      }
    }
    if (spec.ke.length === 0) return { ok: false, error: `ike proposal "${text}" needs a key exchange group (e.g. x25519)` };
  } else if (spec.esn.length === 0) {
    spec.esn.push(EsnId.NO_ESN);
  }
  return { ok: true, value: spec };
}

/** Parses a comma-separated list of proposals; the first error wins. */
export function parseProposals(text: string, kind: ProposalKind): { ok: true; value: ProposalSpec[] } | { ok: false; error: string } {
  const out: ProposalSpec[] = [];
  for (const p of text.split(",")) {
    const r = parseProposal(p, kind);
    if (!r.ok) return r;
    out.push(r.value);
  }
  return { ok: true, value: out };
}

export const DEFAULT_IKE_PROPOSALS = [
  "aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-x25519-ecp256-ecp384-modp3072-modp2048",
  "aes256-aes128-sha256-sha384-sha512-x25519-ecp256-ecp384-modp3072-modp2048",
];
export const DEFAULT_ESP_PROPOSALS = ["aes256gcm16-aes128gcm16-chacha20poly1305", "aes256-aes128-sha256-sha384-sha512"];

export function defaultProposals(kind: ProposalKind): ProposalSpec[] {
  const r = parseProposals((kind === "ike" ? DEFAULT_IKE_PROPOSALS : DEFAULT_ESP_PROPOSALS).join(","), kind);
  if (!r.ok) throw new Error(`built-in ${kind} proposals do not parse: ${r.error}`);
  return r.value;
}

/** Is `chosen` (one transform of each type) allowed by one of our proposals? (§3.3.6) */
export function acceptsChoice(ours: ProposalSpec[], chosen: ChosenSuite, kind: ProposalKind): boolean {
  return ours.some(
    (p) =>
      p.encr.some((e) => e.id === chosen.encr.id && e.keyBits === chosen.encr.keyBits) &&
      (kind === "esp" || p.prf.includes(chosen.prf)) &&
      (p.integ.length === 0 ? chosen.integ === IntegId.NONE : p.integ.includes(chosen.integ)) &&
      (p.ke.length === 0 ? chosen.ke === KeId.NONE : p.ke.includes(chosen.ke)) &&
      (kind === "ike" || p.esn.includes(chosen.esn)),
  );
}

const ENCR_NAME = new Map<string, string>();
for (const [name, e] of Object.entries(ENCR)) {
  const key = `${e.id}/${e.keyBits}`;
  if (!ENCR_NAME.has(key) || name.endsWith("gcm16")) ENCR_NAME.set(key, name);
}
const INTEG_NAME = new Map<number, string>([
  [IntegId.HMAC_SHA1_96, "sha1"],
  [IntegId.HMAC_SHA2_256_128, "sha256"],
  [IntegId.HMAC_SHA2_384_192, "sha384"],
  [IntegId.HMAC_SHA2_512_256, "sha512"],
]);
const PRF_NAME = new Map<number, string>(Object.entries(PRF).map(([k, v]) => [v, k]));
const KE_NAME = new Map<number, string>(Object.entries(KE).filter(([k]) => k !== "curve25519").map(([k, v]) => [v, k]));

/** The chosen suite in strongSwan's syntax, for status output: "aes256gcm16-prfsha256-x25519". */
export function formatSuite(s: ChosenSuite, kind: ProposalKind): string {
  const parts = [ENCR_NAME.get(`${s.encr.id}/${s.encr.keyBits}`) ?? `encr${s.encr.id}`];
  if (s.integ !== IntegId.NONE) parts.push(INTEG_NAME.get(s.integ) ?? `integ${s.integ}`);
  if (kind === "ike") parts.push(PRF_NAME.get(s.prf) ?? `prf${s.prf}`);
  if (s.ke !== KeId.NONE) parts.push(KE_NAME.get(s.ke) ?? `ke${s.ke}`);
  if (kind === "esp" && s.esn === EsnId.ESN) parts.push("esn");
  return parts.join("-");
}
