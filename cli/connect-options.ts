// `roam connect` flags → a checked connection request. Every mistake is one line naming the flag,
// the value and what was expected (exit 2), found before anything touches the host or the network.

import { readFileSync, statSync } from "node:fs";
import { parseIdentity } from "../core/ike/identity.ts";
import { defaultProposals, parseProposals, type ProposalSpec } from "../core/ike/proposal.ts";
import { selectorFromCidr, type Selector } from "../core/ike/selectors.ts";
import type { Credentials, Identity } from "../core/ike/config.ts";
import { parseAddress } from "../core/wire/addr.ts";
import { decodePemCertificates } from "../core/x509/pem.ts";
import { UserError } from "./exit.ts";

export interface ConnectFlags {
  /** One --gateway, or several (repeated): tried in this order. */
  gateway?: string | string[];
  mobike?: boolean;
  port?: string;
  remoteId?: string;
  id?: string;
  pskFile?: string;
  cert?: string;
  key?: string;
  p12?: string;
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
  ikeRekey?: string;
  rekeyBytes?: string;
  rekeyPackets?: string;
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
  /** strongSwan's default IKE SA rekey_time, 4 h (less up to 10% jitter). */
  ikeRekeySeconds: 14400,
  /** 1500 less IPv4 (20), UDP (8), ESP header (8), IV (8), ICV (16), trailer and padding (up to 17), with margin. */
  mtu: 1400,
} as const;

/** A whole number of `unit` from `text` within [min, max], or a one-line usage error naming `flag`. */
/** The numeric tuning flags, checked (shared by the flag form and by overrides of a profile). */
export interface Tuning {
  ikeMtu: number;
  dpdSeconds: number;
  natKeepaliveSeconds: number;
  mtu: number;
  childRekeySeconds: number;
  ikeRekeySeconds: number;
  childRekeyBytes: number;
  childRekeyPackets: number;
}

export function parseTuning(f: ConnectFlags): Tuning {
  return {
    ikeRekeySeconds: numberFlag("--ike-rekey", f.ikeRekey, CONNECT_DEFAULTS.ikeRekeySeconds, 0, 86400 * 7, "a number of seconds (expected 0 to leave rekeying the IKE SA to the gateway, or up to a week)"),
    childRekeyBytes: numberFlag("--rekey-bytes", f.rekeyBytes, 0, 0, Number.MAX_SAFE_INTEGER, "a number of bytes (expected 0 for no limit, or a whole number)"),
    childRekeyPackets: numberFlag("--rekey-packets", f.rekeyPackets, 0, 0, Number.MAX_SAFE_INTEGER, "a number of packets (expected 0 for no limit, or a whole number)"),
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
  /** Further gateways, tried in order after gatewayHost when one does not answer (connect and reconnect). */
  moreGateways?: string[];
  /** Announce MOBIKE (RFC 4555) and move the SAs when our address changes; default on. */
  mobike?: boolean;
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
  /** Rekey the IKE SA ourselves after this many seconds unless the gateway did; 0 = leave it to the gateway. */
  ikeRekeySeconds: number;
  /**
   * Rekey the CHILD_SA once either ESP direction carried this many bytes / packets (0 = no limit); like
   * strongSwan's rekey_bytes/rekey_packets, the SA ends (and the tunnel reconnects) at 110% of it.
   */
  childRekeyBytes: number;
  childRekeyPackets: number;
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

/** Reads the next line of standard input (each call one more line, for --password-stdin); injected for tests. */
export type PasswordSource = () => Promise<string>;

/**
 * What a connect reads besides its flags: the environment (a key passphrase without --password-stdin comes
 * from ROAM_KEY_PASSPHRASE, then a no-echo prompt on a terminal), and files. `hostPath` maps a path as the
 * user gave it to the path to open: the roam service opens a client's files through /proc/PID/root and the
 * client's working directory (cli/service-parse.ts). Messages always name the path as given.
 */
export interface ConnectSources {
  env: Record<string, string | undefined>;
  prompt?: (question: string) => Promise<string>;
  hostPath?: (path: string) => string;
}

export async function parseConnectFlags(f: ConnectFlags, readPassword: PasswordSource, sources: ConnectSources = { env: {} }): Promise<ConnectRequest> {
  const open = sources.hostPath ?? ((p: string) => p);
  const gateways = typeof f.gateway === "string" ? [f.gateway] : (f.gateway ?? []);
  if (gateways.length === 0) throw new UserError("connect: --gateway HOST is required");
  for (const g of gateways) if (g.trim() === "" || /[\s,]/.test(g)) throw new UserError(`connect: --gateway "${g}" is not a host name or address (give --gateway once per gateway)`);
  const port = numberFlag("--port", f.port, CONNECT_DEFAULTS.gatewayPort, 1, 65535, "a port number (expected 1-65535)");
  if (!f.remoteId) throw new UserError("connect: --remote-id ID is required (the identity the gateway must prove, e.g. gw.example.com)");
  const remoteId = identity("--remote-id", f.remoteId);
  const localId = f.id === undefined ? undefined : identity("--id", f.id);

  let credentials: Credentials;
  if (f.pskFile && (f.eapIdentity || f.passwordStdin) && !f.p12 && !f.key) {
    throw new UserError("connect: give either --psk-file or --eap-identity with --password-stdin, not both");
  }
  if (f.p12 !== undefined && (f.cert !== undefined || f.key !== undefined)) throw new UserError("connect: give either --p12 FILE or --cert FILE --key FILE, not both");
  // One authentication, except that a certificate (--cert/--key or --p12) with --eap-identity is cert+eap:
  // RFC 4739, the certificate first, then EAP.
  const withCert = f.cert !== undefined || f.p12 !== undefined;
  const given = [f.pskFile && "--psk-file", f.eapIdentity !== undefined && !withCert && "--eap-identity", f.cert && "--cert", f.p12 !== undefined && "--p12"].filter(Boolean);
  if (given.length > 1) throw new UserError(`connect: choose one authentication, not ${given.join(" and ")}`);
  if (f.eapIdentity !== undefined) {
    // Checked before any key passphrase is asked for.
    if (f.eapIdentity.trim() === "") throw new UserError("connect: --eap-identity cannot be empty");
    if (!f.passwordStdin) throw new UserError("connect: --eap-identity needs --password-stdin (the password is never taken from the command line)");
    if (!f.ca) throw new UserError("connect: EAP needs --ca FILE: the gateway must prove itself with a certificate before any password is sent");
  }
  const eapPassword = async (): Promise<string> => {
    const password = await readPassword();
    if (password === "") throw new UserError("connect: --password-stdin read an empty password");
    return password;
  };
  // --password-stdin: one line per secret, in this order: the key passphrase (a --p12 file or an
  // encrypted --key), then the EAP password. Without it, the passphrase comes from ROAM_KEY_PASSPHRASE or
  // a prompt on a terminal.
  const passphrase = async (what: string): Promise<string | undefined> => {
    if (f.passwordStdin) return await readPassword();
    const env = sources.env.ROAM_KEY_PASSPHRASE;
    if (env !== undefined) return env;
    return sources.prompt ? await sources.prompt(`Passphrase for ${what}: `) : undefined;
  };
  let certId: Identity | undefined;
  if (f.key !== undefined && !f.cert) throw new UserError("connect: --key needs --cert FILE (the certificate the key belongs to)");
  if (f.cert || f.p12 !== undefined) {
    if (f.cert && !f.key) throw new UserError("connect: --cert needs --key FILE (its private key, PEM, mode 0600)");
    if (!f.ca) throw new UserError(`connect: ${f.p12 !== undefined ? "--p12" : "--cert"} needs --ca FILE: the gateway must prove itself with a certificate`);
    let c: { credentials: Credentials; identity: Identity };
    if (f.p12 !== undefined) {
      const what = `--p12 "${f.p12}"`;
      const bytes = readSecretFile("--p12", f.p12, open);
      c = pkcs12Certificate(bytes, await passphrase(what), what, f.rsaPss ?? false);
    } else {
      const keyText = new TextDecoder().decode(readSecretFile("--key", f.key!, open));
      const what = `--key "${f.key}"`;
      const pw = keyFileIsEncrypted(keyText) ? await passphrase(what) : undefined;
      c = clientCertificate(readFileFor("--cert", f.cert!, open), keyText, `--cert "${f.cert}"`, what, f.rsaPss ?? false, pw);
    }
    // With --eap-identity: cert+eap (RFC 4739); its password is the next line after any key passphrase.
    credentials = f.eapIdentity !== undefined ? certPlusEap(c.credentials, f.eapIdentity, await eapPassword()) : c.credentials;
    certId = c.identity;
  } else if (f.pskFile) {
    credentials = { kind: "psk", secret: readPsk(f.pskFile, open) };
  } else if (f.eapIdentity !== undefined) {
    credentials = { kind: "eap-mschapv2", identity: f.eapIdentity, password: await eapPassword() };
  } else {
    throw new UserError("connect: choose an authentication: --psk-file FILE, --eap-identity USER --password-stdin, --cert FILE --key FILE or --p12 FILE, or a certificate with --eap-identity (cert+eap)");
  }

  const trustAnchors = f.ca ? readCa(f.ca, open) : [];
  const remoteSelectors = subnets("--subnet", f.subnet ?? []);
  const excludedSubnets = subnets("--exclude", f.exclude ?? []);
  const dnsServers = Array.isArray(f.dns) ? f.dns : [];
  for (const d of dnsServers) if (!parseAddress(d)) throw new UserError(`connect: --dns "${d}" is not an IP address`);
  const { ikeMtu, dpdSeconds, natKeepaliveSeconds, mtu, childRekeySeconds, ikeRekeySeconds, childRekeyBytes, childRekeyPackets } = parseTuning(f);
  const ike = f.ike ? parseProposals(f.ike, "ike") : { ok: true as const, value: defaultProposals("ike") };
  if (!ike.ok) throw new UserError(`connect: --ike: ${ike.error}`);
  const esp = f.esp ? parseProposals(f.esp, "esp") : { ok: true as const, value: defaultProposals("esp") };
  if (!esp.ok) throw new UserError(`connect: --esp: ${esp.error}`);
  return {
    gatewayHost: gateways[0]!,
    ...(gateways.length > 1 ? { moreGateways: gateways.slice(1) } : {}),
    mobike: f.mobike ?? true,
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
    ikeRekeySeconds,
    childRekeyBytes,
    childRekeyPackets,
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

function readPsk(path: string, open: (p: string) => string): Uint8Array {
  let st;
  try {
    st = statSync(open(path));
  } catch {
    throw new UserError(`connect: --psk-file "${path}" cannot be read (no such file or no permission)`);
  }
  if (!st.isFile()) throw new UserError(`connect: --psk-file "${path}" is not a file`);
  if ((st.mode & 0o077) !== 0) {
    throw new UserError(`connect: --psk-file "${path}" is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 "${path}"`);
  }
  const raw = readFileSync(open(path));
  // One trailing newline is an editor's, not the key's.
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 0x0a) end--;
  if (end > 0 && raw[end - 1] === 0x0d) end--;
  if (end === 0) throw new UserError(`connect: --psk-file "${path}" is empty`);
  return new Uint8Array(raw.subarray(0, end));
}

function readCa(path: string, open: (p: string) => string): Uint8Array[] {
  let text: Buffer;
  try {
    text = readFileSync(open(path));
  } catch {
    throw new UserError(`connect: --ca "${path}" cannot be read (no such file or no permission)`);
  }
  const certs = decodePemCertificates(new Uint8Array(text));
  if (!certs.ok) throw new UserError(`connect: --ca "${path}": ${certs.error}`);
  if (certs.value.length === 0) throw new UserError(`connect: --ca "${path}" holds no certificate (expected PEM "BEGIN CERTIFICATE" or DER)`);
  return certs.value;
}

function readFileFor(flag: string, path: string, open: (p: string) => string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(open(path)));
  } catch {
    throw new UserError(`connect: ${flag} "${path}" cannot be read (no such file or no permission)`);
  }
}

/** A file holding a private key (--key, --p12): refused if other users can read it. */
function readSecretFile(flag: string, path: string, open: (p: string) => string): Uint8Array {
  let st;
  try {
    st = statSync(open(path));
  } catch {
    throw new UserError(`connect: ${flag} "${path}" cannot be read (no such file or no permission)`);
  }
  if (!st.isFile()) throw new UserError(`connect: ${flag} "${path}" is not a file`);
  if ((st.mode & 0o077) !== 0) {
    throw new UserError(`connect: ${flag} "${path}" is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 "${path}"`);
  }
  return new Uint8Array(readFileSync(open(path)));
}

/** How a key passphrase can be given (flag form and profiles). */
export const PASSPHRASE_SOURCES = "give it with --password-stdin, the ROAM_KEY_PASSPHRASE environment variable, key_passphrase in a profile's secrets file, or at the prompt on a terminal";

/**
 * cli/certificates.ts — X.509, private keys, PKCS#12, and noble's curves, hashes and ciphers behind them —
 * is loaded only when a certificate is given: a PSK or EAP `connect --background` parent starts ~10 ms
 * sooner without it (measured 2026-11-23, compiled binary). `require` keeps these functions synchronous;
 * in the bundle it evaluates the module on first use.
 */
export function certificates(): typeof import("./certificates.ts") {
  return require("./certificates.ts");
}

/** See cli/certificates.ts. */
export function clientCertificate(...a: Parameters<typeof import("./certificates.ts").clientCertificate>): { credentials: Credentials; identity: Identity } {
  return certificates().clientCertificate(...a);
}

/** See cli/certificates.ts. */
export function pkcs12Certificate(...a: Parameters<typeof import("./certificates.ts").pkcs12Certificate>): { credentials: Credentials; identity: Identity } {
  return certificates().pkcs12Certificate(...a);
}

/** Whether a PEM private key is encrypted (needs a passphrase). */
export function keyFileIsEncrypted(text: string): boolean {
  return certificates().keyFileIsEncrypted(text);
}

/** Certificate credentials plus a second round of EAP-MSCHAPv2 (RFC 4739): cert+eap. */
export function certPlusEap(cert: Credentials, identity: string, password: string): Credentials {
  if (cert.kind !== "cert") throw new Error(`cert+eap is built from certificate credentials, not ${cert.kind}`);
  return { kind: "cert+eap", certChain: cert.certChain, privateKey: cert.privateKey, rsaPss: cert.rsaPss, identity, password };
}
