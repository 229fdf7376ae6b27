// `roam connect --p12 FILE` and an encrypted --key: where the passphrase comes from (--password-stdin's
// first line, ROAM_KEY_PASSPHRASE, a prompt), and one-line refusals (exit 2) for a wrong or missing
// passphrase, a file others can read, and --p12 with --cert/--key. PKCS#12 files are made by openssl here.
import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConnectFlags, type ConnectFlags, type ConnectSources } from "../../../cli/connect-options.ts";
import { ExitCode, UserError } from "../../../cli/exit.ts";
import { lineReader } from "../../../cli/stdin.ts";
import { Readable } from "node:stream";
import { toHex } from "../../../core/util/bytes.ts";
import { decodePem, decodePemCertificates } from "../../../core/x509/pem.ts";

const FIX = join(import.meta.dir, "../x509/fixtures");
const dir = mkdtempSync(join(tmpdir(), "roam-p12flags-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ca = join(FIX, "root-rsa.crt");

function p12(name: string, password: string, mode = 0o600, extra: string[] = []): string {
  const out = join(dir, name);
  execFileSync("openssl", ["pkcs12", "-export", "-inkey", join(FIX, "gw-p256.key"), "-in", join(FIX, "gw-p256.crt"), "-certfile", join(FIX, "inter-p384.crt"), "-passout", `pass:${password}`, "-out", out, ...extra]);
  chmodSync(out, mode);
  return out;
}
const good = p12("good.p12", "p12-secret");
const der = (f: string) => {
  const b = decodePemCertificates(new Uint8Array(readFileSync(join(FIX, f))));
  if (!b.ok) throw new Error(b.error);
  return b.value[0]!;
};
const keyDer = () => {
  const b = decodePem(readFileSync(join(FIX, "gw-p256.key"), "utf8"));
  if (!b.ok) throw new Error(b.error);
  return toHex(b.value[0]!.der);
};

const base: ConnectFlags = { gateway: "192.0.2.1", remoteId: "gw.roam.test", ca, p12: good };
const noStdin = async () => {
  throw new Error("stdin must not be read");
};

async function refusal(f: ConnectFlags, read: () => Promise<string> = noStdin, src?: ConnectSources): Promise<UserError> {
  try {
    await parseConnectFlags(f, read, src);
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("expected a UserError");
}

describe("connect --p12", () => {
  test("the first line of --password-stdin opens it: the key, the leaf first, the intermediate, IDi = subject DN", async () => {
    const r = await parseConnectFlags({ ...base, passwordStdin: true }, async () => "p12-secret");
    if (r.credentials.kind !== "cert") throw new Error("not cert credentials");
    expect(toHex(r.credentials.privateKey)).toBe(keyDer());
    expect(r.credentials.certChain).toEqual([der("gw-p256.crt"), der("inter-p384.crt")]);
    expect(r.localId?.text).toBe("C=DE, O=Roam Test, CN=ecgw.roam.test");
  });

  test("ROAM_KEY_PASSPHRASE, then a prompt, when there is no --password-stdin", async () => {
    const env = await parseConnectFlags(base, noStdin, { env: { ROAM_KEY_PASSPHRASE: "p12-secret" }, prompt: async () => "wrong" });
    expect(env.credentials.kind).toBe("cert");
    let asked = "";
    const prompted = await parseConnectFlags(base, noStdin, { env: {}, prompt: async (q) => ((asked = q), "p12-secret") });
    expect(prompted.credentials.kind).toBe("cert");
    expect(asked).toBe(`Passphrase for --p12 "${good}": `);
  });

  test("a file exported with an empty password opens without one", async () => {
    const r = await parseConnectFlags({ ...base, p12: p12("empty.p12", "") }, noStdin, { env: {} });
    expect(r.credentials.kind).toBe("cert");
  });

  test("a legacy (3DES/RC2-40) file from -legacy opens too", async () => {
    const r = await parseConnectFlags({ ...base, p12: p12("legacy.p12", "old", 0o600, ["-legacy"]) }, noStdin, { env: { ROAM_KEY_PASSPHRASE: "old" } });
    expect(r.credentials.kind).toBe("cert");
  });

  const cases: [string, ConnectFlags, ConnectSources | undefined, (() => Promise<string>) | undefined, RegExp][] = [
    ["a wrong password", base, { env: { ROAM_KEY_PASSPHRASE: "nope" } }, undefined, /^connect: --p12 ".*good.p12": wrong password or corrupted file \(MAC mismatch\)$/],
    ["no password at all (not a terminal)", base, { env: {} }, undefined, /^connect: --p12 ".*good.p12" is protected by a password: give it with --password-stdin, the ROAM_KEY_PASSPHRASE environment variable/],
    ["a file others can read", { ...base, p12: p12("open.p12", "x", 0o644) }, { env: {} }, undefined, /--p12 ".*open.p12" is readable by other users \(mode 644\); run chmod 600/],
    ["a missing file", { ...base, p12: join(dir, "nope.p12") }, { env: {} }, undefined, /--p12 ".*nope.p12" cannot be read/],
    ["--p12 with --cert", { ...base, cert: join(FIX, "gw-p256.crt") }, undefined, undefined, /give either --p12 FILE or --cert FILE --key FILE, not both/],
    ["--p12 with --key", { ...base, key: join(FIX, "gw-p256.key") }, undefined, undefined, /give either --p12 FILE or --cert FILE --key FILE, not both/],
    ["--p12 with --psk-file", { ...base, pskFile: ca }, undefined, undefined, /choose one authentication, not --psk-file and --p12/],
    ["--p12 without --ca", { ...base, ca: undefined }, undefined, undefined, /--p12 needs --ca FILE/],
  ];
  for (const [name, flags, src, read, message] of cases) {
    test(`refuses ${name} with exit 2 and one line`, async () => {
      const e = await refusal(flags, read, src);
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain("\n");
      expect(e.message).not.toContain("nope\"");
      expect(e.exitCode).toBe(ExitCode.USAGE);
    });
  }

  test("a file that is not PKCS#12 (mode 0600) is a format error naming the file", async () => {
    const notP12 = join(dir, "cert.p12");
    execFileSync("cp", [join(FIX, "gw-p256.crt"), notP12]);
    chmodSync(notP12, 0o600);
    const e = await refusal({ ...base, p12: notP12 }, undefined, { env: { ROAM_KEY_PASSPHRASE: "x" } });
    expect(e.message).toMatch(/^connect: --p12 ".*cert.p12": not a readable PKCS#12 file: /);
  });
});

describe("connect --key with an encrypted PKCS#8 key", () => {
  const enc = join(dir, "enc.key");
  execFileSync("openssl", ["pkcs8", "-topk8", "-in", join(FIX, "gw-p256.key"), "-passout", "pass:kpw", "-out", enc]);
  chmodSync(enc, 0o600);
  const flags: ConnectFlags = { gateway: "gw", remoteId: "gw", ca, cert: join(FIX, "gw-p256.crt"), key: enc };

  test("opens with the passphrase from --password-stdin, and the request carries the plain PKCS#8", async () => {
    const r = await parseConnectFlags({ ...flags, passwordStdin: true }, async () => "kpw");
    if (r.credentials.kind !== "cert") throw new Error("not cert credentials");
    expect(toHex(r.credentials.privateKey)).toBe(keyDer());
  });

  test("a wrong passphrase, or none, is one line (exit 2)", async () => {
    const wrong = await refusal(flags, undefined, { env: { ROAM_KEY_PASSPHRASE: "bad" } });
    expect(wrong.message).toBe(`connect: --key "${enc}": wrong passphrase for the encrypted private key (or the key is damaged)`);
    const none = await refusal(flags, undefined, { env: {} });
    expect(none.message).toMatch(/^connect: --key ".*enc.key" is encrypted: give it with --password-stdin/);
    expect(none.exitCode).toBe(ExitCode.USAGE);
  });

  test("an unencrypted key never asks for a passphrase", async () => {
    const plain = join(dir, "plain.key");
    execFileSync("cp", [join(FIX, "gw-p256.key"), plain]);
    chmodSync(plain, 0o600);
    const r = await parseConnectFlags({ ...flags, key: plain }, noStdin, { env: {}, prompt: async () => { throw new Error("no prompt expected"); } });
    expect(r.credentials.kind).toBe("cert");
  });
});

test("lineReader: successive lines of one stream, \\r\\n accepted, \"\" at the end", async () => {
  const next = lineReader(Readable.from(["key pass\r\neap ", "pass\nlast"]));
  expect(await next()).toBe("key pass");
  expect(await next()).toBe("eap pass");
  expect(await next()).toBe("last");
  expect(await next()).toBe("");
});

test("lineReader: a stream given as a function is asked for on the first read only (a connect without --password-stdin never touches process.stdin)", async () => {
  let opened = 0;
  const next = lineReader(() => {
    opened++;
    return Readable.from(["secret\n"]);
  });
  expect(opened).toBe(0);
  expect(await next()).toBe("secret");
  expect(await next()).toBe("");
  expect(opened).toBe(1);
});
