// The control socket of a running tunnel (/run/roam/<name>.sock, in a root-only directory): one JSON
// request line in, one JSON reply line out. `roam status` and `roam disconnect` talk to it.

import { existsSync, unlinkSync } from "node:fs";
import type { Socket } from "bun";
import { STATE_DIR } from "./state-dir.ts";

export type ControlRequest = { command: "status" } | { command: "disconnect" };
export type ControlReply = { ok: true; result: unknown } | { ok: false; error: string };

export function controlPath(name: string): string {
  return `${STATE_DIR}/${name}.sock`;
}

export interface ControlHandlers {
  status(): unknown;
  /** Resolves when the tunnel is down and the host clean. */
  disconnect(): Promise<unknown>;
}

export interface ControlServer {
  close(): void;
}

/**
 * Makes `path` free for a new listener: a socket file with a process behind it is `busy()` (thrown), a
 * stale one (nobody accepts on it) is removed.
 */
export async function claimSocketPath(path: string, busy: () => Error): Promise<void> {
  if (!existsSync(path)) return;
  if (await probe(path)) throw busy();
  unlinkSync(path);
}

/**
 * Listens on the unix socket at `path` for one request line per connection (the control socket's and the
 * roam service's protocol): `onLine` gets it; a connection that sends more than `maxBytes` without a line
 * break is closed. `onClose` sees every connection end.
 */
export function listenForRequestLines(
  path: string,
  maxBytes: number,
  onLine: (sock: Socket<undefined>, line: string) => void,
  onClose?: (sock: Socket<undefined>) => void,
): ReturnType<typeof Bun.listen<undefined>> {
  const pending = new WeakMap<Socket<undefined>, string>();
  const answered = new WeakSet<Socket<undefined>>();
  return Bun.listen<undefined>({
    unix: path,
    socket: {
      data(sock, chunk) {
        if (answered.has(sock)) return; // one request per connection
        const text = (pending.get(sock) ?? "") + chunk.toString();
        const nl = text.indexOf("\n");
        if (nl < 0) {
          if (text.length > maxBytes) sock.end();
          else pending.set(sock, text);
          return;
        }
        pending.delete(sock);
        answered.add(sock);
        onLine(sock, text.slice(0, nl));
      },
      close(sock) {
        onClose?.(sock);
      },
    },
  });
}

/** Listens on the control socket. A stale socket file (no process behind it) is replaced. */
export async function serveControl(name: string, h: ControlHandlers): Promise<ControlServer> {
  const path = controlPath(name);
  await claimSocketPath(path, () => new ControlBusyError(`a tunnel named "${name}" is already running (control socket ${path}); run roam disconnect first`));
  const server = listenForRequestLines(path, 4096, (sock, line) => {
    void answer(h, line).then((reply) => {
      sock.write(`${JSON.stringify(reply)}\n`);
      sock.end();
    });
  });
  return {
    close() {
      // Stop listening and remove the socket; a connection being answered (disconnect) may finish.
      server.stop(false);
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

async function answer(h: ControlHandlers, line: string): Promise<ControlReply> {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, error: "request is not JSON" };
  }
  try {
    if (req.command === "status") return { ok: true, result: h.status() };
    if (req.command === "disconnect") return { ok: true, result: await h.disconnect() };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  return { ok: false, error: `unknown command ${JSON.stringify((req as { command?: unknown }).command)}` };
}

export class ControlBusyError extends Error {}
export class NotRunningError extends Error {}

/** Sends one request; NotRunningError when no tunnel listens. */
export async function callControl(name: string, req: ControlRequest, timeoutMs = 15_000): Promise<ControlReply> {
  const path = controlPath(name);
  if (!existsSync(path)) throw new NotRunningError(`no tunnel named "${name}" is running`);
  return await new Promise<ControlReply>((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`the tunnel process did not answer on ${path} within ${timeoutMs / 1000} s`)), timeoutMs);
    Bun.connect<undefined>({
      unix: path,
      socket: {
        open(sock) {
          sock.write(`${JSON.stringify(req)}\n`);
        },
        data(_sock, chunk) {
          buf += chunk.toString();
        },
        close() {
          clearTimeout(timer);
          const line = buf.split("\n")[0] ?? "";
          try {
            resolve(JSON.parse(line) as ControlReply);
          } catch {
            reject(new Error(`the tunnel process gave no answer on ${path}`));
          }
        },
        connectError() {
          clearTimeout(timer);
          reject(new NotRunningError(`no tunnel named "${name}" is running (stale control socket ${path})`));
        },
      },
    }).catch(() => {
      clearTimeout(timer);
      reject(new NotRunningError(`no tunnel named "${name}" is running (stale control socket ${path})`));
    });
  });
}

/** Whether something accepts connections on the unix socket at `path` (a stale socket file refuses them). */
async function probe(path: string): Promise<boolean> {
  try {
    const sock = await Bun.connect<undefined>({ unix: path, socket: { data() {} } });
    sock.end();
    return true;
  } catch {
    return false;
  }
}
