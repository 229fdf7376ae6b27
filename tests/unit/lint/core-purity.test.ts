// core/ is pure protocol: no I/O, no clock, no timers, no runtime imports (DEVELOPERS.md, STYLE.md).
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dir, "../../..");

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Removes comments and string contents so that words in prose do not count. */
function codeOnly(src: string): { code: string; specifiers: string[] } {
  const specifiers: string[] = [];
  for (const m of src.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(["'])([^"']+)\1/g)) {
    specifiers.push(m[2]!);
  }
  const code = src
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/`(?:\\.|[^`\\])*`/g, "``")
    .replace(/"(?:\\.|[^"\\\n])*"/g, '""')
    .replace(/'(?:\\.|[^'\\\n])*'/g, "''");
  return { code, specifiers };
}

const forbiddenCode: [RegExp, string][] = [
  [/\bBun\s*\./, "uses the Bun global"],
  [/\bprocess\s*\./, "uses process"],
  [/\bDeno\s*\./, "uses Deno"],
  [/\b(setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|queueMicrotask)\s*\(/, "uses a timer"],
  [/\bDate\s*\.\s*now\s*\(/, "reads the clock (Date.now)"],
  [/\bnew\s+Date\s*\(\s*\)/, "reads the clock (new Date())"],
  [/\bperformance\s*\./, "reads the clock (performance)"],
  [/\bcrypto\s*\.\s*(getRandomValues|randomUUID|subtle)/, "takes randomness or crypto from the runtime"],
  [/\brequire\s*\(/, "uses require"],
  [/\bfetch\s*\(/, "does network I/O (fetch)"],
];

export function violations(file: string, src: string): string[] {
  const { code, specifiers } = codeOnly(src);
  const found: string[] = [];
  for (const s of specifiers) {
    const allowed = s.startsWith(".") || s.startsWith("@noble/");
    if (!allowed) found.push(`${file}: imports "${s}" (core may import only relative files and @noble/*)`);
  }
  for (const [re, what] of forbiddenCode) if (re.test(code)) found.push(`${file}: ${what}`);
  return found;
}

test("core/ imports nothing from the runtime and touches no clock, timer or process", () => {
  const files = tsFiles(join(root, "core"));
  expect(files.length).toBeGreaterThan(0);
  const all = files.flatMap((f) => violations(relative(root, f), readFileSync(f, "utf8")));
  expect(all).toEqual([]);
});

test("the purity check catches each kind of violation", () => {
  const bad = [
    `import { x } from "node:fs";`,
    `import y from "bun:ffi";`,
    `import z from "bun";`,
    `const a = Bun.file("x");`,
    `if (process.env.X) {}`,
    `setTimeout(() => {}, 1);`,
    `const t = Date.now();`,
    `const d = new Date();`,
    `const p = performance.now();`,
    `crypto.getRandomValues(new Uint8Array(4));`,
    `const m = await import("node:net");`,
  ];
  for (const src of bad) expect(violations("x.ts", src).length).toBeGreaterThan(0);
  const good = [
    `import { sha256 } from "@noble/hashes/sha2.js";`,
    `import { a } from "../util/bytes.ts";`,
    `// Date.now() is not called here; setTimeout( neither`,
    `const s = "process.exit and Bun.file in a string";`,
    `const when = new Date(ms);`,
  ];
  for (const src of good) expect(violations("x.ts", src)).toEqual([]);
});

// noble's ciphers and curves load on first use through noble() (core/crypto/noble.ts); a value import
// anywhere else in core/ would evaluate them at start-up again. Types are free.
const HEAVY_NOBLE = /^@noble\/(ciphers|curves)\//;

export function eagerNobleImports(file: string, src: string): string[] {
  const found: string[] = [];
  for (const m of src.matchAll(/^\s*import\s+(type\s+)?(?:[^;"']*?\bfrom\s*)?(["'])([^"']+)\2/gm)) {
    if (!m[1] && HEAVY_NOBLE.test(m[3]!)) found.push(`${file}: imports "${m[3]}" as a value (use noble() from core/crypto/noble.ts)`);
  }
  return found;
}

test("core/ imports noble's ciphers and curves only as types, except core/crypto/noble-modules.ts", () => {
  const files = tsFiles(join(root, "core")).filter((f) => relative(root, f) !== "core/crypto/noble-modules.ts");
  const all = files.flatMap((f) => eagerNobleImports(relative(root, f), readFileSync(f, "utf8")));
  expect(all).toEqual([]);
  expect(eagerNobleImports("x.ts", `import { gcm } from "@noble/ciphers/aes.js";`)).toHaveLength(1);
  expect(eagerNobleImports("x.ts", `import {\n  p256,\n  p384,\n} from "@noble/curves/nist.js";`)).toHaveLength(1);
  expect(eagerNobleImports("x.ts", `import "@noble/curves/ed25519.js";`)).toHaveLength(1);
  expect(eagerNobleImports("x.ts", `import { type gcm } from "@noble/ciphers/aes.js";`)).toHaveLength(1); // kept by verbatimModuleSyntax
  expect(eagerNobleImports("x.ts", `import type { gcm } from "@noble/ciphers/aes.js";`)).toEqual([]);
  expect(eagerNobleImports("x.ts", `import { sha256 } from "@noble/hashes/sha2.js";`)).toEqual([]);
});
