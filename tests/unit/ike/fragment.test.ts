// IKE fragmentation (RFC 7383): fragments built by hand with node:crypto, round trips for every SK
// suite and budget, reassembly order, duplicates, forgeries, limits, Total Fragments changes, fuzz.
import { describe, expect, test } from "bun:test";
import { createCipheriv, createHmac } from "node:crypto";
import fc from "fast-check";
import type { SkKeys, SkSuite } from "../../../core/crypto/encr.ts";
import {
  FragmentReassembler,
  fragmentMessage,
  maxFragmentContent,
  SKF_PREFIX_LENGTH,
  type ReassemblyResult,
} from "../../../core/ike/fragment.ts";
import { concatBytes, equalBytes, fromHex, readU16, readU32, toHex } from "../../../core/util/bytes.ts";
import { EncrId, ExchangeType, IntegId, PayloadType } from "../../../core/wire/constants.ts";
import { parseMessage, parsePayloads, serializePayloads, type HeaderFields } from "../../../core/wire/message.ts";
import type { Payload } from "../../../core/wire/payloads.ts";
import { bytes, sampleSuites, suite } from "../crypto/suites.ts";

/** Counter-based deterministic Random (never repeats an IV within a test). */
function counterRandom(seed = 1) {
  let c = seed;
  return { bytes: (n: number) => Uint8Array.from({ length: n }, () => (c = (c * 1103515245 + 12345) >>> 0) >>> 24) };
}

const SPI_I = fromHex("0102030405060708");
const SPI_R = fromHex("a1a2a3a4a5a6a7a8");

function header(messageId: number, opts: { response?: boolean; exchangeType?: number } = {}): HeaderFields {
  return {
    spiI: SPI_I,
    spiR: SPI_R,
    majorVersion: 2,
    minorVersion: 0,
    exchangeType: opts.exchangeType ?? ExchangeType.IKE_AUTH,
    flags: { initiator: !opts.response, response: opts.response ?? false, version: false },
    messageId,
  };
}

/** A realistic IKE_AUTH response content: IDr, a large CERT, AUTH. */
function innerOf(certLength: number): { firstType: number; bytes: Uint8Array } {
  const payloads: Payload[] = [
    { type: PayloadType.IDr, critical: false, idType: 2, data: new TextEncoder().encode("gw.roam.test") },
    { type: PayloadType.CERT, critical: false, certEncoding: 4, certData: bytes(certLength, 9) },
    { type: PayloadType.AUTH, critical: false, authMethod: 14, authData: bytes(64, 3) },
  ];
  return serializePayloads(payloads);
}

function frag(s: SkSuite, keys: SkKeys, inner: { firstType: number; bytes: Uint8Array }, maxDatagram: number, h = header(1), seed = 1) {
  return fragmentMessage({ header: h, innerFirstType: inner.firstType, inner: inner.bytes, suite: s, keys, random: counterRandom(seed), maxDatagram });
}

function feed(r: FragmentReassembler, frags: Uint8Array[], now = 0): ReassemblyResult[] {
  return frags.map((f) => r.add(f, now));
}

const gcm128 = () => suite(EncrId.AES_GCM_16, 128, IntegId.NONE);
const gcmKeys: SkKeys = { encr: bytes(20, 5) };

describe("fragment format, cross-checked with node:crypto", () => {
  test("AES-GCM-16: every fragment equals one built by hand (RFC 7383 §2.5 layout, AAD = IKE header + SKF header)", () => {
    const inner = innerOf(1500);
    const frags = frag(gcm128(), gcmKeys, inner, 576);
    const per = maxFragmentContent(gcm128(), 576);
    // 576 − 36 (prefix) − 8 (IV) − 1 (Pad Length) − 16 (ICV) = 515 content octets per fragment.
    expect(per).toBe(515);
    expect(frags.length).toBe(Math.ceil(inner.bytes.length / 515));
    const rnd = counterRandom(1);
    frags.forEach((f, i) => {
      const content = inner.bytes.subarray(i * per, Math.min((i + 1) * per, inner.bytes.length));
      const iv = rnd.bytes(8);
      const skfLength = 4 + 4 + 8 + content.length + 1 + 16;
      const prefix = fromHex(
        "0102030405060708 a1a2a3a4a5a6a7a8" + // SPIi, SPIr
          "35 20 23 08 00000001" + // Next Payload SKF(53), version 2.0, IKE_AUTH(35), Initiator flag, Message ID 1
          (28 + skfLength).toString(16).padStart(8, "0") + // Length
          (i === 0 ? "24" : "00") + "00" + skfLength.toString(16).padStart(4, "0") + // Next Payload IDr (36 = 0x24) only in fragment 1
          (i + 1).toString(16).padStart(4, "0") + frags.length.toString(16).padStart(4, "0"), // Fragment Number, Total Fragments
      );
      // RFC 4106 §4 / RFC 5282: key = first 16 octets of SK_e, nonce = 4-octet salt | 8-octet IV.
      const c = createCipheriv("aes-128-gcm", gcmKeys.encr.subarray(0, 16), concatBytes(gcmKeys.encr.subarray(16), iv));
      c.setAAD(prefix);
      const ct = concatBytes(c.update(concatBytes(content, new Uint8Array([0]))), c.final());
      expect(toHex(f)).toBe(toHex(concatBytes(prefix, iv, ct, c.getAuthTag())));
      expect(f.length).toBeLessThanOrEqual(576);
    });
  });

  test("AES-CBC + HMAC-SHA2-256-128: fragment 2 equals one built by hand (ICV over prefix | IV | ciphertext)", () => {
    const s = suite(EncrId.AES_CBC, 128, IntegId.HMAC_SHA2_256_128);
    const keys: SkKeys = { encr: bytes(16, 5), integ: bytes(32, 6) };
    const inner = innerOf(2000);
    const frags = frag(s, keys, inner, 1280);
    expect(frags.length).toBe(2);
    // 1280 − 36 − 16 (IV) − 16 (ICV) = 1212 → 75 blocks (1200) hold at most 1199 octets + Pad Length.
    const per = maxFragmentContent(s, 1280);
    expect(per).toBe(1199);
    const rnd = counterRandom(1);
    rnd.bytes(16);
    const iv = rnd.bytes(16);
    const content = inner.bytes.subarray(per);
    const padLen = 15 - (content.length % 16);
    const padded = concatBytes(content, new Uint8Array(padLen), new Uint8Array([padLen]));
    const c = createCipheriv("aes-128-cbc", keys.encr, iv).setAutoPadding(false);
    const ct = concatBytes(c.update(padded), c.final());
    const skfLength = 8 + 16 + ct.length + 16;
    const prefix = fromHex(
      "0102030405060708 a1a2a3a4a5a6a7a8 35 20 23 08 00000001" +
        (28 + skfLength).toString(16).padStart(8, "0") +
        "0000" + skfLength.toString(16).padStart(4, "0") + "0002 0002",
    );
    const icv = createHmac("sha256", keys.integ!).update(concatBytes(prefix, iv, ct)).digest().subarray(0, 16);
    expect(toHex(frags[1]!)).toBe(toHex(concatBytes(prefix, iv, ct, icv)));
  });

  test("each fragment parses as an SKF message with the shared Message ID; only fragment 1 names the first payload", () => {
    const inner = innerOf(4000);
    const frags = frag(gcm128(), gcmKeys, inner, 1280, header(7, { response: true }));
    expect(frags.length).toBe(4);
    frags.forEach((f, i) => {
      const m = parseMessage(f);
      if (!m.ok) throw new Error(m.error.reason);
      expect(m.value.header.messageId).toBe(7);
      expect(m.value.header.flags.response).toBe(true);
      expect(m.value.payloads.length).toBe(1);
      const p = m.value.payloads[0]!;
      if (p.type !== PayloadType.SKF || "unknown" in p) throw new Error("not SKF");
      expect([p.fragmentNumber, p.totalFragments, p.firstInner]).toEqual([i + 1, 4, i === 0 ? PayloadType.IDr : 0]);
    });
  });

  test("a budget that leaves no content room, or more than 65535 fragments, is a RangeError", () => {
    const s = gcm128();
    expect(maxFragmentContent(s, 36 + 8 + 1 + 16)).toBe(0);
    expect(maxFragmentContent(s, 36 + 8 + 2 + 16)).toBe(1);
    expect(() => frag(s, gcmKeys, innerOf(10), 60)).toThrow(RangeError);
    expect(() => fragmentMessage({ header: header(1), innerFirstType: 0, inner: new Uint8Array(70000), suite: s, keys: gcmKeys, random: counterRandom(), maxDatagram: 62 })).toThrow(RangeError);
  });
});

describe("round trips", () => {
  for (const [name, s, keys] of sampleSuites()) {
    test(`${name}: sizes 0..9000 at budgets 1280 and 576`, () => {
      for (const budget of [1280, 576]) {
        const per = maxFragmentContent(s, budget);
        // Tight: one more content octet would not fit.
        expect(SKF_PREFIX_LENGTH + s.bodyLength(per)).toBeLessThanOrEqual(budget);
        expect(SKF_PREFIX_LENGTH + s.bodyLength(per + 1)).toBeGreaterThan(budget);
        for (const size of [0, 1, per, per + 1, 3 * per, 3000, 9000]) {
          const innerBytes = bytes(size, size);
          const frags = fragmentMessage({ header: header(3), innerFirstType: PayloadType.CERT, inner: innerBytes, suite: s, keys, random: counterRandom(size), maxDatagram: budget });
          expect(frags.length).toBe(Math.max(1, Math.ceil(size / per)));
          for (const f of frags) expect(f.length).toBeLessThanOrEqual(budget);
          const r = new FragmentReassembler(s, keys, { maxFragments: 64 });
          const results = feed(r, frags);
          const last = results.pop()!;
          for (const x of results) expect(x.kind).toBe("incomplete");
          if (last.kind !== "complete") throw new Error(JSON.stringify(last));
          expect(last.firstInner).toBe(PayloadType.CERT);
          expect(last.header.messageId).toBe(3);
          expect(toHex(last.plaintext)).toBe(toHex(innerBytes));
          expect(r.inProgress).toBe(0);
        }
      }
    });
  }

  test("reassembled content parses back into the original payloads", () => {
    const inner = innerOf(3500);
    const r = new FragmentReassembler(gcm128(), gcmKeys);
    const last = feed(r, frag(gcm128(), gcmKeys, inner, 1280)).pop()!;
    if (last.kind !== "complete") throw new Error(last.kind);
    const payloads = parsePayloads(last.firstInner, last.plaintext);
    if (!payloads.ok) throw new Error(payloads.error.reason);
    expect(payloads.value.map((p) => p.type)).toEqual([PayloadType.IDr, PayloadType.CERT, PayloadType.AUTH]);
  });
});

describe("reassembly", () => {
  const s = gcm128();
  const inner = innerOf(2900);

  test("out of order, with duplicates; after completion every fragment is a replay (fragment number reported)", () => {
    const frags = frag(s, gcmKeys, inner, 576);
    expect(frags.length).toBe(6);
    const r = new FragmentReassembler(s, gcmKeys);
    const order = [4, 1, 5, 0, 2];
    for (const i of order) expect(r.add(frags[i]!, 0).kind).toBe("incomplete");
    expect(r.add(frags[1]!, 0)).toMatchObject({ kind: "dropped", reason: "duplicate" });
    expect(r.add(frags[3]!, 0)).toMatchObject({ kind: "complete", plaintext: inner.bytes });
    expect(r.add(frags[0]!, 0)).toMatchObject({ kind: "dropped", reason: "replay", fragmentNumber: 1, messageId: 1 });
    expect(r.add(frags[5]!, 0)).toMatchObject({ kind: "dropped", reason: "replay", fragmentNumber: 6 });
  });

  test("a tampered fragment is dropped before it is stored; the genuine one then completes", () => {
    const frags = frag(s, gcmKeys, inner, 1280);
    const r = new FragmentReassembler(s, gcmKeys);
    expect(r.add(frags[0]!, 0).kind).toBe("incomplete");
    for (const at of [40, frags[1]!.length - 1, 23 /* exchange type */, 35 /* Total Fragments low octet */]) {
      const bad = frags[1]!.slice();
      bad[at]! ^= 0x01;
      const res = r.add(bad, 0);
      if (at === 35) {
        // Claims 3 → 2 fragments: smaller Total Fragments is discarded without decrypting.
        expect(res).toMatchObject({ kind: "dropped", reason: "stale-total" });
      } else expect(res).toMatchObject({ kind: "dropped", reason: "icv" });
    }
    // A forged higher Total Fragments must not restart the reassembly: it fails the ICV first.
    const forged = frags[1]!.slice();
    forged[35] = 9;
    expect(r.add(forged, 0)).toMatchObject({ kind: "dropped", reason: "icv" });
    expect(r.add(frags[1]!, 0).kind).toBe("incomplete");
    expect(r.add(frags[2]!, 0)).toMatchObject({ kind: "complete", plaintext: inner.bytes });
  });

  test("fragments under other keys are dropped (ICV)", () => {
    const frags = frag(s, { encr: bytes(20, 6) }, inner, 1280);
    const r = new FragmentReassembler(s, gcmKeys);
    for (const res of feed(r, frags)) expect(res).toMatchObject({ kind: "dropped", reason: "icv" });
    expect(r.inProgress).toBe(0);
  });

  test("RFC 7383 §2.5.2: a higher Total Fragments restarts reassembly; a lower one is discarded", () => {
    const big = frag(s, gcmKeys, inner, 1280, header(2), 1); // 3 fragments
    const small = frag(s, gcmKeys, inner, 576, header(2), 2); // 6 fragments
    expect([big.length, small.length]).toEqual([3, 6]);
    const r = new FragmentReassembler(s, gcmKeys);
    expect(r.add(big[0]!, 0)).toMatchObject({ kind: "incomplete", received: 1, total: 3 });
    expect(r.add(big[1]!, 0)).toMatchObject({ kind: "incomplete", received: 2, total: 3 });
    expect(r.add(small[2]!, 1)).toMatchObject({ kind: "incomplete", received: 1, total: 6 });
    expect(r.add(big[2]!, 1)).toMatchObject({ kind: "dropped", reason: "stale-total" });
    for (const i of [0, 1, 3, 4]) expect(r.add(small[i]!, 2).kind).toBe("incomplete");
    expect(r.add(small[5]!, 2)).toMatchObject({ kind: "complete", plaintext: inner.bytes });
  });

  test("requests and responses with the same Message ID are reassembled apart", () => {
    const req = frag(s, gcmKeys, innerOf(2000), 1280, header(5, { exchangeType: ExchangeType.INFORMATIONAL }));
    const resp = frag(s, gcmKeys, innerOf(2100), 1280, header(5, { response: true }));
    const r = new FragmentReassembler(s, gcmKeys);
    expect(r.add(req[0]!, 0).kind).toBe("incomplete");
    expect(r.add(resp[0]!, 0).kind).toBe("incomplete");
    expect(r.inProgress).toBe(2);
    expect(r.add(resp[1]!, 0)).toMatchObject({ kind: "complete", header: { flags: { response: true } } });
    expect(r.add(req[1]!, 0)).toMatchObject({ kind: "complete", header: { exchangeType: ExchangeType.INFORMATIONAL } });
  });

  test("another exchange type under the same Message ID is inconsistent", () => {
    const a = frag(s, gcmKeys, inner, 1280, header(4));
    const b = frag(s, gcmKeys, inner, 1280, header(4, { exchangeType: ExchangeType.INFORMATIONAL }), 3);
    const r = new FragmentReassembler(s, gcmKeys);
    r.add(a[0]!, 0);
    expect(r.add(b[1]!, 0)).toMatchObject({ kind: "dropped", reason: "inconsistent" });
  });

  test("not a fragment, or not IKE at all", () => {
    const r = new FragmentReassembler(s, gcmKeys);
    expect(r.add(new Uint8Array([1, 2, 3]), 0)).toMatchObject({ kind: "dropped", reason: "malformed" });
    // A plain SK message: swap the header's Next Payload to SK and drop the Fragment Number/Total octets.
    const f = frag(s, gcmKeys, innerOf(10), 1280)[0]!;
    const sk = concatBytes(f.subarray(0, 32), f.subarray(36));
    sk[16] = PayloadType.SK;
    new DataView(sk.buffer).setUint32(24, sk.length);
    new DataView(sk.buffer).setUint16(30, sk.length - 28);
    expect(r.add(sk, 0)).toMatchObject({ kind: "dropped", reason: "not-fragment" });
  });
});

describe("limits", () => {
  const s = gcm128();

  test("Total Fragments above maxFragments is refused before decryption", () => {
    const frags = frag(s, gcmKeys, innerOf(6000), 576); // 12 fragments
    const r = new FragmentReassembler(s, gcmKeys, { maxFragments: 8 });
    for (const res of feed(r, frags)) expect(res).toMatchObject({ kind: "dropped", reason: "too-many-fragments" });
    expect(r.inProgress).toBe(0);
  });

  test("a message growing past maxBytes is discarded whole", () => {
    const inner = innerOf(5000);
    const frags = frag(s, gcmKeys, inner, 1280); // 5 fragments
    const r = new FragmentReassembler(s, gcmKeys, { maxBytes: 4000 });
    const res = feed(r, frags);
    expect(res.slice(0, 3).map((x) => x.kind)).toEqual(["incomplete", "incomplete", "incomplete"]);
    expect(res[3]).toMatchObject({ kind: "dropped", reason: "too-big" });
    expect(r.inProgress).toBe(1); // fragment 5 started a new one that can never complete either
    expect(res[4]!.kind).toBe("incomplete");
  });

  test("at most maxMessages reassemblies at once", () => {
    const r = new FragmentReassembler(s, gcmKeys, { maxMessages: 2 });
    const firsts = [10, 11, 12].map((id) => frag(s, gcmKeys, innerOf(2000), 1280, header(id))[0]!);
    expect(r.add(firsts[0]!, 0).kind).toBe("incomplete");
    expect(r.add(firsts[1]!, 0).kind).toBe("incomplete");
    expect(r.add(firsts[2]!, 0)).toMatchObject({ kind: "dropped", reason: "too-many-messages", messageId: 12 });
  });

  test("RFC 7383 §2.6 timeout: fragments older than timeoutMs are discarded", () => {
    const inner = innerOf(2500);
    const frags = frag(s, gcmKeys, inner, 1280); // 3 fragments
    const r = new FragmentReassembler(s, gcmKeys, { timeoutMs: 5000 });
    expect(r.add(frags[0]!, 1000).kind).toBe("incomplete");
    expect(r.add(frags[1]!, 5999).kind).toBe("incomplete");
    expect(r.expire(5999)).toEqual([]);
    // At 6000 ms the first fragment is 5 s old: everything is dropped; fragment 3 starts afresh.
    expect(r.add(frags[2]!, 6000)).toMatchObject({ kind: "incomplete", received: 1 });
    expect(r.add(frags[0]!, 6001).kind).toBe("incomplete");
    expect(r.expire(11000)).toEqual([1]);
    expect(r.inProgress).toBe(0);
    // Retransmitted in full later, it completes.
    expect(feed(r, frags, 20000).pop()).toMatchObject({ kind: "complete", plaintext: inner.bytes });
  });
});

describe("properties", () => {
  const suites = sampleSuites();

  test("any size, budget and order: fragments fit the budget and reassemble to the original", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: suites.length - 1 }),
        fc.integer({ min: 0, max: 12000 }),
        fc.integer({ min: 120, max: 1500 }),
        fc.integer(),
        (si, size, budget, seed) => {
          const [, s, keys] = suites[si]!;
          const innerBytes = bytes(size, seed & 0xff);
          const frags = fragmentMessage({ header: header(9), innerFirstType: 46, inner: innerBytes, suite: s, keys, random: counterRandom(seed), maxDatagram: budget });
          if (frags.some((f) => f.length > budget)) return false;
          // Seeded shuffle, then each fragment twice.
          const order = frags.map((_, i) => i);
          let x = seed >>> 0;
          for (let i = order.length - 1; i > 0; i--) {
            x = (x * 1664525 + 1013904223) >>> 0;
            const j = x % (i + 1);
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          const r = new FragmentReassembler(s, keys, { maxFragments: 2000, maxBytes: 1 << 20 });
          let done: ReassemblyResult | undefined;
          for (const i of order) {
            const res = r.add(frags[i]!, 0);
            if (res.kind === "complete") done = res;
            const again = r.add(frags[i]!, 0);
            if (again.kind !== "dropped") return false;
          }
          return done?.kind === "complete" && done.firstInner === 46 && toHex(done.plaintext) === toHex(innerBytes);
        },
      ),
      { numRuns: 150 },
    );
  });

  test("fuzz: mutated and random datagrams never throw and never complete a message", () => {
    const s = gcm128();
    const frags = frag(s, gcmKeys, innerOf(2000), 576);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: frags.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.uint8Array({ maxLength: 80 }),
        (fi, flips, random) => {
          const r = new FragmentReassembler(s, gcmKeys);
          const m = frags[fi]!.slice();
          for (const [at, v] of flips) m[at % m.length]! ^= v;
          fc.pre(!equalBytes(m, frags[fi]!)); // two flips of one octet by the same value cancel out
          // Any change to a fragment is caught (ICV, header checks); random bytes are malformed.
          const a = r.add(m, 0);
          const b = r.add(random, 0);
          return a.kind === "dropped" && b.kind === "dropped" && r.inProgress === 0;
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("readU16/readU32 agree with the lengths written in every fragment", () => {
    for (const f of frag(gcm128(), gcmKeys, innerOf(3000), 700)) {
      expect(readU32(f, 24)).toBe(f.length);
      expect(readU16(f, 30)).toBe(f.length - 28);
    }
  });
});
