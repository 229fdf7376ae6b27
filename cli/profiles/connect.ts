// A stored profile + its secrets → the checked ConnectRequest that `roam connect NAME` runs. Fields the
// tunnel does not apply yet come back in `unsupported`, one line each, for connect to print as warnings.

import { readFileSync, statSync } from "node:fs";
import type { Credentials } from "../../core/ike/config.ts";
import { parseIdentity } from "../../core/ike/identity.ts";
import { defaultProposals, parseProposals } from "../../core/ike/proposal.ts";
import { selectorFromCidr } from "../../core/ike/selectors.ts";
import { parseAddress } from "../../core/wire/addr.ts";
import { decodePemCertificates } from "../../core/x509/pem.ts";
import { certificates, certPlusEap, clientCertificate, CONNECT_DEFAULTS, keyFileIsEncrypted, pkcs12Certificate, subnets, type ConnectRequest } from "../connect-options.ts";
import type { Identity } from "../../core/ike/config.ts";
import { UserError } from "../exit.ts";
import type { Profile } from "./model.ts";
import { assetPath, type HostPath } from "./store.ts";

/** Secrets as resolved for this connection (see secrets.ts for where they come from). */
export interface ResolvedSecrets {
  psk?: Uint8Array;
  eapPassword?: string;
  /** Opens the PKCS#12 file or the encrypted PEM key. */
  keyPassphrase?: string;
}

/** Whether connecting needs a key passphrase: the client key is a PKCS#12 file, or a PEM key that is encrypted. */
export function profileNeedsKeyPassphrase(p: Profile, dir: string, read: (path: string) => Uint8Array = (f) => new Uint8Array(readFileSync(f))): boolean {
  if (p.auth !== "cert" && p.auth !== "cert+eap") return false;
  if (p.clientCert !== undefined && p.clientKey !== undefined) {
    try {
      return keyFileIsEncrypted(new TextDecoder().decode(read(assetPath(dir, p.name, p.clientKey))));
    } catch {
      return false; // an unreadable key file is reported when the credentials are read
    }
  }
  return p.pkcs12 !== undefined;
}

export interface ProfileConnectOptions {
  background: boolean;
  /** The store directory the profile came from (relative CA paths are under `<dir>/<name>.d/`). */
  dir: string;
  readFile?: (path: string) => Uint8Array;
  /** Maps a path to the path to open (store.ts HostPath); messages name the path itself. */
  hostPath?: HostPath;
}

export interface ProfileConnect {
  request: ConnectRequest;
  /** "pkcs12 is not read: ..." — one line per field roam does not apply. */
  unsupported: string[];
}

/** A file's mode, or null when it cannot be looked at (reading it then names the problem). */
function modeOf(path: string, open: HostPath): number | null {
  try {
    return statSync(open(path)).mode;
  } catch {
    return null;
  }
}

/**
 * rsa_pss applies to an RSA key (the certificate's, however the key was loaded); with another key it is
 * named and not used, like the Android client, which ignores it.
 */
function withRsaPss(p: Profile, c: Credentials, note: (field: string, what: string) => void): Credentials {
  if (p.rsaPss !== true || c.kind !== "cert") return c;
  const ee = certificates().parseCertificate(c.certChain[0]!);
  const kind = ee.ok ? ee.value.publicKey.kind : "unknown";
  if (kind === "rsa") return { ...c, rsaPss: true };
  note("rsa_pss", `is not used: the client key is ${kind}, RSA-PSS needs an RSA key`);
  return c;
}

export function profileToConnectRequest(profile: Profile, secrets: ResolvedSecrets, opts: ProfileConnectOptions): ProfileConnect {
  const p = profile;
  const who = `profile "${p.name}"`;
  const open = opts.hostPath ?? ((f: string) => f);
  const read = opts.readFile ?? ((f: string) => new Uint8Array(readFileSync(open(f))));
  const unsupported: string[] = [];
  const note = (field: string, what: string) => unsupported.push(`${field} ${what}`);

  let credentials: Credentials;
  let certId: Identity | undefined;
  if (p.auth === "psk") {
    if (!secrets.psk || secrets.psk.length === 0) throw new UserError(`${who}: no PSK (put psk in ${p.name}.secrets, or set ROAM_PSK)`);
    credentials = { kind: "psk", secret: secrets.psk };
  } else if (p.auth === "eap-mschapv2") {
    const identity = p.eapIdentity ?? p.localId!;
    if (!secrets.eapPassword) throw new UserError(`${who}: no EAP password (put eap_password in ${p.name}.secrets, use --password-stdin, or set ROAM_PASSWORD)`);
    credentials = { kind: "eap-mschapv2", identity, password: secrets.eapPassword };
  } else if ((p.auth === "cert" || p.auth === "cert+eap") && ((p.clientCert !== undefined && p.clientKey !== undefined) || p.pkcs12 !== undefined)) {
    const readOr = (path: string, field: string) => {
      try {
        return read(path);
      } catch {
        throw new UserError(`${who}: ${field} "${path}" cannot be read (no such file or no permission)`);
      }
    };
    let c: ReturnType<typeof clientCertificate>;
    if (p.clientCert !== undefined && p.clientKey !== undefined) {
      const certPath = assetPath(opts.dir, p.name, p.clientCert);
      const keyPath = assetPath(opts.dir, p.name, p.clientKey);
      // The key is a secret: like --key, mode 0600 (no access for group or others).
      const keyMode = modeOf(keyPath, open);
      if (keyMode !== null && (keyMode & 0o077) !== 0) {
        throw new UserError(`${who}: client_key "${keyPath}" is readable by other users (mode ${(keyMode & 0o777).toString(8)}); run chmod 600 "${keyPath}"`);
      }
      c = clientCertificate(readOr(certPath, "client_cert"), new TextDecoder().decode(readOr(keyPath, "client_key")), `client_cert "${certPath}"`, `client_key "${keyPath}"`, false, secrets.keyPassphrase);
    } else {
      const path = assetPath(opts.dir, p.name, p.pkcs12!);
      c = pkcs12Certificate(readOr(path, "pkcs12"), secrets.keyPassphrase, `pkcs12 "${path}"`, false);
    }
    credentials = withRsaPss(p, c.credentials, note);
    certId = c.identity;
  } else {
    throw new UserError(`${who}: auth "${p.auth}" (client certificate) is not supported without client_cert and client_key or pkcs12; use client_cert/client_key or pkcs12, or a psk or eap-mschapv2 profile`);
  }
  if (p.auth === "cert+eap") {
    // RFC 4739: the certificate credentials (however they were loaded) get a second round, EAP-MSCHAPv2 as
    // eap_identity (or local_id).
    if (!secrets.eapPassword) throw new UserError(`${who}: no EAP password (put eap_password in ${p.name}.secrets, use --password-stdin, or set ROAM_PASSWORD)`);
    credentials = certPlusEap(credentials, p.eapIdentity ?? p.localId!, secrets.eapPassword);
  }

  const trustAnchors: Uint8Array[] = [];
  for (const ca of p.ca) {
    const path = assetPath(opts.dir, p.name, ca);
    let bytes: Uint8Array;
    try {
      bytes = read(path);
    } catch {
      throw new UserError(`${who}: CA file "${path}" cannot be read (no such file or no permission)`);
    }
    const certs = decodePemCertificates(bytes);
    if (!certs.ok) throw new UserError(`${who}: CA file "${path}": ${certs.error}`);
    if (certs.value.length === 0) throw new UserError(`${who}: CA file "${path}" holds no certificate (expected PEM or DER)`);
    trustAnchors.push(...certs.value);
  }
  if ((credentials.kind === "cert" || credentials.kind === "cert+eap") && trustAnchors.length === 0) {
    throw new UserError(`${who}: ${credentials.kind} needs a CA (ca = [...]): the gateway must prove itself with a certificate`);
  }
  if (credentials.kind === "eap-mschapv2" && trustAnchors.length === 0) {
    throw new UserError(`${who}: EAP needs a CA (ca = [...]): the gateway must prove itself with a certificate before any password is sent`);
  }

  const host = p.gateways[0]!;
  const remoteText = p.remoteId ?? host;
  const remote = parseIdentity(remoteText);
  if (!remote.ok) throw new UserError(`${who}: remote_id: ${remote.error}`);
  let localId = certId;
  if (p.localId !== undefined) {
    const l = parseIdentity(p.localId);
    if (!l.ok) throw new UserError(`${who}: local_id: ${l.error}`);
    localId = l.value;
  }
  const remoteSelectors = p.subnets.map((s) => {
    const sel = selectorFromCidr(s, parseAddress);
    if (!sel) throw new UserError(`${who}: subnets: "${s}" is not a subnet`);
    return sel;
  });
  const ike = p.ike ? parseProposals(p.ike, "ike") : { ok: true as const, value: defaultProposals("ike") };
  if (!ike.ok) throw new UserError(`${who}: ike: ${ike.error}`);
  const esp = p.esp ? parseProposals(p.esp, "esp") : { ok: true as const, value: defaultProposals("esp") };
  if (!esp.ok) throw new UserError(`${who}: esp: ${esp.error}`);

  const withCert = credentials.kind === "cert" || credentials.kind === "cert+eap";
  if (withCert && p.pkcs12 !== undefined && p.clientCert !== undefined && p.clientKey !== undefined) note("pkcs12", "is not read: client_cert and client_key are used");
  if (!withCert && p.rsaPss) note("rsa_pss", "is not used by this auth method");
  if (!withCert && (p.clientCert !== undefined || p.clientKey !== undefined || p.pkcs12 !== undefined)) note("client_cert/client_key/pkcs12", "are not used by this auth method");

  return {
    request: {
      gatewayHost: host,
      // Tried in order when one does not answer (at connect and while reconnecting).
      ...(p.gateways.length > 1 ? { moreGateways: p.gateways.slice(1) } : {}),
      mobike: p.mobike ?? true,
      gatewayPort: p.port,
      remoteId: remote.value,
      localId,
      credentials,
      trustAnchors,
      remoteSelectors,
      ikeProposals: ike.value,
      espProposals: esp.value,
      requestIp6: p.requestIpv6,
      fragmentation: CONNECT_DEFAULTS.fragmentation,
      ikeMtu: CONNECT_DEFAULTS.ikeMtu,
      dpdSeconds: p.dpd ?? CONNECT_DEFAULTS.dpdSeconds,
      reconnect: CONNECT_DEFAULTS.reconnect,
      natKeepaliveSeconds: p.natKeepalive ?? CONNECT_DEFAULTS.natKeepaliveSeconds,
      mtu: p.mtu ?? CONNECT_DEFAULTS.mtu,
      childRekeySeconds: p.rekey ?? CONNECT_DEFAULTS.childRekeySeconds,
      ikeRekeySeconds: p.ikeRekey ?? CONNECT_DEFAULTS.ikeRekeySeconds,
      childRekeyBytes: p.rekeyBytes ?? 0,
      childRekeyPackets: p.rekeyPackets ?? 0,
      excludedSubnets: subnets(`${who}: excluded_subnets`, p.excludedSubnets),
      dnsMode: p.dns === "ignore" ? "ignore" : "use",
      dnsServers: p.dnsServers,
      upHook: p.up,
      downHook: p.down,
      background: opts.background,
    },
    unsupported,
  };
}
