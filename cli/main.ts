#!/usr/bin/env bun
// roam: the command line. The only place that talks to a person.
//
// This entry loads as little as it can before it knows what to run: loading all of roam (commander, the
// importers, the protocol, noble) takes ~25-40 ms of a start. The --background tunnel process loads only
// the tunnel (cli/tunnel-process.ts), and a `connect --background` starts that process first thing, so that
// both load at the same time (cli/background.ts); when a roam service listens, it gets the command line
// and none of that is loaded (cli/service-client.ts). The process that runs the tunnel starts its reader
// workers first of all (platform/workers.ts). noble's ciphers and curves load on first use
// (platform/noble.ts, imported first: it sets core's loader before anything can call it).

import "../platform/noble.ts";
import { ExitCode } from "./exit.ts";
import { connectThroughService, forService } from "./service-client.ts";

function internalError(e: unknown): never {
  process.stderr.write(`roam: internal error (a bug, please report it):\n${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(ExitCode.INTERNAL);
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  // The process that will run the tunnel (foreground, or the --background child): its reader workers
  // start loading now, on the other core, while this thread loads the rest.
  if (argv[0] === "connect" && !argv.includes("--background")) void import("../platform/workers.ts").then((m) => m.prestartTunnelWorkers());
  if (argv.length === 2 && argv[0] === "connect" && argv[1] === "--internal-child") {
    import("./tunnel-process.ts").then((m) => m.runChild()).then((code) => process.exit(code), internalError);
  } else if (forService(argv)) {
    // A roam service listens: it reads the command line (cli/service-client.ts), unless it leaves it to us.
    connectThroughService(argv)
      .then((code) => (code === null ? runHere(argv) : process.exit(code)))
      .catch(internalError);
  } else {
    void runHere(argv).catch(internalError);
  }
}

async function runHere(argv: string[]): Promise<void> {
  const { discardTunnelProcess, startTunnelProcessAhead } = await import("./background.ts");
  startTunnelProcessAhead(argv);
  import("./program.ts")
    .then((m) => m.main(argv))
    .then((code) => {
      discardTunnelProcess();
      process.exit(code);
    }, internalError);
}
