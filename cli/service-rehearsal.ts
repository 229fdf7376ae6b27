// The roam service rehearses connects in process, so that its real ones run compiled code.
//
// Why: JavaScriptCore interprets a function until it has run some hundreds of times and optimizes it after
// thousands. What the service does for a connect up to the tunnel (reading the command line with commander
// and the checks; building and parsing IKE messages, the SK payloads, the keys, the selectors and the config
// payload) runs once per connect, so in a resident service it stayed interpreted however many tunnels came
// and went (150 connects in a row did not get faster, 2026-11-23). After ~2000 rehearsals the service's
// part of a connect (request in → tunnel up) took 8.2 instead of 11.0 ms, median of 14 (instrumented
// build, interop stage, 2-core machine), and the compiled code stayed through idle time and garbage
// collections.
//
// A rehearsal is a real connect's work without the host: the service reads a `connect --background`
// command line as it reads a client's (cli/service-parse.ts, with this process as the client), and runs the
// session it makes (core/ike/session.ts with the native key exchange and ciphers of SESSION_ENV) from
// IKE_SA_INIT to the CHILD_SA, fed the gateway's two answers from a recorded transcript
// (service-rehearsal-transcript.ts). It opens no socket and no device and changes nothing on the host; the
// only file is its made-up PSK in the state directory, removed when the rehearsals end. Its randomness is
// a fixed stream (rehearsalRandom), so its keys are the ones the transcript was recorded with; nothing in it
// is secret or leaves the process. A transcript that no longer fits (the session draws its randomness in
// another order) fails the rehearsal and the rehearsals stop: tests/unit/cli/service-rehearsal.test.ts
// fails first, and tests/unit/cli/service-rehearsal-record.ts records a new one.

import { rmSync, statSync, writeFileSync } from "node:fs";
import { IkeSession } from "../core/ike/session.ts";
import type { Action } from "../core/ike/types.ts";
import type { Random } from "../core/types.ts";
import { fromHex } from "../core/util/bytes.ts";
import type { ConnectRequest } from "./connect-options.ts";
import { parseForClient, prepareNextCommandLine } from "./service-parse.ts";
import { REHEARSAL_TRANSCRIPT, type RehearsalTranscript } from "./service-rehearsal-transcript.ts";
import { SESSION_ENV, sessionConfigFor } from "./tunnel/session-config.ts";

/** Rehearsals the service runs after it starts (~0.5 ms each once compiled; ~1-2 s of one core in all). */
export const REHEARSALS = 2000;

/** The made-up gateway, identities, address (RFC 5737 documentation ranges) and PSK of the rehearsal. */
export const REHEARSAL = {
  gateway: "192.0.2.1",
  remoteId: "gw.rehearsal.invalid",
  localId: "client@rehearsal.invalid",
  local: "198.51.100.7",
  localPort: 4500,
  psk: "rehearsal, not a secret",
  pskFile: "rehearsal.psk",
  wallTime: Date.UTC(2026, 10, 23),
} as const;

/**
 * A fixed byte stream (xorshift32), NOT random: the rehearsal's nonces, SPIs and keys, the same every time
 * so that the recorded answers fit them. Never for a real session.
 */
export function rehearsalRandom(seed = 0x5eed): Random {
  let s = seed >>> 0 || 1;
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        s ^= s << 13;
        s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5;
        s >>>= 0;
        out[i] = s & 0xff;
      }
      return out;
    },
  };
}

/** The rehearsal's PSK file, in `dir` (the state directory). */
export class RehearsalFiles {
  constructor(readonly dir: string) {}

  /** Writes the made-up PSK (mode 0600, as --psk-file wants). */
  write(): void {
    writeFileSync(`${this.dir}/${REHEARSAL.pskFile}`, `${REHEARSAL.psk}\n`, { mode: 0o600 });
  }

  remove(): void {
    rmSync(`${this.dir}/${REHEARSAL.pskFile}`, { force: true });
  }
}

/** The command line of the rehearsal: a PSK connect with roam's defaults. */
export function rehearsalArgv(): string[] {
  return ["connect", "--gateway", REHEARSAL.gateway, "--remote-id", REHEARSAL.remoteId, "--id", REHEARSAL.localId, "--psk-file", REHEARSAL.pskFile, "--background"];
}

let ownPidNs: number | null = null;

/** The rehearsal's command line read as the service reads a client's (this process the client, in `dir`). */
export async function rehearsalRequest(dir: string): Promise<ConnectRequest> {
  ownPidNs ??= statSync("/proc/self/ns/pid").ino;
  const p = await parseForClient({ kind: "argv", argv: rehearsalArgv(), cwd: dir, env: {}, uid: 0, pid: process.pid, pidNs: ownPidNs }, () => false);
  if (p.kind !== "request") {
    const said = p.kind === "exit" ? p.writes.map((w) => w.text.trim()).join("; ") : p.why;
    throw new Error(`its command line was not read as a connect (${said})`);
  }
  return p.request;
}

/** The session a real connect would make for `req` (with this attempt), on the fixed stream and wall time. */
export function rehearsalSession(req: ConnectRequest): IkeSession {
  const cfg = sessionConfigFor(req, {
    gatewayHost: req.gatewayHost,
    gatewayAddress: REHEARSAL.gateway,
    localAddress: REHEARSAL.local,
    localPort: REHEARSAL.localPort,
    failover: false,
    redirectedFrom: undefined,
  });
  return new IkeSession(cfg, { ...SESSION_ENV, random: rehearsalRandom(), wallTime: () => REHEARSAL.wallTime });
}

/** One rehearsal: the command line, then IKE_SA_INIT and IKE_AUTH with the CHILD_SA from the transcript's answers. Throws why it failed. */
export async function rehearse(dir: string, transcript: RehearsalTranscript = REHEARSAL_TRANSCRIPT): Promise<void> {
  const s = rehearsalSession(await rehearsalRequest(dir));
  const sent = (as: Action[]) => as.some((a) => a.kind === "send");
  if (!sent(s.handle({ kind: "start" }, 0))) throw new Error("IKE_SA_INIT was not sent");
  const auth = s.handle({ kind: "datagram", data: fromHex(transcript.saInitResponse), port: "ike" }, 1);
  if (!sent(auth)) throw new Error(`the recorded IKE_SA_INIT answer did not lead to IKE_AUTH${failure(auth)}`);
  const done = s.handle({ kind: "datagram", data: fromHex(transcript.authResponse), port: "natt" }, 2);
  if (!done.some((a) => a.kind === "established") || !done.some((a) => a.kind === "install-child")) {
    throw new Error(`the recorded IKE_AUTH answer did not establish the SAs${failure(done)}`);
  }
}

function failure(as: Action[]): string {
  const f = as.find((a) => a.kind === "failed");
  return f?.kind === "failed" ? ` (${f.failure.message})` : " (ignored)";
}

export interface RehearsalOptions {
  /** How many. */
  count: number;
  /** The state directory, for the PSK file. */
  dir: string;
  /** Whether rehearsals may run now (the service holds off while a connect or a tunnel runs). */
  idle(): boolean;
  /** Called once at the end: how many ran, their time, and why they stopped early. */
  done(ran: number, ms: number, failed?: string): void;
  /** Work per turn of the event loop, ms: a connect that arrives waits at most about this long. */
  sliceMs?: number;
}

export interface Rehearsals {
  /** Runs the ones left, unless all ran or a slice is on its way (call it when the service is idle again). */
  resume(): void;
  /** Runs no more and removes the PSK file (the service stops). */
  stop(): void;
}

/**
 * Runs `count` rehearsals a slice at a time on later turns of the event loop while `idle()` says so; a slice
 * that finds the service busy waits for resume(). The time reported is the rehearsals' own.
 */
export function startRehearsals(opts: RehearsalOptions): Rehearsals {
  const sliceMs = opts.sliceMs ?? 4;
  const files = new RehearsalFiles(opts.dir);
  let ran = 0;
  let ms = 0;
  let finished = false;
  let scheduled = false;
  const finish = (failed?: string) => {
    finished = true;
    files.remove();
    opts.done(ran, ms, failed);
  };
  const slice = async () => {
    if (finished || !opts.idle()) {
      scheduled = false;
      return;
    }
    const t0 = performance.now();
    let now = t0;
    try {
      if (ran === 0) files.write();
      while (ran < opts.count && now - t0 < sliceMs) {
        await rehearse(opts.dir);
        ran++;
        now = performance.now();
      }
    } catch (e) {
      ms += performance.now() - t0;
      scheduled = false;
      return finish(e instanceof Error ? e.message : String(e));
    }
    ms += now - t0;
    scheduled = false;
    prepareNextCommandLine(); // each rehearsal read its command line with the program made for the next connect
    if (ran >= opts.count) return finish();
    schedule();
  };
  const schedule = () => {
    if (scheduled || finished) return;
    scheduled = true;
    setTimeout(() => void slice(), 0).unref(); // rehearsals alone keep no process alive
  };
  if (opts.count <= 0) finish();
  else schedule();
  return {
    resume: schedule,
    stop() {
      finished = true;
      files.remove();
    },
  };
}
