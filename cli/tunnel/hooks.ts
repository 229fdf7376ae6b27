// Up/down hooks, like strongSwan's updown script: the user's command runs with /bin/sh when the tunnel
// comes up and before it goes down, with ROAM_* variables describing the tunnel.

import type { TunnelConfig } from "../../core/ike/types.ts";
import type { TunnelStatus } from "./runtime.ts";

/** How long a hook may run before it is killed. */
const HOOK_TIMEOUT_MS = 30_000;

/** The hook's environment: ours, and the tunnel as `status` and `config` describe it. */
export function hookEnvironment(event: "up" | "down", profile: string | undefined, s: TunnelStatus, c: TunnelConfig | null): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    ROAM_EVENT: event,
    ROAM_PROFILE: profile ?? "",
    ROAM_INTERFACE: s.interface ?? "",
    ROAM_VIRTUAL_IP4: c?.ip4.join(" ") ?? "",
    ROAM_VIRTUAL_IP6: c?.ip6.join(" ") ?? "",
    ROAM_ROUTES: s.routes.join(" "),
    ROAM_DNS: s.dns.servers.join(" "),
    ROAM_DOMAINS: s.dns.domains.join(" "),
    ROAM_GATEWAY: s.gateway.address,
    ROAM_GATEWAY_HOST: s.gateway.host,
    ROAM_LOCAL_ADDRESS: s.localAddress,
    ROAM_LOCAL_ID: s.ike?.localId ?? "",
    ROAM_REMOTE_ID: s.ike?.remoteId ?? "",
  };
}

/** Runs `command` and waits for it (at most 30 s); a failure is reported through `report`, never thrown. */
export async function runHook(event: "up" | "down", command: string, env: Record<string, string>, report: (message: string) => void): Promise<void> {
  try {
    const p = Bun.spawn(["/bin/sh", "-c", command], { env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const timer = setTimeout(() => p.kill("SIGKILL"), HOOK_TIMEOUT_MS);
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    clearTimeout(timer);
    if (code !== 0) report(`${event} hook exited ${code}${err.trim() ? `: ${err.trim().split("\n")[0]}` : ""}`);
  } catch (e) {
    report(`${event} hook could not run: ${e instanceof Error ? e.message : String(e)}`);
  }
}
