// Apple configuration profiles (`.mobileconfig`, an XML plist) → roam profiles. Pure: text in, profiles out.
// Reads the `com.apple.vpn.managed` payload with VPNType "IKEv2": its IKEv2 dictionary, its DNS dictionary,
// and the certificate payloads it references (com.apple.security.root → CA, com.apple.security.pkcs12 →
// client bundle). Signed (CMS) profiles are refused: roam cannot check Apple's signature chain.

import { emptyProfile, sanitizeName, validateProfile, type AuthMethod, type Imported, type Profile, type Result } from "./model.ts";
import { checkCertificates, checkPkcs12, subjectCommonName } from "./pem.ts";
import { isDict, parsePlist, type PlistDict, type PlistValue } from "./plist.ts";

const ENCR: Record<string, { name: string; aead: boolean }> = {
  "AES-128": { name: "aes128", aead: false },
  "AES-256": { name: "aes256", aead: false },
  "AES-128-GCM": { name: "aes128gcm16", aead: true },
  "AES-256-GCM": { name: "aes256gcm16", aead: true },
  ChaCha20Poly1305: { name: "chacha20poly1305", aead: true },
};
const INTEG: Record<string, string> = { "SHA1-96": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512" };
/** RFC 7296 §3.3.2 / IANA Transform Type 4 numbers → strongSwan names. */
const DH: Record<number, string> = { 14: "modp2048", 15: "modp3072", 16: "modp4096", 19: "ecp256", 20: "ecp384", 21: "ecp521", 31: "x25519" };
/** Apple's DeadPeerDetectionRate: how often the gateway is checked, in seconds. */
const DPD: Record<string, number> = { None: 0, Low: 1800, Medium: 600, High: 60 };

type Fail = { ok: false; error: string };

/** IKESecurityAssociationParameters / ChildSecurityAssociationParameters → strongSwan proposal. */
function proposal(d: PlistValue | undefined, kind: "ike" | "esp", field: string, pfsGroup: boolean): Result<string | undefined> {
  if (d === undefined) return { ok: true, value: undefined };
  if (!isDict(d)) return { ok: false, error: `field "${field}": expected a dictionary` };
  const encName = d.EncryptionAlgorithm ?? "AES-256"; // Apple's documented defaults
  const integName = d.IntegrityAlgorithm ?? "SHA2-256";
  const group = d.DiffieHellmanGroup ?? 14;
  const enc = typeof encName === "string" ? ENCR[encName] : undefined;
  if (!enc) return { ok: false, error: `field "${field}.EncryptionAlgorithm": "${String(encName)}" is not supported (expected one of ${Object.keys(ENCR).join(", ")})` };
  const integ = typeof integName === "string" ? INTEG[integName] : undefined;
  if (!integ) return { ok: false, error: `field "${field}.IntegrityAlgorithm": "${String(integName)}" is not supported (expected one of ${Object.keys(INTEG).join(", ")})` };
  const dh = typeof group === "number" ? DH[group] : undefined;
  if (!dh) return { ok: false, error: `field "${field}.DiffieHellmanGroup": "${String(group)}" is not supported (expected one of ${Object.keys(DH).join(", ")})` };
  const parts = [enc.name];
  // With AEAD the integrity algorithm only names the PRF (RFC 5282 §8: no separate integrity transform).
  if (kind === "ike") parts.push(enc.aead ? `prf${integ}` : integ, dh);
  else {
    if (!enc.aead) parts.push(integ);
    if (pfsGroup) parts.push(dh);
  }
  return { ok: true, value: parts.join("-") };
}

function str(d: PlistDict, key: string, field: string): string | undefined | Fail {
  const v = d[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") return { ok: false, error: `field "${field}": expected a <string>` };
  return v;
}

const HANDLED_IKEV2 = new Set([
  "RemoteAddress", "RemoteIdentifier", "LocalIdentifier", "AuthenticationMethod", "ExtendedAuthEnabled", "AuthName", "AuthPassword",
  "SharedSecret", "PayloadCertificateUUID", "ServerCertificateIssuerCommonName", "IKESecurityAssociationParameters",
  "ChildSecurityAssociationParameters", "DeadPeerDetectionRate", "NATKeepAliveInterval", "DisableMOBIKE", "EnablePFS", "MTU",
]);

/** Every IKEv2 VPN payload of the profile becomes one roam profile. */
export function importMobileconfig(text: string, file: string): Result<Imported[]> {
  const at = (r: Fail): Fail => ({ ok: false, error: `${file}: ${r.error}` });
  // A signed profile is DER CMS SignedData (RFC 5652 §5.1): starts with a SEQUENCE, not with "<".
  if (text.length > 0 && text.charCodeAt(0) === 0x30 && !text.trimStart().startsWith("<")) {
    return { ok: false, error: `${file}: is a signed (CMS) profile; roam cannot verify Apple's signature. Export it unsigned, or strip the signature after checking it: openssl smime -verify -inform der -in "${file}" -noverify -out unsigned.mobileconfig` };
  }
  const root = parsePlist(text);
  if (!root.ok) return { ok: false, error: `${file}: not a valid XML property list: ${root.error}` };
  if (!isDict(root.value)) return { ok: false, error: `${file}: expected a <dict> at the top of the plist` };
  const content = root.value.PayloadContent;
  if (!Array.isArray(content)) return { ok: false, error: `${file}: field "PayloadContent": missing (expected an <array> of payloads)` };
  const payloads = content.filter(isDict);
  const byUuid = new Map<string, PlistDict>();
  for (const p of payloads) if (typeof p.PayloadUUID === "string") byUuid.set(p.PayloadUUID, p);

  const roots: Uint8Array[] = [];
  for (const [i, p] of payloads.entries()) {
    if (p.PayloadType !== "com.apple.security.root" && p.PayloadType !== "com.apple.security.pem" && p.PayloadType !== "com.apple.security.pkcs1") continue;
    if (!(p.PayloadContent instanceof Uint8Array)) return { ok: false, error: `${file}: field "PayloadContent[${i}].PayloadContent": expected <data> holding a certificate` };
    const c = checkCertificates([p.PayloadContent]);
    if (!c.ok) return { ok: false, error: `${file}: field "PayloadContent[${i}].PayloadContent" (${String(p.PayloadDisplayName ?? p.PayloadType)}): ${c.error}` };
    roots.push(p.PayloadContent);
  }

  const out: Imported[] = [];
  for (const [i, vpn] of payloads.entries()) {
    if (vpn.PayloadType !== "com.apple.vpn.managed") continue;
    const base = `PayloadContent[${i}]`;
    if (vpn.VPNType !== "IKEv2") {
      return { ok: false, error: `${file}: field "${base}.VPNType": "${String(vpn.VPNType)}" is not supported (expected IKEv2)` };
    }
    const ike = vpn.IKEv2;
    if (!isDict(ike)) return { ok: false, error: `${file}: field "${base}.IKEv2": missing (expected a <dict>)` };
    const f = (k: string) => `${base}.IKEv2.${k}`;
    const warnings: string[] = [];
    const warn = (field: string, why: string) => warnings.push(`${file}: "${field}" ${why}`);

    const remote = str(ike, "RemoteAddress", f("RemoteAddress"));
    if (typeof remote === "object") return at(remote);
    if (!remote) return { ok: false, error: `${file}: field "${f("RemoteAddress")}": missing (expected the gateway's host name or IP address)` };
    const method = ike.AuthenticationMethod ?? "None";
    const eap = ike.ExtendedAuthEnabled === true || ike.ExtendedAuthEnabled === 1;
    let auth: AuthMethod;
    if (method === "SharedSecret") auth = "psk";
    else if (method === "Certificate") auth = eap ? "cert+eap" : "cert";
    else if (method === "None" && eap) auth = "eap-mschapv2";
    else return { ok: false, error: `${file}: field "${f("AuthenticationMethod")}": "${String(method)}"${method === "None" ? " without ExtendedAuthEnabled" : ""} is not supported (expected SharedSecret, Certificate, or None with ExtendedAuthEnabled)` };
    const display = typeof vpn.UserDefinedName === "string" ? vpn.UserDefinedName : typeof vpn.PayloadDisplayName === "string" ? vpn.PayloadDisplayName : remote;
    const p: Profile = emptyProfile(sanitizeName(display), auth);
    p.gateways = [remote];
    const secrets: Imported["secrets"] = {};
    const assets: Imported["assets"] = { ca: [] };
    for (const [key, set] of [
      ["RemoteIdentifier", (v: string) => (p.remoteId = v)],
      ["LocalIdentifier", (v: string) => (p.localId = v)],
      ["AuthName", (v: string) => (p.eapIdentity = v)],
      ["AuthPassword", (v: string) => (secrets.eapPassword = v)],
      ["SharedSecret", (v: string) => (secrets.psk = v)],
    ] as const) {
      const v = str(ike, key, f(key));
      if (typeof v === "object") return at(v);
      if (v !== undefined) set(v);
    }
    if (auth === "psk") delete secrets.eapPassword;

    const pfs = ike.EnablePFS === true || ike.EnablePFS === 1;
    const ikeP = proposal(ike.IKESecurityAssociationParameters, "ike", f("IKESecurityAssociationParameters"), false);
    if (!ikeP.ok) return at(ikeP);
    const espP = proposal(ike.ChildSecurityAssociationParameters ?? (pfs ? {} : undefined), "esp", f("ChildSecurityAssociationParameters"), pfs);
    if (!espP.ok) return at(espP);
    p.ike = ikeP.value;
    p.esp = espP.value;

    if (ike.DeadPeerDetectionRate !== undefined) {
      const d = DPD[String(ike.DeadPeerDetectionRate)];
      if (d === undefined) return { ok: false, error: `${file}: field "${f("DeadPeerDetectionRate")}": "${String(ike.DeadPeerDetectionRate)}" (expected None, Low, Medium or High)` };
      p.dpd = d;
    }
    for (const [key, prop, lo, hi] of [["NATKeepAliveInterval", "natKeepalive", 0, 3600], ["MTU", "mtu", 576, 9000]] as const) {
      const v = ike[key];
      if (v === undefined) continue;
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) return { ok: false, error: `${file}: field "${f(key)}": expected an <integer> ${lo}-${hi}` };
      p[prop] = v;
    }
    if (ike.DisableMOBIKE === true || ike.DisableMOBIKE === 1) p.mobike = false; // absent or 0: MOBIKE offered (RFC 4555)

    // Certificates: the root payloads are the CA; ServerCertificateIssuerCommonName picks among them.
    const issuer = str(ike, "ServerCertificateIssuerCommonName", f("ServerCertificateIssuerCommonName"));
    if (typeof issuer === "object") return at(issuer);
    const picked = issuer === undefined ? roots : roots.filter((c) => subjectCommonName(c) === issuer);
    if (issuer !== undefined && picked.length === 0) warn(f("ServerCertificateIssuerCommonName"), `"${issuer}" names no certificate payload of this profile; add the CA with ca = [...]`);
    assets.ca.push(...picked);
    if (auth !== "psk" && assets.ca.length === 0) warn("com.apple.security.root", "payload is missing: the gateway's CA must be added to the profile before it can connect");

    const certRef = str(ike, "PayloadCertificateUUID", f("PayloadCertificateUUID"));
    if (typeof certRef === "object") return at(certRef);
    if (certRef !== undefined) {
      const pk = byUuid.get(certRef);
      if (!pk || pk.PayloadType !== "com.apple.security.pkcs12") return { ok: false, error: `${file}: field "${f("PayloadCertificateUUID")}": "${certRef}" names no com.apple.security.pkcs12 payload of this profile` };
      if (!(pk.PayloadContent instanceof Uint8Array) || pk.PayloadContent[0] !== 0x30) return { ok: false, error: `${file}: payload "${certRef}": field "PayloadContent": expected <data> holding a PKCS#12 file` };
      const check = checkPkcs12(pk.PayloadContent, typeof pk.Password === "string" ? pk.Password : undefined);
      if (check.error) return { ok: false, error: `${file}: payload "${certRef}": field "PayloadContent": ${check.error}` };
      if (check.warning) warn(`payload "${certRef}"`, check.warning);
      assets.pkcs12 = pk.PayloadContent;
      if (typeof pk.Password === "string") secrets.keyPassphrase = pk.Password;
    } else if (auth === "cert" || auth === "cert+eap") {
      warn(f("PayloadCertificateUUID"), "is missing: set pkcs12 or client_cert/client_key in the profile");
    }

    for (const key of Object.keys(ike)) if (!HANDLED_IKEV2.has(key)) warn(f(key), "is not supported by roam; ignored");
    const dns = vpn.DNS;
    if (dns !== undefined) {
      if (!isDict(dns)) return { ok: false, error: `${file}: field "${base}.DNS": expected a <dict>` };
      const servers = dns.ServerAddresses;
      if (servers !== undefined) {
        if (!Array.isArray(servers) || !servers.every((s) => typeof s === "string")) return { ok: false, error: `${file}: field "${base}.DNS.ServerAddresses": expected an <array> of <string>` };
        p.dnsServers = servers as string[];
      }
      for (const key of Object.keys(dns)) if (key !== "ServerAddresses") warn(`${base}.DNS.${key}`, "is not supported: roam uses the DNS domains the gateway assigns");
    }
    for (const key of ["OnDemandEnabled", "OnDemandRules", "Proxies", "VendorConfig", "IPv4"]) {
      if (vpn[key] !== undefined) warn(`${base}.${key}`, "is not supported by roam; ignored");
    }
    const bad = validateProfile(p);
    if (bad) return { ok: false, error: `${file}: ${base}: ${bad}` };
    out.push({ profile: p, secrets, assets, warnings });
  }
  if (out.length === 0) return { ok: false, error: `${file}: no com.apple.vpn.managed payload with VPNType IKEv2 (expected one in PayloadContent)` };
  return { ok: true, value: out };
}
