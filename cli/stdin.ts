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
