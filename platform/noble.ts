// Importing this module makes core's noble() (core/crypto/noble.ts) load noble's ciphers and curves on
// first use, with a synchronous require: in the bundle of `bun build --compile` the required module
// stays behind a lazy wrapper, so a start that never calls noble() never evaluates it.
// Entry points (cli/main.ts, scripts that use core) import it first.

import { setNobleLoader, type NobleModules } from "../core/crypto/noble.ts";

setNobleLoader((): NobleModules => (require("../core/crypto/noble-modules.ts") as typeof import("../core/crypto/noble-modules.ts")).NOBLE);
