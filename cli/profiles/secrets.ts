// Where a profile's secrets come from at connect time, for each secret the first match wins:
//   1. --password-stdin: one line per secret, in this order: the key passphrase (only when the profile's
//      key is a PKCS#12 file or an encrypted PEM key), then the EAP password or PSK
//   2. the environment: ROAM_KEY_PASSPHRASE (key passphrase), ROAM_PASSWORD (EAP password), ROAM_PSK (PSK)
//   3. `<name>.secrets` (mode 0600, refused if other users can read it): key_passphrase, eap_password, psk
//   4. a prompt without echo, only when standard input is a terminal
// Never from the command line.

import { decodeBase64 } from "../../core/x509/pem.ts";
import { fromHex } from "../../core/util/bytes.ts";
import { UserError } from "../exit.ts";
import type { ResolvedSecrets } from "./connect.ts";
import type { Profile, Secrets } from "./model.ts";

export interface SecretSources {
  passwordStdin: boolean;
  readStdinLine: () => Promise<string>;
  env: Record<string, string | undefined>;
  /** Reads the stored secrets (store.readSecrets): only called when needed. */
  stored: () => Secrets;
  /** A no-echo prompt; undefined when standard input is not a terminal. */
  prompt?: (question: string) => Promise<string>;
}

/** strongSwan's secret syntax: "0x…" hex, "0s…" base64 (either prefix in any case), otherwise the UTF-8 text. */
export function decodePsk(text: string): Uint8Array | null {
  if (/^0x[0-9a-f]*$/i.test(text) && text.length % 2 === 0 && text.length > 2) return fromHex(text.slice(2));
  if (/^0s/i.test(text)) return decodeBase64(text.slice(2));
  return new TextEncoder().encode(text);
}

/**
 * An EAP password written in strongSwan's secret syntax (swanctl.conf `secrets { eap-… { secret } }`):
 * charon reads "0x…"/"0s…" as hex/base64 too, so the password is those octets as UTF-8 text; null when they
 * do not decode or are not UTF-8.
 */
export function decodeEapSecret(text: string): string | null {
  const bytes = decodePsk(text);
  if (!bytes) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** `needsKeyPassphrase`: the client key is a PKCS#12 file or an encrypted PEM key (see profileNeedsKeyPassphrase). */
export async function resolveSecrets(p: Profile, src: SecretSources, needsKeyPassphrase = false): Promise<ResolvedSecrets> {
  const out: ResolvedSecrets = {};
  if (needsKeyPassphrase) {
    // An empty line is a valid answer: PKCS#12 files exported without a password have the empty one.
    if (src.passwordStdin) out.keyPassphrase = await src.readStdinLine();
    else if (src.env.ROAM_KEY_PASSPHRASE !== undefined) out.keyPassphrase = src.env.ROAM_KEY_PASSPHRASE;
    else {
      out.keyPassphrase = src.stored().keyPassphrase;
      if (out.keyPassphrase === undefined && src.prompt) out.keyPassphrase = await src.prompt(`Passphrase for the private key of ${p.name}: `);
    }
  }
  // A certificate profile has no other secret.
  if (p.auth === "cert") return out;
  const eap = p.auth === "eap-mschapv2" || p.auth === "cert+eap";
  const kind = eap ? "EAP password" : "PSK";
  let text: string | undefined;
  if (src.passwordStdin) {
    text = await src.readStdinLine();
    if (text === "") throw new UserError(`connect: --password-stdin read an empty ${kind}`);
  } else if (eap && src.env.ROAM_PASSWORD) text = src.env.ROAM_PASSWORD;
  else if (!eap && src.env.ROAM_PSK) text = src.env.ROAM_PSK;
  else {
    const s = src.stored();
    text = eap ? s.eapPassword : s.psk;
    if (text === undefined && src.prompt) text = await src.prompt(`${kind} for ${p.name}: `);
  }
  if (text === undefined) return out;
  if (eap) return { ...out, eapPassword: text };
  const psk = decodePsk(text);
  if (!psk || psk.length === 0) throw new UserError(`profile "${p.name}": the PSK is empty or not valid 0x-hex/0s-base64`);
  return { ...out, psk };
}

/**
 * A no-echo prompt on the controlling terminal (stdin must be a TTY). It listens for "data" instead of
 * iterating stdin: leaving a for-await loop destroys the stream, and a connection may ask twice (the key
 * passphrase, then the EAP password).
 */
export async function promptNoEcho(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode?.(true);
  let out = "";
  try {
    return await new Promise<string>((resolve, reject) => {
      const finish = (settle: () => void) => {
        stdin.off("data", onData);
        stdin.off("end", onEnd);
        settle();
      };
      const onData = (chunk: Buffer | string) => {
        for (const ch of chunk.toString()) {
          if (ch === "\r" || ch === "\n") return finish(() => resolve(out));
          if (ch === "\u0003") return finish(() => reject(new UserError("connect: interrupted at the password prompt")));
          if (ch === "\u007f" || ch === "\b") out = out.slice(0, -1);
          else out += ch;
        }
      };
      const onEnd = () => finish(() => resolve(out));
      stdin.on("data", onData);
      stdin.on("end", onEnd);
      stdin.resume();
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    process.stderr.write("\n");
  }
}
