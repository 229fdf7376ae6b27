// TCP through the tunnel: a corporate server (fixtures/tcp-source.ts in corp A) sends BYTES to the client
// (fixtures/tcp-sink.ts), and both sides' sha256 must agree. Every 1024-byte block starts with MARKER, so
// a capture on the internet link can look for the cleartext.

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { pidAlive, readIfExists, waitFor } from "./proc.ts";
import type { Stage } from "./stage.ts";
import { NET } from "./topology.ts";

const FIXTURES = join(import.meta.dir, "../fixtures");

export interface Transfer {
  /** The client received every byte and the same sha256 the server computed. */
  ok: boolean;
  seconds: number;
  /** What the sink printed (for the failure message). */
  detail: string;
}

export async function transferFromCorp(
  stage: Stage,
  o: { tag: string; timeoutMs: number; bytes?: number; marker?: Uint8Array; port?: number },
): Promise<Transfer> {
  const { topo } = stage;
  const bytes = o.bytes ?? 10 * 1024 * 1024;
  const port = String(o.port ?? 8080);
  const marker = Buffer.from(o.marker ?? randomBytes(12)).toString("hex");
  const srcLog = `${stage.dir}/tcp-source-${o.tag}.log`;
  const src = topo.spawn(topo.names.corpA, [process.execPath, join(FIXTURES, "tcp-source.ts"), port, String(bytes), marker, String(o.timeoutMs / 1000 + 10)], { logFile: srcLog });
  try {
    await waitFor("the TCP source to listen", () => readIfExists(srcLog).includes("listening"), 10_000);
    const t0 = performance.now();
    const sink = topo.exec(topo.names.client, [process.execPath, join(FIXTURES, "tcp-sink.ts"), NET.corpAServer, port, String(o.timeoutMs / 1000)], {
      timeoutMs: o.timeoutMs + 10_000,
    });
    const seconds = (performance.now() - t0) / 1000;
    await waitFor("the TCP source to finish", () => !pidAlive(src.pid), 10_000);
    const sent = readIfExists(srcLog).match(/sha256 ([0-9a-f]{64})/)?.[1];
    return { ok: sink.code === 0 && sent !== undefined && sink.stdout.trim() === `bytes ${bytes} sha256 ${sent}`, seconds, detail: `${sink.stdout}${sink.stderr}` };
  } finally {
    if (pidAlive(src.pid)) src.kill("SIGKILL");
  }
}
