// strongSwan `.sswan` profiles (the JSON of strongSwan's Android client, docs.strongswan.org "Android VPN
// Client Profiles") → a roam profile, and back. Pure: text in, profile + secrets + assets + warnings out.
//
// Keys read: uuid, name, type, remote.{addr,port,id,cert,certreq,revocation}, local.{eap_id,id,p12,rsa-pss,
// shared_secret (the EAP password, as the Android client reads it for its user-and-password types)},
// ike-proposal, esp-proposal, dns-servers, mtu, nat-keepalive, split-tunneling.{subnets,excluded,
// block-ipv4,block-ipv6}, ipv6-transport. Anything else is named in a warning.

import { parseProposals } from "../../core/ike/proposal.ts";
import { decodeBase64 } from "../../core/x509/pem.ts";
import { emptyProfile, sanitizeName, validateProfile, type AuthMethod, type Imported, type Profile, type Result, type Secrets } from "./model.ts";
import { checkPkcs12, decodeCertificateText, encodeBase64 } from "./pem.ts";

/** The client's profile types and what roam makes of them. */
const TYPES: Record<string, AuthMethod> = {
  "ikev2-eap": "eap-mschapv2",
  "ikev2-cert": "cert",
  "ikev2-cert-eap": "cert+eap",
};
const REFUSED_TYPES: Record<string, string> = {
  "ikev2-eap-tls": "EAP-TLS is not supported by roam (expected ikev2-eap, ikev2-cert or ikev2-cert-eap)",
  "ikev2-byod-eap": "EAP-TNC (BYOD) is not supported by roam (expected ikev2-eap, ikev2-cert or ikev2-cert-eap)",
};

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function importSswan(text: string, file: string): Result<Imported> {
  const err = (field: string, what: string): Result<Imported> => ({ ok: false, error: `${file}: field "${field}": ${what}` });
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `${file}: not valid JSON (${e instanceof Error ? e.message : String(e)}); expected a strongSwan .sswan profile` };
  }
  if (!isObject(obj)) return { ok: false, error: `${file}: expected a JSON object (a strongSwan .sswan profile)` };
  const warnings: string[] = [];
  const warn = (field: string, why: string) => warnings.push(`${file}: "${field}" ${why}`);
  const str = (o: Json, key: string, field: string): string | undefined | Error => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") return new Error(`${file}: field "${field}": expected a string`);
    return v;
  };

  const uuid = str(obj, "uuid", "uuid");
  if (uuid instanceof Error) return { ok: false, error: uuid.message };
  if (uuid === undefined) return err("uuid", "missing (expected a UUID such as 8bb0e3b2-…)");
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(uuid)) return err("uuid", `"${uuid}" is not a UUID`);
  const type = str(obj, "type", "type");
  if (type instanceof Error) return { ok: false, error: type.message };
  if (type === undefined) return err("type", "missing (expected ikev2-eap, ikev2-cert or ikev2-cert-eap)");
  if (REFUSED_TYPES[type]) return err("type", `"${type}": ${REFUSED_TYPES[type]}`);
  const auth = TYPES[type];
  if (!auth) return err("type", `unknown type "${type}" (expected ikev2-eap, ikev2-cert, ikev2-cert-eap, ikev2-eap-tls or ikev2-byod-eap)`);

  const remote = obj.remote;
  if (!isObject(remote)) return err("remote", "missing (expected an object with addr)");
  const addr = str(remote, "addr", "remote.addr");
  if (addr instanceof Error) return { ok: false, error: addr.message };
  if (!addr) return err("remote.addr", "missing (expected the gateway's host name or IP address)");
  const name = str(obj, "name", "name");
  if (name instanceof Error) return { ok: false, error: name.message };

  const p: Profile = emptyProfile(sanitizeName(name ?? addr), auth);
  p.uuid = uuid.toLowerCase();
  p.gateways = [addr];
  const assets: Imported["assets"] = { ca: [] };
  const secrets: Secrets = {};

  for (const key of Object.keys(remote)) {
    const f = `remote.${key}`;
    const v = remote[key];
    if (key === "addr") continue;
    else if (key === "port") {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) return err(f, "expected a port number 1-65535");
      p.port = v;
    } else if (key === "id") {
      if (typeof v !== "string") return err(f, "expected a string");
      p.remoteId = v;
    } else if (key === "cert") {
      if (typeof v !== "string") return err(f, "expected a base64-encoded certificate");
      const r = decodeCertificateText(v);
      if (!r.ok) return err(f, r.error);
      assets.ca.push(...r.value);
    } else if (key === "certreq") {
      if (typeof v !== "boolean") return err(f, "expected true or false");
      if (!v) warn(f, "(do not send certificate requests) is not supported: roam always sends CERTREQ");
    } else if (key === "revocation") {
      warn(f, "is not supported: roam does not check CRLs or OCSP");
    } else warn(f, "is not a known .sswan key; ignored");
  }

  const local = obj.local;
  if (local !== undefined && !isObject(local)) return err("local", "expected an object");
  for (const [key, v] of Object.entries(local ?? {})) {
    const f = `local.${key}`;
    if (key === "eap_id") {
      if (typeof v !== "string") return err(f, "expected a string");
      p.eapIdentity = v;
    } else if (key === "id") {
      if (typeof v !== "string") return err(f, "expected a string");
      p.localId = v;
    } else if (key === "p12") {
      if (typeof v !== "string") return err(f, "expected a base64-encoded PKCS#12 file");
      const der = decodeBase64(v);
      if (!der || der.length === 0 || der[0] !== 0x30) return err(f, "is not a base64-encoded PKCS#12 file");
      const check = checkPkcs12(der);
      if (check.error) return err(f, check.error);
      if (check.warning) warn(f, check.warning);
      assets.pkcs12 = der;
    } else if (key === "rsa-pss") {
      if (typeof v !== "boolean") return err(f, "expected true or false");
      if (v) p.rsaPss = true;
    } else if (key === "shared_secret") {
      if (typeof v !== "string" || v.length === 0) return err(f, "expected the EAP password (a non-empty string)");
      if (auth === "eap-mschapv2" || auth === "cert+eap") secrets.eapPassword = v;
      else warn(f, `is only read for the types ikev2-eap and ikev2-cert-eap (this is "${type}"); ignored`);
    } else warn(f, "is not a known .sswan key; ignored");
  }
  if ((auth === "eap-mschapv2" || auth === "cert+eap") && p.eapIdentity === undefined) {
    return err("local.eap_id", `missing (type "${type}" needs the EAP user name)`);
  }

  for (const [key, kind] of [["ike-proposal", "ike"], ["esp-proposal", "esp"]] as const) {
    const v = obj[key];
    if (v === undefined) continue;
    if (typeof v !== "string") return err(key, "expected a proposal string");
    const r = parseProposals(v, kind);
    if (!r.ok) return err(key, `${r.error} (expected strongSwan proposal syntax, e.g. ${kind === "ike" ? "aes256gcm16-prfsha256-x25519" : "aes256gcm16"})`);
    if (kind === "ike") p.ike = v;
    else p.esp = v;
  }
  const dns = obj["dns-servers"];
  if (dns !== undefined) {
    if (typeof dns !== "string") return err("dns-servers", "expected a space-separated list of IP addresses");
    p.dnsServers = dns.split(/\s+/).filter((s) => s !== "");
  }
  for (const [key, prop, lo, hi] of [["mtu", "mtu", 1280, 1500], ["nat-keepalive", "natKeepalive", 10, 120]] as const) {
    const v = obj[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) return err(key, `expected an integer ${lo}-${hi}`);
    p[prop] = v;
  }
  const split = obj["split-tunneling"];
  if (split !== undefined) {
    if (!isObject(split)) return err("split-tunneling", "expected an object");
    for (const [key, v] of Object.entries(split)) {
      const f = `split-tunneling.${key}`;
      if (key === "subnets" || key === "excluded") {
        // A list, or one string with space-separated entries (both appear in the wild).
        const list = typeof v === "string" ? v.split(/\s+/).filter((s) => s !== "") : v;
        if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) return err(f, "expected a list of subnets");
        (key === "subnets" ? p.subnets : p.excludedSubnets).push(...list.map((s) => s.replace(/\s+/g, "")));
      } else if (key === "block-ipv4" || key === "block-ipv6") {
        if (typeof v !== "boolean") return err(f, "expected true or false");
        if (v) warn(f, "is not supported: roam does not block traffic outside the tunnel");
      } else warn(f, "is not a known .sswan key; ignored");
    }
  }
  const v6 = obj["ipv6-transport"];
  if (v6 !== undefined) {
    if (typeof v6 !== "boolean") return err("ipv6-transport", "expected true or false");
    if (v6) warn("ipv6-transport", "is not supported: roam reaches the gateway over the address family its name resolves to first");
  }
  const known = new Set(["uuid", "name", "type", "remote", "local", "ike-proposal", "esp-proposal", "dns-servers", "mtu", "nat-keepalive", "split-tunneling", "ipv6-transport"]);
  for (const key of Object.keys(obj)) if (!known.has(key)) warn(key, "is not supported by roam; ignored");

  const bad = validateProfile(p);
  if (bad) return { ok: false, error: `${file}: ${bad.replace(/field "subnets"/, 'field "split-tunneling.subnets"').replace(/field "excluded_subnets"/, 'field "split-tunneling.excluded"').replace(/field "dns_servers"/, 'field "dns-servers"')}` };
  return { ok: true, value: { profile: p, secrets, assets, warnings } };
}

/** A roam profile as .sswan JSON. Secrets are never written (the format could carry the EAP password as
 *  local.shared_secret, but an exported file travels: the password stays in the .secrets file). */
export function exportSswan(p: Profile, ca: Uint8Array[], pkcs12: Uint8Array | undefined, uuid: string): Result<{ text: string; dropped: string[] }> {
  const type = Object.entries(TYPES).find(([, a]) => a === p.auth)?.[0];
  if (!type) return { ok: false, error: `profile "${p.name}": auth "${p.auth}" has no .sswan type (the Android client has no PSK profiles); use --format toml` };
  const remote: Json = { addr: p.gateways[0] };
  if (p.port !== 500) remote.port = p.port;
  if (p.remoteId !== undefined) remote.id = p.remoteId;
  if (ca.length > 0) remote.cert = encodeBase64(ca[0]!);
  const local: Json = {};
  if (p.eapIdentity !== undefined) local.eap_id = p.eapIdentity;
  if (p.localId !== undefined) local.id = p.localId;
  if (pkcs12) local.p12 = encodeBase64(pkcs12);
  if (p.rsaPss) local["rsa-pss"] = true;
  const out: Json = { uuid: p.uuid ?? uuid, name: p.name, type, remote };
  if (Object.keys(local).length > 0) out.local = local;
  if (p.ike !== undefined) out["ike-proposal"] = p.ike;
  if (p.esp !== undefined) out["esp-proposal"] = p.esp;
  if (p.dnsServers.length > 0) out["dns-servers"] = p.dnsServers.join(" ");
  if (p.mtu !== undefined) out.mtu = p.mtu;
  if (p.natKeepalive !== undefined) out["nat-keepalive"] = p.natKeepalive;
  if (p.subnets.length > 0 || p.excludedSubnets.length > 0) {
    const split: Json = {};
    if (p.subnets.length > 0) split.subnets = p.subnets;
    if (p.excludedSubnets.length > 0) split.excluded = p.excludedSubnets;
    out["split-tunneling"] = split;
  }
  // What the format cannot carry is named, never silently lost.
  const dropped: string[] = [];
  if (p.gateways.length > 1) dropped.push(`gateway (all but ${p.gateways[0]})`);
  if (ca.length > 1) dropped.push("ca (all but the first certificate)");
  for (const [key, v] of [["dpd", p.dpd], ["up", p.up], ["down", p.down], ["client_cert", p.clientCert], ["client_key", p.clientKey]] as const) {
    if (v !== undefined) dropped.push(key);
  }
  if (p.dns === "ignore") dropped.push("dns");
  if (p.requestIpv6) dropped.push("request_ipv6");
  return { ok: true, value: { text: `${JSON.stringify(out, null, 2)}\n`, dropped } };
}
