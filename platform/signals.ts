// Cleanup exactly once, however the process ends: SIGINT, SIGTERM, SIGHUP, an uncaught exception or an
// unhandled promise rejection — the tunnel's routes, addresses and DNS must not outlive roam.
// A second SIGINT/SIGTERM while the cleanup runs exits at once (the journal's state file still lets
// `roam` undo later).

export type ShutdownReason = "SIGINT" | "SIGTERM" | "SIGHUP" | "uncaughtException" | "unhandledRejection" | "requested";

/** Exit codes: 128 + signal number for signals (shell convention), 1 for a crash (a bug). */
export const SHUTDOWN_EXIT_CODE: Record<ShutdownReason, number> = {
  SIGINT: 130,
  SIGTERM: 143,
  SIGHUP: 129,
  uncaughtException: 1,
  unhandledRejection: 1,
  requested: 0,
};

export interface ShutdownHandle {
  /** Runs the cleanup now (if it has not run) without exiting; resolves when it is done. */
  run(): Promise<void>;
  /** Removes the handlers (the cleanup will not run on signals any more). */
  dispose(): void;
}

export interface ShutdownOptions {
  /** Where crash reports go; default stderr. */
  report?: (text: string) => void;
  /** Ends the process; default process.exit. */
  exit?: (code: number) => void;
}

/** Installs the handlers. `cleanup` runs at most once, and its own failure is reported, not rethrown. */
export function onShutdown(cleanup: (reason: ShutdownReason) => void | Promise<void>, opts: ShutdownOptions = {}): ShutdownHandle {
  const report = opts.report ?? ((t: string) => process.stderr.write(t));
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let done: Promise<void> | null = null;

  const runOnce = (reason: ShutdownReason): Promise<void> => {
    if (done !== null) return done;
    done = (async () => {
      try {
        await cleanup(reason);
      } catch (e) {
        report(`roam: cleanup failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      }
    })();
    return done;
  };

  const onSignal = (sig: "SIGINT" | "SIGTERM" | "SIGHUP") => () => {
    if (done !== null) {
      exit(SHUTDOWN_EXIT_CODE[sig]); // second signal: the user insists
      return;
    }
    void runOnce(sig).then(() => exit(SHUTDOWN_EXIT_CODE[sig]));
  };
  const sigint = onSignal("SIGINT");
  const sigterm = onSignal("SIGTERM");
  const sighup = onSignal("SIGHUP");
  const onCrash = (reason: "uncaughtException" | "unhandledRejection") => (e: unknown) => {
    report(`roam: internal error (a bug, please report it):\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    void runOnce(reason).then(() => exit(SHUTDOWN_EXIT_CODE[reason]));
  };
  const uncaught = onCrash("uncaughtException");
  const unhandled = onCrash("unhandledRejection");

  process.on("SIGINT", sigint);
  process.on("SIGTERM", sigterm);
  process.on("SIGHUP", sighup);
  process.on("uncaughtException", uncaught);
  process.on("unhandledRejection", unhandled);

  return {
    run: () => runOnce("requested"),
    dispose: () => {
      process.off("SIGINT", sigint);
      process.off("SIGTERM", sigterm);
      process.off("SIGHUP", sighup);
      process.off("uncaughtException", uncaught);
      process.off("unhandledRejection", unhandled);
    },
  };
}
