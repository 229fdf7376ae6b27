// The anti-replay window as numbered tables (RFC 4303 §3.4.3, App. A2), then a model check against a
// plain set of seen numbers over random traffic.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { ReplayWindow } from "../../../core/esp/replay.ts";

// action: "check" = read-only check; "recv" = check, then update when ok (what the engine does after
// a valid ICV); "forge" = check only, as for a packet whose ICV then fails (the window must not move).
type Row = readonly [n: number, action: "check" | "recv" | "forge", seq: number, expected: string];

function runTable(w: ReplayWindow, rows: readonly Row[], esn = false): void {
  for (const [n, action, lo, expected] of rows) {
    const hi = esn ? w.inferHi(lo) : 0;
    const verdict = w.check(lo, hi);
    if (action === "recv" && verdict === "ok") expect(w.update(lo, hi)).toBe(true);
    const got = esn ? `${verdict}@${hi}` : verdict;
    expect(`${n}: ${got}`).toBe(`${n}: ${expected}`);
  }
}

test("replay window W=64, 32-bit sequence numbers", () => {
  // n | action | seq | expected
  const rows: Row[] = [
    [1, "check", 0, "too-old"], //          seq 0 is never sent (RFC 4303 §3.3.3)
    [2, "recv", 0, "too-old"],
    [3, "recv", 1, "ok"],
    [4, "recv", 1, "replayed"],
    [5, "forge", 64, "ok"], //             a forged packet leaves the window where it was
    [6, "check", 1, "replayed"],
    [7, "recv", 64, "ok"], //               window 1..64
    [8, "check", 1, "replayed"], //         64 - 1 = 63 < W: still inside
    [9, "recv", 65, "ok"], //               window 2..65
    [10, "check", 1, "too-old"], //         left edge passed
    [11, "check", 2, "ok"], //              left edge, unseen
    [12, "recv", 2, "ok"],
    [13, "recv", 2, "replayed"],
    [14, "recv", 33, "ok"], //              middle of the window, out of order
    [15, "recv", 33, "replayed"],
    [16, "recv", 64, "replayed"],
    [17, "recv", 200, "ok"], //             jump of more than W but less than the ring: 137..200
    [18, "check", 136, "too-old"],
    [19, "check", 137, "ok"], //            its ring block held 1..31 before: cleared by the slide
    [20, "recv", 137, "ok"],
    [21, "recv", 137, "replayed"],
    [22, "check", 65, "too-old"],
    [23, "recv", 199, "ok"],
    [24, "recv", 199, "replayed"],
    [25, "recv", 160, "ok"], //             block boundary 160 = 5 * 32
    [26, "recv", 159, "ok"],
    [27, "recv", 160, "replayed"],
    [28, "recv", 100000, "ok"], //          large jump: the whole ring is cleared
    [29, "check", 200, "too-old"],
    [30, "check", 99937, "ok"], //          100000 - 63: left edge
    [31, "check", 99936, "too-old"], //     100000 - 64
    [32, "recv", 99999, "ok"],
    [33, "recv", 99999, "replayed"],
    [34, "recv", 100000, "replayed"], //    the top itself
    [35, "check", 99968, "ok"], //          inside the window, never seen
    [36, "recv", 0xffffffff, "ok"], //      the last 32-bit number
    [37, "recv", 0xffffffff, "replayed"],
    [38, "check", 0xffffffc0, "ok"], //     left edge below 2^32 - 1
    [39, "check", 0xffffffbf, "too-old"],
    [40, "check", 100000, "too-old"],
  ];
  runTable(new ReplayWindow(64), rows);
});

test("replay window W=32 (the minimum) and a size that is not a multiple of 32", () => {
  const w32 = new ReplayWindow(32);
  runTable(w32, [
    [1, "recv", 40, "ok"],
    [2, "check", 9, "ok"], //  40 - 31
    [3, "check", 8, "too-old"], // 40 - 32
    [4, "recv", 9, "ok"],
    [5, "recv", 72, "ok"], //  exactly one block ahead
    [6, "check", 40, "too-old"],
    [7, "check", 41, "ok"],
    [8, "recv", 9, "too-old"],
  ]);
  const w100 = new ReplayWindow(100);
  runTable(w100, [
    [1, "recv", 1000, "ok"],
    [2, "check", 901, "ok"],
    [3, "check", 900, "too-old"],
    [4, "recv", 901, "ok"],
    [5, "recv", 901, "replayed"],
  ]);
  expect(() => new ReplayWindow(16)).toThrow(/32\.\.1048576/);
});

test("the ring wraps many times: 1..5000 in order, then every duplicate of the window is caught", () => {
  const w = new ReplayWindow(64);
  for (let s = 1; s <= 5000; s++) {
    expect(w.check(s)).toBe("ok");
    expect(w.update(s)).toBe(true);
  }
  for (let s = 5000 - 63; s <= 5000; s++) expect(w.check(s)).toBe("replayed");
  for (let s = 1; s < 5000 - 63; s += 7) expect(w.check(s)).toBe("too-old");
});

test("ESN W=64: high bits inferred per RFC 4303 Appendix A2.2 across the 2^32 boundary", () => {
  // n | action | seq (low 32 bits, as on the wire) | expected verdict@inferred high bits
  const rows: Row[] = [
    [1, "check", 1, "ok@0"], //                 Case B with Th = Tl = 0
    [2, "check", 0xfffffff0, "too-old@-1"], //  would lie before sequence number 0
    [3, "check", 0, "too-old@0"], //            64-bit 0 is never valid
    [4, "recv", 100, "ok@0"], //                top (0, 100): Case A from now on
    [5, "recv", 0xfffffff0, "ok@0"], //         a jump within the subspace
    [6, "check", 100, "ok@1"], //               below the window: taken as 2^32 + 100, ahead
    [7, "check", 0xffffffb1, "ok@0"], //        Case A: Tl - W + 1 = 0xffffffb1
    [8, "check", 0xffffffb0, "ok@1"], //        below the window: the next subspace
    [9, "check", 5, "ok@1"],
    [10, "recv", 5, "ok@1"], //                 top is now 2^32 + 5
    [11, "recv", 0xfffffff0, "replayed@0"], //  Case B: inside the window, lower subspace
    [12, "recv", 0xfffffff1, "ok@0"],
    [13, "recv", 0xffffffc6, "ok@0"], //        2^32 + 5 - 63: the left edge
    [14, "check", 0xffffffc5, "ok@1"], //       below: inferred as 2^33 - 59, ahead
    [15, "recv", 0, "ok@1"], //                 low half 0 is valid once the high half is not
    [16, "recv", 0, "replayed@1"],
    [17, "recv", 5, "replayed@1"],
    [18, "recv", 4, "ok@1"],
  ];
  runTable(new ReplayWindow(64), rows, true);
});

test("model check: the window agrees with a set of seen numbers inside the last W", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(32, 64, 100, 128, 1024),
      fc.array(fc.oneof(fc.integer({ min: -80, max: 80 }), fc.integer({ min: -3000, max: 3000 })), { maxLength: 300 }),
      fc.array(fc.boolean(), { maxLength: 300 }),
      (size, moves, forged) => {
        const w = new ReplayWindow(size);
        const seen = new Set<number>();
        let top = 0;
        let cursor = 1000;
        moves.forEach((m, i) => {
          cursor = Math.max(0, cursor + m);
          const expected = cursor === 0 || (cursor <= top && top - cursor >= size) ? "too-old" : seen.has(cursor) ? "replayed" : "ok";
          expect(w.check(cursor)).toBe(expected);
          if (expected === "ok" && !forged[i]) {
            w.update(cursor);
            seen.add(cursor);
            top = Math.max(top, cursor);
          }
        });
      },
    ),
    { numRuns: 300, seed: 4303 },
  );
});
