// noble's ciphers and curves load on first use (core/crypto/noble.ts): importing the protocol, or the
// whole tunnel process, must not evaluate them; noble() loads them once.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { noble, setNobleLoader, type NobleModules } from "../../../core/crypto/noble.ts";
import { NOBLE } from "../../../core/crypto/noble-modules.ts";

const root = join(import.meta.dir, "../../..");

// The modules whose evaluation noble() defers (~17 ms of a start in the compiled binary).
const HEAVY = ["@noble/ciphers/aes.js", "@noble/ciphers/chacha.js", "@noble/ciphers/_polyval.js", "@noble/curves/ed25519.js", "@noble/curves/nist.js"];

// Everything that used them statically, the tunnel process that a `roam connect` loads, and the
// command-line program (every other command, and the parent of `connect --background`).
const IMPORTERS = [
  "core/ike/session.ts",
  "core/esp/noble.ts",
  "core/crypto/dh.ts",
  "core/crypto/encr.ts",
  "core/crypto/gcm.ts",
  "core/x509/keys.ts",
  "core/x509/verify.ts",
  "core/x509/pkcs12.ts",
  "platform/crypto/dh-native.ts",
  "platform/crypto/esp-native.ts",
  "platform/crypto/ike-native.ts",
  "cli/tunnel/runtime.ts",
  "cli/tunnel-process.ts",
  "cli/program.ts",
];

// A fresh process (no bun test preload, so no loader): imports IMPORTERS, reports which HEAVY modules
// were evaluated (require.cache holds each evaluated module by path) and what noble() did; then, as
// the control that the check sees a load, imports platform/noble.ts and calls noble().
const PROBE = `
const heavy = ${JSON.stringify(HEAVY)}.map((s) => require.resolve(s));
const evaluated = () => heavy.filter((p) => p in require.cache).map((p) => p.slice(p.indexOf("@noble/")));
for (const m of ${JSON.stringify(IMPORTERS)}) await import(${JSON.stringify(root)} + "/" + m);
const { noble } = await import(${JSON.stringify(root)} + "/core/crypto/noble.ts");
const afterImports = evaluated();
let error = "";
try { noble(); } catch (e) { error = String(e); }
await import(${JSON.stringify(root)} + "/platform/noble.ts");
const gcm = typeof noble().gcm;
console.log(JSON.stringify({ afterImports, error, afterNoble: evaluated(), gcm }));
`;

afterEach(() => setNobleLoader(() => NOBLE)); // the preload's loader (tests/lib/noble-eager.ts)

test("importing the protocol, the tunnel process and the command line evaluates none of noble's ciphers and curves", () => {
  const r = Bun.spawnSync([process.execPath, "-e", PROBE], { cwd: root, stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  const out = JSON.parse(r.stdout.toString());
  expect(out.afterImports).toEqual([]);
  expect(out.error).toContain("no loader set");
  expect(out.error).toContain("platform/noble.ts");
  // platform/noble.ts's loader loads all five on the first noble() call.
  expect(out.afterNoble).toEqual(HEAVY);
  expect(out.gcm).toBe("function");
}, 30_000);

test("noble() calls the loader once and keeps what it returned; a new loader replaces it", () => {
  let calls = 0;
  const counting = (): NobleModules => {
    calls++;
    return NOBLE;
  };
  setNobleLoader(counting);
  expect(calls).toBe(0); // setting a loader loads nothing
  const first = noble();
  expect(noble()).toBe(first);
  expect(noble().p256).toBe(NOBLE.p256);
  expect(calls).toBe(1);
  const other: NobleModules = { ...NOBLE };
  setNobleLoader(() => other);
  expect(noble()).toBe(other);
  expect(calls).toBe(1);
});

test("a loader that throws leaves noble() unloaded, so the next call tries again", () => {
  let calls = 0;
  setNobleLoader(() => {
    if (++calls === 1) throw new Error("cannot load");
    return NOBLE;
  });
  expect(() => noble()).toThrow("cannot load");
  expect(noble()).toBe(NOBLE);
  expect(calls).toBe(2);
});
