// Text straight to a file descriptor with write(2), for the lines of a connect (progress to stderr, the
// --background child's events to its parent). Why not process.stdout/process.stderr: a Bun process's first
// write to either sets up its stream, ~3 ms in the compiled binary (2026-11-23, 2-core machine), and the
// first progress line comes before IKE_SA_INIT is sent; write(2) costs ~0.06 ms.

import { writeSync } from "node:fs";

/** How long a full pipe may hold a write up before its reader counts as gone, ms. */
const STALL_LIMIT_MS = 2_000;

export interface LineWriter {
  write(s: string): void;
}

/** Writes each string whole. Throws on EPIPE and other errors, and when a full pipe is not read for
 *  STALL_LIMIT_MS. */
export function fdWriter(fd: number): LineWriter {
  return { write: (s) => writeAll(fd, s) };
}

/** fdWriter for what a person reads (stderr): a reader that went away must not end the tunnel. */
export function lineWriterIgnoringErrors(fd: number): LineWriter {
  return {
    write(s: string): void {
      try {
        writeAll(fd, s);
      } catch {
        // nobody reads it any more (a closed terminal or pipe)
      }
    },
  };
}

/** Blocks this thread for `ms` (a non-blocking descriptor that is not ready yet: wait rather than spin). */
export function pauseSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A pipe may take the string in parts, or say EAGAIN while it is full (a non-blocking descriptor). */
function writeAll(fd: number, s: string): void {
  const data = Buffer.from(s, "utf8");
  let off = 0;
  let waitedMs = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN" || waitedMs >= STALL_LIMIT_MS) throw e;
      pauseSync(1);
      waitedMs++;
    }
  }
}
