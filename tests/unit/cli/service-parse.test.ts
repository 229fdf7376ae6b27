// The roam service reading a client's `roam connect` command line (cli/service-parse.ts): files relative to
// the client's directory and through /proc/PID/root, messages that name paths as given, usage and config
// errors as the client would print them, profiles from the client's environment, and what it leaves to
// the client (another PID namespace, a prompt on the client's terminal, a foreground connect). The client
// here is this test process itself (its pid and PID namespace).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ArgvMessage } from "../../../cli/service-client.ts";
import { isArgvMessage, parseForClient, prepareNextCommandLine, type ParseOutcome } from "../../../cli/service-parse.ts";

let tmp: string;
const KEY = "a pre-shared key of the test";

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "roam-service-parse-"));
  mkdirSync(join(tmp, "keys"), { mode: 0o700 });
  writeFileSync(join(tmp, "keys", "office.psk"), `${KEY}\n`, { mode: 0o600 });
  const store = join(tmp, "xdg", "roam", "profiles");
  mkdirSync(store, { recursive: true, mode: 0o700 });
  // `name` differs from the file name: a warning, which the client must see.
  writeFileSync(join(store, "svc-office.toml"), `name = "other"\ngateway = ["192.0.2.1"]\nauth = "psk"\nremote_id = "gw.roam.test"\nlocal_id = "client@roam.test"\n`);
  writeFileSync(join(store, "svc-office.secrets"), `psk = "${KEY}"\n`, { mode: 0o600 });
  writeFileSync(join(store, "svc-nosecret.toml"), `gateway = ["192.0.2.1"]\nauth = "psk"\nremote_id = "gw.roam.test"\n`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PSK_ARGS = ["connect", "--gateway", "192.0.2.1", "--remote-id", "gw.roam.test", "--id", "client@roam.test", "--background"];

function message(argv: string[], over: Partial<ArgvMessage> = {}): ArgvMessage {
  return {
    kind: "argv",
    argv,
    cwd: join(tmp, "keys"),
    env: { PATH: "/usr/bin:/bin", HOME: tmp, XDG_CONFIG_HOME: join(tmp, "xdg") },
    uid: 1000,
    pid: process.pid,
    pidNs: statSync("/proc/self/ns/pid").ino,
    ...over,
  };
}

const noTerminal = () => false;
const stderrOf = (p: ParseOutcome) => (p.kind === "local" ? "" : p.writes.filter((w) => w.fd === 2).map((w) => w.text).join(""));

test("a PSK file relative to the client's directory: the checked request, nothing written", async () => {
  const p = await parseForClient(message([...PSK_ARGS, "--psk-file", "office.psk"]), noTerminal);
  expect(p.kind).toBe("request");
  if (p.kind !== "request") return;
  expect(p.writes).toEqual([]);
  expect(p.request.gatewayHost).toBe("192.0.2.1");
  expect(p.request.background).toBe(true);
  expect(p.request.credentials.kind).toBe("psk");
  expect(new TextDecoder().decode((p.request.credentials as { secret: Uint8Array }).secret)).toBe(KEY);
});

test("the client's directory, not the service's: from elsewhere the same relative name is not there", async () => {
  const p = await parseForClient(message([...PSK_ARGS, "--psk-file", "office.psk"], { cwd: tmp }), noTerminal);
  expect(p).toEqual({ kind: "exit", code: 2, writes: [{ fd: 2, text: 'roam: connect: --psk-file "office.psk" cannot be read (no such file or no permission)\n' }] });
});

test("a config error names the path as the user gave it (never /proc/PID/root), exit 2", async () => {
  const p = await parseForClient(message([...PSK_ARGS, "--psk-file", "../keys/missing.psk"]), noTerminal);
  expect(p.kind).toBe("exit");
  expect(stderrOf(p)).toBe('roam: connect: --psk-file "../keys/missing.psk" cannot be read (no such file or no permission)\n');
});

test("a usage error: commander's message for the client's stderr, exit 2", async () => {
  const p = await parseForClient(message([...PSK_ARGS, "--psk-file", "office.psk", "--frobnicate"]), noTerminal);
  expect(p.kind).toBe("exit");
  if (p.kind !== "exit") return;
  expect(p.code).toBe(2);
  expect(stderrOf(p)).toBe("error: unknown option '--frobnicate'\n");
});

test("--internal-child is refused, exit 2", async () => {
  const p = await parseForClient(message(["connect", "--internal-child", "--background"]), noTerminal);
  expect(p.kind).toBe("exit");
  expect(stderrOf(p)).toBe("roam: connect: --internal-child is roam's own, not a flag to give\n");
});

test("a profile from the client's XDG_CONFIG_HOME, with its warning for the client", async () => {
  const p = await parseForClient(message(["connect", "svc-office", "--background"]), noTerminal);
  expect(p.kind).toBe("request");
  if (p.kind !== "request") return;
  expect(p.request.profileName).toBe("svc-office");
  expect(new TextDecoder().decode((p.request.credentials as { secret: Uint8Array }).secret)).toBe(KEY);
  expect(stderrOf(p)).toBe(`roam: warning: ${join(tmp, "xdg", "roam", "profiles", "svc-office.toml")}: name "other" differs from the file name; using "svc-office"\n`);
});

test("a missing secret: on the client's terminal it is left to the client (a prompt); without one, the error", async () => {
  const onTty = await parseForClient(message(["connect", "svc-nosecret", "--background"]), () => true);
  expect(onTty.kind).toBe("local");
  const noTty = await parseForClient(message(["connect", "svc-nosecret", "--background"]), noTerminal);
  expect(noTty.kind).toBe("exit");
  expect(stderrOf(noTty)).toStartWith('roam: profile "svc-nosecret": no PSK');
});

test("left to the client: another PID namespace, a process that is not there, a connect without --background", async () => {
  const args = [...PSK_ARGS, "--psk-file", "office.psk"];
  expect((await parseForClient(message(args, { pidNs: 1 }), noTerminal)).kind).toBe("local");
  expect((await parseForClient(message(args, { pid: 2 ** 30 }), noTerminal)).kind).toBe("local");
  // --background as the value of --id: the flags do not ask for a background connect.
  const fg = await parseForClient(message(["connect", "--gateway", "192.0.2.1", "--remote-id", "gw.roam.test", "--psk-file", "office.psk", "--id", "--background"]), noTerminal);
  expect(fg).toEqual({ kind: "local", why: "not a --background connect" });
});

test("a malformed message is refused (a bug in the client), and only kind argv is a command line", async () => {
  expect(isArgvMessage(message(PSK_ARGS))).toBe(true);
  expect(isArgvMessage({ gatewayHost: "192.0.2.1" })).toBe(false);
  await expect(parseForClient(message(PSK_ARGS, { cwd: "relative" }))).rejects.toThrow("malformed command line message: cwd");
  await expect(parseForClient(message(["status"]))).rejects.toThrow("malformed command line message: argv");
});

test("a program built ahead serves the next command line with that command line's output and files, once", async () => {
  prepareNextCommandLine();
  const bad = await parseForClient(message([...PSK_ARGS, "--psk-file", "office.psk", "--frobnicate"]), noTerminal);
  expect(bad).toEqual({ kind: "exit", code: 2, writes: [{ fd: 2, text: "error: unknown option '--frobnicate'\n" }] });
  // The next one builds its own program (none ready): nothing of the first is left in it.
  const good = await parseForClient(message([...PSK_ARGS, "--psk-file", "office.psk"]), noTerminal);
  expect(good.kind === "request" && good.writes.length === 0).toBe(true);
  prepareNextCommandLine();
  prepareNextCommandLine(); // one at a time
  const elsewhere = await parseForClient(message([...PSK_ARGS, "--psk-file", "office.psk"], { cwd: tmp }), noTerminal);
  expect(elsewhere.kind).toBe("exit");
  expect(stderrOf(elsewhere)).toBe('roam: connect: --psk-file "office.psk" cannot be read (no such file or no permission)\n');
});
