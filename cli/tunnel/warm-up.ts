// Work the first connect would otherwise do on its critical path, done where the tunnel process waits
// anyway: the --background child before its request arrives (it usually loads before the parent has
// checked the options), and the foreground process while IKE_SA_INIT is in flight. Measured in the
// compiled binary on the 2-core machine (2026-11-23): opening libcrypto and OpenSSL's first fetch and
// keying of AES-GCM ~4-6 ms (paid at CHILD_SA install), the rtnetlink socket and its first use ~1 ms.
// Everything here is also done later on demand, so a failure here changes nothing.

import { warmUpLibcrypto } from "../../platform/crypto/esp-libcrypto.ts";
import { sharedRtnl } from "../../platform/linux/rtnl.ts";

let done = false;

export function warmUp(): void {
  if (done) return;
  done = true;
  try {
    warmUpLibcrypto();
  } catch {
    // the CHILD_SA install tries again and reports it
  }
  if (process.platform !== "linux") return;
  try {
    sharedRtnl();
  } catch {
    // host setup opens it again and reports it
  }
}
