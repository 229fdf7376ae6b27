// Lines of standard input: the secrets of --password-stdin, the --background tunnel process's request.
import { readSync } from "node:fs";
import { isatty } from "node:tty";
import { pauseSync } from "./fd-writer.ts";

/**
 * Successive lines of a stream, one per call (--password-stdin with several secrets). Reads lazily: a
 * call that needs no line reads nothing, and the stream is asked for only on the first call (a Bun
 * process's first touch of process.stdin costs ~3.5 ms, measured 2026-11-23 on the 2-core machine, and a
 * connect without --password-stdin never needs it). At the end of the stream, a call returns "".
 */
export function lineReader(stream: NodeJS.ReadableStream | (() => NodeJS.ReadableStream), maxBytes = 1 << 20): () => Promise<string> {
  let it: AsyncIterator<Buffer | string> | null = null;
  let buf = "";
  let ended = false;
  return async () => {
    it ??= ((typeof stream === "function" ? stream() : stream) as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, "");
        buf = buf.slice(nl + 1);
        return line;
      }
      if (ended) {
        const rest = buf.replace(/\r$/, "");
        buf = "";
        return rest;
      }
      const next = await it.next();
      if (next.done) ended = true;
      else buf += next.value.toString();
      if (buf.length > maxBytes) throw new Error(`standard input has no line break in the first ${maxBytes} bytes`);
    }
  };
}

/** Whether standard input is a terminal (a prompt is possible), without touching process.stdin (see lineReader). */
export function stdinIsTerminal(): boolean {
  return isatty(0);
}

/**
 * The first line of file descriptor `fd`, read synchronously: for the --background tunnel process, whose
 * parent writes its request and closes the pipe. Through process.stdin the first read cost ~8 ms more
 * (the stream machinery's first use, measured 2026-11-23); this process has nothing else to do meanwhile.
 */
export function readFirstLineSync(fd: number, maxBytes = 1 << 20): string {
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      // A non-blocking pipe with nothing in it yet: wait a millisecond rather than spin.
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
        pauseSync(1);
        continue;
      }
      throw e;
    }
    if (n === 0) break;
    const nl = buf.subarray(0, n).indexOf(0x0a);
    chunks.push(Buffer.from(buf.subarray(0, nl >= 0 ? nl : n)));
    total += n;
    if (nl >= 0) break;
    if (total > maxBytes) throw new Error(`standard input has no line break in the first ${maxBytes} bytes`);
  }
  return Buffer.concat(chunks).toString("utf8").replace(/\r$/, "");
}
