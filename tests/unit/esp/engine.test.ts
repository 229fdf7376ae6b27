// Tunnel-mode seal/open behaviour: round trips, every drop reason counted (never thrown), lifetime
// signals, sequence number exhaustion (RFC 4303 §3.3.3) and the ESN roll-over.
import { describe, expect, test } from "bun:test";
import { ESP_HEADER_LENGTH } from "../../../core/esp/cipher.ts";
import { EspEngine, ESP_HEADROOM, ESP_TAILROOM } from "../../../core/esp/engine.ts";
import type { EspDropReason } from "../../../core/esp/engine.ts";
import { nobleEspFactory } from "../../../core/esp/noble.ts";
import { writeU32 } from "../../../core/util/bytes.ts";
import { nativeEspFactory } from "../../../platform/crypto/esp-native.ts";
import { framed, ipv4, ipv6, saPair, SeededRandom, SUITES } from "./helpers.ts";
import type { SaPairOptions, SuiteCase } from "./helpers.ts";

const GCM = SUITES.find((s) => s.name === "AES-256-GCM-16")!;
const CBC = SUITES.find((s) => s.name === "AES-256-CBC+HMAC-SHA2-256-128")!;
const CHACHA = SUITES.find((s) => s.name === "ChaCha20-Poly1305")!;

function engines(s: SuiteCase, o: SaPairOptions = {}) {
  const { out, inb } = saPair(s, nativeEspFactory, nativeEspFactory, o);
  const tx = new EspEngine();
  tx.setOutbound(out);
  const rx = new EspEngine();
  rx.addInbound(inb);
  return { tx, rx, out, inb };
}

/** Seals `inner` and returns a copy of the ESP packet. */
function sealCopy(tx: EspEngine, inner: Uint8Array): Uint8Array {
  const buf = framed(inner);
  const r = tx.seal(buf, ESP_HEADROOM, inner.length);
  expect(r.status).toBe("ok");
  return buf.slice(r.offset, r.offset + r.length);
}

function onlyDrop(rx: EspEngine, reason: EspDropReason, n = 1): void {
  for (const [k, v] of Object.entries(rx.drops)) expect(`${k}=${v}`).toBe(`${k}=${k === reason ? n : 0}`);
}

describe("round trips", () => {
  for (const s of [GCM, CHACHA, CBC]) {
    test(`${s.name}: IPv4 and IPv6, padding to the block, nothing dropped`, () => {
      const rnd = new SeededRandom(3);
      const { tx, rx, out, inb } = engines(s);
      for (let len = 20; len < 120; len++) {
        for (const inner of [ipv4(len, rnd), ...(len >= 40 ? [ipv6(len, rnd)] : [])]) {
          const p = sealCopy(tx, inner);
          const c = out.cipher;
          const dataLen = p.length - ESP_HEADER_LENGTH - c.ivLength - c.icvLength;
          expect(dataLen % c.blockSize).toBe(0);
          expect(dataLen - inner.length - 2).toBeLessThan(c.blockSize); // minimal padding
          const r = rx.open(p, 0, p.length);
          expect(r.status).toBe("ok");
          expect(Buffer.from(p.subarray(r.offset, r.offset + r.length)).equals(inner)).toBe(true);
        }
      }
      expect(out.counters.packets).toBe(inb.counters.packets);
      expect(out.counters.bytes).toBe(inb.counters.bytes);
      onlyDrop(rx, "short", 0);
    });
  }

  test("the IV is the sequence number for AEAD (RFC 4106 §3.1) and random for CBC (RFC 3602 §2.1)", () => {
    const inner = ipv4(40, new SeededRandom(1));
    const g = engines(GCM);
    sealCopy(g.tx, inner);
    const p2 = sealCopy(g.tx, inner);
    expect(Buffer.from(p2.subarray(8, 16)).toString("hex")).toBe("0000000000000002");
    const c = engines(CBC);
    const a = sealCopy(c.tx, inner);
    const b = sealCopy(c.tx, inner);
    expect(Buffer.from(a.subarray(8, 24)).equals(b.subarray(8, 24))).toBe(false);
  });
});

describe("drops are counted, never thrown", () => {
  for (const s of [GCM, CHACHA, CBC]) {
    test(`${s.name}: any flipped bit fails the ICV or the SPI, and moves nothing`, () => {
      const { tx, rx, inb } = engines(s);
      const p = sealCopy(tx, ipv4(60, new SeededRandom(4)));
      let auth = 0;
      let spi = 0;
      for (let bit = 0; bit < p.length * 8; bit++) {
        const q = p.slice();
        q[bit >> 3]! ^= 0x80 >> (bit & 7);
        const st = rx.open(q, 0, q.length).status;
        if (bit < 32) {
          expect(st).toBe("unknown-spi");
          spi++;
        } else if (bit === 63) {
          expect(st).toBe("too-old"); // Sequence Number 1 became 0, refused before the ICV
        } else {
          expect(st).toBe("auth");
          auth++;
        }
      }
      expect(rx.drops.auth).toBe(auth);
      expect(rx.drops["unknown-spi"]).toBe(spi);
      expect(rx.drops["too-old"]).toBe(1);
      expect(inb.counters.packets).toBe(0);
      // The untouched packet still opens: no forged packet moved the window.
      expect(rx.open(p.slice(), 0, p.length).status).toBe("ok");
    });
  }

  test("truncated packets: short, or not a whole number of blocks", () => {
    const { tx, rx } = engines(CBC);
    const p = sealCopy(tx, ipv4(100, new SeededRandom(5)));
    expect(rx.open(p, 0, 0).status).toBe("short");
    expect(rx.open(p, 0, 7).status).toBe("short");
    expect(rx.open(p, 0, 8 + 16 + 15 + 16).status).toBe("short"); // less than one block of data
    expect(rx.open(p, 0, p.length - 1).status).toBe("bad-length");
    expect(rx.open(p, 0, p.length - 16).status).toBe("auth"); // whole blocks, but the ICV moved
    expect(rx.drops.short).toBe(3);
    expect(rx.drops["bad-length"]).toBe(1);
    expect(rx.drops.auth).toBe(1);
  });

  test("replayed and too-old packets", () => {
    const { tx, rx } = engines(GCM, { replayWindow: 32 });
    const inner = ipv4(30, new SeededRandom(6));
    const first = sealCopy(tx, inner);
    const second = sealCopy(tx, inner);
    expect(rx.open(second.slice(), 0, second.length).status).toBe("ok");
    expect(rx.open(second.slice(), 0, second.length).status).toBe("replayed");
    expect(rx.open(first.slice(), 0, first.length).status).toBe("ok"); // out of order, inside the window
    expect(rx.open(first.slice(), 0, first.length).status).toBe("replayed");
    let last = second;
    for (let i = 0; i < 40; i++) last = sealCopy(tx, inner);
    expect(rx.open(last.slice(), 0, last.length).status).toBe("ok"); // seq 42
    const old = first.slice();
    expect(rx.open(old, 0, old.length).status).toBe("too-old");
    expect(rx.drops.replayed).toBe(2);
    expect(rx.drops["too-old"]).toBe(1);
  });

  test("unknown SPI, and a removed SA", () => {
    const { tx, rx, inb } = engines(GCM, { spi: 0x1000 });
    const p = sealCopy(tx, ipv4(30, new SeededRandom(7)));
    const q = p.slice();
    writeU32(q, 0, 0x1001);
    expect(rx.open(q, 0, q.length)).toMatchObject({ status: "unknown-spi", spi: 0x1001 });
    rx.removeInbound(inb.spi);
    expect(rx.open(p, 0, p.length).status).toBe("unknown-spi");
    expect(rx.drops["unknown-spi"]).toBe(2);
  });

  /** Seals a hand-made trailer with the SA's cipher, as a misbehaving peer would. */
  function craft(s: SuiteCase, trailerFor: (payload: Uint8Array, block: number) => Uint8Array, payload: Uint8Array) {
    const { out, rx } = engines(s);
    const c = out.cipher;
    const data = trailerFor(payload, c.blockSize);
    const buf = new Uint8Array(ESP_HEADER_LENGTH + c.ivLength + data.length + c.icvLength);
    writeU32(buf, 0, out.spi);
    writeU32(buf, 4, 1);
    buf.set(new SeededRandom(8).bytes(c.ivLength), ESP_HEADER_LENGTH);
    buf.set(data, ESP_HEADER_LENGTH + c.ivLength);
    c.seal(buf, 0, data.length, 0);
    return { rx, r: rx.open(buf, 0, buf.length) };
  }

  function trailer(padBytes: number[], padLen: number, nh: number) {
    return (payload: Uint8Array, block: number) => {
      const body = [...payload, ...padBytes, padLen, nh];
      expect(body.length % block).toBe(0);
      return Uint8Array.from(body);
    };
  }

  for (const s of [GCM, CBC]) {
    const block = s === CBC ? 16 : 4;
    const inner = ipv4(block === 16 ? 29 : 21, new SeededRandom(9)); // + 1 octet of padding + 2 = a block multiple
    test(`${s.name}: bad padding contents, Pad Length past the data, Next Header, dummy, wrong inner version`, () => {
      expect(craft(s, trailer([1], 1, 4), inner).r.status).toBe("ok");
      const bad = craft(s, trailer([7], 1, 4), inner);
      expect(bad.r.status).toBe("bad-padding");
      expect(bad.rx.drops["bad-padding"]).toBe(1);
      expect(craft(s, trailer([1], 250, 4), inner).r.status).toBe("bad-padding");
      expect(craft(s, trailer([1], 1, 17), inner).r.status).toBe("bad-next-header");
      expect(craft(s, trailer([1], 1, 41), inner).r.status).toBe("bad-inner"); // IPv4 bytes, IPv6 label
      const dummy = craft(s, trailer([1], 1, 59), inner);
      expect(dummy.r.status).toBe("dummy"); // RFC 4303 §2.6
      expect(dummy.rx.drops.dummy).toBe(1);
    });
  }

  test("seal refuses what it cannot frame", () => {
    const { tx } = engines(GCM);
    const inner = ipv4(40, new SeededRandom(10));
    const buf = framed(inner);
    expect(tx.seal(buf, ESP_HEADROOM, 0).status).toBe("bad-inner");
    buf[ESP_HEADROOM] = 0x50;
    expect(tx.seal(buf, ESP_HEADROOM, 40).status).toBe("bad-inner");
    buf[ESP_HEADROOM] = 0x45;
    const tight = new Uint8Array(8 + 40 + ESP_TAILROOM);
    tight.set(inner, 8);
    expect(tx.seal(tight, 8, 40).status).toBe("no-room"); // headroom below ESP header + IV
    expect(tx.seal(buf, ESP_HEADROOM, buf.length - ESP_HEADROOM - 10).status).toBe("no-room");
    expect(tx.outbound!.seqLo).toBe(0); // refusals consume no sequence number
    expect(new EspEngine().seal(buf, ESP_HEADROOM, 40).status).toBe("no-sa");
    expect(ESP_TAILROOM).toBeGreaterThanOrEqual(15 + 2 + 32);
  });

  test("garbage never throws", () => {
    const { rx } = engines(CBC, { spi: 0x01020304 });
    const rnd = new SeededRandom(11);
    for (let i = 0; i < 2000; i++) {
      const len = rnd.next() % 200;
      const p = rnd.bytes(len);
      if (i % 2 === 0 && len >= 4) writeU32(p, 0, 0x01020304);
      expect(() => rx.open(p, 0, len)).not.toThrow();
    }
    const total = Object.values(rx.drops).reduce((a, b) => a + b, 0);
    expect(total).toBe(2000);
  });
});

describe("lifetimes and sequence numbers", () => {
  test("packet limits: soft once, then hard on the last packet allowed, then expired", () => {
    const { tx, rx } = engines(GCM, { lifetime: { softPackets: 3, hardPackets: 5 }, inLifetime: { softPackets: 2, hardPackets: 4 } });
    const inner = ipv4(40, new SeededRandom(12));
    const sent: string[] = [];
    const got: string[] = [];
    for (let i = 0; i < 6; i++) {
      const buf = framed(inner);
      const r = tx.seal(buf, ESP_HEADROOM, inner.length);
      sent.push(`${r.status}/${r.signal}`);
      if (r.status === "ok") {
        const o = rx.open(buf, r.offset, r.length);
        got.push(`${o.status}/${o.signal}`);
      }
    }
    expect(sent).toEqual(["ok/none", "ok/none", "ok/soft", "ok/none", "ok/hard", "expired/none"]);
    expect(got).toEqual(["ok/none", "ok/soft", "ok/none", "ok/hard", "expired/none"]);
    expect(rx.drops.expired).toBe(1);
  });

  test("byte limits count the encrypted octets (payload, padding, trailer)", () => {
    const { tx } = engines(GCM, { lifetime: { softBytes: 100, hardBytes: 200 } });
    const inner = ipv4(46, new SeededRandom(13)); // 46 + 2 = 48 octets encrypted
    const signals: string[] = [];
    for (let i = 0; i < 5; i++) signals.push(tx.seal(framed(inner), ESP_HEADROOM, inner.length).signal);
    expect(signals).toEqual(["none", "none", "soft", "none", "hard"]); // 48, 96, 144, 192, 240
    expect(tx.outbound!.counters).toEqual({ packets: 5, bytes: 240 });
  });

  test("32-bit sequence numbers: 2^32 - 1 is the last one sent, then seq-exhausted (RFC 4303 §3.3.3)", () => {
    const { tx, rx, out, inb } = engines(CHACHA);
    out.seqLo = 0xfffffffd;
    inb.replay.update(0xfffffffd);
    const inner = ipv6(60, new SeededRandom(14));
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const buf = framed(inner);
      const r = tx.seal(buf, ESP_HEADROOM, inner.length);
      seen.push(`${r.status}/${r.signal}`);
      if (r.status === "ok") expect(rx.open(buf, r.offset, r.length).status).toBe("ok");
    }
    // 0xfffffffe is past 15/16 of the space: the soft signal (rekey now) comes first.
    expect(seen).toEqual(["ok/soft", "ok/hard", "seq-exhausted/hard"]);
    expect(out.seqLo).toBe(0xffffffff);
  });

  test("without ESN, a soft signal once 15/16 of the sequence space is spent, and only once", () => {
    const { tx, out } = engines(GCM);
    const inner = ipv4(80, new SeededRandom(16));
    out.seqLo = 0xeffffffe;
    const signals: string[] = [];
    for (let i = 0; i < 4; i++) signals.push(tx.seal(framed(inner), ESP_HEADROOM, inner.length).signal);
    expect(signals).toEqual(["none", "soft", "none", "none"]); // 0xefffffff, then 0xf0000000 on
  });

  test("ESN: the counter carries into the high half, and the receiver follows it", () => {
    const { tx, rx, out, inb } = engines(CBC, { esn: true });
    out.seqLo = 0xfffffffd;
    inb.replay.update(0xfffffffd);
    const inner = ipv4(80, new SeededRandom(15));
    for (let i = 0; i < 5; i++) {
      const buf = framed(inner);
      const r = tx.seal(buf, ESP_HEADROOM, inner.length);
      expect(r.signal).toBe("none");
      expect(rx.open(buf, r.offset, r.length).status).toBe("ok");
    }
    expect([out.seqHi, out.seqLo]).toEqual([1, 2]);
    expect([inb.replay.highestHi, inb.replay.highestLo]).toEqual([1, 2]);
    out.seqHi = 0xffffffff;
    out.seqLo = 0xfffffffe;
    expect(tx.seal(framed(inner), ESP_HEADROOM, inner.length)).toMatchObject({ status: "ok", signal: "hard" });
    expect(tx.seal(framed(inner), ESP_HEADROOM, inner.length).status).toBe("seq-exhausted");
  });
});
