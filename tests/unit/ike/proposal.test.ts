import { describe, expect, test } from "bun:test";
import { acceptsChoice, defaultProposals, formatSuite, parseProposal, parseProposals } from "../../../core/ike/proposal.ts";
import { EncrId, EsnId, IntegId, KeId, PrfId } from "../../../core/wire/constants.ts";

describe("parseProposal (strongSwan syntax)", () => {
  test("aes256gcm16-prfsha256-x25519", () => {
    const r = parseProposal("aes256gcm16-prfsha256-x25519", "ike");
    expect(r).toEqual({ ok: true, value: { encr: [{ id: EncrId.AES_GCM_16, keyBits: 256 }], prf: [PrfId.HMAC_SHA2_256], integ: [], ke: [KeId.CURVE25519], esn: [] } });
  });
  test("aes128-sha256-modp2048 derives prfsha256 from the integrity algorithm", () => {
    const r = parseProposal("aes128-sha256-modp2048", "ike");
    expect(r.ok && r.value.prf).toEqual([PrfId.HMAC_SHA2_256]);
    expect(r.ok && r.value.integ).toEqual([IntegId.HMAC_SHA2_256_128]);
  });
  test("ESP without a group means no PFS, and no ESN by default", () => {
    const r = parseProposal("aes256gcm16", "esp");
    expect(r.ok && r.value).toEqual({ encr: [{ id: EncrId.AES_GCM_16, keyBits: 256 }], prf: [], integ: [], ke: [], esn: [EsnId.NO_ESN] });
  });
  test("ESP with PFS and ESN", () => {
    const r = parseProposal("aes128-sha256-ecp256-esn", "esp");
    expect(r.ok && r.value.ke).toEqual([KeId.ECP_256]);
    expect(r.ok && r.value.esn).toEqual([EsnId.ESN]);
  });
  const bad: [string, "ike" | "esp", string][] = [
    ["aes256gcm16-x25519", "ike", "needs a prf"],
    ["aes256-x25519", "ike", "needs an integrity algorithm"],
    ["aes256gcm16-sha256-prfsha256-x25519", "ike", "adds an integrity algorithm to an AEAD"],
    ["aes256-aes256gcm16-sha256-x25519", "ike", "mixes AEAD and non-AEAD"],
    ["aes256-sha256", "ike", "needs a key exchange group"],
    ["aes256-sha256-modp1024", "ike", 'unknown or unsupported algorithm "modp1024"'],
    ["3des-sha1-modp2048", "ike", '"3des"'],
    ["aes256--sha256", "esp", "empty algorithm"],
    ["prfsha256", "esp", '"prfsha256"'],
  ];
  for (const [text, kind, msg] of bad) {
    test(`refuses ${text} (${kind})`, () => {
      const r = parseProposal(text, kind);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain(msg);
    });
  }
  test("a list stops at the first bad proposal", () => {
    const r = parseProposals("aes256gcm16-prfsha256-x25519,aes256-nope", "ike");
    expect(r.ok).toBe(false);
  });
});

describe("defaults and the gateway's choice", () => {
  const ike = defaultProposals("ike");
  const esp = defaultProposals("esp");
  test("defaults parse", () => {
    expect(ike.length).toBe(2);
    expect(esp.length).toBe(2);
  });
  test("a choice inside our proposals is accepted", () => {
    const chosen = { encr: { id: EncrId.AES_GCM_16, keyBits: 256 }, prf: PrfId.HMAC_SHA2_256, integ: IntegId.NONE, ke: KeId.CURVE25519, esn: EsnId.NO_ESN };
    expect(acceptsChoice(ike, chosen, "ike")).toBe(true);
    expect(formatSuite(chosen, "ike")).toBe("aes256gcm16-prfsha256-x25519");
  });
  test("a choice mixing two proposals, or outside them, is refused", () => {
    // AES-GCM with an integrity algorithm exists in no single proposal of ours.
    expect(acceptsChoice(ike, { encr: { id: EncrId.AES_GCM_16, keyBits: 256 }, prf: PrfId.HMAC_SHA2_256, integ: IntegId.HMAC_SHA2_256_128, ke: KeId.CURVE25519, esn: 0 }, "ike")).toBe(false);
    expect(acceptsChoice(ike, { encr: { id: EncrId.AES_CBC, keyBits: 192 }, prf: PrfId.HMAC_SHA2_256, integ: IntegId.HMAC_SHA2_256_128, ke: KeId.CURVE25519, esn: 0 }, "ike")).toBe(false);
    expect(acceptsChoice(esp, { encr: { id: EncrId.AES_GCM_16, keyBits: 256 }, prf: 0, integ: IntegId.NONE, ke: KeId.ECP_256, esn: EsnId.NO_ESN }, "esp")).toBe(false);
  });
  test("ESP suite names", () => {
    expect(formatSuite({ encr: { id: EncrId.AES_CBC, keyBits: 128 }, prf: 0, integ: IntegId.HMAC_SHA2_256_128, ke: KeId.NONE, esn: EsnId.NO_ESN }, "esp")).toBe("aes128-sha256");
  });
});
