// roam's command-line program (commander): every command, its options, exit codes. cli/main.ts loads it
// for everything but the --background tunnel process.
import { Command, CommanderError } from "commander";
import pkg from "../package.json" with { type: "json" };
import { connectCommand } from "./commands/connect.ts";
import { importCommand } from "./commands/import.ts";
import { profilesCommand } from "./commands/profiles.ts";
import { disconnectCommand, statusCommand } from "./commands/session.ts";
import { ExitCode, UserError } from "./exit.ts";

export function buildProgram(): Command {
  const program = new Command("roam")
    .description("Road-warrior IKEv2/IPsec VPN client")
    .version(pkg.version, "-V, --version", "print the version and exit")
    .helpOption("-h, --help", "show help")
    .showHelpAfterError("(run roam --help for usage)")
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride();
  for (const c of [connectCommand(), disconnectCommand(), statusCommand(), importCommand(), profilesCommand()]) {
    program.addCommand(c.exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) }));
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
