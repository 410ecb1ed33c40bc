/**
 * Debian tools a command needs from the machine (gifsicle, libavif-bin, …): found on PATH, installed with apt-get when
 * the process runs as root, or named in one line to run. Used by `npm test`'s preflight and by `npm run bench`, so a
 * fresh machine either gets what it lacks or stops at once with the command that fixes it. Every input (PATH, root,
 * the installer) is a parameter so each branch can be tested on a machine that already has the tools.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Tool {
  bin: string;
  pkg: string;
  why: string;
}

/** The first executable called `bin` on `searchPath`, or null. */
export function which(bin: string, searchPath: string): string | null {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, bin);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

export function missingTools(searchPath: string, tools: Tool[]): Tool[] {
  return tools.filter((t) => !which(t.bin, searchPath));
}

export const packagesOf = (tools: Tool[]): string[] => [...new Set(tools.map((t) => t.pkg))];

export function installLine(pkgs: string[], root: boolean): string {
  return `${root ? '' : 'sudo '}apt-get install -y ${pkgs.join(' ')}`;
}

/** apt-get for real: install first (works offline when the lists are fresh), then refresh the lists and retry. */
export function aptInstall(pkgs: string[], searchPath: string): boolean {
  const env = { ...process.env, PATH: searchPath, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', ...pkgs], { env, stdio: ['ignore', 'ignore', 'inherit'] }).status ===
    0;
  if (install()) return true;
  spawnSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return install();
}

export interface EnsureToolsOptions {
  searchPath: string;
  isRoot: boolean;
  /** Who needs them, for the message: `npm test`, `npm run bench -- proxy`. */
  purpose: string;
  /** Installs Debian packages; returns false when it could not. */
  install?: (pkgs: string[], searchPath: string) => boolean;
}

export type EnsureToolsResult = { ok: true; installed: string[] } | { ok: false; message: string };

/** Installs what `tools` lacks when it can (root with apt-get); otherwise the one sentence naming the command to run. */
export function ensureTools(tools: Tool[], o: EnsureToolsOptions): EnsureToolsResult {
  let missing = missingTools(o.searchPath, tools);
  if (!missing.length) return { ok: true, installed: [] };
  const pkgs = packagesOf(missing);
  const canInstall = o.isRoot && which('apt-get', o.searchPath) !== null;
  if (canInstall && (o.install ?? aptInstall)(pkgs, o.searchPath)) missing = missingTools(o.searchPath, tools);
  if (!missing.length) return { ok: true, installed: pkgs };
  const names = missing.map((t) => t.bin).join(', ');
  const still = packagesOf(missing);
  return {
    ok: false,
    message: `${o.purpose} needs ${names} (${still.join(', ')}); run: ${installLine(still, o.isRoot)}`,
  };
}
