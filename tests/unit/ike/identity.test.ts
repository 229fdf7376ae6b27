// IKE identities from text, with strongSwan's rules.
import { expect, test } from "bun:test";
import { parseIdentity } from "../../../core/ike/identity.ts";
import { fromUtf8, toHex } from "../../../core/util/bytes.ts";
import { IdType } from "../../../core/wire/constants.ts";

const rows: [string, number, string][] = [
  ["192.0.2.1", IdType.IPV4_ADDR, "c0000201"],
  ["2001:db8::1", IdType.IPV6_ADDR, "20010db8000000000000000000000001"],
  ["alice@example.com", IdType.RFC822_ADDR, "alice@example.com"],
  ["@gw.example.com", IdType.FQDN, "gw.example.com"],
  ["gw.example.com", IdType.FQDN, "gw.example.com"],
  ["alice", IdType.FQDN, "alice"],
  ["@#0a1B2c", IdType.KEY_ID, "0a1b2c"],
];
for (const [text, type, data] of rows) {
  test(`${text} → ID type ${type}`, () => {
    const r = parseIdentity(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.type).toBe(type);
    const shown = type === IdType.IPV4_ADDR || type === IdType.IPV6_ADDR || type === IdType.KEY_ID ? toHex(r.value.data) : fromUtf8(r.value.data);
    expect(shown).toBe(data);
  });
}

test("a DN is DER-encoded", () => {
  const r = parseIdentity("CN=gw.roam.test, O=roam");
  expect(r.ok && r.value.type).toBe(IdType.DER_ASN1_DN);
  expect(r.ok && r.value.data[0]).toBe(0x30); // SEQUENCE
});

test("bad identities are refused with a reason", () => {
  for (const [text, why] of [
    ["", "cannot be empty"],
    ["@", "names no host"],
    ["@#", "not a key ID"],
    ["@#abc", "even number of hex digits"],
  ] as const) {
    const r = parseIdentity(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(why);
  }
});
