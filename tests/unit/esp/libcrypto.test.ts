// The libcrypto (EVP through FFI) AEAD ciphers against the noble reference, byte for byte: every AEAD
// suite, with and without ESN (across the 2^32 boundary), IPv4 and IPv6 packets of many sizes, each
// opening the other's packets; a forged packet is refused with the buffer left exactly as it came.
import { describe, expect, test } from "bun:test";
import { EspEngine, ESP_HEADROOM } from "../../../core/esp/engine.ts";
import { nobleEspFactory } from "../../../core/esp/noble.ts";
import { toHex } from "../../../core/util/bytes.ts";
import { libcrypto, libcryptoVersion } from "../../../platform/crypto/libcrypto.ts";
import { libcryptoEspFactory } from "../../../platform/crypto/esp-libcrypto.ts";
import { nativeEspFactory } from "../../../platform/crypto/esp-native.ts";
import { expectSameAsNoble } from "./cross.ts";
import { framed, ipv4, paramsFor, saPair, SeededRandom, SUITES } from "./helpers.ts";

const AEAD = SUITES.filter((s) => s.integId === 0);
const SIZES_V4 = [20, 21, 22, 23, 24, 40, 63, 64, 65, 127, 128, 200, 576, 1000, 1399, 1400, 1500, 8000];
const SIZES_V6 = [40, 41, 42, 43, 44, 60, 100, 1280, 1399, 1400, 1500];

test("the system libcrypto is OpenSSL 3 (the test machines install libssl3)", () => {
  expect(libcrypto()).not.toBeNull();
  expect(libcryptoVersion()).toMatch(/^OpenSSL 3\./);
});

describe("libcrypto and noble seal the same bytes and open each other's", () => {
  for (const s of AEAD) {
    for (const esn of [false, true]) {
      test(`${s.name}${esn ? " ESN" : ""}`, () => expectSameAsNoble(s, esn, libcryptoEspFactory, SIZES_V4, SIZES_V6));
    }
  }
});

describe("a packet that does not authenticate is refused and left untouched", () => {
  for (const s of AEAD) {
    test(s.name, () => {
      const rnd = new SeededRandom(3);
      const { out, inb } = saPair(s, libcryptoEspFactory, libcryptoEspFactory);
      const tx = new EspEngine();
      tx.setOutbound(out);
      const rx = new EspEngine();
      rx.addInbound(inb);
      const inner = ipv4(1400, rnd);
      const buf = framed(inner);
      const r = { ...tx.seal(buf, ESP_HEADROOM, inner.length) };
      const packet = buf.slice(r.offset, r.offset + r.length);
      // Flip one bit in the ciphertext, in the ICV, and in the AAD (the sequence number's low octet).
      for (const at of [40, packet.length - 1, 7]) {
        const forged = packet.slice();
        forged[at]! ^= 0x02; // seq 1 becomes 3: still inside the replay window
        const before = toHex(forged);
        expect(rx.open(forged, 0, forged.length).status).toBe("auth");
        expect(toHex(forged)).toBe(before);
      }
      // The genuine packet still opens afterwards (the context was left usable).
      const good = packet.slice();
      expect(rx.open(good, 0, good.length).status).toBe("ok");
      expect(rx.drops.auth).toBe(3);
    });
  }
});

test("the libcrypto factory declines CBC suites and mismatched keys; dispose() makes the cipher unusable", () => {
  const cbc = SUITES.find((s) => s.integId !== 0)!;
  expect(libcryptoEspFactory.create(paramsFor(cbc, new SeededRandom(1), false))).toBeUndefined();
  const gcm = AEAD[2]!;
  const p = paramsFor(gcm, new SeededRandom(1), false);
  expect(libcryptoEspFactory.create({ ...p, encrKey: p.encrKey.subarray(1) })).toBeUndefined();
  const c = libcryptoEspFactory.create(p)!;
  c.dispose();
  c.dispose(); // idempotent
  expect(() => c.seal(new Uint8Array(128), 0, 16, 0)).toThrow(/after dispose/);
});

test("packets in a SharedArrayBuffer (where the UDP and TUN readers put them) seal and open with every factory", () => {
  const rnd = new SeededRandom(11);
  for (const s of SUITES) {
    for (const [sender, receiver] of [
      [libcryptoEspFactory, nativeEspFactory],
      [nativeEspFactory, libcryptoEspFactory],
      [nativeEspFactory, nativeEspFactory],
    ] as const) {
      if (!sender.create(paramsFor(s, new SeededRandom(1), false)) || !receiver.create(paramsFor(s, new SeededRandom(1), false))) continue; // CBC: no libcrypto cipher
      const { out, inb } = saPair(s, sender, receiver);
      const tx = new EspEngine();
      tx.setOutbound(out);
      const rx = new EspEngine();
      rx.addInbound(inb);
      const inner = ipv4(1400, rnd);
      const shared = new Uint8Array(new SharedArrayBuffer(4096), 100, 2000);
      shared.set(framed(inner));
      const r = { ...tx.seal(shared, ESP_HEADROOM, inner.length) };
      expect(r.status).toBe("ok");
      const o = rx.open(shared, r.offset, r.length);
      expect(o.status).toBe("ok");
      expect(toHex(shared.subarray(o.offset, o.offset + o.length))).toBe(toHex(inner));
    }
  }
});

test("inside a view at a byte offset, with the packet not at the view's start, a forged packet is refused and left untouched", () => {
  // The libcrypto cipher passes the packet's parts to OpenSSL as ptr(view) + offset: both offsets count.
  const rnd = new SeededRandom(17);
  for (const s of AEAD) {
    const { out, inb } = saPair(s, nobleEspFactory, libcryptoEspFactory);
    const tx = new EspEngine();
    tx.setOutbound(out);
    const rx = new EspEngine();
    rx.addInbound(inb);
    const inner = ipv4(200, rnd);
    const buf = framed(inner);
    const r = { ...tx.seal(buf, ESP_HEADROOM, inner.length) };
    const view = new Uint8Array(new ArrayBuffer(1024), 37, 600);
    view.set(buf.subarray(r.offset, r.offset + r.length), 51);
    view[51 + 30]! ^= 0x80; // one ciphertext bit
    const before = toHex(new Uint8Array(view.buffer));
    expect(rx.open(view, 51, r.length).status).toBe("auth");
    expect(toHex(new Uint8Array(view.buffer))).toBe(before);
    view[51 + 30]! ^= 0x80;
    const o = rx.open(view, 51, r.length);
    expect(o.status).toBe("ok");
    expect(toHex(view.subarray(o.offset, o.offset + o.length))).toBe(toHex(inner));
  }
});
