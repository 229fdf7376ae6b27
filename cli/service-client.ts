// The client side of the roam service's socket (cli/service.ts). `roam connect ... --background` with a
// service listening hands it the command line itself (connectThroughService): the service, which has
// commander, the checks and the protocol loaded and run already, reads it as this process would have
// (cli/service-parse.ts), and this process only relays the answer. A connect that the service cannot read
// for it (one that reads standard input, or may prompt on the terminal) reads its command line here and
// sends the checked request (serviceHost).
//
// cli/main.ts loads this module on every start, so it imports no `node:` module, only Bun's own API: in
// the compiled binary, loading node:fs costs a start ~1.5 ms and node:tty ~2.3 ms (measured 2026-11-23,
// 2-core machine), more than the rest of a connect handed to the service takes in this process.

import type { Socket } from "bun";
import { ExitCode, exitCodeFor } from "./exit.ts";
import { Reporter } from "./output.ts";
import { SERVICE_SOCKET } from "./state-dir.ts";
import type { TunnelEvent } from "./tunnel/runtime.ts";

/** A `roam connect` command line handed to the service, with what the service needs to read it as its client would. */
export interface ArgvMessage {
  kind: "argv";
  /** As given after `roam`: "connect", then its arguments. */
  argv: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  uid: number;
  pid: number;
  /** The inode of /proc/self/ns/pid: the service checks that `pid` names this process in its own view. */
  pidNs: number;
}

/** What the service sends back: tunnel events, or one of these. */
export type ServiceReply =
  | TunnelEvent
  /** The connect failed before or while the tunnel came up; exit with exitCode. */
  | { kind: "error"; message: string; exitCode: number }
  /** Output of reading the command line (warnings, commander's usage message), for this file descriptor. */
  | { kind: "write"; fd: 1 | 2; text: string }
  /** Reading the command line ended without a tunnel (a usage error): exit with this code. */
  | { kind: "exit"; code: number }
  /** Read the command line here instead (it needs standard input or the terminal). */
  | { kind: "local" };

/** Options that make a connect read standard input or print help: such a command line is read here. */
const READ_HERE = new Set(["--password-stdin", "-h", "--help", "--internal-child"]);

/** Whether to offer this command line to the roam service (if one listens): a `connect --background`. */
export function forService(argv: readonly string[]): boolean {
  return argv[0] === "connect" && argv.includes("--background") && !argv.some((a) => READ_HERE.has(a));
}

/**
 * Hands the command line to the roam service and relays its answer: the exit code, or null when no
 * service listens or it leaves the command line to this process.
 */
export async function connectThroughService(argv: string[]): Promise<number | null> {
  // The stat (~0.6 ms, a first Bun.file call) runs while the socket connects; without a service it is
  // wasted, but that path starts a tunnel process (~50 ms) anyway.
  const ns = Bun.file("/proc/self/ns/pid").stat();
  ns.catch(() => {}); // awaited below, once connected
  const line = async (): Promise<string | null> => {
    let pidNs: number;
    try {
      pidNs = (await ns).ino;
    } catch {
      return null; // no /proc: the service could not open our files
    }
    const msg: ArgvMessage = { kind: "argv", argv, cwd: process.cwd(), env: { ...process.env }, uid: process.getuid?.() ?? -1, pid: process.pid, pidNs };
    return `${JSON.stringify(msg)}\n`;
  };
  const host = await serviceHost(line);
  if (host === null) return null;
  const out = bunWriter();
  try {
    return await relayEvents(host, new Reporter({ write: (s) => out.write(2, s) }), out.write);
  } finally {
    await out.flushed();
  }
}

/** Writes to stdout/stderr through Bun (no node:fs), in order; errors (a reader gone) are ignored. */
function bunWriter(): { write(fd: 1 | 2, text: string): void; flushed(): Promise<void> } {
  let chain: Promise<unknown> = Promise.resolve();
  return {
    write(fd, text) {
      chain = chain.then(() => Bun.write(fd === 1 ? Bun.stdout : Bun.stderr, text)).catch(() => {});
    },
    flushed: async () => void (await chain),
  };
}

/** Where a --background tunnel runs (the service, or this executable's child): its event lines. */
export interface TunnelHost {
  /** The next bytes of event lines, or null at their end. */
  next(): Promise<Uint8Array | null>;
  /** Stops listening; the tunnel carries on. */
  release(): void;
  /** The events ended without an outcome: why, and the exit code. */
  ended(): Promise<{ message: string; code: number }>;
}

/**
 * Prints the host's events until the tunnel is up, down or has failed, and returns the exit code; null
 * when the service leaves the command line to this process.
 */
export async function relayEvents(host: TunnelHost, out: Reporter, write: (fd: 1 | 2, text: string) => void): Promise<number | null> {
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const chunk = await host.next();
    if (chunk === null) break;
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let ev: ServiceReply;
      try {
        ev = JSON.parse(line);
      } catch {
        continue;
      }
      let code: number | null | undefined;
      switch (ev.kind) {
        case "error":
          out.error(ev.message);
          code = ev.exitCode;
          break;
        case "write":
          write(ev.fd === 1 ? 1 : 2, ev.text);
          break;
        case "exit":
          code = ev.code;
          break;
        case "local":
          code = null;
          break;
        default:
          out.event(ev);
          if (ev.kind === "up") code = ExitCode.OK;
          if (ev.kind === "down") code = exitCodeFor(ev.outcome);
      }
      if (code !== undefined) {
        // The tunnel carries on alone (or has ended): we stop listening and leave.
        host.release();
        return code;
      }
    }
  }
  const ended = await host.ended();
  out.error(ended.message);
  return ended.code;
}

/**
 * `line` sent to the roam service (SERVICE_SOCKET), or null when none listens there. A function makes the
 * line once connected (null: send nothing, and close).
 */
export async function serviceHost(line: string | (() => Promise<string | null>)): Promise<TunnelHost | null> {
  const chunks: Uint8Array[] = [];
  let closed = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  let sock: Socket<undefined>;
  try {
    sock = await Bun.connect<undefined>({
      unix: SERVICE_SOCKET,
      socket: {
        data(_s, chunk) {
          chunks.push(new Uint8Array(chunk));
          notify();
        },
        close() {
          closed = true;
          notify();
        },
        error() {
          closed = true;
          notify();
        },
      },
    });
  } catch (e) {
    // No socket (ENOENT: no service), or nothing listens on it (ECONNREFUSED: a service that was killed
    // left it): run the tunnel in a child instead, and remove such a socket so that the next connect
    // starts its child ahead again (cli/background.ts).
    if ((e as { code?: string }).code === "ECONNREFUSED") (await import("node:fs")).rmSync(SERVICE_SOCKET, { force: true });
    return null;
  }
  const text = typeof line === "string" ? line : await line();
  if (text === null) {
    sock.end();
    return null;
  }
  // A request line is small next to the socket's buffer; a short write means the service is in trouble.
  const bytes = new TextEncoder().encode(text);
  if (sock.write(bytes) !== bytes.length) {
    sock.end();
    return null;
  }
  return {
    async next() {
      while (chunks.length === 0 && !closed) await new Promise<void>((r) => (wake = r));
      return chunks.shift() ?? null;
    },
    release: () => sock.end(),
    ended: async () => ({ message: `the roam service (${SERVICE_SOCKET}) closed the connection before the tunnel was up`, code: ExitCode.INTERNAL }),
  };
}
