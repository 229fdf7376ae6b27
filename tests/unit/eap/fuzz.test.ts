// Seeded fuzzing of every entry point that reads gateway bytes: parseEap, parseMschapRequest, the
// Success/Failure message parsers, and the peer's process() in each of its states. Inputs are random
// bytes and mutations of the valid packets of a real exchange. Nothing may throw; each step must be
// exactly one of "send" or "done"; what parses must re-encode to the same octets.
//
// Reproduce a failure with EAP_FUZZ_SEED=<seed>.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { createMschapv2Peer, type EapPeer, type EapStep } from "../../../core/eap/mschapv2.ts";
import { parseFailureMessage, parseMschapRequest, parseSuccessMessage } from "../../../core/eap/mschapv2-msg.ts";
import { encodeEap, parseEap } from "../../../core/eap/packet.ts";
import { equalBytes, fromHex } from "../../../core/util/bytes.ts";
import { fixedRandom, ScriptedAuthenticator } from "./authenticator.ts";
import { FUZZ_TIMEOUT_MS, mulberry32 as rng } from "../../lib/seeded.ts";

const SEED = Number(process.env.EAP_FUZZ_SEED ?? 0xea9f22) >>> 0;
const challenge = fromHex("5B5D7C7D7B3F2F3E3C2C602132262628");
const peerChallenge = fromHex("21402324255E262A28295F2B3A337C7E");


/**
 * A peer brought to `stage` (0 = fresh, 1 = Response sent, 2 = Success Response sent, 3 = Failure Response
 * sent, waiting for EAP-Failure) and the packets of a good exchange.
 */
function peerAt(stage: number): { peer: EapPeer; packets: Uint8Array[] } {
  const peer = createMschapv2Peer({ identity: "CORP\\User", password: "clientPass", random: fixedRandom(peerChallenge) });
  const gw = new ScriptedAuthenticator({ password: "clientPass", challenge, successMessage: "hello there" });
  const packets: Uint8Array[] = [gw.identityRequest()];
  peer.process(packets[0]!);
  packets.push(gw.challengeRequest());
  if (stage >= 1) packets.push(gw.answer(peer.process(packets[1]!).send!));
  else packets.push(gw.failureRequest("E=691 R=1 C=00112233445566778899AABBCCDDEEFF V=3 M=no"));
  if (stage === 2) peer.process(packets[2]!);
  if (stage === 3) {
    const refusal = gw.failureRequest("E=691 R=1 C=00112233445566778899AABBCCDDEEFF V=3 M=no");
    if (!peer.process(refusal).send) throw new Error("fixture: the peer did not answer the Failure Request");
    packets.push(refusal);
  }
  packets.push(gw.eapSuccess(), gw.eapFailure());
  return { peer, packets };
}

function checkStep(step: EapStep): void {
  if ((step.send === undefined) === (step.done === undefined)) throw new Error(`step must be send xor done: ${JSON.stringify(step)}`);
  if (step.send) {
    const p = parseEap(step.send);
    if (!p.ok || p.value.code !== 2) throw new Error("the peer sent something that is not an EAP-Response");
  }
  if (step.done && !step.done.ok && step.done.reason.length === 0) throw new Error("failure without reason");
}

function checkParsers(input: Uint8Array): void {
  const p = parseEap(input);
  if (p.ok) {
    const length = (input[2]! << 8) | input[3]!;
    if (!equalBytes(encodeEap(p.value), input.subarray(0, length))) throw new Error("parseEap/encodeEap not canonical");
  } else if (p.offset < 0 || p.offset > input.length || !p.reason) throw new Error("bad parseEap failure");
  const m = parseMschapRequest(input);
  if (!m.ok && (m.offset < 0 || m.offset > input.length)) throw new Error("bad parseMschapRequest failure");
  const text = new TextDecoder().decode(input);
  parseSuccessMessage(text);
  parseFailureMessage(text);
}

function mutate(base: Uint8Array, r: () => number): Uint8Array {
  const b = base.slice();
  const n = 1 + Math.floor(r() * 4);
  let out = b;
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(r() * Math.max(1, out.length));
    switch (Math.floor(r() * 6)) {
      case 0:
        if (out.length) out[pos]! ^= 1 << Math.floor(r() * 8);
        break;
      case 1:
        out = out.slice(0, pos);
        break;
      case 2:
        if (out.length) out[pos] = [0, 1, 2, 3, 4, 0x1a, 0x7f, 0xfe, 0xff][Math.floor(r() * 9)]!;
        break;
      case 3: {
        // Length field edits (EAP Length at 2..3, MS-Length at 7..8)
        const at = r() < 0.5 ? 2 : 7;
        if (out.length > at + 1) {
          const v = Math.floor(r() * 80);
          out[at] = v >> 8;
          out[at + 1] = v & 0xff;
        }
        break;
      }
      case 4: {
        const extra = new Uint8Array(Math.floor(r() * 8)).map(() => Math.floor(r() * 256));
        const joined = new Uint8Array(out.length + extra.length);
        joined.set(out.subarray(0, pos));
        joined.set(extra, pos);
        joined.set(out.subarray(pos), pos + extra.length);
        out = joined;
        break;
      }
      default:
        out = out.slice(pos).length ? Uint8Array.from([...out.subarray(0, 5), ...out.subarray(pos)]) : out;
    }
  }
  return out;
}

test("parsers and the peer survive mutated packets of a real exchange", () => {
  const r = rng(SEED);
  for (let i = 0; i < 6000; i++) {
    const stage = i % 4;
    const { peer, packets } = peerAt(stage);
    const input = mutate(packets[Math.floor(r() * packets.length)]!, r);
    try {
      checkParsers(input);
      const step = peer.process(input);
      checkStep(step);
      if (step.send) checkStep(peer.process(mutate(packets[Math.floor(r() * packets.length)]!, r)));
    } catch (e) {
      throw new Error(`seed ${SEED} iteration ${i} stage ${stage} input ${Buffer.from(input).toString("hex")}: ${(e as Error).message}`);
    }
  }
}, FUZZ_TIMEOUT_MS);

test("parsers and the peer survive random bytes (fast-check)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 96 }), fc.integer({ min: 0, max: 3 }), (bytes, stage) => {
      checkParsers(bytes);
      const { peer } = peerAt(stage);
      checkStep(peer.process(bytes));
    }),
    { seed: SEED | 0, numRuns: 3000 },
  );
});

test("random EAP-shaped Requests of Type 26 never make the peer throw or release an MSK", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 7 }), fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 3 }), (opCode, body, stage) => {
      const data = Uint8Array.from([opCode, 0x2a, 0, 4 + body.length, ...body]);
      const { peer } = peerAt(stage);
      const step = peer.process(encodeEap({ code: 1, identifier: 0x99, type: 26, data }));
      checkStep(step);
      expect(step.done?.ok ?? false).toBe(false);
    }),
    { seed: (SEED + 1) | 0, numRuns: 3000 },
  );
});
