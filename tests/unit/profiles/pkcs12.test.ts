// Profiles whose client key is a PKCS#12 bundle: imported from .sswan (local.p12) and .mobileconfig
// (com.apple.security.pkcs12 + Password), stored 0600, exported and re-imported, and turned into cert
// credentials with the passphrase from --password-stdin, ROAM_KEY_PASSPHRASE or key_passphrase.
import { afterAll, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { profileNeedsKeyPassphrase, profileToConnectRequest } from "../../../cli/profiles/connect.ts";
import { importFile } from "../../../cli/profiles/import.ts";
import { exportSswan } from "../../../cli/profiles/import-sswan.ts";
import { resolveSecrets } from "../../../cli/profiles/secrets.ts";
import { loadProfile, readSecrets, saveProfile } from "../../../cli/profiles/store.ts";
import { ExitCode, UserError } from "../../../cli/exit.ts";
import type { Imported } from "../../../cli/profiles/model.ts";
import { encodeBase64 } from "../../../cli/profiles/pem.ts";

const tmp = mkdtempSync(join(tmpdir(), "roam-p12profiles-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fx = (f: string) => join(import.meta.dir, "fixtures", f);
const p12 = new Uint8Array(readFileSync(fx("client.p12")));
let n = 0;
const store = () => join(tmp, `s${n++}`);

function importOne(file: string, bytes: Uint8Array = new Uint8Array(readFileSync(fx(file)))): Imported {
  const r = importFile(file, bytes);
  if (!r.ok) throw new Error(r.error);
  return r.value[0]!;
}

const noStdin = async () => {
  throw new Error("stdin must not be read");
};

test(".sswan ikev2-cert with local.p12: stored 0600, connects as cert with the passphrase from the environment", async () => {
  const imp = importOne("cert.sswan");
  expect(imp.profile.auth).toBe("cert");
  expect(imp.assets.pkcs12).toEqual(p12);
  expect(imp.warnings).toEqual([]);
  const dir = store();
  saveProfile(dir, imp.profile, imp.secrets, imp.assets);
  const loaded = loadProfile("Office-Cert", { user: dir, system: join(tmp, "none"), systemFirst: false });
  expect(loaded.profile.pkcs12).toBe("client.p12");
  expect(profileNeedsKeyPassphrase(loaded.profile, dir)).toBe(true);
  const secrets = await resolveSecrets(loaded.profile, { passwordStdin: false, readStdinLine: noStdin, env: { ROAM_KEY_PASSPHRASE: "p12-pass" }, stored: () => readSecrets(dir, "Office-Cert") }, true);
  const { request, unsupported } = profileToConnectRequest(loaded.profile, secrets, { background: false, dir });
  expect(unsupported).toEqual([]);
  if (request.credentials.kind !== "cert") throw new Error("not cert credentials");
  expect(request.credentials.certChain.length).toBe(1);
  expect(request.localId?.text).toBe("CN=alice@example.com");
  expect(request.trustAnchors.length).toBe(1);
});

test(".sswan export keeps local.p12 byte for byte, and the re-import reads the same bundle", () => {
  const imp = importOne("cert.sswan");
  const out = exportSswan(imp.profile, imp.assets.ca, imp.assets.pkcs12, imp.profile.uuid!);
  if (!out.ok) throw new Error(out.error);
  expect(JSON.parse(out.value.text).local.p12).toBe(encodeBase64(p12));
  const again = importOne("again.sswan", new TextEncoder().encode(out.value.text));
  expect(again.assets.pkcs12).toEqual(p12);
  expect(again.profile.auth).toBe("cert");
});

test(".mobileconfig pkcs12 payload: its Password becomes key_passphrase, which opens the bundle at connect", async () => {
  const imp = importOne("office.mobileconfig");
  expect(imp.secrets.keyPassphrase).toBe("p12-pass");
  expect(imp.warnings.some((w) => w.includes("PKCS#12") || w.includes("password given with it"))).toBe(false);
  const dir = store();
  // cert+eap is another piece of work; the same bundle as a cert profile shows the key passphrase path.
  const profile = { ...imp.profile, auth: "cert" as const, name: "office" };
  saveProfile(dir, profile, imp.secrets, imp.assets);
  expect(readSecrets(dir, "office").keyPassphrase).toBe("p12-pass");
  const secrets = await resolveSecrets(profile, { passwordStdin: false, readStdinLine: noStdin, env: {}, stored: () => readSecrets(dir, "office") }, true);
  expect(secrets.keyPassphrase).toBe("p12-pass");
  const { request } = profileToConnectRequest({ ...profile, pkcs12: "client.p12", ca: ["ca.pem"] }, secrets, { background: true, dir });
  expect(request.credentials.kind).toBe("cert");
});

test("a .mobileconfig whose Password does not open the bundle imports with a warning; a payload that is not PKCS#12 is refused", () => {
  const text = readFileSync(fx("office.mobileconfig"), "utf8");
  const wrong = importFile("office.mobileconfig", new TextEncoder().encode(text.replace("<string>p12-pass</string>", "<string>not-it</string>")));
  if (!wrong.ok) throw new Error(wrong.error);
  expect(wrong.value[0]!.warnings.filter((w) => w.includes("the password given with it does not open it")).length).toBe(1);
  const certAsP12 = text.replace(encodeBase64(p12).slice(0, 40), "MIIBkTCCATegAwIBAgIUEe6PbEH65YSkKy3sQT6w");
  const bad = importFile("office.mobileconfig", new TextEncoder().encode(certAsP12));
  expect(bad.ok).toBe(false);
  if (!bad.ok) expect(bad.error).toMatch(/field "PayloadContent": (is not a PKCS#12 file|expected <data>)/);
});

test(".sswan local.p12 that is not PKCS#12 is refused naming the field", () => {
  const text = readFileSync(fx("cert.sswan"), "utf8").replace(/"p12": "[^"]+"/, '"p12": "MAMCAQA="' /* SEQUENCE { INTEGER 0 } */);
  const r = importFile("bad.sswan", new TextEncoder().encode(text));
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.error).toMatch(/"local.p12".*is not a PKCS#12 file/);
});

test("--password-stdin: the key passphrase is the first line, the EAP password the second", async () => {
  const imp = importOne("office.mobileconfig");
  const lines = ["p12 line", "eap line"];
  const secrets = await resolveSecrets(imp.profile, { passwordStdin: true, readStdinLine: async () => lines.shift()!, env: { ROAM_PASSWORD: "env", ROAM_KEY_PASSPHRASE: "env" }, stored: () => ({}) }, true);
  expect(secrets).toEqual({ keyPassphrase: "p12 line", eapPassword: "eap line" });
  // Without a PKCS#12 or encrypted key only one line is read.
  const one = ["only"];
  const eapOnly = await resolveSecrets({ ...imp.profile, auth: "eap-mschapv2" }, { passwordStdin: true, readStdinLine: async () => one.shift()!, env: {}, stored: () => ({}) }, false);
  expect(eapOnly).toEqual({ eapPassword: "only" });
});

test("a wrong or missing passphrase is one line (exit 2); a profile client_key that is an encrypted PEM asks for it", async () => {
  const imp = importOne("cert.sswan");
  const dir = store();
  saveProfile(dir, imp.profile, imp.secrets, imp.assets);
  const p = { ...imp.profile, pkcs12: "client.p12", ca: ["ca.pem"] };
  const refusal = (s: { keyPassphrase?: string }) => {
    try {
      profileToConnectRequest(p, s, { background: false, dir });
    } catch (e) {
      if (e instanceof UserError) return e;
      throw e;
    }
    throw new Error("expected a UserError");
  };
  const wrong = refusal({ keyPassphrase: "nope" });
  expect(wrong.message).toBe(`connect: pkcs12 "${join(dir, "Office-Cert.d/client.p12")}": wrong password or corrupted file (MAC mismatch)`);
  expect(wrong.exitCode).toBe(ExitCode.USAGE);
  expect(refusal({}).message).toMatch(/is protected by a password: give it with --password-stdin, the ROAM_KEY_PASSPHRASE environment variable, key_passphrase in a profile's secrets file/);

  const keyFile = join(dir, "enc.key");
  execFileSync("openssl", ["pkcs8", "-topk8", "-in", join(import.meta.dir, "../x509/fixtures/gw-p256.key"), "-passout", "pass:kpw", "-out", keyFile]);
  chmodSync(keyFile, 0o600);
  const withKey = { ...p, pkcs12: undefined, clientCert: join(import.meta.dir, "../x509/fixtures/gw-p256.crt"), clientKey: keyFile };
  expect(profileNeedsKeyPassphrase(withKey, dir)).toBe(true);
  expect(profileNeedsKeyPassphrase({ ...withKey, clientKey: join(import.meta.dir, "../x509/fixtures/gw-p256.key") }, dir)).toBe(false);
  expect(profileNeedsKeyPassphrase({ ...withKey, auth: "psk" }, dir)).toBe(false);
  expect(profileToConnectRequest(withKey, { keyPassphrase: "kpw" }, { background: false, dir }).request.credentials.kind).toBe("cert");
  expect(() => profileToConnectRequest(withKey, {}, { background: false, dir })).toThrow(/client_key ".*enc.key" is encrypted: give it with/);
});

test("swanctl.conf: a pkcs12 secret (file + secret) becomes pkcs12 and key_passphrase, and the profile connects as cert", async () => {
  const conf = `connections {
  lab {
    remote_addrs = 192.0.2.1
    local {
      auth = pubkey
    }
    remote {
      auth = pubkey
      id = vpn.example.net
      cacerts = ${fx("ca.pem")}
    }
    children {
      net {
        remote_ts = 10.0.0.0/8
      }
    }
  }
}
secrets {
  pkcs12-lab {
    file = ${fx("client.p12")}
    secret = "p12-pass"
  }
}
`;
  const imp = importOne("lab.conf", new TextEncoder().encode(conf));
  expect(imp.profile.auth).toBe("cert");
  expect(imp.profile.pkcs12).toBe(fx("client.p12"));
  expect(imp.secrets).toEqual({ keyPassphrase: "p12-pass" });
  const dir = store();
  saveProfile(dir, imp.profile, imp.secrets, imp.assets);
  const secrets = await resolveSecrets(imp.profile, { passwordStdin: false, readStdinLine: noStdin, env: {}, stored: () => readSecrets(dir, "lab") }, profileNeedsKeyPassphrase(imp.profile, dir));
  const { request } = profileToConnectRequest(imp.profile, secrets, { background: false, dir });
  expect(request.credentials.kind).toBe("cert");
  expect(request.localId?.text).toBe("CN=alice@example.com");
});

test("promptNoEcho can ask twice in one process (key passphrase, then EAP password); DEL erases", async () => {
  // Not a terminal here, so raw mode is skipped; the point is that the first prompt leaves stdin usable.
  const secretsTs = join(import.meta.dir, "../../../cli/profiles/secrets.ts");
  const child = Bun.spawn([process.execPath, "-e", `import { promptNoEcho } from ${JSON.stringify(secretsTs)}; console.log(JSON.stringify([await promptNoEcho("one: "), await promptNoEcho("two: ")]));`], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  child.stdin.write("key pass\n");
  await child.stdin.flush();
  await Bun.sleep(300);
  child.stdin.write("eap\x7fP\n");
  await child.stdin.end();
  expect(await child.exited).toBe(0);
  expect(JSON.parse(await new Response(child.stdout).text())).toEqual(["key pass", "eaP"]);
  expect(await new Response(child.stderr).text()).toBe("one: \ntwo: \n");
});
