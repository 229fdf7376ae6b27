// `roam status` and `roam disconnect`: talk to the running tunnel over its control socket.

import { existsSync, rmSync } from "node:fs";
import { Command } from "commander";
import { callControl, controlPath, NotRunningError } from "../control.ts";
import { ExitCode, UserError } from "../exit.ts";
import { STATE_DIR } from "../state-dir.ts";
import type { TunnelStatus } from "../tunnel/runtime.ts";

const TUNNEL_NAME = "roam";

export function statusCommand(): Command {
  return new Command("status")
    .description("show the tunnel: state, gateway, virtual IPs, routes, DNS, algorithms, SPIs, traffic")
    .option("--json", "print JSON (schema in README.md)")
    .action(async (opts: { json?: boolean }) => {
      let reply;
      try {
        reply = await callControl(TUNNEL_NAME, { command: "status" });
      } catch (e) {
        if (e instanceof NotRunningError) {
          if (opts.json) process.stdout.write(`${JSON.stringify({ state: "down" })}\n`);
          else process.stdout.write("not connected\n");
          process.exitCode = ExitCode.NOT_CONNECTED;
          return;
        }
        throw new UserError(`status: ${e instanceof Error ? e.message : String(e)}`, ExitCode.INTERNAL);
      }
      if (!reply.ok) throw new UserError(`status: ${reply.error}`, ExitCode.INTERNAL);
      const s = reply.result as TunnelStatus;
      process.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
    });
}

export function disconnectCommand(): Command {
  return new Command("disconnect")
    .description("tear the tunnel down; exits 0 once the host is clean")
    .action(async () => {
      try {
        const reply = await callControl(TUNNEL_NAME, { command: "disconnect" }, 30_000);
        if (!reply.ok) throw new UserError(`disconnect: ${reply.error}`, ExitCode.INTERNAL);
      } catch (e) {
        if (e instanceof NotRunningError) {
          // No live tunnel; but a roam that was killed may have left changes on the host: undo them,
          // and remove its control socket (nothing listens on it: the connection was refused).
          rmSync(controlPath(TUNNEL_NAME), { force: true });
          const state = `${STATE_DIR}/${TUNNEL_NAME}.json`;
          if (existsSync(state)) {
            let report;
            try {
              // Loaded only here: the journal brings rtnetlink (bun:ffi), which no other path of this process needs.
              const { recoverFromStateFile } = await import("../../platform/linux/journal.ts");
              report = recoverFromStateFile(state);
            } catch (err) {
              throw new UserError(`disconnect: ${err instanceof Error ? err.message : String(err)}`, ExitCode.HOST_SETUP_FAILED);
            }
            if (report.errors.length > 0) throw new UserError(`disconnect: could not undo: ${report.errors.join("; ")}`, ExitCode.HOST_SETUP_FAILED);
            process.stderr.write(`roam: no tunnel was running; undid ${report.undone} change(s) left by a roam that did not exit cleanly\n`);
            return;
          }
          process.stderr.write(`roam: disconnect: ${e.message}\n`);
          process.exitCode = ExitCode.NOT_CONNECTED;
          return;
        }
        throw e;
      }
    });
}

function formatStatus(s: TunnelStatus): string {
  const rows: [string, string][] = [
    ["state", s.state],
    ["gateway", `${s.gateway.host}${s.gateway.host === s.gateway.address ? "" : ` (${s.gateway.address})`} port ${s.gateway.port}`],
    ...((s.gateways ?? []).length > 1 ? [["gateways", s.gateways.join(" ")] as [string, string]] : []),
    ["local address", s.localAddress],
    ["interface", s.interface ?? "-"],
    ["virtual IPs", s.virtualIps.join(" ") || "-"],
    ["routes", s.routes.join(" ") || "-"],
    ["DNS", [...s.dns.servers, ...s.dns.domains.map((d) => `~${d}`)].join(" ") || "-"],
  ];
  if (s.ike) {
    rows.push(["IKE SA", `${s.ike.proposal}, SPIs ${s.ike.spiI}_i ${s.ike.spiR}_r`]);
    rows.push(["identities", `${s.ike.localId} → ${s.ike.remoteId}`]);
    rows.push(["NAT", s.ike.natLocal ? "we are behind a NAT" : s.ike.natRemote ? "gateway is behind a NAT" : "none detected (UDP encapsulation anyway)"]);
    rows.push(["MOBIKE", s.ike.mobike ? "yes: a new local address moves the SAs" : "no: a new local address means reconnecting"]);
  }
  if (s.child) rows.push(["CHILD_SA", `${s.child.proposal}, SPIs ${s.child.spiIn}_i ${s.child.spiOut}_o`]);
  const t = s.traffic;
  rows.push(["traffic", `in ${t.bytesIn} bytes / ${t.packetsIn} packets, out ${t.bytesOut} bytes / ${t.packetsOut} packets`]);
  const drops = Object.entries(s.drops).filter(([, n]) => n > 0);
  rows.push(["drops", drops.length ? drops.map(([k, n]) => `${k} ${n}`).join(", ") : "none"]);
  rows.push(["uptime", `${s.uptimeSeconds} s`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}\n`).join("");
}
