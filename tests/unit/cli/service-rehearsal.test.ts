// The roam service's rehearsals (cli/service-rehearsal.ts): the recorded transcript still fits the session
// a connect makes, a rehearsal is a real command line and session, and the scheduler runs them a slice at
// a time while the service is idle, stops on a failure and leaves no file.
import "../../../platform/noble.ts";
import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { REHEARSAL, RehearsalFiles, rehearsalRandom, rehearsalRequest, rehearse, startRehearsals } from "../../../cli/service-rehearsal.ts";
import { REHEARSAL_TRANSCRIPT } from "../../../cli/service-rehearsal-transcript.ts";
import { defaultProposals } from "../../../core/ike/proposal.ts";
import { recordRehearsal } from "./service-rehearsal-record.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(`${tmpdir()}/roam-rehearsal-test-`);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const RECORD = "record it again: node_modules/.bin/bun tests/unit/cli/service-rehearsal-record.ts > cli/service-rehearsal-transcript.ts";

test("the recorded transcript is what the scripted gateway answers the rehearsal's session now", async () => {
  expect(await recordRehearsal(), RECORD).toEqual(REHEARSAL_TRANSCRIPT);
});

test("a rehearsal reads a real connect command line and brings its session to the CHILD_SA", async () => {
  new RehearsalFiles(dir).write();
  expect(statSync(`${dir}/${REHEARSAL.pskFile}`).mode & 0o777).toBe(0o600);
  const req = await rehearsalRequest(dir);
  // What `roam connect` makes of it: roam's defaults, the PSK read from the file.
  expect(req.ikeProposals).toEqual(defaultProposals("ike"));
  expect(req.espProposals).toEqual(defaultProposals("esp"));
  expect(req.background).toBe(true);
  expect(new TextDecoder().decode(req.credentials.kind === "psk" ? req.credentials.secret : new Uint8Array())).toBe(REHEARSAL.psk);
  await rehearse(dir); // throws unless established with a CHILD_SA
  await rehearse(dir); // and again: nothing in it is used up
});

test("a transcript that does not fit fails the rehearsal with the reason", async () => {
  new RehearsalFiles(dir).write();
  const auth = REHEARSAL_TRANSCRIPT.authResponse;
  const flipped = auth.slice(0, -2) + (auth.endsWith("00") ? "01" : "00"); // the ICV's last octet
  await expect(rehearse(dir, { ...REHEARSAL_TRANSCRIPT, authResponse: flipped })).rejects.toThrow("the recorded IKE_AUTH answer did not establish the SAs");
  await expect(rehearse(`${dir}/nowhere`)).rejects.toThrow(`--psk-file "${REHEARSAL.pskFile}" cannot be read`);
});

test("the fixed stream is the same every time (the transcript's keys depend on it)", () => {
  expect(rehearsalRandom().bytes(16)).toEqual(rehearsalRandom().bytes(16));
  expect(rehearsalRandom(1).bytes(16)).not.toEqual(rehearsalRandom(2).bytes(16));
});

/** Resolves with startRehearsals' report. */
function run(count: number, idle: () => boolean, rehearsalDir = dir) {
  let resolve!: (r: { ran: number; ms: number; failed?: string }) => void;
  const done = new Promise<{ ran: number; ms: number; failed?: string }>((r) => (resolve = r));
  const r = startRehearsals({ count, dir: rehearsalDir, idle, done: (ran, ms, failed) => resolve({ ran, ms, failed }), sliceMs: 1 });
  return { r, done };
}

test("startRehearsals: all of them a slice at a time, then the PSK file is gone", async () => {
  let slices = 0;
  const { done } = run(40, () => (slices++, true));
  const report = await done;
  expect(report.ran).toBe(40);
  expect(report.failed).toBeUndefined();
  expect(report.ms).toBeGreaterThan(0);
  expect(slices).toBeGreaterThan(1); // 1 ms slices: not all in one turn
  expect(existsSync(`${dir}/${REHEARSAL.pskFile}`)).toBe(false);
});

test("startRehearsals: a busy service holds them until resume(); stop() ends them and removes the file", async () => {
  let idle = true;
  let ran = 0;
  const { r, done } = run(1_000_000, () => {
    ran++;
    return idle;
  });
  await Bun.sleep(30);
  expect(existsSync(`${dir}/${REHEARSAL.pskFile}`)).toBe(true);
  idle = false;
  await Bun.sleep(20);
  const held = ran;
  await Bun.sleep(50);
  expect(ran).toBe(held); // no slice asked again while busy
  idle = true;
  r.resume();
  await Bun.sleep(30);
  expect(ran).toBeGreaterThan(held);
  r.stop();
  expect(existsSync(`${dir}/${REHEARSAL.pskFile}`)).toBe(false);
  const after = ran;
  await Bun.sleep(30);
  expect(ran).toBe(after);
  // stop() reports nothing: the service is going away.
  expect(await Promise.race([done.then(() => "reported"), Bun.sleep(10).then(() => "silent")])).toBe("silent");
});

test("startRehearsals: a failing rehearsal stops them with its reason and removes the file", async () => {
  // The state directory does not exist: the PSK file cannot be written.
  const report = await run(10, () => true, `${dir}/missing`).done;
  expect(report.ran).toBe(0);
  expect(report.failed).toContain("ENOENT");
});
