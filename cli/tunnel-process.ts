// The tunnel process: `roam connect` in the foreground, and the detached child of --background. Kept apart
// from the command-line program (commander, profiles, importers) so that the child loads only this.

import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { onShutdown } from "../platform/signals.ts";
import { serveControl, ControlBusyError, type ControlServer } from "./control.ts";
import type { ConnectRequest } from "./connect-options.ts";
import { ExitCode, exitCodeFor, UserError } from "./exit.ts";
import { fdWriter } from "./fd-writer.ts";
import { Reporter } from "./output.ts";
import { decodeRequest } from "./request-codec.ts";
import { readFirstLineSync } from "./stdin.ts";
import { STATE_DIR } from "./state-dir.ts";
import { Tunnel, GatewayResolveError, type TunnelEvent } from "./tunnel/runtime.ts";
import type { TunDevice } from "../platform/types.ts";
import { warmUp } from "./tunnel/warm-up.ts";
import { readableNow } from "../platform/linux/libc.ts";

export const TUNNEL_NAME = "roam";

export interface RunOptions {
  /**
   * Take the tunnel down on SIGINT/SIGTERM/SIGHUP or a crash, then exit (default). The roam service
   * has handlers of its own and says false: it stops the tunnel through `onStop`'s function.
   */
  signals?: boolean;
  /** Receives a function that takes this tunnel down and resolves once the host is clean. */
  onStop?: (stop: () => Promise<void>) => void;
  /** Called once the tunnel has ended (host clean, control socket gone), before the run's last steps. */
  onEnded?: () => void;
  /** The TUN opened for this tunnel already (the roam service opens it when the connect arrives); the run owns it. */
  tun?: Promise<TunDevice>;
}

/** Runs the tunnel in this process; `onEvent` sees every event. Returns the exit code. */
export async function runTunnel(req: ConnectRequest, onEvent: (e: TunnelEvent) => void, opts: RunOptions = {}): Promise<number> {
  let control: ControlServer | null = null;
  // "down" is reported only once the host is clean and the control socket gone: whoever acts on it
  // (a script, the --background parent) finds nothing of the tunnel left.
  const tunnel = new Tunnel(
    req,
    (e) => {
      if (e.kind === "down") control?.close();
      onEvent(e);
    },
    TUNNEL_NAME,
    opts.tun,
  );
  const stop = async (): Promise<void> => {
    tunnel.stop();
    await Promise.race([tunnel.done, Bun.sleep(5000)]);
    control?.close();
  };
  opts.onStop?.(stop);
  const shutdown = opts.signals === false ? { dispose() {} } : onShutdown(stop);
  try {
    // /run is empty after a boot (systemd starts roam@NAME there first): the socket's root-only directory.
    mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
    control = await serveControl(TUNNEL_NAME, {
      status: () => tunnel.status(),
      disconnect: async () => {
        tunnel.stop();
        const o = await tunnel.done;
        return { disconnected: true, outcome: o.ok ? o.reason : o.failure.message };
      },
    });
    await tunnel.start();
  } catch (e) {
    control?.close();
    shutdown.dispose();
    await tunnel.release(); // before the requester hears why: nothing of the tunnel is left then
    if (e instanceof ControlBusyError) throw new UserError(e.message);
    if (e instanceof GatewayResolveError) throw new UserError(e.message, ExitCode.UNREACHABLE);
    throw e;
  }
  const outcome = await tunnel.done;
  opts.onEnded?.();
  // A disconnect request waiting for tunnel.done gets its answer on the next turn.
  await Bun.sleep(20);
  shutdown.dispose();
  return exitCodeFor(outcome);
}

/** The detached child of --background: request on stdin, events on stdout until up or down. */
export async function runChild(): Promise<number> {
  const toParent = fdWriter(1);
  /** One line to the parent; false when it is gone (killed): then there is nobody to tell. */
  const tell = (msg: object): boolean => {
    try {
      toParent.write(`${JSON.stringify(msg)}\n`);
      return true;
    } catch {
      return false;
    }
  };
  let req: ConnectRequest;
  try {
    // The parent may still be checking the options: if so, do now what the connect would pay for later.
    if (process.platform === "linux" && !readableNow(0)) warmUp();
    const line = readFirstLineSync(0);
    // Started ahead by a parent that then did not need us (a usage error, --help): nothing to do.
    if (line === "") return ExitCode.OK;
    req = decodeRequest(line);
  } catch (e) {
    tell({ kind: "error", message: `bad request from the parent: ${String(e)}`, exitCode: ExitCode.INTERNAL });
    return ExitCode.INTERNAL;
  }
  return await runForRequester(req, tell);
}

/**
 * Runs the tunnel for a `connect --background` that waits for the outcome (this process's parent, or a
 * client of the roam service): `tell` gets each event as a JSON line until the tunnel is up or down, or an
 * {kind: "error", message, exitCode} line when it could not start; it returns false once the requester is
 * gone. Every event also goes to the log file beside the control socket (root-only directory).
 */
export async function runForRequester(req: ConnectRequest, tell: (msg: object) => boolean, opts: RunOptions = {}): Promise<number> {
  let attached = true;
  const logPath = `${STATE_DIR}/${TUNNEL_NAME}.log`;
  // Opened at the first line (runTunnel makes STATE_DIR) and kept for the run: a connect logs ~6 lines on
  // its way up, and an open and a close for each cost it ~0.1 ms.
  let logFd = -1;
  const log = new Reporter({
    write: (line: string) => {
      if (logFd < 0) logFd = openSync(logPath, "a", 0o600);
      writeSync(logFd, `${new Date().toISOString()} ${line}`);
    },
  });
  const emit = (e: TunnelEvent) => {
    log.event(e);
    if (!attached) return;
    attached = tell(e);
    if (e.kind === "up" || e.kind === "down") attached = false; // the requester has gone after this
  };
  try {
    return await runTunnel(req, emit, opts);
  } catch (e) {
    const exitCode = e instanceof UserError ? e.exitCode : ExitCode.INTERNAL;
    const message = e instanceof UserError ? e.message : `internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    if (attached) tell({ kind: "error", message, exitCode });
    return exitCode;
  } finally {
    if (logFd >= 0) closeSync(logFd);
  }
}
