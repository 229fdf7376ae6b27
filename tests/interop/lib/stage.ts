// The whole stage in one call: namespaces, certificates, a running strongSwan gateway, credentials.
//
//   const stage = await createStage();
//   try { ... stage.topo.exec(stage.topo.names.client, ["roam", "connect", ...]) ... }
//   finally { await stage.destroy(); }

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { makeBigChain, type BigChain } from "./bigchain.ts";
import { clientSwanctlConf, gatewaySwanctlConf, type Credentials } from "./configs.ts";
import { GATEWAY_ID, makePki, type KeyType, type Pki } from "./pki.ts";
import { dropIpFragments } from "./faults.ts";
import { onCleanup, run } from "./proc.ts";
import { startCharon, type Charon } from "./strongswan.ts";
import { createTopology, IFACE, type Topology } from "./topology.ts";

export interface StageOptions {
  /** Key type of both CAs and gateway certificates (default "ecdsa", P-256). */
  readonly keyType?: KeyType;
  /** Which gateway certificate the EAP connection presents: "roam" (default) or "other" (untrusted CA). */
  readonly gatewayCert?: "roam" | "other";
  /** Gateway swanctl `fragmentation = yes|no` (RFC 7383) in both connections; absent: strongSwan's default (yes). */
  readonly fragmentation?: boolean;
  /**
   * The EAP connection presents a chain of more than 3,000 DER octets (see bigchain.ts): gateway and
   * intermediate certificates sent, "CN=roam big root CA" the client's trust anchor (stage.bigChain;
   * startStrongswanClient() then trusts that root instead of pki.ca). Overrides `gatewayCert`.
   */
  readonly bigChain?: boolean;
  /** The NAT namespace drops IPv4 datagrams that arrive in fragments, both ways (see faults.ts). */
  readonly dropIpFragments?: boolean;
  /**
   * A second address on the gateway's internet link that every connection also answers on: a second
   * gateway to redirect clients to (RFC 5685), served by the same charon.
   */
  readonly secondGatewayAddress?: string;
}

export interface Stage {
  readonly topo: Topology;
  /** Private run directory (certificates, charon dirs); removed by destroy() unless ROAM_INTEROP_KEEP=1. */
  readonly dir: string;
  readonly pki: Pki;
  readonly creds: Credentials;
  readonly gateway: Charon;
  /** The large gateway chain, when created with `bigChain`. */
  readonly bigChain?: BigChain;
  /** Starts a strongSwan client charon in the client namespace, with connections `psk` and `eap`. */
  startStrongswanClient(): Promise<Charon>;
  /** Stops every charon (verified by pid), removes the namespaces, /etc/netns entries and the run dir. */
  destroy(): Promise<void>;
}

/** roam's run directory (ROAM_RUN_DIR, mode 0700) in the stage's dir. */
export function clientRunDir(stage: Stage): string {
  const runDir = `${stage.dir}/roam-run`;
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  return runDir;
}

/** roam's run directory (see clientRunDir) and the client's PSK file (mode 0600) in the stage's dir. */
export function clientRunFiles(stage: Stage): { runDir: string; pskFile: string } {
  const runDir = clientRunDir(stage);
  const pskFile = `${stage.dir}/client.psk`;
  writeFileSync(pskFile, `${stage.creds.psk}\n`, { mode: 0o600 });
  return { runDir, pskFile };
}

/** Why the interop tests cannot run here (not root, tools missing), or undefined when they can. */
export function interopUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "interop tests need root (network namespaces); run as root";
  const missing = ["charon-systemd", "swanctl", "pki", "ip", "iptables", "tcpdump", "ping", "openssl"].filter(
    (bin) => run(["sh", "-c", 'command -v "$1"', "sh", bin]).code !== 0,
  );
  if (missing.length > 0) return `missing ${missing.join(", ")}: run tests/interop/install-deps.sh`;
  return undefined;
}

// A letter first: charon reads a secret that starts with 0x/0s (any case) as hex/base64 (load_creds.c), so a
// random one could differ from what roam was given (about one stage in 1,024 per secret).
const randomSecret = (): string => `k${randomBytes(18).toString("base64url")}`;

export async function createStage(opts: StageOptions = {}): Promise<Stage> {
  const dir = mkdtempSync(`${tmpdir()}/roam-interop-`);
  const removeDir = (): void => {
    if (process.env.ROAM_INTEROP_KEEP !== "1") rmSync(dir, { recursive: true, force: true });
  };
  const unregisterDir = onCleanup(removeDir);
  const charons: Charon[] = [];
  let topo: Topology | undefined;

  const destroy = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const c of charons.splice(0).reverse()) await c.stop().catch((e: unknown) => errors.push(e));
    topo?.destroy();
    unregisterDir();
    if (errors.length > 0) throw errors[0];
  };

  try {
    topo = createTopology();
    const pki = makePki(`${dir}/pki`, opts.keyType);
    const creds: Credentials = {
      gatewayId: GATEWAY_ID,
      pskClientId: "client@roam.test",
      psk: randomSecret(),
      eapUser: "alice",
      eapPassword: randomSecret(),
    };
    const bigChain = opts.bigChain ? await makeBigChain(`${dir}/bigchain`) : undefined;
    const gwCert = bigChain?.gateway ?? (opts.gatewayCert === "other" ? pki.otherGateway : pki.gateway);
    // strongSwan sends the intermediates of its own chain up to a trust anchor it knows.
    const chainFiles: Record<string, string> = bigChain
      ? { "x509ca/big-root.crt": bigChain.root.cert, "x509ca/big-intermediate.crt": bigChain.intermediate.cert }
      : {};
    const t = topo;
    if (opts.dropIpFragments) dropIpFragments(t);
    const extra = opts.secondGatewayAddress;
    if (extra !== undefined) t.mustExec(t.names.gateway, ["ip", "addr", "add", `${extra}/24`, "dev", IFACE.internet]);
    const gatewayConfOptions = {
      gatewayCertFile: "gw.crt",
      ...(opts.fragmentation === undefined ? {} : { fragmentation: opts.fragmentation }),
      ...(extra === undefined ? {} : { extraLocalAddrs: [extra] }),
    };
    const gateway = await startCharon(t, {
      name: "gateway",
      ns: t.names.gateway,
      dir: `${dir}/gateway`,
      swanctlConf: gatewaySwanctlConf(creds, gatewayConfOptions),
      // The stage CA in x509ca: the `cert` connection verifies client certificates against it.
      files: { "x509/gw.crt": gwCert.cert, "private/gw.key": gwCert.key, "x509ca/stage-ca.crt": pki.ca.cert, ...chainFiles },
    });
    charons.push(gateway);

    return {
      topo: t,
      dir,
      pki,
      creds,
      gateway,
      ...(bigChain ? { bigChain } : {}),
      async startStrongswanClient() {
        const client = await startCharon(t, {
          name: "client",
          ns: t.names.client,
          dir: `${dir}/client-${charons.length}`,
          swanctlConf: clientSwanctlConf(creds, "ca.crt"),
          files: { "x509ca/ca.crt": bigChain?.root.cert ?? pki.ca.cert },
        });
        charons.push(client);
        return client;
      },
      destroy,
    };
  } catch (e) {
    await destroy().catch(() => {});
    throw e;
  }
}
