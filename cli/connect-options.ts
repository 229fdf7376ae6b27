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
  gateway?: string;
  port?: string;
  remoteId?: string;
  id?: string;
  pskFile?: string;
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
  background?: boolean;
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
  background: boolean;
}

/** Reads the password from the first line of standard input; injected for tests. */
export type PasswordSource = () => Promise<string>;

export async function parseConnectFlags(f: ConnectFlags, readPassword: PasswordSource): Promise<ConnectRequest> {
  if (!f.gateway) throw new UserError("connect: --gateway HOST is required");
  const port = f.port === undefined ? 500 : Number(f.port);
  if (!/^\d+$/.test(f.port ?? "500") || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(`connect: --port "${f.port}" is not a port number (expected 1-65535)`);
  }
  if (!f.remoteId) throw new UserError("connect: --remote-id ID is required (the identity the gateway must prove, e.g. gw.example.com)");
  const remoteId = identity("--remote-id", f.remoteId);
  const localId = f.id === undefined ? undefined : identity("--id", f.id);

  let credentials: Credentials;
  if (f.pskFile && (f.eapIdentity || f.passwordStdin)) {
    throw new UserError("connect: give either --psk-file or --eap-identity with --password-stdin, not both");
  }
  if (f.pskFile) {
    credentials = { kind: "psk", secret: readPsk(f.pskFile) };
  } else if (f.eapIdentity !== undefined) {
    if (f.eapIdentity.trim() === "") throw new UserError("connect: --eap-identity cannot be empty");
    if (!f.passwordStdin) throw new UserError("connect: --eap-identity needs --password-stdin (the password is never taken from the command line)");
    if (!f.ca) throw new UserError("connect: EAP needs --ca FILE: the gateway must prove itself with a certificate before any password is sent");
    const password = await readPassword();
    if (password === "") throw new UserError("connect: --password-stdin read an empty password");
    credentials = { kind: "eap-mschapv2", identity: f.eapIdentity, password };
  } else {
    throw new UserError("connect: choose an authentication: --psk-file FILE, or --eap-identity USER --password-stdin");
  }

  const trustAnchors = f.ca ? readCa(f.ca) : [];
  const remoteSelectors = (f.subnet ?? []).map((s) => {
    const sel = selectorFromCidr(s, parseAddress);
    if (!sel) throw new UserError(`connect: --subnet "${s}" is not a subnet (expected CIDR like 203.0.113.0/24 or 2001:db8::/32)`);
    return sel;
  });
  const ikeMtu = f.ikeMtu === undefined ? 1280 : Number(f.ikeMtu);
  if (!/^\d+$/.test(f.ikeMtu ?? "1280") || ikeMtu < 576 || ikeMtu > 65535) {
    throw new UserError(`connect: --ike-mtu "${f.ikeMtu}" is not an MTU (expected 576-65535 bytes)`);
  }
  const dpdSeconds = f.dpd === undefined ? 30 : Number(f.dpd);
  if (!/^\d+$/.test(f.dpd ?? "30") || dpdSeconds > 86400) {
    throw new UserError(`connect: --dpd "${f.dpd}" is not a number of seconds (expected 0 to turn it off, or 1-86400)`);
  }
  const ike = f.ike ? parseProposals(f.ike, "ike") : { ok: true as const, value: defaultProposals("ike") };
  if (!ike.ok) throw new UserError(`connect: --ike: ${ike.error}`);
  const esp = f.esp ? parseProposals(f.esp, "esp") : { ok: true as const, value: defaultProposals("esp") };
  if (!esp.ok) throw new UserError(`connect: --esp: ${esp.error}`);
  return {
    gatewayHost: f.gateway,
    gatewayPort: port,
    remoteId,
    localId,
    credentials,
    trustAnchors,
    remoteSelectors,
    ikeProposals: ike.value,
    espProposals: esp.value,
    // Like strongSwan's `vips = 0.0.0.0, ::`: ask for both; the gateway assigns what it has.
    requestIp6: f.ipv6 ?? true,
    fragmentation: f.fragmentation ?? true,
    ikeMtu,
    dpdSeconds,
    reconnect: f.reconnect ?? true,
    background: f.background ?? false,
  };
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
