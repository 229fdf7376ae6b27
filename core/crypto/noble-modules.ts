// The heavy noble modules themselves, for the loader of core/crypto/noble.ts (see there why they load
// lazily). Importing this file evaluates them all: only loaders and tests import it.

import { cbc, ctr, ecb, gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { GHASH } from "@noble/ciphers/_polyval.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import type { NobleModules } from "./noble.ts";

export const NOBLE: NobleModules = { cbc, ctr, ecb, gcm, chacha20poly1305, GHASH, ed25519, x25519, p256, p384, p521 };
