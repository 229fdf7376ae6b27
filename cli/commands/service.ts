// `roam service`: the resident roam that `roam connect --background` hands its tunnel to (cli/service.ts).

import { Command } from "commander";
import { lineWriterIgnoringErrors } from "../fd-writer.ts";
import { Reporter } from "../output.ts";

export function serviceCommand(): Command {
  return new Command("service")
    .description("stay resident (foreground): `connect --background` then runs its tunnel here and connects faster")
    .action(async () => {
      const { startService } = await import("../service.ts");
      const service = await startService(new Reporter(lineWriterIgnoringErrors(2)));
      await service.stopped;
    });
}
