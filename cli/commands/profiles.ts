// `roam profiles list|show|rm|export`: the profile store. Secrets are never printed: show and list say
// only whether a secrets file exists, and export writes secrets only with --with-secrets into a new file
// of mode 0600 (never to standard output).

import { randomUUID } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import { Command } from "commander";
import { UserError } from "../exit.ts";
import { exportSswanFile, exportToml, tomlExportDrops } from "../profiles/export.ts";
import { profileToTable } from "../profiles/model.ts";
import { defaultStoreDirs, listProfiles, loadProfile, readSecrets, removeProfile, type StoreDirs } from "../profiles/store.ts";

function warnAll(lines: string[]): void {
  for (const w of lines) process.stderr.write(`roam: warning: ${w}\n`);
}

export function profilesCommand(dirs: () => StoreDirs = () => defaultStoreDirs()): Command {
  const cmd = new Command("profiles").description("list, show, remove and export stored profiles");

  cmd
    .command("list")
    .description("list the profiles of the user and system stores")
    .option("--json", "print JSON: [{name, gateway, auth, path, secrets}]")
    .action((opts: { json?: boolean }) => {
      const { profiles, warnings } = listProfiles(dirs());
      warnAll(warnings);
      if (opts.json) {
        const rows = profiles.map((s) => ({ name: s.profile.name, gateway: s.profile.gateways, auth: s.profile.auth, path: s.path, secrets: s.hasSecrets }));
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (profiles.length === 0) {
        process.stdout.write("no profiles (add one with roam import FILE)\n");
        return;
      }
      const w = Math.max(...profiles.map((s) => s.profile.name.length));
      for (const s of profiles) process.stdout.write(`${s.profile.name.padEnd(w)}  ${s.profile.auth.padEnd(12)}  ${s.profile.gateways.join(" ")}\n`);
    });

  cmd
    .command("show")
    .argument("<name>", "profile name")
    .description("show a profile (never its secrets)")
    .option("--json", "print JSON (the profile's TOML keys)")
    .action((name: string, opts: { json?: boolean }) => {
      const p = loadProfile(name, dirs());
      warnAll(p.warnings);
      const t = profileToTable(p.profile);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...t, path: p.path, secrets: p.hasSecrets }, null, 2)}\n`);
        return;
      }
      const rows: [string, string][] = Object.entries(t).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)]);
      rows.push(["path", p.path], ["secrets", p.hasSecrets ? "stored (mode 0600)" : "none stored"]);
      const w = Math.max(...rows.map(([k]) => k.length));
      for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
    });

  cmd
    .command("rm")
    .argument("<name>", "profile name")
    .description("remove a profile with its secrets and certificates")
    .action((name: string) => {
      const path = removeProfile(name, dirs());
      process.stderr.write(`roam: removed ${path}\n`);
    });

  cmd
    .command("export")
    .argument("<name>", "profile name")
    .description("print a profile as TOML (roam import) or .sswan (strongSwan Android client)")
    .option("--format <format>", "toml or sswan", "toml")
    .option("--output <file>", "write to a new file instead of standard output")
    .option("--with-secrets", "include the stored secrets (toml only; needs --output, the file is created with mode 0600)")
    .action((name: string, opts: { format: string; output?: string; withSecrets?: boolean }) => {
      if (opts.format !== "toml" && opts.format !== "sswan") throw new UserError(`export: --format "${opts.format}" is not toml or sswan`);
      if (opts.withSecrets && opts.format !== "toml") throw new UserError("export: --with-secrets works with --format toml only (.sswan has no place for secrets)");
      if (opts.withSecrets && !opts.output) throw new UserError("export: --with-secrets needs --output FILE (secrets are never written to standard output)");
      const p = loadProfile(name, dirs());
      warnAll(p.warnings);
      let text: string;
      if (opts.format === "toml") {
        text = exportToml(p, opts.withSecrets ? readSecrets(p.dir, name) : undefined);
        for (const d of tomlExportDrops(p, opts.withSecrets ?? false)) process.stderr.write(`roam: warning: export: ${d}; not exported\n`);
      }
      else {
        const r = exportSswanFile(p, randomUUID());
        for (const d of r.dropped) process.stderr.write(`roam: warning: export: "${d}" has no .sswan equivalent; not exported\n`);
        text = r.text;
      }
      if (!opts.output) {
        process.stdout.write(text);
        return;
      }
      let fd: number;
      try {
        fd = openSync(opts.output, "wx", opts.withSecrets ? 0o600 : 0o644);
      } catch {
        throw new UserError(`export: cannot create "${opts.output}" (it exists, or no permission); choose a new file`);
      }
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
    });
  return cmd;
}
