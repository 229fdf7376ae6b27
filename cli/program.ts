// roam's command-line program (commander): every command, its options, exit codes. cli/main.ts loads it
// for everything but the --background tunnel process.
import { Command, CommanderError } from "commander";
import pkg from "../package.json" with { type: "json" };
import type { ConnectContext } from "./commands/connect.ts";
import { ExitCode, UserError } from "./exit.ts";

/** Where the program's output goes, and (for the roam service reading a client's command line) the connect command's context. */
export interface ProgramIO {
  writeOut(s: string): void;
  writeErr(s: string): void;
  connect?: ConnectContext;
}

const PROCESS_IO: ProgramIO = {
  writeOut: (s) => void process.stdout.write(s),
  writeErr: (s) => void process.stderr.write(s),
};

/**
 * Each command's module, loaded only when the command line names it (`roam connect` need not load the
 * importers, ~2-4 ms of a start). Help, --version and anything unknown get them all.
 */
const COMMANDS: Record<string, (io: ProgramIO) => Promise<Command[]>> = {
  connect: async (io) => [(await import("./commands/connect.ts")).connectCommand(io.connect)],
  disconnect: async () => [(await import("./commands/session.ts")).disconnectCommand()],
  status: async () => [(await import("./commands/session.ts")).statusCommand()],
  import: async () => [(await import("./commands/import.ts")).importCommand()],
  profiles: async () => [(await import("./commands/profiles.ts")).profilesCommand()],
  service: async () => [(await import("./commands/service.ts")).serviceCommand()],
};

/** The program with the command `argv` names, or with every command when it names none of them. */
export async function buildProgram(argv: readonly string[] = [], io: ProgramIO = PROCESS_IO): Promise<Command> {
  const named = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? [argv[0]] : Object.keys(COMMANDS);
  const commands = (await Promise.all(named.map((n) => COMMANDS[n]!(io)))).flat();
  const output = { writeOut: (s: string) => io.writeOut(s), writeErr: (s: string) => io.writeErr(s) };
  const program = new Command("roam")
    .description("Road-warrior IKEv2/IPsec VPN client")
    .version(pkg.version, "-V, --version", "print the version and exit")
    .helpOption("-h, --help", "show help")
    .showHelpAfterError("(run roam --help for usage)")
    .configureOutput(output)
    .exitOverride();
  for (const c of commands) {
    program.addCommand(c.exitOverride().configureOutput(output));
  }
  return program;
}

/** Runs the command line; `program`: built ahead by buildProgram(argv, io) (the roam service does). */
export async function main(argv: string[], io: ProgramIO = PROCESS_IO, built?: Command): Promise<number> {
  const program = built ?? (await buildProgram(argv, io));
  try {
    await program.parseAsync(argv, { from: "user" });
    // Commands report their outcome through process.exitCode (0 when they set none).
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.OK;
  } catch (e: unknown) {
    if (e instanceof CommanderError) {
      // --help and --version end through here with code 0.
      if (e.exitCode === 0) return ExitCode.OK;
      return ExitCode.USAGE; // commander already printed the one-line reason
    }
    if (e instanceof UserError) {
      io.writeErr(`roam: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
