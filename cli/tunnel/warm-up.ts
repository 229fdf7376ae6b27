// Work the first connect would otherwise do on its critical path, done where the tunnel process waits
// anyway: the --background child before its request arrives (when the parent is still checking the
// options), and the process while each IKE request is in flight (a step per round trip, since a round trip
// with the gateway of the interop stage takes ~2-3 ms). Measured in the compiled binary on the 2-core
// machine (2026-11-23): opening libcrypto through bun:ffi ~2 ms and OpenSSL's first keying of AES-GCM
// ~2-3 ms (both otherwise paid at the CHILD_SA install, between IKE_AUTH and `up`), the rtnetlink socket
// (host setup). Everything here is done again on demand if it failed, so a failure here changes nothing.

import { libcrypto } from "../../platform/crypto/libcrypto.ts";
import { warmUpLibcrypto } from "../../platform/crypto/esp-libcrypto.ts";
import { sharedRtnl } from "../../platform/linux/rtnl.ts";

const steps: (() => unknown)[] = [
  () => {
    libcrypto();
    if (process.platform === "linux") sharedRtnl();
  },
  warmUpLibcrypto,
];

/** Whether a step is left. */
export function warmUpPending(): boolean {
  return steps.length > 0;
}

/** Does the next step. */
export function warmUpStep(): void {
  const step = steps.shift();
  try {
    step?.();
  } catch {
    // done again, and reported, where it is needed
  }
}

/** Does every step left. */
export function warmUp(): void {
  while (steps.length > 0) warmUpStep();
}
