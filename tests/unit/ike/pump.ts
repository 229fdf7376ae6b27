// Drives a session against the scripted gateway for the exchange tests, and picks actions out of the result.

import type { IkeSession } from "../../../core/ike/session.ts";
import type { Action } from "../../../core/ike/types.ts";
import { type FakeGateway, seededRandom } from "./fake-gateway.ts";

/** Fixed randomness and wall time for a session. */
export const env = (seed: number) => ({ random: seededRandom(seed), wallTime: () => Date.UTC(2026, 10, 23) });

/** Delivers every datagram the session sends to the gateway, and the answers back, until quiet; returns every action. */
export function pump(s: IkeSession, gw: FakeGateway, first: Action[], now = 0): Action[] {
  const all: Action[] = [...first];
  let queue = first;
  for (let rounds = 0; rounds < 20 && queue.length > 0; rounds++) {
    const next: Action[] = [];
    for (const a of queue) {
      if (a.kind !== "send") continue;
      for (const answer of gw.receive(a.data)) next.push(...s.handle({ kind: "datagram", data: answer, port: a.port }, now));
    }
    all.push(...next);
    queue = next;
  }
  return all;
}

export const kinds = (as: Action[]) => as.map((a) => a.kind);
export const find = <K extends Action["kind"]>(as: Action[], k: K) => as.find((a) => a.kind === k) as Extract<Action, { kind: K }> | undefined;
