// Two roam data-path endpoints (tests/bench/endpoint.ts) on a Pair: fixed test keys and SPIs, no IKE.

import { join } from "node:path";
import { toHex } from "../../../core/util/bytes.ts";
import { PAIR, type Pair } from "./pair.ts";

const ENDPOINT = join(import.meta.dir, "../endpoint.ts");

/** Fixed test keying material (AES-256 key + 4-octet salt, RFC 4106 §8.1), one per direction. */
const KEY_LEFT_TO_RIGHT = toHex(new Uint8Array(36).map((_, i) => (i * 7 + 1) & 0xff));
const KEY_RIGHT_TO_LEFT = toHex(new Uint8Array(36).map((_, i) => (i * 13 + 5) & 0xff));
const SPI_LEFT_TO_RIGHT = "0x00001001";
const SPI_RIGHT_TO_LEFT = "0x00002002";

export interface Endpoint {
  readonly pid: number;
  /** SIGTERM; resolves with the endpoint's last output line (its counters). */
  stop(): Promise<string>;
}

type Reader = { read(): Promise<{ done: boolean; value?: Uint8Array }> };

async function readLine(stream: ReadableStream<Uint8Array>, want: string, timeoutMs: number): Promise<{ line: string; reader: Reader }> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let text = "";
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const chunk = await Promise.race([reader.read(), Bun.sleep(deadline - performance.now()).then(() => null)]);
    if (chunk === null || chunk.done) break;
    text += dec.decode(chunk.value);
    const line = text.split("\n").find((l) => l.startsWith(want));
    if (line !== undefined) return { line, reader };
  }
  throw new Error(`endpoint did not print "${want}" within ${timeoutMs} ms; output so far: ${text}`);
}

async function startOne(pair: Pair, ns: string, args: string[], logFile: string): Promise<Endpoint> {
  const proc = pair.spawn(ns, [process.execPath, ENDPOINT, ...args], logFile);
  const { reader } = await readLine(proc.stdout, "ready", 10_000);
  return {
    pid: proc.pid,
    async stop() {
      proc.kill("SIGTERM");
      let text = "";
      const dec = new TextDecoder();
      for (;;) {
        const c = await Promise.race([reader.read(), Bun.sleep(3_000).then(() => null)]);
        if (c === null || c.done) break;
        text += dec.decode(c.value);
      }
      if (proc.exitCode === null) proc.kill("SIGKILL");
      return text.trim().split("\n").pop() ?? "";
    },
  };
}

/** Starts the left and right endpoints; the tunnel carries 10.200.0.0/24 between them. */
export async function startRoamPair(pair: Pair, logDir: string, udp: "mmsg" | "bun" = "mmsg", offload = false, gso = true): Promise<{ left: Endpoint; right: Endpoint }> {
  const common = (local: string, peer: string, spiOut: string, spiIn: string, keyOut: string, keyIn: string, inner: string) => [
    "--local", `${local}:4500`, "--peer", `${peer}:4500`, "--spi-out", spiOut, "--spi-in", spiIn,
    "--key-out", keyOut, "--key-in", keyIn, "--tun", "roamb%d", "--addr", `${inner}/${PAIR.innerPrefix}`, "--udp", udp,
    "--offload", offload ? "on" : "off", "--gso", gso ? "on" : "off",
  ];
  const left = await startOne(pair, pair.left, common(PAIR.left, PAIR.right, SPI_LEFT_TO_RIGHT, SPI_RIGHT_TO_LEFT, KEY_LEFT_TO_RIGHT, KEY_RIGHT_TO_LEFT, PAIR.leftInner), `${logDir}/endpoint-left-${udp}${offload ? "-offload" : ""}${gso ? "" : "-nogso"}.log`);
  try {
    const right = await startOne(pair, pair.right, common(PAIR.right, PAIR.left, SPI_RIGHT_TO_LEFT, SPI_LEFT_TO_RIGHT, KEY_RIGHT_TO_LEFT, KEY_LEFT_TO_RIGHT, PAIR.rightInner), `${logDir}/endpoint-right-${udp}${offload ? "-offload" : ""}${gso ? "" : "-nogso"}.log`);
    return { left, right };
  } catch (e) {
    await left.stop();
    throw e;
  }
}
