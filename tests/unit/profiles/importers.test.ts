// Importers: every documented field of the fixtures (written for these tests from each format's
// documentation), the warnings for what roam does not apply, and refusals that name file and field/line.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodePemCertificates } from "../../../core/x509/pem.ts";
import { importMobileconfig } from "../../../cli/profiles/import-mobileconfig.ts";
import { exportSswan, importSswan } from "../../../cli/profiles/import-sswan.ts";
import { importSwanctl } from "../../../cli/profiles/import-swanctl.ts";
import { importToml } from "../../../cli/profiles/import.ts";
import { profileToTable } from "../../../cli/profiles/model.ts";
import { stringify } from "smol-toml";
import { parsePlist } from "../../../cli/profiles/plist.ts";
import { decodePsk } from "../../../cli/profiles/secrets.ts";

const fx = (f: string) => readFileSync(join(import.meta.dir, "fixtures", f), "utf8");
const caDer = (decodePemCertificates(new Uint8Array(readFileSync(join(import.meta.dir, "fixtures/ca.pem")))) as { ok: true; value: Uint8Array[] }).value[0]!;
const p12 = new Uint8Array(readFileSync(join(import.meta.dir, "fixtures/client.p12")));

function ok<T>(r: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
function err<T>(r: { ok: true; value: T } | { ok: false; error: string }): string {
  if (r.ok) throw new Error("expected a failure");
  return r.error;
}

test(".sswan ikev2-eap: every field", () => {
  const r = ok(importSswan(fx("eap.sswan"), "eap.sswan"));
  expect(r.profile).toEqual({
    name: "Office-EAP", uuid: "2f0c4b4e-6d1a-4c37-9b1e-6a3f0d5e8c21", gateways: ["vpn.example.net"], port: 4500, auth: "eap-mschapv2",
    remoteId: "vpn.example.net", eapIdentity: "alice", ca: [], ike: "aes256gcm16-prfsha384-ecp384", esp: "aes256gcm16",
    subnets: ["10.10.0.0/16", "2001:db8:10::/48"], excludedSubnets: ["10.10.99.0/24"], requestIpv6: false, dns: "use",
    dnsServers: ["192.0.2.53", "2001:db8::53"], mtu: 1400, natKeepalive: 30,
  });
  expect(r.assets.ca).toEqual([caDer]);
  expect(r.secrets).toEqual({ eapPassword: "correct horse" }); // local.shared_secret
  const w = r.warnings.join("\n");
  for (const f of ["remote.revocation", "split-tunneling.block-ipv6", "ipv6-transport"]) expect(w).toContain(`"${f}"`);
  expect(w).not.toContain("block-ipv4"); // false: nothing to warn about
  expect(w).not.toContain("certreq"); // true is what roam does
});

test(".sswan ikev2-cert-eap: local id, p12, rsa-pss; unknown keys warned", () => {
  const r = ok(importSswan(fx("cert-eap.sswan"), "x.sswan"));
  expect(r.profile.auth).toBe("cert+eap");
  expect(r.profile.localId).toBe("alice@example.com");
  expect(r.profile.remoteId).toBe("CN=gw.lab.example");
  expect(r.assets.pkcs12).toEqual(p12);
  expect(r.profile.rsaPss).toBe(true);
  expect(r.warnings.some((w) => w.includes('"local.rsa-pss"'))).toBe(false);
  expect(r.warnings.some((w) => w.includes('"apps"'))).toBe(true);
});

test(".sswan local.shared_secret is the EAP password of the user-and-password types only", () => {
  const o = JSON.parse(fx("cert.sswan"));
  o.local.shared_secret = "not for certificates";
  const r = ok(importSswan(JSON.stringify(o), "c.sswan"));
  expect(r.secrets).toEqual({});
  expect(r.warnings.some((w) => w.includes('"local.shared_secret"') && w.includes("ikev2-cert"))).toBe(true);
});

test(".sswan refusals name the file and field", () => {
  const base = JSON.parse(fx("eap.sswan"));
  const bad = (mut: (o: any) => void) => {
    const o = structuredClone(base);
    mut(o);
    return err(importSswan(JSON.stringify(o), "p.sswan"));
  };
  expect(err(importSswan("{ not json", "p.sswan"))).toMatch(/^p\.sswan: not valid JSON/);
  expect(bad((o) => (o.local.shared_secret = 7))).toBe('p.sswan: field "local.shared_secret": expected the EAP password (a non-empty string)');
  expect(bad((o) => delete o.remote.addr)).toBe('p.sswan: field "remote.addr": missing (expected the gateway\'s host name or IP address)');
  expect(bad((o) => (o.type = "ikev2-psk"))).toContain('field "type": unknown type "ikev2-psk"');
  expect(bad((o) => (o.type = "ikev2-eap-tls"))).toContain('field "type": "ikev2-eap-tls"');
  expect(bad((o) => (o["ike-proposal"] = "aes256-sha256-modp1"))).toContain('field "ike-proposal": unknown or unsupported algorithm "modp1"');
  expect(bad((o) => (o["esp-proposal"] = "aes256"))).toContain('field "esp-proposal"');
  expect(bad((o) => (o.remote.cert = "AAAA"))).toContain('field "remote.cert": does not decode as an X.509 certificate');
  expect(bad((o) => (o.remote.cert = "%%%"))).toContain('field "remote.cert": is not base64');
  expect(bad((o) => (o["split-tunneling"].subnets = ["10.0.0.0/33"]))).toContain('field "split-tunneling.subnets": "10.0.0.0/33"');
  expect(bad((o) => delete o.local)).toContain('field "local.eap_id": missing');
  expect(bad((o) => (o.uuid = "nope"))).toContain('field "uuid": "nope" is not a UUID');
  expect(bad((o) => (o.mtu = 99999))).toContain('field "mtu"');
});

test(".sswan export then import gives the same profile", () => {
  for (const f of ["eap.sswan", "cert-eap.sswan"]) {
    const a = ok(importSswan(fx(f), f));
    const text = ok(exportSswan(a.profile, a.assets.ca, a.assets.pkcs12, "00000000-0000-4000-8000-000000000000")).text;
    const b = ok(importSswan(text, "again.sswan"));
    expect(b.profile).toEqual(a.profile);
    expect(b.assets).toEqual(a.assets);
  }
});

test(".mobileconfig: the IKEv2 dictionary, DNS and certificate payloads", () => {
  const [r] = ok(importMobileconfig(fx("office.mobileconfig"), "o.mobileconfig"));
  expect(r!.profile).toEqual({
    name: "Example-Office", gateways: ["vpn.example.org"], port: 500, auth: "cert+eap", remoteId: "vpn.example.org", localId: "alice@example.org",
    eapIdentity: "alice", ca: [], ike: "aes256gcm16-prfsha384-ecp384", esp: "aes128-sha256-x25519", subnets: [], excludedSubnets: [],
    requestIpv6: false, dns: "use", dnsServers: ["10.0.0.53"], dpd: 600, natKeepalive: 25, mtu: 1380, mobike: false,
  });
  expect(r!.secrets).toEqual({ eapPassword: "s3cret-eap-<pw>", keyPassphrase: "p12-pass" });
  expect(r!.assets.ca).toEqual([caDer]);
  expect(r!.assets.pkcs12).toEqual(p12);
  const w = r!.warnings.join("\n");
  expect(w).toContain('"PayloadContent[2].DNS.SearchDomains"');
  expect(w).toContain('"PayloadContent[2].IKEv2.UseConfigurationAttributeInternalIPSubnet"');
  expect(w).not.toContain("DisableMOBIKE"); // 1: mobike = false
});

test(".mobileconfig: SharedSecret profile, MOBIKE by default", () => {
  const xml = fx("office.mobileconfig")
    .replace("<string>Certificate</string>", "<string>SharedSecret</string>")
    .replace("<key>ExtendedAuthEnabled</key>\n\t\t\t\t<true/>", "<key>SharedSecret</key>\n\t\t\t\t<string>psk-text</string>")
    .replace(/<key>DisableMOBIKE<\/key>\s*<integer>1<\/integer>/, "");
  const [r] = ok(importMobileconfig(xml, "o.mobileconfig"));
  expect(r!.profile.auth).toBe("psk");
  expect(r!.secrets.psk).toBe("psk-text");
  expect(r!.secrets.eapPassword).toBeUndefined();
  expect(r!.profile.mobike).toBeUndefined(); // DisableMOBIKE absent: offered
  expect(r!.warnings.some((x) => x.includes("DisableMOBIKE"))).toBe(false);
});

test(".mobileconfig refusals", () => {
  const x = fx("office.mobileconfig");
  expect(err(importMobileconfig(x.replace("</dict>\n</plist>", "</plist>"), "m"))).toMatch(/^m: not a valid XML property list: line \d+:/);
  expect(err(importMobileconfig(x.replace("<string>vpn.example.org</string>", "<string></string>"), "m"))).toContain('field "PayloadContent[2].IKEv2.RemoteAddress": missing');
  expect(err(importMobileconfig(x.replace("<integer>20</integer>", "<integer>2</integer>"), "m"))).toContain('"PayloadContent[2].IKEv2.IKESecurityAssociationParameters.DiffieHellmanGroup": "2" is not supported');
  expect(err(importMobileconfig(x.replace("<string>IKEv2</string>", "<string>L2TP</string>"), "m"))).toContain('"PayloadContent[2].VPNType": "L2TP"');
  expect(err(importMobileconfig(x.replace(/(<data>\s*)M/, "$1Q"), "m"))).toContain('field "PayloadContent[0].PayloadContent" (Roam Test Root CA): does not decode');
  expect(err(importMobileconfig("0\x82\x01\x00 signed", "s.mobileconfig"))).toContain("signed (CMS) profile");
});

test("plist reader: values, entities, and line numbers in errors", () => {
  const r = ok(parsePlist(`<?xml version="1.0"?>\n<plist version="1.0"><dict><key>a&#x41;</key><array><integer>-7</integer><real>1.5</real><false/><date>2026-01-02T03:04:05Z</date><data>AAEC</data><string/></array></dict></plist>`));
  expect(r).toEqual({ aA: [-7, 1.5, false, new Date("2026-01-02T03:04:05Z"), new Uint8Array([0, 1, 2]), ""] });
  expect(err(parsePlist("<plist>\n<dict>\n<key>x</key>\n<integer>1.5</integer></dict></plist>"))).toBe('line 4: <integer> "1.5" is not an integer');
  expect(err(parsePlist("<plist><dict><string>x</string></dict></plist>"))).toContain("expected <key> or </dict>");
  expect(err(parsePlist('<!DOCTYPE plist [<!ENTITY x "y">]><plist/>'))).toContain("internal subset");
  expect(err(parsePlist("<plist><string>&bogus;</string></plist>"))).toContain('unknown entity "&bogus;"');
});

test("swanctl.conf: connections, children, secrets, warnings with line numbers", () => {
  const [psk, eap, ...rest] = ok(importSwanctl(fx("swanctl.conf"), "swanctl.conf", { swanctlDir: "/etc/swanctl" }));
  expect(rest).toEqual([]);
  expect(psk!.profile).toEqual({
    name: "home-psk", gateways: ["203.0.113.9", "203.0.113.10"], port: 4500, auth: "psk", localId: "client@example.com", remoteId: "gw.example.com",
    ca: [], ike: "aes128gcm16-prfsha256-x25519", esp: "aes128gcm16,aes256-sha256", subnets: ["192.168.50.0/24", "192.168.51.0/24"],
    excludedSubnets: [], requestIpv6: true, dns: "use", dnsServers: [], dpd: 120, mobike: false,
  });
  expect(psk!.secrets).toEqual({ psk: "0x3c3f2a5b7d9e11ff" });
  const w = psk!.warnings.join("\n");
  // fragmentation = yes is what roam does (RFC 7383): no warning; no is named.
  expect(w).not.toContain("fragmentation");
  const [noFrag] = ok(importSwanctl(fx("swanctl.conf").replace("fragmentation = yes", "fragmentation = no"), "swanctl.conf"));
  expect(noFrag!.warnings).toContain('swanctl.conf: line 12: "connections.home-psk.fragmentation" = no is not stored in the profile: roam offers IKE fragmentation (RFC 7383); connect with --no-fragmentation');
  expect(w).toContain('line 25: "connections.home-psk.children.home.start_action"');
  expect(w).toContain('line 67: section "pools"');
  expect(w).toContain('line 72: "include conf.d/*.conf" ignored');
  expect(eap!.profile.auth).toBe("eap-mschapv2");
  expect(eap!.profile.eapIdentity).toBe("carol");
  expect(eap!.profile.ca).toEqual(["/etc/swanctl/x509ca/work-ca.pem"]);
  expect(eap!.profile.subnets).toEqual(["0.0.0.0/0"]);
  expect(eap!.secrets).toEqual({ eapPassword: "c4rol's password" });
  expect(eap!.warnings.some((x) => x.includes("children.extra") && x.includes("first CHILD_SA only"))).toBe(true);
});

test("swanctl.conf cert+eap: local-1 pubkey then local-2 eap-mschapv2 (RFC 4739); export round trip", () => {
  const [r, ...rest] = ok(importSwanctl(fx("cert-eap-swanctl.conf"), "swanctl.conf", { swanctlDir: "/etc/swanctl" }));
  expect(rest).toEqual([]);
  expect(r!.profile).toEqual({
    name: "lab", gateways: ["vpn.lab.example"], port: 500, auth: "cert+eap", localId: "C=DE, O=Roam Test, CN=ecgw.roam.test", eapIdentity: "dave",
    remoteId: "vpn.lab.example", ca: ["/etc/swanctl/x509ca/lab-ca.pem"], clientCert: "/etc/swanctl/x509/client.pem", clientKey: "/etc/swanctl/ecdsa/client.key",
    subnets: ["10.20.0.0/16"], excludedSubnets: [], requestIpv6: false, dns: "use", dnsServers: [],
  });
  expect(r!.secrets).toEqual({ eapPassword: "d4ve's password" });
  // The EAP round's own id is not what roam sends there: named, not silently dropped.
  expect(r!.warnings).toEqual(['swanctl.conf: line 13: "connections.lab.local-2.id" = dave@lab.example is not sent: roam sends the EAP identity (dave) as the second round\'s IDi']);
  // Without eap_id, the EAP round's id is the EAP identity; the first round keeps the certificate's.
  const [noEapId] = ok(importSwanctl(fx("cert-eap-swanctl.conf").replace("      eap_id = dave\n", ""), "swanctl.conf"));
  expect([noEapId!.profile.localId, noEapId!.profile.eapIdentity]).toEqual(["C=DE, O=Roam Test, CN=ecgw.roam.test", "dave@lab.example"]);
  expect(noEapId!.warnings).toEqual([]);
  // auth = rsa/pss signs with RSASSA-PSS (RFC 7427).
  const [pss] = ok(importSwanctl(fx("cert-eap-swanctl.conf").replace("auth = pubkey\n      certs", "auth = rsa/pss\n      certs"), "swanctl.conf"));
  expect([pss!.profile.auth, pss!.profile.rsaPss]).toEqual(["cert+eap", true]);
  // A TOML export (the model's table) reads back as the same profile.
  const back = ok(importToml(stringify(profileToTable(r!.profile)), "lab.toml"));
  expect(back[0]!.profile).toEqual(r!.profile);
});

test("swanctl.conf refusals name the line", () => {
  const c = fx("swanctl.conf");
  expect(err(importSwanctl(c.replace("  work-eap {", "  work-eap {{"), "s.conf"))).toMatch(/^s\.conf: line 29: cannot read/);
  expect(err(importSwanctl(c.replace("10.9.0.0/24\n  }\n}", "10.9.0.0/24\n  }"), "s.conf"))).toBe('s.conf: line 67: section "pools" is not closed (expected "}")');
  expect(err(importSwanctl(c.replace("aes128gcm16-prfsha256-x25519", "aes128gcm16-x25519"), "s.conf"))).toContain('line 7: "connections.home-psk.proposals": ike proposal "aes128gcm16-x25519" with an AEAD cipher needs a prf');
  expect(err(importSwanctl(c.replace("esp_proposals = aes128gcm16", "esp_proposals = rot13"), "s.conf"))).toContain("line 24:");
  expect(err(importSwanctl(c.replace("    remote_addrs = vpn.work.example\n", ""), "s.conf"))).toContain('line 29: connection "work-eap": "remote_addrs" is missing');
  expect(err(importSwanctl(c.replace("auth = eap-mschapv2", "auth = eap-tls"), "s.conf"))).toContain('local auth "eap-tls" is not supported');
  expect(err(importSwanctl("secrets {\n}\n", "s.conf"))).toContain('no "connections" section');
});

test("PSK text in strongSwan's syntax", () => {
  expect(decodePsk("0x3c3f")).toEqual(new Uint8Array([0x3c, 0x3f]));
  expect(decodePsk("0sAAEC")).toEqual(new Uint8Array([0, 1, 2]));
  expect(decodePsk("plain")).toEqual(new TextEncoder().encode("plain"));
  expect(decodePsk("0s%%")).toBeNull();
  // charon takes either prefix in any case (strcasepfx).
  expect(decodePsk("0X3C3F")).toEqual(new Uint8Array([0x3c, 0x3f]));
  expect(decodePsk("0SAAEC")).toEqual(new Uint8Array([0, 1, 2]));
});

test("swanctl.conf EAP secrets in strongSwan's syntax: 0x/0s decode to the password charon uses", () => {
  const conf = (secret: string) => fx("swanctl.conf").replace(`secret = "c4rol's password"`, `secret = ${secret}`);
  const pw = (secret: string) => ok(importSwanctl(conf(secret), "s.conf"))[1]!.secrets.eapPassword;
  expect(pw("0s" + Buffer.from("c4rol's password").toString("base64"))).toBe("c4rol's password");
  expect(pw("0x" + Buffer.from("pässword").toString("hex"))).toBe("pässword");
  expect(pw("plain-text")).toBe("plain-text");
  expect(err(importSwanctl(conf("0x80ff"), "s.conf"))).toContain('"secrets.eap-carol.secret": not valid 0x-hex or 0s-base64 text');
});
