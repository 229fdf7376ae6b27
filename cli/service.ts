// `roam service`: a resident roam that `roam connect --background` hands its tunnel to, as swanctl hands
// its connections to a running charon. Without it, every background connect starts a second roam process
// and runs the protocol code cold (~20-25 ms of process start and loading, ~15-25 ms of first-run code on
// the 2-core machine); the service has done both already, a tunnel's reader workers serve the next tunnel
// (platform/linux/reader-worker.ts recycleReaderWorker), and after its start, while idle, it rehearses
// connects in process until their code runs compiled (cli/service-rehearsal.ts). It runs one tunnel at a
// time, like roam without it.
//
// Protocol on the socket (root-only directory, the socket itself 0600): the client sends one line, either
//   - its command line (cli/service-client.ts ArgvMessage), which the service reads as the client would
//     have (cli/service-parse.ts): the client then need not load commander and the checks, ~10 ms of its
//     start. The answer may be "write" lines (warnings, usage messages) and "exit" (no tunnel), or "local":
//     the client reads the command line itself (it needs the client's terminal) and sends
//   - the checked request (cli/request-codec.ts, secrets included: the same line the --background child
//     reads on its standard input).
// Then the client reads JSON event lines until "up", "down" or {"kind":"error"}, exactly what the child
// writes to its parent. Then the connection closes and the tunnel carries on in the service; `roam status`
// and `roam disconnect` reach it through its control socket as they reach a child.

import { chmodSync, mkdirSync, unlinkSync } from "node:fs";
import type { Socket } from "bun";
import { onShutdown } from "../platform/signals.ts";
import { prestartTunnelWorkers } from "../platform/workers.ts";
import { claimSocketPath, controlPath, listenForRequestLines } from "./control.ts";
import { ExitCode, UserError } from "./exit.ts";
import type { Reporter } from "./output.ts";
import type { ConnectRequest } from "./connect-options.ts";
import { decodeRequest } from "./request-codec.ts";
import type { ArgvMessage } from "./service-client.ts";
import { isArgvMessage, parseForClient, prepareNextCommandLine } from "./service-parse.ts";
import { REHEARSALS, startRehearsals } from "./service-rehearsal.ts";
import { SERVICE_SOCKET, STATE_DIR } from "./state-dir.ts";
import { runForRequester, TUNNEL_NAME } from "./tunnel-process.ts";
import { openTunnelTun } from "./tunnel/runtime.ts";
import type { TunDevice } from "../platform/types.ts";
import { warmUp } from "./tunnel/warm-up.ts";

/** A request line longer than this is not a connect request (a full one with a certificate chain is ~10-40 kB). */
const MAX_REQUEST_BYTES = 1 << 20;

export interface ServiceHandle {
  /** Resolves when the service has stopped (its tunnel down and the host clean, the socket removed). */
  readonly stopped: Promise<void>;
  /** Takes the tunnel down, stops listening, removes the socket. */
  stop(): Promise<void>;
}

/**
 * Listens on SERVICE_SOCKET until stopped. With `signals` (the command), SIGINT/SIGTERM/SIGHUP and a crash
 * take the tunnel down and end the process, as they do for `roam connect`.
 */
export async function startService(out: Reporter, opts: { signals: boolean } = { signals: true }): Promise<ServiceHandle> {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  await claimSocketPath(SERVICE_SOCKET, () => new UserError(`service: a roam service already listens on ${SERVICE_SOCKET}`));
  // What the first connect would otherwise pay for: libcrypto, rtnetlink, OpenSSL's first keying, workers.
  if (process.platform === "linux") warmUp();
  prestartTunnelWorkers();
  prepareNextCommandLine();

  /** The tunnel's stop function while a tunnel runs (from its request until it is down). */
  let stopTunnel: (() => Promise<void>) | null = null;
  /** The run of the tunnel that has not ended (a connect now is refused as busy). */
  let active: Promise<number> | null = null;
  /** Every run until it has returned, the last steps after its tunnel ended included (stop() waits for them). */
  const running = new Set<Promise<number>>();
  /** Connections whose client still waits for events (until up, down or an error). */
  const attached = new WeakSet<Socket<undefined>>();
  /** Command lines being read (a connect on its way to a tunnel, or to its answer without one). */
  let reading = 0;

  const serve = (sock: Socket<undefined>, line: string): void => {
    attached.add(sock);
    // Most requests are connects that start a tunnel: its TUN opens now, on the reader worker's thread,
    // while this one reads the command line (runtime.ts openTunnelTun), and the tunnel takes it. A request
    // that starts no tunnel closes it before its answer, so its client finds nothing of it left.
    let tun = active === null && reading === 0 ? openTunnelTun(TUNNEL_NAME) : null;
    tun?.catch(() => {}); // a failure is reported by the tunnel that takes it
    const answer = (msg: object): void => {
      const unused = tun;
      tun = null;
      if (unused === null) void tell(msg);
      else void unused.then((t) => t.close(), () => {}).then(() => tell(msg));
    };
    const tell = (msg: object): boolean => {
      if (!attached.has(sock)) return false;
      const text = `${JSON.stringify(msg)}\n`;
      const bytes = new TextEncoder().encode(text);
      const ok = sock.write(bytes) === bytes.length;
      const last = (msg as { kind?: string }).kind;
      if (!ok || last === "up" || last === "down" || last === "error" || last === "exit" || last === "local") {
        attached.delete(sock);
        sock.end();
        // Answered without a tunnel running: ready the next command line now. (With a tunnel up, when it
        // ends: building it here would hold up the tunnel's first packets.)
        if (active === null) {
          prepareNextCommandLine();
          rehearsals.resume();
        }
      }
      return ok;
    };
    const startWithTun = (req: ConnectRequest): void => {
      const t = tun;
      tun = null;
      start(req, tell, t);
    };
    let msg: ConnectRequest | ArgvMessage;
    try {
      msg = decodeRequest(line);
    } catch (e) {
      answer({ kind: "error", message: `bad request from roam connect: ${String(e)}`, exitCode: ExitCode.INTERNAL });
      return;
    }
    if (!isArgvMessage(msg)) {
      out.line("connect: a request checked by the client");
      startWithTun(msg);
      return;
    }
    const pid = msg.pid;
    reading++;
    parseForClient(msg).finally(() => reading--).then(
      (p) => {
        if (p.kind === "local") {
          out.line(`connect from pid ${pid}: the client reads its command line itself (${p.why})`);
          return answer({ kind: "local" });
        }
        out.line(`connect from pid ${pid}: command line read by the service`);
        for (const w of p.writes) tell({ kind: "write", fd: w.fd, text: w.text });
        if (p.kind === "exit") answer({ kind: "exit", code: p.code });
        else startWithTun(p.request);
      },
      (e) => answer({ kind: "error", message: `internal error reading the command line (a bug, please report it): ${e instanceof Error ? e.message : String(e)}`, exitCode: ExitCode.INTERNAL }),
    );
  };

  /** `tun`: opened for this connect when it arrived (serve); the run owns it, or it is closed here. */
  const start = (req: ConnectRequest, tell: (msg: object) => boolean, tun: Promise<TunDevice> | null): void => {
    if (active !== null) {
      const busy = { kind: "error", message: `a tunnel named "roam" is already running in the roam service (control socket ${controlPath("roam")}); run roam disconnect first`, exitCode: ExitCode.USAGE };
      if (tun === null) tell(busy);
      else void tun.then((t) => t.close(), () => {}).then(() => tell(busy));
      return;
    }
    // The next connect is taken as soon as the tunnel has ended (host clean, control socket gone): the
    // answer to `roam disconnect` comes then, and a script's `roam disconnect && roam connect` must not
    // find the run's last steps (~20 ms) still in the way.
    const ended = (): void => {
      if (active !== run) return;
      active = null;
      stopTunnel = null;
    };
    const run = runForRequester(req, tell, { signals: false, onStop: (s) => (stopTunnel = s), onEnded: ended, ...(tun === null ? {} : { tun }) });
    active = run;
    running.add(run);
    void run.then((code) => {
      running.delete(run);
      ended(); // a run that failed before its tunnel started
      out.line(`tunnel ended (exit ${code}); waiting for the next connect`);
      if (active !== null) return; // the next tunnel runs already
      prepareNextCommandLine();
      rehearsals.resume();
      // The tunnel's reader workers serve the next one (reader-worker.ts recycleReaderWorker). The UDP
      // reader's stop is answered within a second: after that, start new ones where none came back, unless
      // a tunnel runs again (its own workers come back when it ends).
      setTimeout(() => {
        if (active === null) prestartTunnelWorkers();
      }, 1500).unref();
    });
  };

  // Rehearsed connects (cli/service-rehearsal.ts), a few ms at a time while no connect and no tunnel runs:
  // the first real connects after the start may find them unfinished.
  const rehearsals = startRehearsals({
    count: REHEARSALS,
    dir: STATE_DIR,
    idle: () => active === null && reading === 0 && stopping === null,
    done: (ran, ms, failed) => {
      // Their garbage goes now, not in a connect: ~8 MB less resident afterwards (83 → 76 MB, 2026-11-23).
      Bun.gc(true);
      out.line(failed === undefined ? `rehearsed ${ran} connects in ${ms.toFixed(0)} ms: connects run compiled code now` : `rehearsal stopped after ${ran}: ${failed} (a bug, please report it)`);
    },
  });

  // A client that goes away (it was killed, or has its answer) leaves the tunnel carrying on, unwatched.
  const server = listenForRequestLines(SERVICE_SOCKET, MAX_REQUEST_BYTES, serve, (sock) => attached.delete(sock));
  chmodSync(SERVICE_SOCKET, 0o600);

  let stopping: Promise<void> | null = null;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      rehearsals.stop();
      server.stop(true);
      try {
        unlinkSync(SERVICE_SOCKET);
      } catch {
        // already gone
      }
      const s = stopTunnel;
      if (s !== null) await s();
      if (running.size > 0) await Promise.race([Promise.all(running), Bun.sleep(5000)]);
      shutdown?.dispose();
      resolveStopped();
    })();
    return stopping;
  };
  const shutdown = opts.signals ? onShutdown(stop) : null;
  out.line(`service listening on ${SERVICE_SOCKET}`);
  return { stopped, stop };
}
