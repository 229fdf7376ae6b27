// `roam import FILE [--name NAME] [--force] [--system]`: a .sswan, .mobileconfig, swanctl.conf or exported
// TOML file becomes one profile per connection. The whole file is checked first; nothing is written if
// any part is invalid. Each field roam does not apply is named in one warning line.

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Command } from "commander";
import { UserError } from "../exit.ts";
import { importFile } from "../profiles/import.ts";
import { checkName } from "../profiles/model.ts";
import { defaultStoreDirs, findByUuid, saveProfile, type StoreDirs } from "../profiles/store.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";

export function importCommand(dirs: () => StoreDirs = () => defaultStoreDirs()): Command {
  return new Command("import")
    .argument("<file>", ".sswan, .mobileconfig, swanctl.conf or a roam TOML export")
    .description("import a VPN profile file into the profile store")
    .option("--name <name>", "profile name (default: from the file; only for files with one profile)")
    .option("--force", "replace a profile of the same name")
    .option("--system", "write to the system store /etc/roam/profiles instead of the user store")
    .action((file: string, opts: { name?: string; force?: boolean; system?: boolean }) => {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(file));
      } catch {
        throw new UserError(`import: cannot read "${file}" (no such file or no permission)`);
      }
      const swanctlDir = file.endsWith("swanctl.conf") ? dirname(resolve(file)) : undefined;
      const r = importFile(file, bytes, { swanctlDir });
      if (!r.ok) throw new UserError(`import: ${r.error}`);
      const items = r.value;
      if (opts.name !== undefined) {
        const bad = checkName(opts.name);
        if (bad) throw new UserError(`import: --name: ${bad}`);
        if (items.length > 1) throw new UserError(`import: "${file}" holds ${items.length} profiles; --name works with one`);
        items[0]!.profile.name = opts.name;
      }
      const d = dirs();
      const dir = opts.system ? d.system : d.user;
      // Check every target before writing anything.
      const names = new Set<string>();
      for (const it of items) {
        const p = it.profile;
        if (names.has(p.name)) throw new UserError(`import: "${file}" holds two profiles named "${p.name}"`);
        names.add(p.name);
        // Re-importing a .sswan with the same uuid replaces that profile, whatever its name (as the Android client does).
        const sameUuid = p.uuid ? findByUuid(dir, p.uuid) : null;
        if (sameUuid && opts.name === undefined) p.name = sameUuid;
        const replacing = sameUuid === p.name;
        if (!replacing && !opts.force && existsSync(join(dir, `${p.name}.toml`))) {
          throw new UserError(`import: profile "${p.name}" exists in ${dir}; use --force to replace it or --name NAME`);
        }
      }
      for (const it of items) {
        for (const w of it.warnings) process.stderr.write(`roam: warning: ${w}\n`);
        const path = saveProfile(dir, it.profile, it.secrets, it.assets);
        process.stdout.write(`imported ${it.profile.name} (${path})\n`);
      }
    });
}
