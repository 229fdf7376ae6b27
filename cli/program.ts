// roam's command-line program (commander): every command, its options, exit codes. cli/main.ts loads it
// for everything but the --background tunnel process.
import { Command, CommanderError } from "commander";
import pkg from "../package.json" with { type: "json" };
import { ExitCode, UserError } from "./exit.ts";

/**
 * Each command's module, loaded only when the command line names it (`roam connect` need not load the
 * importers, ~2-4 ms of a start). Help, --version and anything unknown get them all.
 */
const COMMANDS: Record<string, () => Promise<Command[]>> = {
  connect: async () => [(await import("./commands/connect.ts")).connectCommand()],
  disconnect: async () => [(await import("./commands/session.ts")).disconnectCommand()],
  status: async () => [(await import("./commands/session.ts")).statusCommand()],
  import: async () => [(await import("./commands/import.ts")).importCommand()],
  profiles: async () => [(await import("./commands/profiles.ts")).profilesCommand()],
  service: async () => [(await import("./commands/service.ts")).serviceCommand()],
};

/** The program with the command `argv` names, or with every command when it names none of them. */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const named = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? [argv[0]] : Object.keys(COMMANDS);
  const commands = (await Promise.all(named.map((n) => COMMANDS[n]!()))).flat();
  const program = new Command("roam")
    .description("Road-warrior IKEv2/IPsec VPN client")
    .version(pkg.version, "-V, --version", "print the version and exit")
    .helpOption("-h, --help", "show help")
    .showHelpAfterError("(run roam --help for usage)")
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride();
  for (const c of commands) {
    program.addCommand(c.exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) }));
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
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
      process.stderr.write(`roam: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
