// Running system tools (resolvectl; links, addresses and routes go through rtnetlink, rtnl.ts) with
// argument arrays — never a shell string — and typed failures that name the command and quote its stderr.

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs argv[0] with the rest as arguments and waits. Injected so tests can record or fake commands. */
export type Runner = (argv: readonly string[]) => RunResult;

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`\`${argv.join(" ")}\` failed (exit ${exitCode}): ${stderr.trim() || "no message"}`);
    this.name = "CommandError";
  }
}

/** The real runner: Bun.spawnSync, no shell, stdin closed, LC_ALL=C so messages are matchable. */
export const spawnRunner: Runner = (argv) => {
  try {
    const r = Bun.spawnSync([...argv], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, LC_ALL: "C" },
    });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  } catch (e) {
    // The program is missing or not executable.
    return { exitCode: 127, stdout: "", stderr: e instanceof Error ? e.message : String(e) };
  }
};

/** Runs and returns stdout, or throws CommandError. */
export function runChecked(runner: Runner, argv: readonly string[]): string {
  const r = runner(argv);
  if (r.exitCode !== 0) throw new CommandError(argv, r.exitCode, r.stderr);
  return r.stdout;
}

/**
 * Messages resolvectl (and iproute2, which roam no longer runs) print when the thing to remove is already
 * gone (the TUN vanished, or an earlier undo already ran).
 */
const GONE = [
  /Cannot find device/i,
  /No such device/i,
  /No such process/i, // RTNETLINK answers: No such process (route already deleted)
  /Cannot assign requested address/i, // ip addr del of an address no longer there
  /does not exist/i,
  /Failed to resolve interface/i,
  /No such file or directory/i,
];

export function isGoneError(stderr: string): boolean {
  return GONE.some((re) => re.test(stderr));
}
