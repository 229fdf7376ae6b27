// Reads `swanctl --list-sas --raw` (vici messages printed as text) into plain objects, so tests can
// assert on a gateway's IKE_SAs and CHILD_SAs: state, identities, virtual IPs, TSi/TSr, SPIs, counters.
//
// Raw format, one message per line:  list-sa event {NAME {key=value list=[a b] section {...}}}

import type { Charon } from "./strongswan.ts";

export type ViciValue = string | string[] | ViciSection;
export interface ViciSection {
  [key: string]: ViciValue;
}

/** Parses one raw vici message body (`{...}`); undefined if it is not well-formed. */
export function parseViciRaw(text: string): ViciSection | undefined {
  const tokens = text.match(/[{}[\]]|[^\s{}[\]]+/g) ?? [];
  let i = 0;
  const section = (): ViciSection | undefined => {
    if (tokens[i++] !== "{") return undefined;
    const out: ViciSection = {};
    for (;;) {
      const t = tokens[i++];
      if (t === undefined) return undefined;
      if (t === "}") return out;
      if (tokens[i] === "{") {
        const sub = section();
        if (sub === undefined) return undefined;
        out[t] = sub;
        continue;
      }
      const eq = t.indexOf("=");
      if (eq < 0) return undefined;
      const key = t.slice(0, eq);
      const value = t.slice(eq + 1);
      if (value === "" && tokens[i] === "[") {
        i++;
        const items: string[] = [];
        while (tokens[i] !== "]") {
          const item = tokens[i++];
          if (item === undefined) return undefined;
          items.push(item);
        }
        i++;
        out[key] = items;
      } else {
        out[key] = value;
      }
    }
  };
  return section();
}

export interface ChildSaInfo {
  readonly name: string;
  readonly state: string;
  readonly mode: string;
  /** "yes" when ESP is in UDP (RFC 3948). */
  readonly encap: string;
  readonly spiIn: string;
  readonly spiOut: string;
  readonly encrAlg: string;
  readonly localTs: readonly string[];
  readonly remoteTs: readonly string[];
  readonly packetsIn: number;
  readonly packetsOut: number;
}

export interface IkeSaInfo {
  readonly name: string;
  readonly state: string;
  readonly localId: string;
  readonly remoteId: string;
  /** EAP identity the peer authenticated with, when there was EAP. */
  readonly remoteEapId: string | undefined;
  readonly localHost: string;
  readonly remoteHost: string;
  readonly localVips: readonly string[];
  readonly remoteVips: readonly string[];
  readonly encrAlg: string;
  readonly prfAlg: string;
  readonly dhGroup: string;
  readonly children: readonly ChildSaInfo[];
  /** The whole parsed section, for anything not lifted above. */
  readonly raw: ViciSection;
}

const str = (s: ViciSection, k: string): string => (typeof s[k] === "string" ? (s[k] as string) : "");
const strs = (s: ViciSection, k: string): string[] => (Array.isArray(s[k]) ? (s[k] as string[]) : []);
const sub = (s: ViciSection, k: string): ViciSection =>
  typeof s[k] === "object" && !Array.isArray(s[k]) ? (s[k] as ViciSection) : {};

/** Every IKE_SA `charon` knows, from `swanctl --list-sas --raw`. */
export function listSas(charon: Charon): IkeSaInfo[] {
  const out = charon.mustSwanctl(["--list-sas", "--raw"]);
  const sas: IkeSaInfo[] = [];
  for (const line of out.split("\n")) {
    if (!line.startsWith("list-sa event ")) continue;
    const msg = parseViciRaw(line.slice("list-sa event ".length));
    if (msg === undefined) throw new Error(`unparsable swanctl --raw line: ${line}`);
    for (const [name, v] of Object.entries(msg)) {
      if (typeof v !== "object" || Array.isArray(v)) continue;
      const children = Object.values(sub(v, "child-sas"))
        .filter((c): c is ViciSection => typeof c === "object" && !Array.isArray(c))
        .map((c) => ({
          name: str(c, "name"),
          state: str(c, "state"),
          mode: str(c, "mode"),
          encap: str(c, "encap"),
          spiIn: str(c, "spi-in"),
          spiOut: str(c, "spi-out"),
          encrAlg: str(c, "encr-alg"),
          localTs: strs(c, "local-ts"),
          remoteTs: strs(c, "remote-ts"),
          packetsIn: Number(str(c, "packets-in") || 0),
          packetsOut: Number(str(c, "packets-out") || 0),
        }));
      sas.push({
        name,
        state: str(v, "state"),
        localId: str(v, "local-id"),
        remoteId: str(v, "remote-id"),
        remoteEapId: str(v, "remote-eap-id") || undefined,
        localHost: str(v, "local-host"),
        remoteHost: str(v, "remote-host"),
        localVips: strs(v, "local-vips"),
        remoteVips: strs(v, "remote-vips"),
        encrAlg: str(v, "encr-alg"),
        prfAlg: str(v, "prf-alg"),
        dhGroup: str(v, "dh-group"),
        children,
        raw: v,
      });
    }
  }
  return sas;
}
