// The store and the commands: file modes, secrets never printed, all-or-nothing import, uuid replacement,
// TOML export round trip, and the profile → ConnectRequest conversion.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { profileToConnectRequest } from "../../../cli/profiles/connect.ts";
import { importSwanctl } from "../../../cli/profiles/import-swanctl.ts";
import { resolveSecrets } from "../../../cli/profiles/secrets.ts";
import { loadProfile, readSecrets, saveProfile } from "../../../cli/profiles/store.ts";
import { IdType } from "../../../core/wire/constants.ts";

const tmp = mkdtempSync(join(tmpdir(), "roam-profiles-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fx = (f: string) => join(import.meta.dir, "fixtures", f);
let n = 0;

function home() {
  const xdg = join(tmp, `h${n++}`);
  const store = join(xdg, "roam", "profiles");
  const dirs = { user: store, system: join(tmp, "nosystem"), systemFirst: false };
  const run = (...args: string[]) => {
    const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "cli-harness.ts"), ...args], {
      env: { PATH: process.env.PATH, HOME: tmp, XDG_CONFIG_HOME: xdg, TEST_SYSTEM_DIR: dirs.system },
    });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };
  return { xdg, store, dirs, run };
}
const mode = (p: string) => statSync(p).mode & 0o777;

test("import writes 0700 directories, 0600 secrets and the certificates; nothing secret is printed", () => {
  const h = home();
  const r = h.run("import", fx("office.mobileconfig"));
  expect(r.code).toBe(0);
  expect(r.out).toContain("imported Example-Office");
  expect(r.err).toContain('roam: warning: '); // DNS.SearchDomains and friends
  expect(mode(h.store)).toBe(0o700);
  expect(mode(join(h.store, "Example-Office.d"))).toBe(0o700);
  expect(mode(join(h.store, "Example-Office.secrets"))).toBe(0o600);
  expect(mode(join(h.store, "Example-Office.d/client.p12"))).toBe(0o600);
  expect(readFileSync(join(h.store, "Example-Office.d/ca.pem"), "utf8")).toBe(readFileSync(fx("ca.pem"), "utf8"));
  expect(readSecrets(h.store, "Example-Office")).toEqual({ eapPassword: "s3cret-eap-<pw>", keyPassphrase: "p12-pass" });
  const outputs = [h.run("profiles", "list"), h.run("profiles", "list", "--json"), h.run("profiles", "show", "Example-Office"),
    h.run("profiles", "show", "Example-Office", "--json"), h.run("profiles", "export", "Example-Office"), h.run("profiles", "export", "Example-Office", "--format", "sswan")];
  for (const o of outputs) {
    expect(o.code).toBe(0);
    expect(o.out + o.err).not.toContain("s3cret");
    expect(o.out + o.err).not.toContain("p12-pass");
  }
  expect(JSON.parse(outputs[1]!.out)).toEqual([{ name: "Example-Office", gateway: ["vpn.example.org"], auth: "cert+eap", path: join(h.store, "Example-Office.toml"), secrets: true }]);
  expect(JSON.parse(outputs[3]!.out).pkcs12).toBe("client.p12");
});

test("export --with-secrets only into a new 0600 file; TOML export → import gives the same profile", () => {
  const h = home();
  expect(h.run("import", fx("office.mobileconfig"), "--name", "a").code).toBe(0);
  const refused = h.run("profiles", "export", "a", "--with-secrets");
  expect(refused.code).toBe(2);
  expect(refused.err).toContain("--with-secrets needs --output FILE");
  const out = join(h.xdg, "a-export.toml");
  expect(h.run("profiles", "export", "a", "--with-secrets", "--output", out).code).toBe(0);
  expect(mode(out)).toBe(0o600);
  expect(readFileSync(out, "utf8")).toContain("s3cret-eap-<pw>");
  expect(h.run("profiles", "export", "a", "--output", out).code).toBe(2); // never overwrites
  expect(h.run("import", out, "--name", "b").code).toBe(0);
  const a = JSON.parse(h.run("profiles", "show", "a", "--json").out);
  const b = JSON.parse(h.run("profiles", "show", "b", "--json").out);
  for (const x of [a, b]) delete x.name, delete x.path;
  expect(b).toEqual(a);
  expect(readSecrets(h.store, "b")).toEqual(readSecrets(h.store, "a"));
  expect(readFileSync(join(h.store, "b.d/ca.pem"), "utf8")).toBe(readFileSync(join(h.store, "a.d/ca.pem"), "utf8"));
  expect(readFileSync(join(h.store, "b.d/client.p12"))).toEqual(readFileSync(fx("client.p12")));
  const plain = h.run("profiles", "export", "a");
  expect(plain.out).not.toContain("pkcs12");
  expect(plain.err).toContain("roam: warning: export: pkcs12 (the client key bundle travels only with --with-secrets); not exported");
});

test("re-importing the same uuid replaces the profile; a name clash needs --force; rm removes everything", () => {
  const h = home();
  expect(h.run("import", fx("eap.sswan")).code).toBe(0);
  const edited = join(h.xdg, "edited.sswan");
  writeFileSync(edited, readFileSync(fx("eap.sswan"), "utf8").replace('"Office EAP"', '"Renamed"').replace('"mtu": 1400', '"mtu": 1300'));
  expect(h.run("import", edited).code).toBe(0);
  expect(readdirSync(h.store).filter((f) => f.endsWith(".toml"))).toEqual(["Office-EAP.toml"]);
  expect(loadProfile("Office-EAP", h.dirs).profile.mtu).toBe(1300);
  const clash = join(h.xdg, "clash.sswan");
  writeFileSync(clash, readFileSync(fx("eap.sswan"), "utf8").replace("2f0c4b4e", "3f0c4b4e"));
  const r = h.run("import", clash);
  expect(r.code).toBe(2);
  expect(r.err).toContain('profile "Office-EAP" exists');
  expect(h.run("import", clash, "--force").code).toBe(0);
  expect(h.run("profiles", "rm", "Office-EAP").code).toBe(0);
  expect(readdirSync(h.store)).toEqual([]);
  expect(h.run("profiles", "show", "Office-EAP").code).toBe(2);
});

test("an invalid file is refused with file and field named, and nothing is written", () => {
  const h = home();
  for (const [name, text, want] of [
    ["bad.sswan", '{"uuid":"2f0c4b4e-6d1a-4c37-9b1e-6a3f0d5e8c21","type":"ikev2-eap","remote":{}}', 'field "remote.addr": missing'],
    ["bad.mobileconfig", "<plist><dict>", "not a valid XML property list"],
    ["swanctl.conf", "connections {\n  x {\n    remote_addrs = a.example\n    local {\n      auth = psk\n    }\n    proposals = aes999\n  }\n}\n", 'line 7: "connections.x.proposals"'],
  ] as const) {
    const f = join(h.xdg + "-in", name);
    Bun.spawnSync(["mkdir", "-p", h.xdg + "-in"]);
    writeFileSync(f, text);
    const r = h.run("import", f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(f);
    expect(r.err).toContain(want);
    expect(r.err.trim().split("\n").length).toBe(1);
    expect(existsSync(h.store)).toBe(false);
  }
});

test("a secrets file other users can read is refused with the chmod to run", () => {
  const h = home();
  saveProfile(h.store, { ...loadFixturePsk(), name: "p" }, { psk: "x" }, { ca: [] });
  const path = join(h.store, "p.secrets");
  chmodSync(path, 0o640);
  expect(() => readSecrets(h.store, "p")).toThrow(`${path} is readable by other users (mode 640); run chmod 600 "${path}"`);
});

function loadFixturePsk() {
  const r = importSwanctl(readFileSync(fx("swanctl.conf"), "utf8"), "swanctl.conf");
  if (!r.ok) throw new Error(r.error);
  return r.value[0]!.profile;
}

test("profileToConnectRequest: PSK profile → request, unapplied fields listed one per line", async () => {
  const p = loadFixturePsk();
  const secrets = await resolveSecrets(p, { passwordStdin: false, readStdinLine: async () => "", env: {}, stored: () => ({ psk: "0x3c3f2a5b7d9e11ff" }) });
  const { request, unsupported } = profileToConnectRequest(p, secrets, { background: true, dir: "/nonexistent" });
  expect(request.gatewayHost).toBe("203.0.113.9");
  expect(request.moreGateways).toEqual(["203.0.113.10"]);
  expect(request.gatewayPort).toBe(4500);
  expect(request.credentials).toEqual({ kind: "psk", secret: new Uint8Array([0x3c, 0x3f, 0x2a, 0x5b, 0x7d, 0x9e, 0x11, 0xff]) });
  expect(request.remoteId.type).toBe(IdType.FQDN);
  expect(request.localId?.type).toBe(IdType.RFC822_ADDR);
  expect(request.remoteSelectors.length).toBe(2);
  expect(request.ikeProposals.length).toBe(1);
  expect(request.espProposals.length).toBe(2);
  expect(request.requestIp6).toBe(true);
  expect(request.background).toBe(true);
  expect(request.dpdSeconds).toBe(120);
  expect(unsupported).toEqual([]);
  // Environment beats the file; --password-stdin beats both.
  const env = await resolveSecrets(p, { passwordStdin: false, readStdinLine: async () => "", env: { ROAM_PSK: "env" }, stored: () => ({ psk: "file" }) });
  expect(env.psk).toEqual(new TextEncoder().encode("env"));
  const stdin = await resolveSecrets(p, { passwordStdin: true, readStdinLine: async () => "in", env: { ROAM_PSK: "env" }, stored: () => ({ psk: "file" }) });
  expect(stdin.psk).toEqual(new TextEncoder().encode("in"));
});

test("profileToConnectRequest: EAP needs a CA and a password; cert or cert+eap without client_cert/client_key is refused in one line", () => {
  const h = home();
  const r = importSwanctl(readFileSync(fx("swanctl.conf"), "utf8"), "swanctl.conf");
  if (!r.ok) throw new Error(r.error);
  const eap = { ...r.value[1]!.profile, ca: [fx("ca.pem")], excludedSubnets: ["10.1.0.0/16"], dns: "ignore" as const, up: "/bin/true" };
  const { request, unsupported } = profileToConnectRequest(eap, { eapPassword: "pw" }, { background: false, dir: h.store });
  expect(request.credentials).toEqual({ kind: "eap-mschapv2", identity: "carol", password: "pw" });
  expect(request.trustAnchors.length).toBe(1);
  // excluded_subnets, dns = "ignore" and the up hook are applied now: no warnings for them.
  expect(request.excludedSubnets.length).toBe(1);
  expect(request.dnsMode).toBe("ignore");
  expect(unsupported).toEqual([]);
  expect(request.upHook).toBe("/bin/true"); // hooks are applied now, so no warning for them
  expect(unsupported.some((u) => u.startsWith("up"))).toBe(false);
  expect(() => profileToConnectRequest({ ...eap, ca: [] }, { eapPassword: "pw" }, { background: false, dir: h.store })).toThrow("EAP needs a CA");
  expect(() => profileToConnectRequest(eap, {}, { background: false, dir: h.store })).toThrow("no EAP password");
  expect(() => profileToConnectRequest({ ...eap, auth: "cert" }, {}, { background: false, dir: h.store })).toThrow('auth "cert" (client certificate) is not supported without client_cert and client_key');
  expect(() => profileToConnectRequest({ ...eap, auth: "cert+eap" }, { eapPassword: "pw" }, { background: false, dir: h.store })).toThrow('auth "cert+eap" (client certificate) is not supported without client_cert and client_key');
});

test("profileToConnectRequest: a cert+eap profile → certificate credentials with an EAP round (RFC 4739)", async () => {
  const h = home();
  const x509 = join(import.meta.dir, "../x509/fixtures");
  const r = importSwanctl(readFileSync(fx("cert-eap-swanctl.conf"), "utf8"), "swanctl.conf");
  if (!r.ok) throw new Error(r.error);
  // Keys are secrets: mode 0600 copies (the fixtures are checked out 0644).
  let copies = 0;
  const key = (n: string) => {
    const to = join(tmp, `key-${copies++}-${n}`);
    writeFileSync(to, readFileSync(join(x509, n)), { mode: 0o600 });
    return to;
  };
  const p = { ...r.value[0]!.profile, ca: [join(x509, "root-rsa.crt")], clientCert: join(x509, "gw-p256.crt"), clientKey: key("gw-p256.key") };
  // The EAP password is asked for as for an eap-mschapv2 profile.
  const secrets = await resolveSecrets(p, { passwordStdin: false, readStdinLine: async () => "", env: { ROAM_PASSWORD: "from-env" }, stored: () => ({}) });
  const { request, unsupported } = profileToConnectRequest(p, secrets, { background: false, dir: h.store });
  expect(request.credentials.kind).toBe("cert+eap");
  if (request.credentials.kind !== "cert+eap") return;
  expect([request.credentials.identity, request.credentials.password, request.credentials.certChain.length]).toEqual(["dave", "from-env", 1]);
  expect(request.localId).toEqual({ type: IdType.DER_ASN1_DN, data: request.localId!.data, text: "C=DE, O=Roam Test, CN=ecgw.roam.test" });
  expect(unsupported).toEqual([]);
  expect(() => profileToConnectRequest(p, {}, { background: false, dir: h.store })).toThrow("no EAP password");
  expect(() => profileToConnectRequest({ ...p, ca: [] }, secrets, { background: false, dir: h.store })).toThrow("cert+eap needs a CA");
  // rsa_pss (.sswan "rsa-pss"): RSASSA-PSS with an RSA key; named and not used with an EC key.
  const rsa = profileToConnectRequest({ ...p, rsaPss: true, clientCert: join(x509, "gw-rsa2048.crt"), clientKey: key("gw-rsa2048.key") }, secrets, { background: false, dir: h.store });
  expect(rsa.request.credentials.kind === "cert+eap" && rsa.request.credentials.rsaPss).toBe(true);
  expect(rsa.unsupported).toEqual([]);
  const ec = profileToConnectRequest({ ...p, rsaPss: true }, secrets, { background: false, dir: h.store });
  expect(ec.request.credentials.kind === "cert+eap" && ec.request.credentials.rsaPss).toBe(false);
  expect(ec.unsupported).toEqual(["rsa_pss is not used: the client key is ec, RSA-PSS needs an RSA key"]);
  // A key other users can read is refused, naming the chmod.
  const open = key("gw-p256.key");
  chmodSync(open, 0o640);
  expect(() => profileToConnectRequest({ ...p, clientKey: open }, secrets, { background: false, dir: h.store })).toThrow(`client_key "${open}" is readable by other users (mode 640); run chmod 600 "${open}"`);
});

test("rekey tuning fields: rekey, ike_rekey, rekey_bytes, rekey_packets reach the request; bad values are refused naming the field", async () => {
  const { profileFromTable } = await import("../../../cli/profiles/model.ts");
  const base = { name: "office", gateway: ["vpn.example.com"], auth: "psk", remote_id: "vpn.example.com" };
  const r = profileFromTable({ ...base, rekey: 1800, ike_rekey: 7200, rekey_bytes: 1_000_000_000, rekey_packets: 5_000_000 });
  if (!r.ok) throw new Error(r.error);
  const { request } = profileToConnectRequest(r.value, { psk: new TextEncoder().encode("k") }, { background: false, dir: "/nonexistent" });
  expect([request.childRekeySeconds, request.ikeRekeySeconds, request.childRekeyBytes, request.childRekeyPackets]).toEqual([1800, 7200, 1_000_000_000, 5_000_000]);
  const defaults = profileFromTable(base);
  if (!defaults.ok) throw new Error(defaults.error);
  const d = profileToConnectRequest(defaults.value, { psk: new TextEncoder().encode("k") }, { background: false, dir: "/nonexistent" }).request;
  expect([d.childRekeySeconds, d.ikeRekeySeconds, d.childRekeyBytes, d.childRekeyPackets]).toEqual([3900, 14400, 0, 0]);
  expect(profileFromTable({ ...base, ike_rekey: 86400 * 30 })).toEqual({ ok: false, error: "field \"ike_rekey\": 2592000 is not a number of seconds (expected 0-604800)" });
  expect(profileFromTable({ ...base, rekey_bytes: -1 })).toEqual({ ok: false, error: "field \"rekey_bytes\": -1 is not a count (expected a whole number, 0 for no limit)" });
});

test("several gateways and mobike = false: kept through TOML, tried in order, MOBIKE not offered", async () => {
  const { profileFromTable, profileToTable } = await import("../../../cli/profiles/model.ts");
  const parsed = profileFromTable({ name: "multi", gateway: ["192.0.2.99", "192.0.2.1"], auth: "psk", remote_id: "gw.roam.test", mobike: false });
  if (!parsed.ok) throw new Error(parsed.error);
  expect(parsed.warnings).toEqual([]);
  expect(profileToTable(parsed.value)).toMatchObject({ gateway: ["192.0.2.99", "192.0.2.1"], mobike: false });
  const secrets = await resolveSecrets(parsed.value, { passwordStdin: false, readStdinLine: async () => "", env: {}, stored: () => ({ psk: "x" }) });
  const { request, unsupported } = profileToConnectRequest(parsed.value, secrets, { background: false, dir: "/nonexistent" });
  expect([request.gatewayHost, request.moreGateways, request.mobike]).toEqual(["192.0.2.99", ["192.0.2.1"], false]);
  expect(unsupported).toEqual([]);
  const bad = profileFromTable({ name: "multi", gateway: ["192.0.2.1"], auth: "psk", mobike: "no" });
  expect(bad).toEqual({ ok: false, error: 'field "mobike": expected true or false' });
});
