// Records the transcript of the roam service's rehearsal (cli/service-rehearsal.ts): the rehearsal's session
// against the scripted gateway of the exchange tests, whose answers to IKE_SA_INIT and IKE_AUTH are the
// transcript. Run it when tests/unit/cli/service-rehearsal.test.ts says the transcript no longer fits:
//
//   node_modules/.bin/bun tests/unit/cli/service-rehearsal-record.ts > cli/service-rehearsal-transcript.ts

import "../../../platform/noble.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { toHex, utf8 } from "../../../core/util/bytes.ts";
import type { RehearsalTranscript } from "../../../cli/service-rehearsal-transcript.ts";
import { REHEARSAL, RehearsalFiles, rehearsalRequest, rehearsalSession } from "../../../cli/service-rehearsal.ts";
import { FakeGateway, seededRandom } from "../ike/fake-gateway.ts";

/** The scripted gateway's answers to the rehearsal's two requests. */
export async function recordRehearsal(): Promise<RehearsalTranscript> {
  const dir = mkdtempSync(`${tmpdir()}/roam-rehearsal-`);
  try {
    const files = new RehearsalFiles(dir);
    files.write();
    const s = rehearsalSession(await rehearsalRequest(dir));
    const gw = new FakeGateway({ psk: utf8(REHEARSAL.psk), id: REHEARSAL.remoteId, random: seededRandom(7) });
    const answers: Uint8Array[] = [];
    let out = s.handle({ kind: "start" }, 0);
    for (let now = 1; answers.length < 2; now++) {
      const send = out.find((a) => a.kind === "send");
      if (send?.kind !== "send") throw new Error(`the rehearsal's session sent nothing after ${answers.length} answer(s)`);
      const answer = gw.receive(send.data);
      if (answer.length !== 1) throw new Error(`the scripted gateway answered request ${answers.length + 1} with ${answer.length} messages`);
      answers.push(answer[0]!);
      out = s.handle({ kind: "datagram", data: answer[0]!, port: send.port }, now);
    }
    if (!out.some((a) => a.kind === "established")) throw new Error("the recorded exchange did not establish the SAs");
    return { saInitResponse: toHex(answers[0]!), authResponse: toHex(answers[1]!) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The transcript module's text. */
export function transcriptModule(t: RehearsalTranscript): string {
  return `// Recorded by tests/unit/cli/service-rehearsal-record.ts: the scripted gateway's answers to the roam
// service's rehearsal (cli/service-rehearsal.ts). Made-up keys and PSK, nothing secret. Record it again
// rather than editing it.

export interface RehearsalTranscript {
  /** IKE_SA_INIT's answer, hex. */
  saInitResponse: string;
  /** IKE_AUTH's answer (one SK payload), hex. */
  authResponse: string;
}

export const REHEARSAL_TRANSCRIPT: RehearsalTranscript = {
  saInitResponse:
    "${t.saInitResponse}",
  authResponse:
    "${t.authResponse}",
};
`;
}

if (import.meta.main) process.stdout.write(transcriptModule(await recordRehearsal()));
