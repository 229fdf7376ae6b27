// IKE identities from text, with strongSwan's rules (so that the same strings work in both):
//   "192.0.2.1", "2001:db8::1"       → ID_IPV4_ADDR / ID_IPV6_ADDR
//   "user@example.com"                → ID_RFC822_ADDR
//   "@gw.example.com"                 → ID_FQDN (the "@" forces FQDN and is dropped)
//   "@#0a1b2c"                        → ID_KEY_ID (hex)
//   "CN=gw, O=Example"                → ID_DER_ASN1_DN
//   "gw.example.com" (anything else)  → ID_FQDN

import { utf8, fromHex } from "../util/bytes.ts";
import { IdType } from "../wire/constants.ts";
import { parseAddress } from "../wire/addr.ts";
import { encodeDistinguishedName } from "../x509/dn.ts";
import type { Identity } from "./config.ts";

export type IdentityParse = { ok: true; value: Identity } | { ok: false; error: string };

export function parseIdentity(text: string): IdentityParse {
  const t = text.trim();
  if (t === "") return { ok: false, error: "an identity cannot be empty" };
  const addr = parseAddress(t);
  if (addr) return { ok: true, value: { type: addr.length === 4 ? IdType.IPV4_ADDR : IdType.IPV6_ADDR, data: addr, text: t } };
  if (t.startsWith("@#")) {
    const hex = t.slice(2);
    if (hex === "" || !/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2 !== 0) return { ok: false, error: `"${t}" is not a key ID: expected @# followed by an even number of hex digits` };
    return { ok: true, value: { type: IdType.KEY_ID, data: fromHex(hex), text: t } };
  }
  if (t.startsWith("@")) {
    const fqdn = t.slice(1);
    if (fqdn === "") return { ok: false, error: `"${t}" names no host after the @` };
    return { ok: true, value: { type: IdType.FQDN, data: utf8(fqdn), text: fqdn } };
  }
  if (/^[A-Za-z][A-Za-z0-9.]*\s*=/.test(t)) {
    const dn = encodeDistinguishedName(t);
    if (!dn.ok) return { ok: false, error: `"${t}" is not a distinguished name: ${dn.error}` };
    return { ok: true, value: { type: IdType.DER_ASN1_DN, data: dn.der, text: t } };
  }
  if (t.includes("@")) return { ok: true, value: { type: IdType.RFC822_ADDR, data: utf8(t), text: t } };
  return { ok: true, value: { type: IdType.FQDN, data: utf8(t), text: t } };
}
