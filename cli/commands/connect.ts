// `roam connect`: runs a tunnel in the foreground, or with --background returns once it is up.
//
// Background mode hands the tunnel to the roam service when one listens (cli/service.ts), and otherwise
// re-runs this executable as a detached child. (With a service, the client usually hands it the command
// line before this module is loaded, cli/service-client.ts; the service then runs this command with a
// ConnectContext of the client's, and this process only sends a checked request when the service leaves
// the command line to it.) The child receives the checked request (secrets included)
// on its standard input — never on its command line or in its environment — and reports progress as JSON
// lines on standard output until the tunnel is up or has failed; then the parent exits with the outcome
// and the child carries on alone. The service speaks the same lines on its root-only socket.

import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { discardTunnelProcess, takeTunnelProcess } from "../background.ts";
import { parseConnectFlags, parseTuning, type ConnectFlags, type ConnectRequest } from "../connect-options.ts";
import { ExitCode, UserError } from "../exit.ts";
import { lineWriterIgnoringErrors } from "../fd-writer.ts";
import { Reporter } from "../output.ts";
import { encodeRequest } from "../request-codec.ts";
import { relayEvents, serviceHost, type TunnelHost } from "../service-client.ts";
import { lineReader, stdinIsTerminal } from "../stdin.ts";
import { promptNoEcho, resolveSecrets } from "../profiles/secrets.ts";

export function connectCommand(context?: ConnectContext): Command {
  return new Command("connect")
    .description("connect to an IKEv2 gateway (a stored profile, or flags); runs in the foreground until Ctrl-C or `roam disconnect`")
    .argument("[profile]", "a stored profile (see roam profiles list); without it, the flags below say where to connect")
    .option("--gateway <host>", "gateway host name or address; repeat it for more gateways, tried in order when one does not answer", (v: string, prev?: string[]) => [...(prev ?? []), v])
    .option("--port <port>", "gateway IKE port", "500")
    .option("--remote-id <id>", "identity the gateway must prove (e.g. gw.example.com)")
    .option("--id <id>", "our identity (default: our address; with EAP, what the gateway sees in IDi)")
    .option("--psk-file <file>", "authenticate with the pre-shared key in FILE (mode 0600)")
    .option("--cert <file>", "authenticate with this client certificate (PEM or DER; end entity first, then intermediates)")
    .option("--key <file>", "the client certificate's private key (PEM: PKCS#8, PKCS#1, SEC1 or encrypted PKCS#8; mode 0600)")
    .option("--p12 <file>", "authenticate with the key and certificates of this PKCS#12 file (.p12/.pfx, mode 0600) instead of --cert/--key")
    .option("--rsa-pss", "sign with RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys, RFC 7427)")
    .option("--eap-identity <user>", "authenticate with EAP-MSCHAPv2 as USER (with --cert/--key or --p12: after the certificate, RFC 4739)")
    .option("--password-stdin", "read secrets from standard input, one line each: the key passphrase (--p12, encrypted --key) first, then the EAP password or PSK")
    .option("--ca <file>", "CA certificate(s), PEM or DER, that the gateway's certificate must chain to")
    .option("--subnet <cidr...>", "remote subnets to ask for (default: everything; the gateway narrows)")
    .option("--exclude <cidr...>", "subnets never routed into the tunnel, even if the gateway offers them")
    .option("--dns <address...>", "use these DNS servers instead of the gateway's")
    .option("--no-dns", "leave the host's DNS alone (ignore the gateway's DNS servers)")
    .option("--ike <proposals>", "IKE proposals, strongSwan syntax (e.g. aes256gcm16-prfsha256-x25519)")
    .option("--esp <proposals>", "ESP proposals, strongSwan syntax (e.g. aes256gcm16)")
    .option("--no-ipv6", "do not ask for an IPv6 virtual address, DNS servers or ::/0 selectors")
    .option("--dpd <seconds>", "check that the gateway is alive after this long without traffic from it (0: never)", "30")
    .option("--rekey <seconds>", "rekey the CHILD_SA after this long unless the gateway did (0: leave it to the gateway)", "3900")
    .option("--ike-rekey <seconds>", "rekey the IKE SA after this long unless the gateway did (0: leave it to the gateway)", "14400")
    .option("--rekey-bytes <bytes>", "rekey the CHILD_SA after this many bytes in either direction (0: no limit)", "0")
    .option("--rekey-packets <count>", "rekey the CHILD_SA after this many packets in either direction (0: no limit)", "0")
    .option("--nat-keepalive <seconds>", "NAT keepalive interval on the 4500 socket (0: none)", "20")
    .option("--mtu <bytes>", "MTU of the tunnel interface", "1400")
    .option("--up <command>", "run this shell command when the tunnel is up (ROAM_* variables describe it)")
    .option("--down <command>", "run this shell command before the tunnel goes down")
    .option("--no-reconnect", "when the tunnel is lost, report it (exit 6) instead of connecting again")
    .option("--no-fragmentation", "do not offer IKE fragmentation (RFC 7383)")
    .option("--no-mobike", "do not offer MOBIKE (RFC 4555): reconnect instead when our address changes")
    .option("--ike-mtu <bytes>", "path MTU that IKE fragments must fit", "1280")
    .option("--background", "return once the tunnel is up (exit 0), or with the cause of failure")
    .addOption(new Option("--internal-child").hideHelp())
    .action(async (profile: string | undefined, flags: ConnectFlags & { internalChild?: boolean }, cmd: Command) => {
      if (flags.internalChild) {
        if (context !== undefined) throw new UserError("connect: --internal-child is roam's own, not a flag to give");
        process.exitCode = await (await import("../tunnel-process.ts")).runChild();
        return;
      }
      const c = context ?? localContext();
      const fromCli = (k: string) => cmd.getOptionValueSource(k) === "cli";
      const req =
        profile === undefined
          ? await parseConnectFlags(flags, c.readStdinLine, { env: c.env, prompt: c.prompt, hostPath: c.hostPath })
          : await requestFromProfile(profile, flags, fromCli, c);
      await c.run(req);
    });
}

/**
 * Where a connect command line is read and its tunnel run: this process (localContext), or the roam
 * service for a client that handed it the command line (cli/service-parse.ts).
 */
export interface ConnectContext {
  env: Record<string, string | undefined>;
  /** Whose profile store: root searches the system store first (profiles/store.ts). */
  uid: number;
  /** The path to open for a path the user gave (connect-options.ts ConnectSources). */
  hostPath?: (path: string) => string;
  /** The next line of standard input (--password-stdin). */
  readStdinLine: () => Promise<string>;
  /** A no-echo prompt; undefined without a terminal. */
  prompt?: (question: string) => Promise<string>;
  /** Warnings about the profile. */
  out: Reporter;
  /** Runs the checked request (this process: sets its exit code). */
  run(req: ConnectRequest): Promise<void>;
}

function localContext(): ConnectContext {
  const out = new Reporter(lineWriterIgnoringErrors(2));
  return {
    env: process.env,
    uid: process.getuid?.() ?? -1,
    readStdinLine: lineReader(() => process.stdin),
    prompt: stdinIsTerminal() ? promptNoEcho : undefined,
    out,
    run: async (req) => {
      process.exitCode = req.background ? await runBackground(req) : await runForeground(req, out);
    },
  };
}

async function runForeground(req: ConnectRequest, out: Reporter): Promise<number> {
  // Loaded here: the --background parent never runs the tunnel itself and need not load it.
  const { runTunnel } = await import("../tunnel-process.ts");
  return await runTunnel(req, (e) => out.event(e));
}

async function runBackground(req: ConnectRequest): Promise<number> {
  const out = new Reporter(lineWriterIgnoringErrors(2));
  const request = `${encodeRequest(req)}\n`;
  // A roam service that listens takes the tunnel; otherwise this executable's child runs it.
  const service = await serviceHost(request);
  if (service !== null) discardTunnelProcess();
  const host = service ?? (await childHost(request));
  return (await relayEvents(host, out, (fd, text) => lineWriterIgnoringErrors(fd).write(text))) ?? ExitCode.INTERNAL;
}

/** The request written to this executable's detached child (cli/background.ts). */
async function childHost(request: string): Promise<TunnelHost> {
  const child = takeTunnelProcess();
  child.stdin.write(request);
  await child.stdin.end();
  const reader = child.stdout.getReader();
  return {
    async next() {
      const r = await reader.read();
      return r.done ? null : r.value;
    },
    release() {
      void reader.cancel().catch(() => {});
      child.unref();
    },
    async ended() {
      const code = await child.exited;
      return { message: `the tunnel process ended before the tunnel was up (exit ${code})`, code: code > 1 ? code : ExitCode.INTERNAL };
    },
  };
}

/** `roam connect NAME`: the stored profile, its secrets (stdin, environment, secrets file or a prompt), warnings. */
async function requestFromProfile(name: string, flags: ConnectFlags, fromCli: (flag: string) => boolean, c: ConnectContext): Promise<ConnectRequest> {
  const given = (["gateway", "remoteId", "id", "pskFile", "eapIdentity", "ca", "cert", "key", "p12", "subnet", "exclude", "ike", "esp", "up", "down"] as const).filter((k) => flags[k] !== undefined);
  if (given.length > 0) {
    throw new UserError(`connect: a profile and --${given.map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join(", --")} do not go together: edit the profile instead`);
  }
  // Loaded only for a profile (the store's TOML parser and the profile mapping): a connect with flags
  // starts without them.
  const [{ defaultStoreDirs, loadProfile, readSecrets }, { profileNeedsKeyPassphrase, profileToConnectRequest }] = await Promise.all([import("../profiles/store.ts"), import("../profiles/connect.ts")]);
  const open = c.hostPath ?? ((p: string) => p);
  const loaded = loadProfile(name, defaultStoreDirs(c.env, c.uid), open);
  for (const w of loaded.warnings) c.out.line(`warning: ${w}`);
  const secrets = await resolveSecrets(
    loaded.profile,
    {
      passwordStdin: flags.passwordStdin ?? false,
      readStdinLine: c.readStdinLine,
      env: c.env,
      stored: () => readSecrets(loaded.dir, name, open),
      prompt: c.prompt,
    },
    profileNeedsKeyPassphrase(loaded.profile, loaded.dir, (f) => new Uint8Array(readFileSync(open(f)))),
  );
  const { request, unsupported } = profileToConnectRequest(loaded.profile, secrets, { background: flags.background ?? false, dir: loaded.dir, hostPath: open });
  for (const u of unsupported) c.out.line(`warning: ${u}`);
  // Tuning flags given on the command line override the profile for this connection.
  if (fromCli("ipv6")) request.requestIp6 = flags.ipv6 ?? request.requestIp6;
  if (fromCli("fragmentation")) request.fragmentation = flags.fragmentation ?? request.fragmentation;
  if (fromCli("reconnect")) request.reconnect = flags.reconnect ?? request.reconnect;
  if (fromCli("mobike")) request.mobike = flags.mobike ?? true;
  const cli = parseTuning(flags);
  if (fromCli("dpd")) request.dpdSeconds = cli.dpdSeconds;
  if (fromCli("natKeepalive")) request.natKeepaliveSeconds = cli.natKeepaliveSeconds;
  if (fromCli("mtu")) request.mtu = cli.mtu;
  if (fromCli("rekey")) request.childRekeySeconds = cli.childRekeySeconds;
  if (fromCli("ikeRekey")) request.ikeRekeySeconds = cli.ikeRekeySeconds;
  if (fromCli("rekeyBytes")) request.childRekeyBytes = cli.childRekeyBytes;
  if (fromCli("rekeyPackets")) request.childRekeyPackets = cli.childRekeyPackets;
  if (fromCli("ikeMtu")) request.ikeMtu = cli.ikeMtu;
  request.profileName = name;
  return request;
}
