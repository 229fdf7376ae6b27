// Reads the first line of a stream (a password from --password-stdin, a request from the parent).

export async function readFirstLine(stream: NodeJS.ReadableStream, maxBytes = 1 << 20): Promise<string> {
  let buf = "";
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    buf += chunk.toString();
    const nl = buf.indexOf("\n");
    if (nl >= 0) return buf.slice(0, nl).replace(/\r$/, "");
    if (buf.length > maxBytes) throw new Error(`standard input has no line break in the first ${maxBytes} bytes`);
  }
  return buf.replace(/\r$/, "");
}

/**
 * Successive lines of a stream, one per call (--password-stdin with several secrets). Reads lazily: a
 * call that needs no line reads nothing. At the end of the stream, a call returns "".
 */
export function lineReader(stream: NodeJS.ReadableStream, maxBytes = 1 << 20): () => Promise<string> {
  const it = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let buf = "";
  let ended = false;
  return async () => {
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
