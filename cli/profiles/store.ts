// The profile store: one `<name>.toml` per profile, its secrets in `<name>.secrets` (mode 0600), and files
// that came with it (CA certificates, a PKCS#12 bundle) in `<name>.d/`. Directories are 0700.
//
// Where: $XDG_CONFIG_HOME/roam/profiles (default ~/.config/roam/profiles) for a user, /etc/roam/profiles
// system-wide. Lookups search the user store first, then the system store — except as root, where the
// system store comes first: a service started by systemd as root means /etc/roam/profiles, and root's own
// home directory should not shadow it. Writes go to the user store unless the system store is asked for.

import { chmodSync, closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "smol-toml";
import { UserError } from "../exit.ts";
import { checkName, profileFromTable, profileToTable, type Assets, type Profile, type Secrets } from "./model.ts";
import { certificatesToPem } from "./pem.ts";

export interface StoreDirs {
  user: string;
  system: string;
  /** Search the system store before the user store (root). */
  systemFirst: boolean;
}

export function defaultStoreDirs(env: Record<string, string | undefined> = process.env, uid: number = process.getuid?.() ?? -1): StoreDirs {
  const xdg = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith("/") ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), ".config");
  return { user: join(xdg, "roam", "profiles"), system: "/etc/roam/profiles", systemFirst: uid === 0 };
}

function searchOrder(d: StoreDirs): string[] {
  return d.systemFirst ? [d.system, d.user] : [d.user, d.system];
}

export interface StoredProfile {
  profile: Profile;
  /** The store directory it was found in. */
  dir: string;
  path: string;
  hasSecrets: boolean;
}

export interface LoadedProfile extends StoredProfile {
  warnings: string[];
}

/**
 * Maps a path to the path to open; messages name the path itself. The roam service opens a client's files
 * through /proc/PID/root (cli/service-parse.ts).
 */
export type HostPath = (path: string) => string;

const asIs: HostPath = (p) => p;

/** Reads `<dir>/<name>.toml`; a bad file is a UserError naming the file and the field. */
export function readProfileFile(dir: string, name: string, open: HostPath = asIs): LoadedProfile {
  const path = join(dir, `${name}.toml`);
  let text: string;
  try {
    text = readFileSync(open(path), "utf8");
  } catch {
    throw new UserError(`profile "${name}": cannot read ${path}`);
  }
  let table: Record<string, unknown>;
  try {
    table = parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${path}: not valid TOML: ${firstLine(e)}`);
  }
  const warnings: string[] = [];
  if (table.name === undefined) table.name = name;
  else if (table.name !== name) {
    warnings.push(`${path}: name "${String(table.name)}" differs from the file name; using "${name}"`);
    table.name = name;
  }
  const r = profileFromTable(table);
  if (!r.ok) throw new UserError(`${path}: ${r.error}`);
  for (const w of r.warnings) warnings.push(`${path}: ${w}`);
  for (const ca of r.value.ca) {
    const p = assetPath(dir, name, ca);
    if (!existsSync(open(p))) warnings.push(`${path}: CA file ${p} does not exist`);
  }
  return { profile: r.value, dir, path, hasSecrets: existsSync(open(join(dir, `${name}.secrets`))), warnings };
}

/** Finds a profile by name in the search order. */
export function loadProfile(name: string, dirs: StoreDirs = defaultStoreDirs(), open: HostPath = asIs): LoadedProfile {
  const bad = checkName(name);
  if (bad) throw new UserError(bad);
  for (const dir of searchOrder(dirs)) {
    if (existsSync(open(join(dir, `${name}.toml`)))) return readProfileFile(dir, name, open);
  }
  throw new UserError(`no profile "${name}" (looked in ${searchOrder(dirs).join(" and ")}; see roam profiles list)`);
}

/** All profiles of both stores; one that shadows another of the same name hides it. Broken files are warnings. */
export function listProfiles(dirs: StoreDirs = defaultStoreDirs()): { profiles: StoredProfile[]; warnings: string[] } {
  const seen = new Set<string>();
  const profiles: StoredProfile[] = [];
  const warnings: string[] = [];
  for (const dir of searchOrder(dirs)) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => f.endsWith(".toml")).map((f) => f.slice(0, -5)).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (seen.has(name) || checkName(name)) continue;
      seen.add(name);
      try {
        const p = readProfileFile(dir, name);
        profiles.push({ profile: p.profile, dir: p.dir, path: p.path, hasSecrets: p.hasSecrets });
      } catch (e) {
        warnings.push(e instanceof Error ? e.message : String(e));
      }
    }
  }
  return { profiles, warnings };
}

/** The profile whose uuid matches, in one store directory (a re-imported .sswan replaces it). */
export function findByUuid(dir: string, uuid: string): string | null {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith(".toml"));
  } catch {
    return null;
  }
  for (const f of names) {
    try {
      const t = parse(readFileSync(join(dir, f), "utf8")) as Record<string, unknown>;
      if (typeof t.uuid === "string" && t.uuid.toLowerCase() === uuid.toLowerCase()) return f.slice(0, -5);
    } catch {
      // A broken file cannot be the one we replace.
    }
  }
  return null;
}

/** A path in the profile: absolute as is, relative to `<name>.d/`. */
export function assetPath(dir: string, name: string, file: string): string {
  return file.startsWith("/") ? file : join(dir, `${name}.d`, file);
}

function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}

/**
 * Writes a file atomically: a new temporary file created with the final mode (O_EXCL, so it never exists
 * with looser permissions), fsync, rename over the target.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, "wx", mode);
  try {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(tmp, mode); // the umask may have narrowed it further; never widened
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function profileToToml(p: Profile): string {
  return `# roam profile (roam profiles show ${p.name}); secrets live in ${p.name}.secrets\n${stringify(profileToTable(p))}\n`;
}

export function secretsToToml(s: Secrets): string {
  const t: Record<string, string> = {};
  if (s.psk !== undefined) t.psk = s.psk;
  if (s.eapPassword !== undefined) t.eap_password = s.eapPassword;
  if (s.keyPassphrase !== undefined) t.key_passphrase = s.keyPassphrase;
  return `${stringify(t)}\n`;
}

export function hasAnySecret(s: Secrets): boolean {
  return s.psk !== undefined || s.eapPassword !== undefined || s.keyPassphrase !== undefined;
}

/**
 * Saves a profile with its secrets and assets into `dir`. Assets set `ca`/`pkcs12` to their file names.
 * Replaces an existing profile of the same name entirely (stale secrets and assets are removed).
 */
export function saveProfile(dir: string, profile: Profile, secrets: Secrets, assets: Assets): string {
  const bad = checkName(profile.name);
  if (bad) throw new UserError(bad);
  ensureDir(dir);
  const name = profile.name;
  const assetDir = join(dir, `${name}.d`);
  const p: Profile = { ...profile, ca: [...profile.ca] };
  rmSync(assetDir, { recursive: true, force: true });
  if (assets.ca.length > 0 || assets.pkcs12) {
    ensureDir(assetDir);
    if (assets.ca.length > 0) {
      writeFileAtomic(join(assetDir, "ca.pem"), certificatesToPem(assets.ca), 0o644);
      if (!p.ca.includes("ca.pem")) p.ca.unshift("ca.pem");
    }
    if (assets.pkcs12) {
      writeFileAtomic(join(assetDir, "client.p12"), assets.pkcs12, 0o600);
      p.pkcs12 = "client.p12";
    }
  }
  const secretsPath = join(dir, `${name}.secrets`);
  if (hasAnySecret(secrets)) writeFileAtomic(secretsPath, secretsToToml(secrets), 0o600);
  else rmSync(secretsPath, { force: true });
  const path = join(dir, `${name}.toml`);
  writeFileAtomic(path, profileToToml(p), 0o644);
  return path;
}

/** Removes a profile, its secrets and its assets from the first store that has it. */
export function removeProfile(name: string, dirs: StoreDirs = defaultStoreDirs()): string {
  const found = loadProfile(name, dirs);
  rmSync(join(found.dir, `${name}.secrets`), { force: true });
  rmSync(join(found.dir, `${name}.d`), { recursive: true, force: true });
  rmSync(found.path, { force: true });
  return found.path;
}

/**
 * Reads `<name>.secrets`. Refuses a file other users can read (one line naming the chmod to run), and a
 * symbolic link (it could point anywhere). No file: no stored secrets.
 */
export function readSecrets(dir: string, name: string, open: HostPath = asIs): Secrets {
  const path = join(dir, `${name}.secrets`);
  let st;
  try {
    st = lstatSync(open(path));
  } catch {
    return {};
  }
  if (!st.isFile()) throw new UserError(`${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new UserError(`${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 "${path}"`);
  }
  let t: Record<string, unknown>;
  try {
    t = parse(readFileSync(open(path), "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${path}: not valid TOML: ${firstLine(e)}`);
  }
  const s: Secrets = {};
  for (const [k, prop] of [["psk", "psk"], ["eap_password", "eapPassword"], ["key_passphrase", "keyPassphrase"]] as const) {
    const v = t[k];
    if (v === undefined) continue;
    if (typeof v !== "string") throw new UserError(`${path}: field "${k}": expected a string`);
    s[prop] = v;
  }
  return s;
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}
