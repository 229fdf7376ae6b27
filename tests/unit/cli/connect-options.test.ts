// `roam connect` flag checking: each mistake is one line naming the flag, the value and what was expected.
import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConnectFlags, type ConnectFlags } from "../../../cli/connect-options.ts";
import { ExitCode, UserError } from "../../../cli/exit.ts";
import { IdType, KeId } from "../../../core/wire/constants.ts";

const dir = mkdtempSync(join(tmpdir(), "roam-flags-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string, mode = 0o600) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  chmodSync(p, mode);
  return p;
};
const psk = file("good.psk", "s3cret\n");
const ca = join(import.meta.dir, "../x509/fixtures/root-rsa.crt");

const base: ConnectFlags = { gateway: "192.0.2.1", remoteId: "gw.roam.test", pskFile: psk };
const noPassword = async () => "pw";

async function error(f: ConnectFlags): Promise<UserError> {
  try {
    await parseConnectFlags(f, noPassword);
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("expected a UserError");
}

describe("connect flags", () => {
  test("a PSK connection with defaults", async () => {
    const r = await parseConnectFlags(base, noPassword);
    expect(r.gatewayPort).toBe(500);
    expect(r.remoteId.type).toBe(IdType.FQDN);
    expect(r.credentials).toEqual({ kind: "psk", secret: new TextEncoder().encode("s3cret") });
    expect(r.requestIp6).toBe(true);
    expect(r.ikeProposals[0]!.ke[0]).toBe(KeId.CURVE25519);
    expect([r.mtu, r.natKeepaliveSeconds, r.dpdSeconds, r.ikeMtu, r.reconnect, r.fragmentation]).toEqual([1400, 20, 30, 1280, true, true]);
    // strongSwan's IKE SA rekey_time (4 h); no CHILD_SA volume limits unless asked for.
    expect([r.childRekeySeconds, r.ikeRekeySeconds, r.childRekeyBytes, r.childRekeyPackets]).toEqual([3900, 14400, 0, 0]);
  });

  test("rekey tuning: --ike-rekey, --rekey-bytes, --rekey-packets", async () => {
    const r = await parseConnectFlags({ ...base, ikeRekey: "60", rekeyBytes: "500000", rekeyPackets: "1000" }, noPassword);
    expect([r.ikeRekeySeconds, r.childRekeyBytes, r.childRekeyPackets]).toEqual([60, 500000, 1000]);
  });

  test("EAP reads the password through the given source and needs a CA", async () => {
    const r = await parseConnectFlags({ gateway: "gw", remoteId: "gw", eapIdentity: "alice", passwordStdin: true, ca }, async () => "pw1");
    expect(r.credentials).toEqual({ kind: "eap-mschapv2", identity: "alice", password: "pw1" });
    expect(r.trustAnchors.length).toBe(1);
  });

  test("--cert and --key with --eap-identity: cert+eap (RFC 4739), IDi the certificate's subject", async () => {
    const fix = join(import.meta.dir, "../x509/fixtures");
    const key = file("client.key", readFileSync(join(fix, "gw-p256.key"), "utf8"));
    let asked = 0;
    const r = await parseConnectFlags({ gateway: "gw", remoteId: "gw", cert: join(fix, "gw-p256.crt"), key, eapIdentity: "alice", passwordStdin: true, ca }, async () => {
      asked++;
      return "pw2";
    });
    expect(asked).toBe(1);
    expect(r.credentials.kind).toBe("cert+eap");
    if (r.credentials.kind !== "cert+eap") return;
    expect([r.credentials.identity, r.credentials.password, r.credentials.certChain.length]).toEqual(["alice", "pw2", 1]);
    expect(r.localId?.text).toBe("C=DE, O=Roam Test, CN=ecgw.roam.test");
    const noStdin = await error({ gateway: "gw", remoteId: "gw", cert: join(fix, "gw-p256.crt"), key, eapIdentity: "alice", ca });
    expect(noStdin.message).toMatch(/--eap-identity needs --password-stdin/);
    const withPsk = await error({ gateway: "gw", remoteId: "gw", cert: join(fix, "gw-p256.crt"), key, pskFile: psk, ca });
    expect(withPsk.message).toMatch(/not --psk-file and --cert/);
  });

  test("--p12 with --eap-identity: cert+eap; --password-stdin gives the PKCS#12 passphrase first, then the EAP password", async () => {
    const fix = join(import.meta.dir, "../x509/fixtures");
    const p12 = join(dir, "client.p12");
    execFileSync("openssl", ["pkcs12", "-export", "-inkey", join(fix, "gw-p256.key"), "-in", join(fix, "gw-p256.crt"), "-passout", "pass:p12-pass", "-out", p12]);
    chmodSync(p12, 0o600);
    const lines = ["p12-pass", "eap-pass"];
    const r = await parseConnectFlags({ gateway: "gw", remoteId: "gw", p12, eapIdentity: "alice", passwordStdin: true, ca }, async () => lines.shift()!);
    expect(lines).toEqual([]);
    expect(r.credentials.kind).toBe("cert+eap");
    if (r.credentials.kind !== "cert+eap") return;
    expect([r.credentials.identity, r.credentials.password, r.credentials.certChain.length]).toEqual(["alice", "eap-pass", 1]);
  });

  test("--gateway given several times: tried in that order; MOBIKE on unless --no-mobike", async () => {
    const one = await parseConnectFlags(base, noPassword);
    expect([one.gatewayHost, one.moreGateways, one.mobike]).toEqual(["192.0.2.1", undefined, true]);
    const many = await parseConnectFlags({ ...base, gateway: ["192.0.2.99", "192.0.2.1", "vpn2.example.com"], mobike: false }, noPassword);
    expect([many.gatewayHost, many.moreGateways, many.mobike]).toEqual(["192.0.2.99", ["192.0.2.1", "vpn2.example.com"], false]);
  });

  const cases: [string, ConnectFlags, RegExp][] = [
    ["no gateway", { ...base, gateway: undefined }, /--gateway HOST is required/],
    ["an empty gateway list", { ...base, gateway: [] }, /--gateway HOST is required/],
    ["two gateways in one flag", { ...base, gateway: ["192.0.2.1,192.0.2.2"] }, /--gateway "192.0.2.1,192.0.2.2" is not a host name or address \(give --gateway once per gateway\)/],
    ["a bad port", { ...base, port: "70000" }, /--port "70000" is not a port number \(expected 1-65535\)/],
    ["a port with junk", { ...base, port: "50x" }, /--port "50x"/],
    ["no remote id", { ...base, remoteId: undefined }, /--remote-id ID is required/],
    ["an empty identity", { ...base, id: " " }, /--id: an identity cannot be empty/],
    ["a bad key id", { ...base, id: "@#xyz" }, /--id: "@#xyz" is not a key ID/],
    ["both PSK and EAP", { ...base, eapIdentity: "alice", passwordStdin: true }, /either --psk-file or --eap-identity/],
    ["no authentication", { gateway: "gw", remoteId: "gw" }, /choose an authentication/],
    ["EAP without --password-stdin", { gateway: "gw", remoteId: "gw", eapIdentity: "alice", ca }, /needs --password-stdin/],
    ["EAP without a CA", { gateway: "gw", remoteId: "gw", eapIdentity: "alice", passwordStdin: true }, /EAP needs --ca FILE/],
    ["a missing PSK file", { ...base, pskFile: join(dir, "nope") }, /--psk-file ".*nope" cannot be read/],
    ["a PSK file others can read", { ...base, pskFile: file("open.psk", "x\n", 0o644) }, /readable by other users \(mode 644\); run chmod 600/],
    ["an empty PSK file", { ...base, pskFile: file("empty.psk", "\n") }, /--psk-file ".*empty.psk" is empty/],
    ["a CA file with no certificate", { gateway: "gw", remoteId: "gw", eapIdentity: "a", passwordStdin: true, ca: file("ca.txt", "hello\n") }, /--ca ".*ca.txt"/],
    ["a bad subnet", { ...base, subnet: ["203.0.113.0/33"] }, /--subnet "203.0.113.0\/33" is not a subnet/],
    ["a bad IKE proposal", { ...base, ike: "aes256-sha256-modp1024" }, /--ike: unknown or unsupported algorithm "modp1024"/],
    ["a bad ESP proposal", { ...base, esp: "aes256gcm16-sha256" }, /--esp: .*adds an integrity algorithm to an AEAD/],
    ["a tiny MTU", { ...base, mtu: "500" }, /--mtu "500" is not an MTU \(expected 576-9000 bytes\)/],
    ["a negative keepalive", { ...base, natKeepalive: "-5" }, /--nat-keepalive "-5" is not a number of seconds/],
    ["a DPD of a week", { ...base, dpd: "604800" }, /--dpd "604800" is not a number of seconds/],
    ["an IKE MTU with a unit", { ...base, ikeMtu: "1280b" }, /--ike-mtu "1280b" is not an MTU/],
    ["an IKE rekey of two weeks", { ...base, ikeRekey: "1209600" }, /--ike-rekey "1209600" is not a number of seconds/],
    ["a byte limit with a unit", { ...base, rekeyBytes: "10M" }, /--rekey-bytes "10M" is not a number of bytes/],
    ["a negative packet limit", { ...base, rekeyPackets: "-1" }, /--rekey-packets "-1" is not a number of packets/],
  ];
  for (const [name, flags, message] of cases) {
    test(`refuses ${name} with exit 2 and one line`, async () => {
      const e = await error(flags);
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain("\n");
      expect(e.exitCode).toBe(ExitCode.USAGE);
    });
  }

  test("an empty password from stdin is refused", async () => {
    await expect(parseConnectFlags({ gateway: "gw", remoteId: "gw", eapIdentity: "alice", passwordStdin: true, ca }, async () => "")).rejects.toThrow(
      "--password-stdin read an empty password",
    );
  });
});
