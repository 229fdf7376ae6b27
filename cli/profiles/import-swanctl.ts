// strongSwan `swanctl.conf` → roam profiles, one per entry of `connections`. Pure: text in, profiles out.
// Syntax (strongswan.conf(5)): `name { … }` sections, `key = value` settings (value to the end of the line,
// or a "quoted string"), `#` comments, `include FILE` (ignored here, with a warning). Errors name the line.

import { parseProposals } from "../../core/ike/proposal.ts";
import { emptyProfile, sanitizeName, validateProfile, type Imported, type Profile, type Result, type Secrets } from "./model.ts";
import { decodeEapSecret } from "./secrets.ts";

interface Setting {
  value: string;
  line: number;
}
export interface Section {
  name: string;
  line: number;
  settings: Map<string, Setting>;
  sections: Section[];
}

/** Parses the section tree; `warnings` gets the include lines and referenced-section syntax. */
export function parseSwanctl(text: string, file: string, warnings: string[]): Result<Section> {
  const root: Section = { name: "", line: 0, settings: new Map(), sections: [] };
  const stack: Section[] = [root];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    let line = lines[i]!;
    // A '#' starts a comment unless it is inside a quoted value.
    let inQuote = false;
    for (let j = 0; j < line.length; j++) {
      if (line[j] === '"' && line[j - 1] !== "\\") inQuote = !inQuote;
      else if (line[j] === "#" && !inQuote) {
        line = line.slice(0, j);
        break;
      }
    }
    line = line.trim();
    if (line === "") continue;
    const top = stack[stack.length - 1]!;
    let m: RegExpExecArray | null;
    if (line === "}") {
      if (stack.length === 1) return { ok: false, error: `${file}: line ${n}: "}" closes no section` };
      stack.pop();
    } else if ((m = /^include\s+(.+)$/.exec(line))) {
      warnings.push(`${file}: line ${n}: "include ${m[1]}" ignored (import each file on its own)`);
    } else if ((m = /^([A-Za-z0-9_.\-]+)\s*(?::\s*([A-Za-z0-9_.\-, ]+))?\s*\{\s*(\}?)$/.exec(line))) {
      if (m[2]) warnings.push(`${file}: line ${n}: section "${m[1]}" refers to "${m[2].trim()}": section references are not supported, only the section's own settings are read`);
      const s: Section = { name: m[1]!, line: n, settings: new Map(), sections: [] };
      top.sections.push(s);
      if (m[3] !== "}") stack.push(s);
    } else if ((m = /^([A-Za-z0-9_.\-]+)\s*=\s*(.*)$/.exec(line))) {
      let value = m[2]!.trim();
      if (value.startsWith('"')) {
        if (!value.endsWith('"') || value.length < 2) return { ok: false, error: `${file}: line ${n}: unterminated quoted value for "${m[1]}"` };
        value = value.slice(1, -1).replace(/\\(.)/g, "$1");
      }
      top.settings.set(m[1]!, { value, line: n });
    } else {
      return { ok: false, error: `${file}: line ${n}: cannot read "${line}" (expected "name {", "}", "key = value" or "include FILE")` };
    }
  }
  if (stack.length > 1) {
    const open = stack[stack.length - 1]!;
    return { ok: false, error: `${file}: line ${open.line}: section "${open.name}" is not closed (expected "}")` };
  }
  return { ok: true, value: root };
}

function list(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** strongSwan time values: "30", "30s", "5m", "1h", "2d" → seconds. */
function seconds(v: string): number | null {
  const m = /^(\d+)\s*([smhd]?)$/.exec(v.trim());
  if (!m) return null;
  return Number(m[1]) * ({ "": 1, s: 1, m: 60, h: 3600, d: 86400 } as Record<string, number>)[m[2]!]!;
}

function yes(v: string): boolean {
  return v === "yes" || v === "true" || v === "1";
}

/** Proposals with strongSwan's "default" keyword removed (roam's defaults stand in for it). */
function proposals(v: string): string | undefined {
  const l = list(v).filter((p) => p !== "default");
  return l.length === 0 ? undefined : l.join(",");
}

export interface SwanctlOptions {
  /** Where relative certificate names are looked up (swanctl's own directory, default /etc/swanctl). */
  swanctlDir?: string;
}

export function importSwanctl(text: string, file: string, opts: SwanctlOptions = {}): Result<Imported[]> {
  const dir = opts.swanctlDir ?? "/etc/swanctl";
  const common: string[] = [];
  const tree = parseSwanctl(text, file, common);
  if (!tree.ok) return tree;
  const conns = tree.value.sections.find((s) => s.name === "connections");
  if (!conns || conns.sections.length === 0) return { ok: false, error: `${file}: no "connections" section with a connection (expected connections { NAME { remote_addrs = … } })` };
  for (const s of tree.value.sections) {
    if (s.name !== "connections" && s.name !== "secrets") common.push(`${file}: line ${s.line}: section "${s.name}" is not used by roam; ignored`);
  }
  const secretSections = tree.value.sections.find((s) => s.name === "secrets")?.sections ?? [];
  const out: Imported[] = [];
  for (const c of conns.sections) {
    const r = importConnection(c, secretSections, file, dir);
    if (!r.ok) return r;
    out.push(r.value);
  }
  if (out.length > 0) out[0]!.warnings.unshift(...common);
  return { ok: true, value: out };
}

function importConnection(c: Section, secretSections: Section[], file: string, dir: string): Result<Imported> {
  const warnings: string[] = [];
  const at = (s: Setting | Section, what: string): Result<Imported> => ({ ok: false, error: `${file}: line ${s.line}: ${what}` });
  const warn = (s: Setting | Section, key: string, why: string) => warnings.push(`${file}: line ${s.line}: "${key}" ${why}`);
  const p: Profile = emptyProfile(sanitizeName(c.name), "psk");
  const assets: Imported["assets"] = { ca: [] };
  const secrets: Secrets = {};
  const path = (sub: string, name: string) => (name.startsWith("/") ? name : `${dir}/${sub}/${name}`);

  for (const [key, s] of c.settings) {
    const k = `connections.${c.name}.${key}`;
    switch (key) {
      case "remote_addrs":
        p.gateways = list(s.value).filter((a) => a !== "%any");
        break;
      case "remote_port": {
        const port = Number(s.value);
        if (!/^\d+$/.test(s.value) || port < 1 || port > 65535) return at(s, `"${k}" = "${s.value}" is not a port (expected 1-65535)`);
        p.port = port;
        break;
      }
      case "proposals": {
        const v = proposals(s.value);
        if (v !== undefined) {
          const r = parseProposals(v, "ike");
          if (!r.ok) return at(s, `"${k}": ${r.error}`);
        }
        p.ike = v;
        break;
      }
      case "vips":
        for (const v of list(s.value)) {
          if (v === "::") p.requestIpv6 = true;
          else if (v !== "0.0.0.0") warn(s, k, `= "${v}": asking for a particular virtual IP is not supported (roam asks for any)`);
        }
        break;
      case "dpd_delay": {
        const sec = seconds(s.value);
        if (sec === null) return at(s, `"${k}" = "${s.value}" is not a time (expected e.g. 30s, 5m)`);
        p.dpd = sec;
        break;
      }
      case "encap":
        if (!yes(s.value)) warn(s, k, "= no is not honoured: roam always uses UDP encapsulation (RFC 3948)");
        break;
      case "mobike":
        if (!yes(s.value)) p.mobike = false; // RFC 4555 is offered unless the profile says no
        break;
      case "fragmentation":
        // roam offers IKE fragmentation (RFC 7383) and uses it when the gateway does: strongSwan's yes/accept.
        if (s.value === "no") warn(s, k, "= no is not stored in the profile: roam offers IKE fragmentation (RFC 7383); connect with --no-fragmentation");
        else if (s.value === "force") warn(s, k, "= force is not supported: roam fragments IKE messages only when the gateway announces RFC 7383 support");
        else if (s.value !== "yes" && s.value !== "accept") warn(s, k, `= ${s.value} is not a fragmentation setting (expected yes, accept, force or no); ignored`);
        break;
      case "version":
        if (s.value !== "2" && s.value !== "0") return at(s, `"${k}" = ${s.value}: roam speaks IKEv2 only (expected 0 or 2)`);
        break;
      default:
        warn(s, k, "is not supported by roam; ignored");
    }
  }
  if (p.gateways.length === 0) return at(c, `connection "${c.name}": "remote_addrs" is missing (expected the gateway's host name or IP address)`);

  // Authentication rounds: local, local-1, local-2… in order (RFC 4739 multiple authentication).
  const locals = c.sections.filter((s) => /^local(-.*)?$/.test(s.name)).sort((a, b) => a.name.localeCompare(b.name));
  const remotes = c.sections.filter((s) => /^remote(-.*)?$/.test(s.name));
  const rounds: string[] = [];
  let localCerts: string | undefined;
  /** Each local round's id and eap_id, to tell the certificate round's identity from the EAP round's. */
  type RoundIds = { name: string; id?: Setting; eapId?: Setting };
  const roundIds: RoundIds[] = [];
  for (const l of locals) {
    const ids: RoundIds = { name: l.name };
    for (const [key, s] of l.settings) {
      const k = `connections.${c.name}.${l.name}.${key}`;
      if (key === "auth") rounds.push(s.value);
      else if (key === "id") ids.id = s;
      else if (key === "eap_id") ids.eapId = s;
      else if (key === "certs") localCerts = list(s.value)[0];
      else warn(s, k, "is not supported by roam; ignored");
    }
    if (l.settings.has("auth")) roundIds.push(ids);
  }
  const kinds = rounds.map((a) => (a === "psk" ? "psk" : a === "pubkey" || a.startsWith("rsa") || a.startsWith("ecdsa") ? "cert" : a === "eap-mschapv2" || a === "eap" ? "eap" : a));
  const joined = kinds.join("+");
  if (joined === "psk") p.auth = "psk";
  else if (joined === "eap") p.auth = "eap-mschapv2";
  else if (joined === "cert") p.auth = "cert";
  else if (joined === "cert+eap") p.auth = "cert+eap";
  else {
    const where = locals[0] ?? c;
    return at(where, `connection "${c.name}": local auth "${rounds.join(", ") || "(none)"}" is not supported (expected psk, pubkey, eap-mschapv2, or pubkey then eap-mschapv2)`);
  }
  // strongSwan's `auth = rsa/pss` (with or without a hash, e.g. rsa/pss-sha256): RSASSA-PSS signatures.
  if (rounds.some((a) => a.startsWith("rsa/pss"))) p.rsaPss = true;
  if (p.auth === "cert+eap") {
    // RFC 4739: local-1's id is the certificate's identity (IDi of the first round); in the EAP round
    // roam sends the EAP identity as IDi, which is eap_id, or that round's id.
    const [certRound, eapRound] = roundIds as [RoundIds, RoundIds];
    if (certRound.eapId) warn(certRound.eapId, `connections.${c.name}.${certRound.name}.eap_id`, "is not used: the first round authenticates with the certificate");
    p.localId = certRound.id?.value;
    p.eapIdentity = eapRound.eapId?.value ?? eapRound.id?.value;
    if (eapRound.eapId && eapRound.id && eapRound.id.value !== eapRound.eapId.value) {
      warn(eapRound.id, `connections.${c.name}.${eapRound.name}.id`, `= ${eapRound.id.value} is not sent: roam sends the EAP identity (${eapRound.eapId.value}) as the second round's IDi`);
    }
  } else {
    for (const r of roundIds) {
      if (r.id) p.localId = r.id.value;
      if (r.eapId) p.eapIdentity = r.eapId.value;
    }
  }
  if (localCerts !== undefined) p.clientCert = path("x509", localCerts);
  if ((p.auth === "eap-mschapv2" || p.auth === "cert+eap") && !p.eapIdentity && !p.localId) {
    return at(locals[0] ?? c, `connection "${c.name}": EAP needs "eap_id" or "id" in the local section`);
  }

  for (const r of remotes) {
    for (const [key, s] of r.settings) {
      const k = `connections.${c.name}.${r.name}.${key}`;
      if (key === "id") p.remoteId = s.value;
      else if (key === "cacerts") p.ca.push(...list(s.value).map((n) => path("x509ca", n)));
      else if (key === "auth") {
        if (s.value === "psk" && p.auth !== "psk") return at(s, `"${k}" = psk while we authenticate with ${p.auth}: roam expects the gateway to use the same PSK only in PSK profiles`);
        if (s.value !== "psk" && s.value !== "pubkey") warn(s, k, `= ${s.value} is not supported: roam verifies the gateway by certificate (pubkey) or PSK`);
      } else if (key === "certs") warn(s, k, "(pinned gateway certificate) is not supported: give its CA with cacerts");
      else warn(s, k, "is not supported by roam; ignored");
    }
  }

  const children = c.sections.find((s) => s.name === "children")?.sections ?? [];
  for (const [i, child] of children.entries()) {
    if (i > 0) {
      warn(child, `connections.${c.name}.children.${child.name}`, "is not supported: roam sets up the first CHILD_SA only");
      continue;
    }
    for (const [key, s] of child.settings) {
      const k = `connections.${c.name}.children.${child.name}.${key}`;
      if (key === "remote_ts") p.subnets = list(s.value);
      else if (key === "esp_proposals") {
        const v = proposals(s.value);
        if (v !== undefined) {
          const r = parseProposals(v, "esp");
          if (!r.ok) return at(s, `"${k}": ${r.error}`);
        }
        p.esp = v;
      } else if (key === "local_ts") {
        if (s.value !== "dynamic") warn(s, k, "is not supported: roam uses its virtual IP as TSi");
      } else warn(s, k, "is not supported by roam; ignored");
    }
  }

  // secrets { eap-x { id = …; secret = … } ike-x { id = …; secret = … } }: the one whose id matches.
  const ours = new Set([p.eapIdentity, p.localId].filter((x): x is string => x !== undefined));
  const peers = new Set([p.localId, p.remoteId, ...p.gateways].filter((x): x is string => x !== undefined));
  for (const s of secretSections) {
    const secret = s.settings.get("secret");
    const ids = [...s.settings.entries()].filter(([k]) => /^id(-.*)?$/.test(k)).map(([, v]) => v.value);
    if (s.name.startsWith("eap") || s.name.startsWith("xauth")) {
      if (secret && (ids.length === 0 || ids.some((id) => ours.has(id))) && secrets.eapPassword === undefined) {
        const password = decodeEapSecret(secret.value);
        if (password === null) return at(secret, `"secrets.${s.name}.secret": not valid 0x-hex or 0s-base64 text (strongSwan decodes those prefixes; expected UTF-8 text for an EAP password)`);
        secrets.eapPassword = password;
      }
    } else if (s.name.startsWith("ike")) {
      if (secret && (ids.length === 0 || ids.some((id) => peers.has(id)))) secrets.psk ??= secret.value;
    } else if (/^(private|rsa|ecdsa|pkcs8|pkcs12)/.test(s.name)) {
      if (secret) secrets.keyPassphrase ??= secret.value;
      const f = s.settings.get("file");
      if (f && p.auth !== "psk" && p.auth !== "eap-mschapv2") {
        if (s.name.startsWith("pkcs12")) p.pkcs12 = path("pkcs12", f.value);
        else p.clientKey = path(s.name.startsWith("rsa") ? "rsa" : s.name.startsWith("ecdsa") ? "ecdsa" : "private", f.value);
      }
    } else warn(s, `secrets.${s.name}`, "is not supported by roam; ignored");
  }
  if (p.auth !== "psk") delete secrets.psk;
  if (p.auth === "psk" || p.auth === "cert") delete secrets.eapPassword;

  const bad = validateProfile(p);
  if (bad) return at(c, `connection "${c.name}": ${bad}`);
  return { ok: true, value: { profile: p, secrets, assets, warnings } };
}
