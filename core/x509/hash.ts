// The hash functions of certificate and AUTH signatures, by name and by OID.

import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { OID } from "./oids.ts";

export type HashName = "sha1" | "sha256" | "sha384" | "sha512";

export interface HashInfo {
  name: HashName;
  /** Output length in octets (hLen of RFC 8017). */
  length: number;
  oid: string;
  digest(message: Uint8Array): Uint8Array;
}

export const HASHES: Record<HashName, HashInfo> = {
  sha1: { name: "sha1", length: 20, oid: OID.sha1, digest: (m) => sha1(m) },
  sha256: { name: "sha256", length: 32, oid: OID.sha256, digest: (m) => sha256(m) },
  sha384: { name: "sha384", length: 48, oid: OID.sha384, digest: (m) => sha384(m) },
  sha512: { name: "sha512", length: 64, oid: OID.sha512, digest: (m) => sha512(m) },
};

export function hashByOid(oid: string): HashInfo | undefined {
  for (const h of Object.values(HASHES)) if (h.oid === oid) return h;
  return undefined;
}
