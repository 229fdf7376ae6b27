// `roam connect` flags → a checked connection request. Every mistake is one line naming the flag,
// the value and what was expected (exit 2), found before anything touches the host or the network.

import { readFileSync, statSync } from "node:fs";
import { parseIdentity } from "../core/ike/identity.ts";
import { defaultProposals, parseProposals, type ProposalSpec } from "../core/ike/proposal.ts";
import { selectorFromCidr, type Selector } from "../core/ike/selectors.ts";
import type { Credentials, Identity } from "../core/ike/config.ts";
import { parseAddress } from "../core/wire/addr.ts";
import { decodePem, decodePemCertificates } from "../core/x509/pem.ts";
import { parseCertificate } from "../core/x509/cert.ts";
import { encNull, encOctets, encOid, encSeq, encUint } from "../core/x509/der.ts";
import { CURVES, parsePrivateKeyPem, publicKeyOf, wipePrivateKey, type PublicKey } from "../core/x509/keys.ts";
import { OID } from "../core/x509/oids.ts";
import { IdType } from "../core/wire/constants.ts";
import { equalBytes, wipe } from "../core/util/bytes.ts";
import { UserError } from "./exit.ts";

export interface ConnectFlags {
  gateway?: string;
  port?: string;
  remoteId?: string;
  id?: string;
  pskFile?: string;
  cert?: string;
  key?: string;
  rsaPss?: boolean;
  eapIdentity?: string;
  passwordStdin?: boolean;
  ca?: string;
  subnet?: string[];
  ike?: string;
  esp?: string;
  ipv6?: boolean;
  fragmentation?: boolean;
  ikeMtu?: string;
  dpd?: string;
  reconnect?: boolean;
  natKeepalive?: string;
  mtu?: string;
  rekey?: string;
  up?: string;
  down?: string;
  exclude?: string[];
  dns?: string[] | boolean;
  background?: boolean;
}

/** What a connection does when neither flags nor a profile say otherwise (one place for both). */
export const CONNECT_DEFAULTS = {
  gatewayPort: 500,
  /** RFC 7383 fragments fit any IPv6 path at 1280. */
  ikeMtu: 1280,
  dpdSeconds: 30,
  fragmentation: true,
  reconnect: true,
  natKeepaliveSeconds: 20,
  /** A little after strongSwan's default one hour, so that a gateway that rekeys usually does it first. */
  childRekeySeconds: 3900,
  /** 1500 less IPv4 (20), UDP (8), ESP header (8), IV (8), ICV (16), trailer and padding (up to 17), with margin. */
  mtu: 1400,
} as const;

/** A whole number of `unit` from `text` within [min, max], or a one-line usage error naming `flag`. */
/** The numeric tuning flags, checked (shared by the flag form and by overrides of a profile). */
export function parseTuning(f: ConnectFlags): { ikeMtu: number; dpdSeconds: number; natKeepaliveSeconds: number; mtu: number; childRekeySeconds: number } {
  return {
    childRekeySeconds: numberFlag("--rekey", f.rekey, CONNECT_DEFAULTS.childRekeySeconds, 0, 86400 * 7, "a number of seconds (expected 0 to leave rekeying to the gateway, or up to a week)"),
    ikeMtu: numberFlag("--ike-mtu", f.ikeMtu, CONNECT_DEFAULTS.ikeMtu, 576, 65535, "an MTU (expected 576-65535 bytes)"),
    dpdSeconds: numberFlag("--dpd", f.dpd, CONNECT_DEFAULTS.dpdSeconds, 0, 86400, "a number of seconds (expected 0 to turn it off, or 1-86400)"),
    natKeepaliveSeconds: numberFlag("--nat-keepalive", f.natKeepalive, CONNECT_DEFAULTS.natKeepaliveSeconds, 0, 3600, "a number of seconds (expected 0 to turn it off, or 1-3600)"),
    mtu: numberFlag("--mtu", f.mtu, CONNECT_DEFAULTS.mtu, 576, 9000, "an MTU (expected 576-9000 bytes)"),
  };
}

export function numberFlag(flag: string, text: string | undefined, fallback: number, min: number, max: number, expected: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UserError(`connect: ${flag} "${text}" is not ${expected}`);
  return n;
}

export interface ConnectRequest {
  gatewayHost: string;
  gatewayPort: number;
  remoteId: Identity;
  /** Undefined: the local address is used (strongSwan's default), decided once the socket exists. */
  localId?: Identity;
  credentials: Credentials;
  trustAnchors: Uint8Array[];
  remoteSelectors: Selector[];
  ikeProposals: ProposalSpec[];
  espProposals: ProposalSpec[];
  requestIp6: boolean;
  /** Offer IKE fragmentation (RFC 7383), and the path MTU its fragments must fit. */
  fragmentation: boolean;
  ikeMtu: number;
  /** Dead peer detection interval in seconds; 0 = off. */
  dpdSeconds: number;
  /** After the tunnel was up: connect again when it is lost (gateway dead or gone), keeping the routes. */
  reconnect: boolean;
  /** Rekey the CHILD_SA ourselves after this many seconds unless the gateway did; 0 = leave it to the gateway. */
  childRekeySeconds: number;
  /** RFC 3948 §4 NAT keepalive interval in seconds; 0 = off. */
  natKeepaliveSeconds: number;
  /** MTU of the TUN device. */
  mtu: number;
  /** Commands run (by /bin/sh) when the tunnel is up and before it goes down, like strongSwan's updown. */
  upHook?: string;
  downHook?: string;
  /** Subnets never routed into the tunnel, even when the gateway's selectors include them. */
  excludedSubnets: Selector[];
  /** DNS from the gateway ("use"), none ("ignore"), or these fixed servers instead. */
  dnsMode: "use" | "ignore";
  dnsServers: string[];
  /** The stored profile this came from, for hooks and messages. */
  profileName?: string;
  background: boolean;
}

/** Reads the password from the first line of standard input; injected for tests. */
export type PasswordSource = () => Promise<string>;

export async function parseConnectFlags(f: ConnectFlags, readPassword: PasswordSource): Promise<ConnectRequest> {
  if (!f.gateway) throw new UserError("connect: --gateway HOST is required");
  const port = numberFlag("--port", f.port, CONNECT_DEFAULTS.gatewayPort, 1, 65535, "a port number (expected 1-65535)");
  if (!f.remoteId) throw new UserError("connect: --remote-id ID is required (the identity the gateway must prove, e.g. gw.example.com)");
  const remoteId = identity("--remote-id", f.remoteId);
  const localId = f.id === undefined ? undefined : identity("--id", f.id);

  let credentials: Credentials;
  if (f.pskFile && (f.eapIdentity || f.passwordStdin)) {
    throw new UserError("connect: give either --psk-file or --eap-identity with --password-stdin, not both");
  }
  if (f.pskFile && f.cert) throw new UserError("connect: choose one authentication, not --psk-file and --cert");
  const eapPassword = async (): Promise<{ identity: string; password: string }> => {
    const identity = f.eapIdentity!;
    if (identity.trim() === "") throw new UserError("connect: --eap-identity cannot be empty");
    if (!f.passwordStdin) throw new UserError("connect: --eap-identity needs --password-stdin (the password is never taken from the command line)");
    if (!f.ca) throw new UserError("connect: EAP needs --ca FILE: the gateway must prove itself with a certificate before any password is sent");
    const password = await readPassword();
    if (password === "") throw new UserError("connect: --password-stdin read an empty password");
    return { identity, password };
  };
  let certId: Identity | undefined;
  if (f.key !== undefined && !f.cert) throw new UserError("connect: --key needs --cert FILE (the certificate the key belongs to)");
  if (f.cert) {
    if (!f.key) throw new UserError("connect: --cert needs --key FILE (its private key, PEM, mode 0600)");
    if (!f.ca) throw new UserError("connect: --cert needs --ca FILE: the gateway must prove itself with a certificate");
    const c = clientCertificate(readFileFor("--cert", f.cert), readKeyFile(f.key), `--cert "${f.cert}"`, `--key "${f.key}"`, f.rsaPss ?? false);
    // --cert with --eap-identity: RFC 4739, the certificate first, then EAP (cert+eap).
    if (f.eapIdentity !== undefined) {
      const e = await eapPassword();
      credentials = certPlusEap(c.credentials, e.identity, e.password);
    } else credentials = c.credentials;
    certId = c.identity;
  } else if (f.pskFile) {
    credentials = { kind: "psk", secret: readPsk(f.pskFile) };
  } else if (f.eapIdentity !== undefined) {
    const e = await eapPassword();
    credentials = { kind: "eap-mschapv2", identity: e.identity, password: e.password };
  } else {
    throw new UserError("connect: choose an authentication: --psk-file FILE, --eap-identity USER --password-stdin, --cert FILE --key FILE, or --cert and --key with --eap-identity (cert+eap)");
  }

  const trustAnchors = f.ca ? readCa(f.ca) : [];
  const remoteSelectors = subnets("--subnet", f.subnet ?? []);
  const excludedSubnets = subnets("--exclude", f.exclude ?? []);
  const dnsServers = Array.isArray(f.dns) ? f.dns : [];
  for (const d of dnsServers) if (!parseAddress(d)) throw new UserError(`connect: --dns "${d}" is not an IP address`);
  const { ikeMtu, dpdSeconds, natKeepaliveSeconds, mtu, childRekeySeconds } = parseTuning(f);
  const ike = f.ike ? parseProposals(f.ike, "ike") : { ok: true as const, value: defaultProposals("ike") };
  if (!ike.ok) throw new UserError(`connect: --ike: ${ike.error}`);
  const esp = f.esp ? parseProposals(f.esp, "esp") : { ok: true as const, value: defaultProposals("esp") };
  if (!esp.ok) throw new UserError(`connect: --esp: ${esp.error}`);
  return {
    gatewayHost: f.gateway,
    gatewayPort: port,
    remoteId,
    // With a certificate, strongSwan matches IDi against it: its subject DN unless --id names a SAN.
    localId: localId ?? certId,
    credentials,
    trustAnchors,
    remoteSelectors,
    ikeProposals: ike.value,
    espProposals: esp.value,
    // Like strongSwan's `vips = 0.0.0.0, ::`: ask for both; the gateway assigns what it has.
    requestIp6: f.ipv6 ?? true,
    fragmentation: f.fragmentation ?? CONNECT_DEFAULTS.fragmentation,
    ikeMtu,
    dpdSeconds,
    reconnect: f.reconnect ?? CONNECT_DEFAULTS.reconnect,
    natKeepaliveSeconds,
    mtu,
    childRekeySeconds,
    excludedSubnets,
    dnsMode: f.dns === false ? "ignore" : "use",
    dnsServers,
    upHook: f.up,
    downHook: f.down,
    background: f.background ?? false,
  };
}

/** CIDR subnets from a flag, or a one-line usage error naming it. */
export function subnets(flag: string, list: string[]): Selector[] {
  return list.map((s) => {
    const sel = selectorFromCidr(s, parseAddress);
    if (!sel) throw new UserError(`connect: ${flag} "${s}" is not a subnet (expected CIDR like 203.0.113.0/24 or 2001:db8::/32)`);
    return sel;
  });
}

function identity(flag: string, text: string): Identity {
  const r = parseIdentity(text);
  if (!r.ok) throw new UserError(`connect: ${flag}: ${r.error}`);
  return r.value;
}

function readPsk(path: string): Uint8Array {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UserError(`connect: --psk-file "${path}" cannot be read (no such file or no permission)`);
  }
  if (!st.isFile()) throw new UserError(`connect: --psk-file "${path}" is not a file`);
  if ((st.mode & 0o077) !== 0) {
    throw new UserError(`connect: --psk-file "${path}" is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 "${path}"`);
  }
  const raw = readFileSync(path);
  // One trailing newline is an editor's, not the key's.
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 0x0a) end--;
  if (end > 0 && raw[end - 1] === 0x0d) end--;
  if (end === 0) throw new UserError(`connect: --psk-file "${path}" is empty`);
  return new Uint8Array(raw.subarray(0, end));
}

function readCa(path: string): Uint8Array[] {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch {
    throw new UserError(`connect: --ca "${path}" cannot be read (no such file or no permission)`);
  }
  const certs = decodePemCertificates(new Uint8Array(text));
  if (!certs.ok) throw new UserError(`connect: --ca "${path}": ${certs.error}`);
  if (certs.value.length === 0) throw new UserError(`connect: --ca "${path}" holds no certificate (expected PEM "BEGIN CERTIFICATE" or DER)`);
  return certs.value;
}

function readFileFor(flag: string, path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    throw new UserError(`connect: ${flag} "${path}" cannot be read (no such file or no permission)`);
  }
}

function readKeyFile(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UserError(`connect: --key "${path}" cannot be read (no such file or no permission)`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new UserError(`connect: --key "${path}" is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 "${path}"`);
  }
  return readFileSync(path, "utf8");
}

/**
 * A client certificate (PEM or DER; end entity first, then intermediates) and its PEM private key →
 * cert credentials (key as PKCS#8 DER, RFC 5958) and the default IDi: the certificate's subject DN.
 * Refuses (one line) a key that is encrypted, does not decode, or is not the certificate's.
 */
export function clientCertificate(certBytes: Uint8Array, keyPem: string, certWhat: string, keyWhat: string, rsaPss: boolean): { credentials: Credentials; identity: Identity } {
  const certs = decodePemCertificates(certBytes);
  if (!certs.ok) throw new UserError(`connect: ${certWhat}: ${certs.error}`);
  if (certs.value.length === 0) throw new UserError(`connect: ${certWhat} holds no certificate (expected PEM "BEGIN CERTIFICATE" or DER)`);
  const ee = parseCertificate(certs.value[0]!);
  if (!ee.ok) throw new UserError(`connect: ${certWhat}: the certificate does not decode (${ee.error.reason})`);
  const key = parsePrivateKeyPem(keyPem);
  if (!key.ok) throw new UserError(`connect: ${keyWhat}: ${key.error}`);
  try {
    if (!samePublicKey(publicKeyOf(key.value), ee.value.publicKey)) {
      throw new UserError(`connect: ${keyWhat} is not the private key of ${certWhat} (${ee.value.subjectText})`);
    }
    if (key.value.kind === "ed25519") throw new UserError(`connect: ${keyWhat}: Ed25519 client keys are not supported yet (use RSA or ECDSA)`);
    if (rsaPss && key.value.kind !== "rsa") throw new UserError(`connect: --rsa-pss needs an RSA key, ${keyWhat} is ${key.value.kind}`);
  } catch (e) {
    wipePrivateKey(key.value);
    throw e;
  }
  const privateKey = toPkcs8(keyPem, key.value.kind === "ec" ? CURVES[key.value.curve].oid : undefined);
  wipePrivateKey(key.value);
  return {
    credentials: { kind: "cert", certChain: certs.value, privateKey, rsaPss },
    identity: { type: IdType.DER_ASN1_DN, data: ee.value.subject, text: ee.value.subjectText },
  };
}

/** Certificate credentials plus a second round of EAP-MSCHAPv2 (RFC 4739): cert+eap. */
export function certPlusEap(cert: Credentials, identity: string, password: string): Credentials {
  if (cert.kind !== "cert") throw new Error(`cert+eap is built from certificate credentials, not ${cert.kind}`);
  return { kind: "cert+eap", certChain: cert.certChain, privateKey: cert.privateKey, rsaPss: cert.rsaPss, identity, password };
}

function samePublicKey(a: PublicKey, b: PublicKey): boolean {
  if (a.kind === "rsa" && b.kind === "rsa") return a.n === b.n && a.e === b.e;
  if (a.kind === "ec" && b.kind === "ec") return a.curve === b.curve && equalBytes(CURVES[a.curve].ecdsa.Point.fromBytes(a.point).toBytes(false), CURVES[b.curve].ecdsa.Point.fromBytes(b.point).toBytes(false));
  if (a.kind === "ed25519" && b.kind === "ed25519") return equalBytes(a.key, b.key);
  return false;
}

/** The first key block as a DER PKCS#8 PrivateKeyInfo (RFC 5958 §2): PKCS#1 and SEC1 keys are wrapped. */
function toPkcs8(pem: string, curveOid: string | undefined): Uint8Array {
  const blocks = decodePem(pem);
  if (!blocks.ok) throw new UserError(`connect: private key: ${blocks.error}`);
  for (const b of blocks.value) {
    if (b.label === "PRIVATE KEY") return b.der;
    // RFC 8017 App. A.1.1: rsaEncryption with NULL parameters; RFC 5915 §3 / RFC 5480 §2.1.1: id-ecPublicKey + namedCurve.
    const alg = b.label === "RSA PRIVATE KEY" ? encSeq(encOid(OID.rsaEncryption), encNull()) : b.label === "EC PRIVATE KEY" && curveOid ? encSeq(encOid(OID.ecPublicKey), encOid(curveOid)) : null;
    if (!alg) continue;
    const out = encSeq(encUint(0n), alg, encOctets(b.der));
    wipe(b.der);
    return out;
  }
  throw new UserError("connect: private key: no PEM key block found");
}
