// Certification path validation, a subset of RFC 5280 §6.1: from the end-entity certificate, through the
// intermediates the peer sent, to a trust anchor the user gave. For each certificate: the issuer's
// signature, the validity period at the injected `now`, no unknown critical extension; for each issuer:
// basicConstraints cA, pathLenConstraint, keyUsage keyCertSign.
//
// Not done: revocation (no CRL or OCSP is fetched or checked), name constraints and certificate policies
// (certificates carrying them critically are refused as "unknown critical extension"), extended key
// usage (RFC 4945 §5.1.3.12 says IKE must not require it).

import { equalBytes } from "../util/bytes.ts";
import { type Certificate } from "./cert.ts";
import { sameName } from "./dn.ts";
import { describeScheme } from "./sigalg.ts";
import { verifySignature } from "./verify.ts";

export type ChainFailureCode =
  | "expired"
  | "not-yet-valid"
  | "untrusted"
  | "bad-signature"
  | "unsupported-algorithm"
  | "weak-signature"
  | "not-a-ca"
  | "path-length"
  | "key-usage"
  | "critical-extension"
  | "too-long";

export type ChainResult =
  | { ok: true; /** end entity first, trust anchor last */ path: Certificate[] }
  | { ok: false; code: ChainFailureCode; reason: string };

export interface ChainOptions {
  /** Accept SHA-1 signatures on certificates below the anchor (off: SHA-1 collisions are practical). */
  allowSha1?: boolean;
  /** Most certificates in a path, anchor included. */
  maxLength?: number;
}

type Failure = { ok: false; code: ChainFailureCode; reason: string };
const failure = (code: ChainFailureCode, reason: string): Failure => ({ ok: false, code, reason });

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function label(c: Certificate): string {
  return `"${c.subjectText}"`;
}

/** §6.1.3 (a)(2) validity, and §4.2 critical extensions we do not handle. */
function checkSelf(c: Certificate, now: number): Failure | null {
  if (now < c.notBefore) return failure("not-yet-valid", `certificate ${label(c)} is not valid before ${day(c.notBefore)}`);
  if (now > c.notAfter) return failure("expired", `certificate ${label(c)} expired on ${day(c.notAfter)}`);
  if (c.extensions.unknownCritical.length > 0) {
    return failure("critical-extension", `certificate ${label(c)} has an unknown critical extension ${c.extensions.unknownCritical.join(", ")}`);
  }
  return null;
}

/** §6.1.4 (k), (l), (m), (n): may `issuer` issue certificates, with `below` CA certificates under it? */
function checkIssuer(issuer: Certificate, below: number, isAnchor: boolean): Failure | null {
  const bc = issuer.extensions.basicConstraints;
  // (k): an intermediate must be v3 with cA TRUE. An anchor without basicConstraints (v1 roots) is
  // accepted because the user chose it (§6.1 does not apply (k) to trust anchors); one saying cA FALSE is not.
  if (!bc ? !isAnchor : !bc.cA) return failure("not-a-ca", `issuer ${label(issuer)} is not a CA (basicConstraints cA is not set)`);
  // (l), (m): pathLenConstraint counts the non-self-issued intermediate CAs that may follow it.
  if (bc?.pathLen !== undefined && below > bc.pathLen) {
    return failure("path-length", `issuer ${label(issuer)} allows ${bc.pathLen} intermediate CA(s) below it, the path has ${below}`);
  }
  // (n): if keyUsage is present, keyCertSign must be set.
  const ku = issuer.extensions.keyUsage;
  if (ku && !ku.includes("keyCertSign")) return failure("key-usage", `issuer ${label(issuer)} may not sign certificates (keyUsage lacks keyCertSign)`);
  return null;
}

/** Is `child` signed by `issuer`? Names first (§6.1.3 (a)(4)), key identifiers as a hint, then the signature. */
function namesIssuer(issuer: Certificate, child: Certificate): boolean {
  if (!sameName(issuer.subjectRdns, child.issuerRdns)) return false;
  const aki = child.extensions.authorityKeyId;
  const ski = issuer.extensions.subjectKeyId;
  return !(aki && ski && !equalBytes(aki, ski));
}

function checkSignature(child: Certificate, issuer: Certificate, opts: ChainOptions): Failure | null {
  const s = child.signatureScheme;
  if (!s) return failure("unsupported-algorithm", `certificate ${label(child)} is signed with an unsupported algorithm (${child.signatureAlgorithm})`);
  if (!opts.allowSha1 && s.kind !== "ed25519" && s.hash === "sha1") {
    return failure("weak-signature", `certificate ${label(child)} is signed with SHA-1 (${describeScheme(s)}), which is refused`);
  }
  const v = verifySignature(issuer.publicKey, s, child.tbs, child.signature);
  if (!v.ok) return failure("bad-signature", `signature of ${label(child)} by ${label(issuer)} does not verify: ${v.reason}`);
  return null;
}

function isSelfIssued(c: Certificate): boolean {
  return sameName(c.subjectRdns, c.issuerRdns);
}

/**
 * Validates `endEntity` up to one of `anchors` through any of `intermediates` (in any order), at `now`
 * (epoch ms). The anchors' own signatures are not checked: the user's choice is what makes them trusted.
 */
export function validateChain(
  endEntity: Certificate,
  intermediates: Certificate[],
  anchors: Certificate[],
  now: number,
  opts: ChainOptions = {},
): ChainResult {
  const maxLength = opts.maxLength ?? 8;
  let firstFailure: Failure | null = null;
  const note = (f: Failure): null => {
    firstFailure ??= f;
    return null;
  };

  // Depth-first: each step finds who issued `path[path.length - 1]`; `cas` counts non-self-issued
  // intermediate CAs already in the path (for pathLenConstraint).
  const extend = (path: Certificate[], cas: number): Certificate[] | null => {
    const child = path[path.length - 1]!;
    if (anchors.some((a) => equalBytes(a.der, child.der))) return path; // the certificate itself is trusted
    for (const anchor of anchors) {
      if (!namesIssuer(anchor, child)) continue;
      const f = checkSignature(child, anchor, opts) ?? checkIssuer(anchor, cas, true) ?? checkSelf(anchor, now);
      if (f) {
        note(f);
        continue;
      }
      return [...path, anchor];
    }
    if (path.length + 1 >= maxLength) {
      note(failure("too-long", `no trusted issuer within ${maxLength} certificates of ${label(path[0]!)}`));
      return null;
    }
    for (const inter of intermediates) {
      if (path.includes(inter) || !namesIssuer(inter, child)) continue;
      const f = checkSignature(child, inter, opts) ?? checkIssuer(inter, cas, false) ?? checkSelf(inter, now);
      if (f) {
        note(f);
        continue;
      }
      const found = extend([...path, inter], cas + (isSelfIssued(inter) ? 0 : 1));
      if (found) return found;
    }
    return null;
  };

  const own = checkSelf(endEntity, now);
  if (own) return own;
  const path = extend([endEntity], 0);
  if (path) return { ok: true, path };
  if (firstFailure) return firstFailure;
  // No candidate issuer at all: name the issuer that is missing (the top of the longest chain we could build).
  let top = endEntity;
  for (let i = 0; i < maxLength; i++) {
    const up = intermediates.find((c) => c !== top && namesIssuer(c, top));
    if (!up) break;
    top = up;
  }
  return failure("untrusted", `issuer not trusted: ${top.issuerText}`);
}
