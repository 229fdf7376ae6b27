// Runs `roam profiles …` / `roam import …` in a child process (the lead wires them into cli/main.ts).
import "../../../platform/noble.ts";
import { Command, CommanderError } from "commander";
import { importCommand } from "../../../cli/commands/import.ts";
import { profilesCommand } from "../../../cli/commands/profiles.ts";
import { UserError } from "../../../cli/exit.ts";
import { defaultStoreDirs } from "../../../cli/profiles/store.ts";

const dirs = () => ({ ...defaultStoreDirs(), system: process.env.TEST_SYSTEM_DIR!, systemFirst: false });
const program = new Command("roam").exitOverride().addCommand(profilesCommand(dirs)).addCommand(importCommand(dirs));
for (const c of program.commands) c.exitOverride();
try {
  await program.parseAsync(process.argv.slice(2), { from: "user" });
} catch (e) {
  if (e instanceof UserError) {
    process.stderr.write(`roam: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  throw e;
}
