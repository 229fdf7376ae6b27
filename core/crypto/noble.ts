// noble's ciphers and curves, loaded on first use. Why: evaluating these modules builds their tables
// (AES S-box and T-tables, curve constants): ~17 ms in the compiled binary, one import each (aes 8,
// ed25519 7, nist 7 ms, measured 2026-11), while a PSK or EAP connect with the native primitives
// (platform/crypto/) never calls them; the tunnel process finishes loading ~9 ms sooner without them
// (median 34 -> 25 ms after its start, 2026-11-23). The hashes (@noble/hashes) are cheap and stay static.
//
// core/ cannot load a module lazily by itself (no require, no dynamic import: it stays pure), so the
// entry point injects the loader: cli/main.ts and scripts through platform/noble.ts, bun test through
// the preload in bunfig.toml. The loader returns NOBLE from ./noble-modules.ts.

import type { cbc, ctr, ecb, gcm } from "@noble/ciphers/aes.js";
import type { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import type { GHASH } from "@noble/ciphers/_polyval.js";
import type { ed25519, x25519 } from "@noble/curves/ed25519.js";
import type { p256, p384, p521 } from "@noble/curves/nist.js";

/** The heavy noble bindings core uses. Only types here: importing this file loads none of them. */
export interface NobleModules {
  readonly cbc: typeof cbc;
  readonly ctr: typeof ctr;
  readonly ecb: typeof ecb;
  readonly gcm: typeof gcm;
  readonly chacha20poly1305: typeof chacha20poly1305;
  readonly GHASH: typeof GHASH;
  readonly ed25519: typeof ed25519;
  readonly x25519: typeof x25519;
  readonly p256: typeof p256;
  readonly p384: typeof p384;
  readonly p521: typeof p521;
}

/** noble's Weierstrass curves (P-256, P-384, P-521) share one type. */
export type NobleEcdsa = typeof p256;

let loader: (() => NobleModules) | undefined;
let loaded: NobleModules | undefined;

/** Sets how noble() loads the modules (once, on its first call). A new loader drops what was loaded. */
export function setNobleLoader(load: () => NobleModules): void {
  loader = load;
  loaded = undefined;
}

/** The noble modules; loads them on the first call. Throws when no entry point set a loader. */
export function noble(): NobleModules {
  if (loaded) return loaded;
  if (!loader) {
    throw new Error(
      "noble(): no loader set: the entry point must import platform/noble.ts (or call setNobleLoader from core/crypto/noble.ts) before using noble's ciphers or curves",
    );
  }
  loaded = loader();
  return loaded;
}
