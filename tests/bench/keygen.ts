// Key exchange benchmark (issue 6), not a test: `bun tests/bench/keygen.ts [--quick]` (no root needed).
//
// 1. Cross-validates: for X25519 and ECP 256/384/521, a native (platform/crypto/dh-native.ts) and a noble
//    (core/crypto/dh.ts) party must agree on g^ir, each starting once; the run stops if they do not.
// 2. Cold cost, the one a `roam connect` pays: this file compiled like dist/roam (`--compile`, bytecode),
//    run as a fresh process per sample, times its first key generation and its first g^ir computation.
//    The noble reference is measured in the same run. Module loading happens before either timer starts
//    (both implementations load core/crypto/dh.ts, and noble's curves load up front: noble-eager.ts).
// 3. Warm cost: the median of many key generations plus g^ir in one process, for both.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../lib/noble-eager.ts";
import { createKeyExchange, nobleKeyExchangeFactory } from "../../core/crypto/dh.ts";
import type { KeyExchange, KeyExchangeFactory } from "../../core/crypto/dh.ts";
import { toHex } from "../../core/util/bytes.ts";
import { KeId } from "../../core/wire/constants.ts";
import { nativeKeyExchangeFactory } from "../../platform/crypto/dh-native.ts";
import { systemRandom } from "../../platform/random.ts";
import { median } from "./lib/measure.ts";

const GROUPS: [number, string][] = [
  [KeId.CURVE25519, "x25519"],
  [KeId.ECP_256, "ecp256"],
  [KeId.ECP_384, "ecp384"],
  [KeId.ECP_521, "ecp521"],
];
const FACTORIES: Record<string, KeyExchangeFactory> = { native: nativeKeyExchangeFactory, noble: nobleKeyExchangeFactory };
const args = process.argv.slice(2);

function secret(kx: KeyExchange, peer: Uint8Array): string {
  const r = kx.computeShared(peer);
  if (!r.ok) throw new Error(r.reason);
  return toHex(r.secret);
}

if (args[0] === "--child") {
  // One cold sample: `keygen --child <native|noble> <group> <peer public value hex>`; prints two numbers.
  const factory = FACTORIES[args[1]!]!;
  const group = Number(args[2]);
  const peer = Uint8Array.from(Buffer.from(args[3]!, "hex"));
  const t0 = performance.now();
  const kx = factory.create(group, systemRandom);
  const t1 = performance.now();
  secret(kx, peer);
  const t2 = performance.now();
  console.log(`${(t1 - t0).toFixed(3)} ${(t2 - t1).toFixed(3)}`);
  process.exit(0);
}

const QUICK = args.includes("--quick");
const COLD_SAMPLES = QUICK ? 5 : 15;
const WARM_ROUNDS = QUICK ? 50 : 300;

// 1. Cross-validation.
for (const [group, name] of GROUPS) {
  for (let i = 0; i < 4; i++) {
    const a = nativeKeyExchangeFactory.create(group, systemRandom);
    const b = createKeyExchange(group, systemRandom);
    if (secret(a, b.publicKey) !== secret(b, a.publicKey)) throw new Error(`bench/keygen: native and noble disagree on ${name}`);
  }
}
console.log("bench/keygen: native and noble agree on g^ir for x25519, ecp256, ecp384, ecp521");

// 2. Cold, in a binary compiled like dist/roam (a bytecode build takes no top-level await: hence main()).
async function main(): Promise<void> {
const dir = mkdtempSync(join(tmpdir(), "roam-keygen-"));
try {
  const exe = join(dir, "keygen");
  const built = await Bun.build({ entrypoints: [import.meta.path], compile: { outfile: exe }, bytecode: true, minify: false });
  if (!built.success) throw new Error(`bench/keygen: build failed: ${built.logs.join("\n")}`);
  const rows: string[][] = [["group", "impl", "cold keygen ms", "cold g^ir ms", "warm keygen+g^ir ms"]];
  for (const [group, name] of GROUPS) {
    const peer = toHex(createKeyExchange(group, systemRandom).publicKey);
    for (const impl of Object.keys(FACTORIES)) {
      const gen: number[] = [];
      const dh: number[] = [];
      for (let i = 0; i < COLD_SAMPLES; i++) {
        const p = Bun.spawnSync([exe, "--child", impl, String(group), peer], { stdout: "pipe", stderr: "inherit" });
        if (p.exitCode !== 0) throw new Error(`bench/keygen: child ${impl} ${name} exited ${p.exitCode}`);
        const [g, d] = p.stdout.toString().trim().split(" ").map(Number);
        gen.push(g!);
        dh.push(d!);
      }
      // 3. Warm, in this process.
      const factory = FACTORIES[impl]!;
      const peerBytes = Uint8Array.from(Buffer.from(peer, "hex"));
      const warm: number[] = [];
      for (let i = 0; i < WARM_ROUNDS; i++) {
        const t0 = performance.now();
        secret(factory.create(group, systemRandom), peerBytes);
        warm.push(performance.now() - t0);
      }
      rows.push([name, impl, fmt(gen), fmt(dh), median(warm).toFixed(3)]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log(`Key exchange, cold = first call in a fresh compiled process (median of ${COLD_SAMPLES}, min–max); warm = median of ${WARM_ROUNDS}`);
  for (const r of rows) console.log(r.map((v, c) => v.padEnd(widths[c]!)).join("  ").trimEnd());
} finally {
  rmSync(dir, { recursive: true, force: true });
}
}

if (args[0] !== "--child") void main();

function fmt(xs: number[]): string {
  return `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
}
