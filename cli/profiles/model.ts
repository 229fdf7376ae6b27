// The profile model: what one `<name>.toml` in the profile store holds, how it is checked, and how it maps
// to and from TOML. Secrets never live here: they are in `<name>.secrets` (see secrets.ts).
//
// File layout (snake_case keys, every key optional except gateway and auth):
//   name = "office"                 # must equal the file name
//   uuid = "…"                      # from a .sswan import; re-importing the same uuid replaces the profile
//   gateway = ["vpn.example.com"]   # tried in order when one does not answer
//   port = 500
//   local_id = "alice@example.com"  remote_id = "vpn.example.com"
//   auth = "eap-mschapv2"           # psk | eap-mschapv2 | cert | cert+eap
//   eap_identity = "alice"
//   ca = ["ca.pem"]                 # PEM/DER files, relative to <name>.d/ or absolute
//   client_cert / client_key / pkcs12 = "client.p12"
//   rsa_pss = true                  # sign with RSASSA-PSS (RFC 7427) when the client key is RSA
//   ike = "aes256gcm16-prfsha256-x25519"  esp = "aes256gcm16"   # strongSwan proposal syntax
//   subnets = ["10.0.0.0/8"]  excluded_subnets = []  request_ipv6 = false
//   dns = "use"                     # use | ignore (the servers the gateway assigns)
//   dns_servers = []                # fixed servers from an imported profile
//   mtu = 1400  nat_keepalive = 20  dpd = 30   # seconds
//   rekey = 3900  ike_rekey = 14400             # seconds (0: leave it to the gateway)
//   rekey_bytes = 0  rekey_packets = 0          # CHILD_SA volume limits (0: none)
//   mobike = false                  # do not offer MOBIKE (RFC 4555); absent: offered
//   up = "/usr/local/bin/vpn-up"  down = "…"   # hook commands

import { parseIdentity } from "../../core/ike/identity.ts";
import { parseProposals } from "../../core/ike/proposal.ts";
import { selectorFromCidr } from "../../core/ike/selectors.ts";
import { parseAddress } from "../../core/wire/addr.ts";

export const AUTH_METHODS = ["psk", "eap-mschapv2", "cert", "cert+eap"] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export interface Profile {
  name: string;
  uuid?: string;
  gateways: string[];
  port: number;
  localId?: string;
  remoteId?: string;
  auth: AuthMethod;
  eapIdentity?: string;
  ca: string[];
  clientCert?: string;
  clientKey?: string;
  pkcs12?: string;
  /** Sign our AUTH with RSASSA-PSS (RFC 7427 §3) instead of PKCS#1 v1.5; only RSA client keys. */
  rsaPss?: boolean;
  ike?: string;
  esp?: string;
  subnets: string[];
  excludedSubnets: string[];
  requestIpv6: boolean;
  dns: "use" | "ignore";
  dnsServers: string[];
  mtu?: number;
  natKeepalive?: number;
  dpd?: number;
  /** Seconds until roam rekeys the CHILD_SA / the IKE SA itself (0: leave it to the gateway). */
  rekey?: number;
  ikeRekey?: number;
  /** CHILD_SA rekey after this many bytes / packets in either direction (0: no limit). */
  rekeyBytes?: number;
  rekeyPackets?: number;
  /** false: do not offer MOBIKE (RFC 4555); absent: offered. */
  mobike?: boolean;
  up?: string;
  down?: string;
}

/** Secrets of one profile; each may also come from stdin, the environment or a prompt at connect time. */
export interface Secrets {
  /** strongSwan's convention: "0x…" hex, "0s…" base64, anything else the UTF-8 text itself. */
  psk?: string;
  eapPassword?: string;
  keyPassphrase?: string;
}

/** Files an importer found inside the imported file, written beside the profile in `<name>.d/`. */
export interface Assets {
  /** DER certificates, written as `ca.pem`. */
  ca: Uint8Array[];
  /** A PKCS#12 bundle, written as `client.p12` (mode 0600). */
  pkcs12?: Uint8Array;
}

/** What every importer returns: nothing is written until the caller saves it. */
export interface Imported {
  profile: Profile;
  secrets: Secrets;
  assets: Assets;
  /** One line per field roam does not apply; never silently dropped. */
  warnings: string[];
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

export const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

export function checkName(name: string): string | null {
  if (!NAME_RE.test(name) || name === "." || name === "..") {
    return `profile name "${name}" is not valid (expected 1-64 characters from A-Z a-z 0-9 . _ -)`;
  }
  return null;
}

/** A file-name-safe profile name derived from free text ("My VPN (work)" → "My-VPN-work"). */
export function sanitizeName(text: string): string {
  const s = text.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "").slice(0, 64);
  return s === "" ? "profile" : s;
}

export function emptyProfile(name: string, auth: AuthMethod): Profile {
  return { name, gateways: [], port: 500, auth, ca: [], subnets: [], excludedSubnets: [], requestIpv6: false, dns: "use", dnsServers: [] };
}

/** Checks a profile's values; the error names the field and what was expected. */
export function validateProfile(p: Profile): string | null {
  const bad = checkName(p.name);
  if (bad) return bad;
  if (p.gateways.length === 0) return `field "gateway": no gateway address (expected a host name or IP address)`;
  for (const g of p.gateways) {
    if (g.trim() === "" || /[\s,]/.test(g)) return `field "gateway": "${g}" is not a host name or address`;
  }
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) return `field "port": ${p.port} is not a port (expected 1-65535)`;
  for (const [field, v] of [["local_id", p.localId], ["remote_id", p.remoteId]] as const) {
    if (v === undefined) continue;
    const r = parseIdentity(v);
    if (!r.ok) return `field "${field}": ${r.error}`;
  }
  if (!AUTH_METHODS.includes(p.auth)) return `field "auth": "${p.auth}" is not one of ${AUTH_METHODS.join(", ")}`;
  if ((p.auth === "eap-mschapv2" || p.auth === "cert+eap") && !p.eapIdentity && !p.localId) {
    return `field "eap_identity": auth "${p.auth}" needs an EAP identity`;
  }
  if (p.ike !== undefined) {
    const r = parseProposals(p.ike, "ike");
    if (!r.ok) return `field "ike": ${r.error}`;
  }
  if (p.esp !== undefined) {
    const r = parseProposals(p.esp, "esp");
    if (!r.ok) return `field "esp": ${r.error}`;
  }
  for (const [field, list] of [["subnets", p.subnets], ["excluded_subnets", p.excludedSubnets]] as const) {
    for (const s of list) {
      if (!selectorFromCidr(s, parseAddress)) return `field "${field}": "${s}" is not a subnet (expected CIDR like 10.0.0.0/8 or 2001:db8::/32)`;
    }
  }
  for (const s of p.dnsServers) {
    if (!parseAddress(s)) return `field "dns_servers": "${s}" is not an IP address`;
  }
  if (p.dns !== "use" && p.dns !== "ignore") return `field "dns": "${p.dns}" is not "use" or "ignore"`;
  if (p.mtu !== undefined && (!Number.isInteger(p.mtu) || p.mtu < 576 || p.mtu > 9000)) return `field "mtu": ${p.mtu} is not an MTU (expected 576-9000)`;
  for (const [field, v] of [["nat_keepalive", p.natKeepalive], ["dpd", p.dpd]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 86400)) return `field "${field}": ${v} is not a number of seconds (expected 0-86400)`;
  }
  for (const [field, v] of [["rekey", p.rekey], ["ike_rekey", p.ikeRekey]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 86400 * 7)) return `field "${field}": ${v} is not a number of seconds (expected 0-604800)`;
  }
  for (const [field, v] of [["rekey_bytes", p.rekeyBytes], ["rekey_packets", p.rekeyPackets]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) return `field "${field}": ${v} is not a count (expected a whole number, 0 for no limit)`;
  }
  return null;
}

type Field =
  | { key: string; prop: keyof Profile; kind: "string" | "strings" | "int" | "bool" };

/** TOML key ↔ Profile property, in the order they are written. */
const FIELDS: Field[] = [
  { key: "name", prop: "name", kind: "string" },
  { key: "uuid", prop: "uuid", kind: "string" },
  { key: "gateway", prop: "gateways", kind: "strings" },
  { key: "port", prop: "port", kind: "int" },
  { key: "local_id", prop: "localId", kind: "string" },
  { key: "remote_id", prop: "remoteId", kind: "string" },
  { key: "auth", prop: "auth", kind: "string" },
  { key: "eap_identity", prop: "eapIdentity", kind: "string" },
  { key: "ca", prop: "ca", kind: "strings" },
  { key: "client_cert", prop: "clientCert", kind: "string" },
  { key: "client_key", prop: "clientKey", kind: "string" },
  { key: "pkcs12", prop: "pkcs12", kind: "string" },
  { key: "rsa_pss", prop: "rsaPss", kind: "bool" },
  { key: "ike", prop: "ike", kind: "string" },
  { key: "esp", prop: "esp", kind: "string" },
  { key: "subnets", prop: "subnets", kind: "strings" },
  { key: "excluded_subnets", prop: "excludedSubnets", kind: "strings" },
  { key: "request_ipv6", prop: "requestIpv6", kind: "bool" },
  { key: "dns", prop: "dns", kind: "string" },
  { key: "dns_servers", prop: "dnsServers", kind: "strings" },
  { key: "mtu", prop: "mtu", kind: "int" },
  { key: "nat_keepalive", prop: "natKeepalive", kind: "int" },
  { key: "dpd", prop: "dpd", kind: "int" },
  { key: "rekey", prop: "rekey", kind: "int" },
  { key: "ike_rekey", prop: "ikeRekey", kind: "int" },
  { key: "rekey_bytes", prop: "rekeyBytes", kind: "int" },
  { key: "rekey_packets", prop: "rekeyPackets", kind: "int" },
  { key: "mobike", prop: "mobike", kind: "bool" },
  { key: "up", prop: "up", kind: "string" },
  { key: "down", prop: "down", kind: "string" },
];

/** The profile as a plain TOML table (undefined and empty optional lists left out). */
export function profileToTable(p: Profile): Record<string, string | number | boolean | string[]> {
  const out: Record<string, string | number | boolean | string[]> = {};
  for (const f of FIELDS) {
    const v = p[f.prop];
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length === 0 && f.key !== "gateway") continue;
    out[f.key] = v as string | number | boolean | string[];
  }
  return out;
}

/**
 * A parsed TOML table → a checked profile. Unknown keys are warnings (a newer roam may have written them);
 * `extraKeys` are keys the caller handles itself (e.g. `ca_pem` in an exported file).
 */
export function profileFromTable(t: Record<string, unknown>, extraKeys: readonly string[] = []): { ok: true; value: Profile; warnings: string[] } | { ok: false; error: string } {
  const p = emptyProfile("", "psk") as unknown as Record<string, unknown>;
  const warnings: string[] = [];
  const known = new Set(FIELDS.map((f) => f.key));
  for (const [k, v] of Object.entries(t)) {
    if (!known.has(k)) {
      if (!extraKeys.includes(k)) warnings.push(`unknown key "${k}" ignored`);
      continue;
    }
    const f = FIELDS.find((x) => x.key === k)!;
    if (f.kind === "string" && typeof v !== "string") return { ok: false, error: `field "${k}": expected a string` };
    if (f.kind === "int" && (typeof v !== "number" && typeof v !== "bigint")) return { ok: false, error: `field "${k}": expected an integer` };
    if (f.kind === "bool" && typeof v !== "boolean") return { ok: false, error: `field "${k}": expected true or false` };
    if (f.kind === "strings") {
      // A single string is accepted where a list is expected ("gateway = \"vpn.example.com\"").
      const list = typeof v === "string" ? [v] : v;
      if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) return { ok: false, error: `field "${k}": expected a list of strings` };
      p[f.prop] = [...list];
      continue;
    }
    p[f.prop] = typeof v === "bigint" ? Number(v) : v;
  }
  if (!("auth" in t)) return { ok: false, error: `field "auth": missing (expected one of ${AUTH_METHODS.join(", ")})` };
  if (!("gateway" in t)) return { ok: false, error: `field "gateway": missing (expected a host name or IP address)` };
  const profile = p as unknown as Profile;
  const bad = validateProfile(profile);
  if (bad) return { ok: false, error: bad };
  return { ok: true, value: profile, warnings };
}
