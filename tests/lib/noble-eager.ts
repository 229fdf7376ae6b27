// bun test's preload (bunfig.toml): core's noble() (core/crypto/noble.ts) returns the modules loaded
// here, up front, so that every test can use core's ciphers and curves as if they were static imports.
// The binary and scripts load them lazily instead (platform/noble.ts).

import { setNobleLoader } from "../../core/crypto/noble.ts";
import { NOBLE } from "../../core/crypto/noble-modules.ts";

setNobleLoader(() => NOBLE);
