// The roam service reads a client's `roam connect` command line (cli/service-client.ts, ArgvMessage) as the
// client would have read it: the same program and checks (cli/program.ts), the client's environment, and
// the client's files. Those are opened through /proc/PID/root and the client's working directory, so that
// a client in another mount namespace (`ip netns exec`, a unit with PrivateTmp) gets the files it sees;
// messages name each path as the user gave it. What only the client can do is left to it: reading its
// standard input (the client never hands over such a command line) and prompting on its terminal for a
// missing secret; then the client reads the command line itself and sends the checked request.

import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { ConnectContext } from "./commands/connect.ts";
import type { ConnectRequest } from "./connect-options.ts";
import { Reporter } from "./output.ts";
import { buildProgram, main, type ProgramIO } from "./program.ts";
import type { ArgvMessage } from "./service-client.ts";

export type ParseOutcome =
  /** A tunnel to start; `writes` first (warnings about the profile). */
  | { kind: "request"; request: ConnectRequest; writes: Write[] }
  /** No tunnel (a usage or config error): `writes`, then exit with `code`. */
  | { kind: "exit"; code: number; writes: Write[] }
  /** The client reads its command line itself, because of `why`. */
  | { kind: "local"; why: string };

export interface Write {
  fd: 1 | 2;
  text: string;
}

/** Thrown where the client's standard input or terminal would be read. */
class ClientOnly extends Error {}

/** Whether a line received on the service socket is a command line (and not a checked request). */
export function isArgvMessage(msg: unknown): msg is ArgvMessage {
  const m = msg as Partial<ArgvMessage> | null;
  return typeof m === "object" && m !== null && m.kind === "argv";
}

/**
 * Reads the client's command line; throws (a bug) only for what the program itself would not catch.
 * `terminal` says whether the client's standard input may be a terminal (tests replace it).
 */
export async function parseForClient(msg: ArgvMessage, terminal: (pid: number) => boolean = onTerminal): Promise<ParseOutcome> {
  const bad = malformed(msg);
  if (bad !== null) throw new Error(`malformed command line message: ${bad}`);
  if (!sameProcess(msg)) return { kind: "local", why: "the client is not in our PID namespace" };
  const root = `/proc/${msg.pid}/root`;
  const writes: Write[] = [];
  const write = (fd: 1 | 2) => (text: string) => {
    writes.push({ fd, text });
  };
  let request: ConnectRequest | null = null;
  const clientOnly = (): Promise<string> => Promise.reject(new ClientOnly());
  const context: ConnectContext = {
    env: msg.env,
    uid: msg.uid,
    hostPath: (p) => root + resolve(msg.cwd, p),
    readStdinLine: clientOnly,
    prompt: terminal(msg.pid) ? clientOnly : undefined,
    out: new Reporter({ write: write(2) }),
    run: async (r) => {
      request = r;
    },
  };
  const io: ProgramIO = { writeOut: write(1), writeErr: write(2), connect: context };
  const next = spare ?? prepare();
  spare = null;
  next.binding.io = io;
  let code: number;
  try {
    code = await main(msg.argv, io, await next.program);
  } catch (e) {
    if (e instanceof ClientOnly) return { kind: "local", why: "a secret is missing, to be asked for on the client's terminal" };
    throw e;
  }
  const req = request as ConnectRequest | null;
  if (req === null) return { kind: "exit", code, writes };
  // Without --background after all (the flag was an option's value): the client runs the tunnel itself.
  if (!req.background) return { kind: "local", why: "not a --background connect" };
  return { kind: "request", request: req, writes };
}

/**
 * The program for the next command line, built while the service waits: building it (commander, the
 * connect command's 35 options) was ~1 ms of the ~1.8 ms that reading a command line took. A program
 * parses once; its output and connect context are bound to the command line it reads.
 */
let spare: { program: Promise<Command>; binding: { io: ProgramIO | null } } | null = null;

function prepare(): { program: Promise<Command>; binding: { io: ProgramIO | null } } {
  const binding: { io: ProgramIO | null } = { io: null };
  const bound = (): ProgramIO => {
    if (binding.io === null) throw new Error("a prepared program was used before it was bound");
    return binding.io;
  };
  const context = (): ConnectContext => bound().connect!;
  const io: ProgramIO = {
    writeOut: (s) => bound().writeOut(s),
    writeErr: (s) => bound().writeErr(s),
    connect: {
      get env() {
        return context().env;
      },
      get uid() {
        return context().uid;
      },
      get hostPath() {
        return context().hostPath;
      },
      readStdinLine: () => context().readStdinLine(),
      get prompt() {
        return context().prompt;
      },
      get out() {
        return context().out;
      },
      run: (req) => context().run(req),
    },
  };
  const program = buildProgram(["connect"], io);
  program.catch(() => {}); // a failure (a bug) is reported by the parse that awaits it, not as unhandled
  return { program, binding };
}

/** Builds the program for the next command line now (the service calls it when it has nothing else to do). */
export function prepareNextCommandLine(): void {
  spare ??= prepare();
}

/**
 * Whether msg.pid is the client in our view of the processes: a client in another PID namespace would
 * name some other process (or none), and its files could not be found through /proc.
 */
function sameProcess(msg: ArgvMessage): boolean {
  try {
    return statSync(`/proc/${msg.pid}/ns/pid`).ino === msg.pidNs;
  } catch {
    return false;
  }
}

/**
 * Whether the client's standard input may be a terminal, where a missing secret would be asked for: any
 * character device counts (also /dev/null), which at worst leaves a command line to the client that the
 * service could have read.
 */
function onTerminal(pid: number): boolean {
  try {
    return statSync(`/proc/${pid}/fd/0`).isCharacterDevice();
  } catch {
    return true;
  }
}

function malformed(m: ArgvMessage): string | null {
  if (!Array.isArray(m.argv) || m.argv[0] !== "connect" || !m.argv.every((a) => typeof a === "string")) return "argv";
  if (typeof m.cwd !== "string" || !m.cwd.startsWith("/")) return "cwd";
  if (typeof m.env !== "object" || m.env === null || !Object.values(m.env).every((v) => typeof v === "string")) return "env";
  if (!Number.isSafeInteger(m.pid) || m.pid <= 0) return "pid";
  if (!Number.isSafeInteger(m.uid) || !Number.isSafeInteger(m.pidNs)) return "uid or pidNs";
  return null;
}
