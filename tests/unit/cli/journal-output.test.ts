// What systemd's journal gets from `roam connect NAME` in the foreground (contrib/systemd/roam@.service):
// the compiled binary with standard error a pipe, not a terminal, connecting by profile name to a UDP
// responder on loopback that refuses IKE_SA_INIT with NO_PROPOSAL_CHOSEN. Every line must be plain
// ("roam: …", no escape sequences, no carriage-return redraws), and the exit code the negotiation one.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createSocket, type Socket } from "node:dgram";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExchangeType, NotifyError, PayloadType } from "../../../core/wire/constants.ts";
import { parseMessage, serializeMessage } from "../../../core/wire/message.ts";

const root = join(import.meta.dir, "../../..");
const bin = join(root, "dist/roam");
const tmp = mkdtempSync(join(tmpdir(), "roam-journal-"));
let responder: Socket;
let port = 0;
let requests = 0;

beforeAll(async () => {
  if (!existsSync(bin)) {
    const r = Bun.spawnSync([process.execPath, "build.ts"], { cwd: root });
    if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
  }
  // A gateway that accepts none of our proposals (RFC 7296 §2.21.1: N(NO_PROPOSAL_CHOSEN), unprotected).
  responder = createSocket("udp4");
  responder.on("message", (msg, rinfo) => {
    // Not port 500, so roam speaks as on 4500: a non-ESP marker of four zero octets first (RFC 3948 §2.2).
    const marker = msg.length > 4 && msg.readUInt32BE(0) === 0;
    const m = parseMessage(new Uint8Array(marker ? msg.subarray(4) : msg));
    if (!m.ok || m.value.header.exchangeType !== ExchangeType.IKE_SA_INIT) return;
    requests++;
    const h = m.value.header;
    const answer = serializeMessage({
      header: { spiI: h.spiI, spiR: new Uint8Array(8), majorVersion: 2, minorVersion: 0, exchangeType: ExchangeType.IKE_SA_INIT, flags: { initiator: false, response: true, version: false }, messageId: 0 },
      payloads: [{ type: PayloadType.NOTIFY, critical: false, protocolId: 0, spi: new Uint8Array(0), notifyType: NotifyError.NO_PROPOSAL_CHOSEN, data: new Uint8Array(0) }],
    });
    const datagram = marker ? Buffer.concat([Buffer.alloc(4), answer]) : answer;
    setImmediate(() => responder.send(datagram, rinfo.port, rinfo.address));
  });
  await new Promise<void>((resolve) => responder.bind(0, "127.0.0.1", resolve));
  port = responder.address().port;
});
afterAll(() => {
  responder?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test("roam connect NAME, stderr not a terminal: plain `roam:` lines, no escape codes or redraws, exit 7", async () => {
  const name = `journal-${process.pid}`;
  const store = join(tmp, "xdg", "roam", "profiles");
  mkdirSync(store, { recursive: true, mode: 0o700 });
  writeFileSync(join(store, `${name}.toml`), `gateway = ["127.0.0.1"]\nport = ${port}\nauth = "psk"\nremote_id = "gw.roam.test"\nlocal_id = "client@roam.test"\n`);
  writeFileSync(join(store, `${name}.secrets`), `psk = "not used: the gateway refuses IKE_SA_INIT"\n`, { mode: 0o600 });
  const runDir = join(tmp, "run");
  const child = Bun.spawn([bin, "connect", name], {
    env: { PATH: "/usr/bin:/bin", HOME: tmp, XDG_CONFIG_HOME: join(tmp, "xdg"), ROAM_RUN_DIR: runDir },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill(), 20_000);
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  clearTimeout(timer);
  expect(requests, err).toBeGreaterThan(0);
  expect(out).toBe("");
  expect(code).toBe(7);
  const lines = err.split("\n");
  expect(lines.at(-1)).toBe(""); // every line ends with a newline
  for (const line of lines.slice(0, -1)) expect(line).toMatch(/^roam: [^\x00-\x1f\x7f]+$/);
  expect(err).not.toContain("\x1b");
  expect(err).not.toContain("\r");
  expect(lines[0]).toStartWith(`roam: connecting to 127.0.0.1 port ${port} from 127.0.0.1:`);
  expect(lines.at(-2)).toBe("roam: gateway accepted none of our IKE proposals (NO_PROPOSAL_CHOSEN)");
  // Nothing was left behind in the run directory.
  expect(existsSync(join(runDir, "roam.json"))).toBe(false);
  expect(existsSync(join(runDir, "roam.sock"))).toBe(false);
}, 30_000);
