/**
 * What `npm test` needs from the machine, checked before any test runs (test/global-setup.ts): the system tools the
 * suites call and a Redis. On a fresh Debian/Ubuntu machine run as root it installs the missing packages itself and
 * starts a throw-away redis-server; anywhere else it stops at once with the one command to run, rather than letting
 * sixteen tests fail one by one. Everything it touches (PATH, the installer, the Redis URL) is a parameter so the
 * branches can be tested on a machine that already has the tools.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { redisAnswers } from '../common/redis.ts';

export interface Tool {
  bin: string;
  pkg: string;
  why: string;
}

export const TOOLS: Tool[] = [
  { bin: 'redis-server', pkg: 'redis-server', why: 'Redis for the workers and proxy tests (and their outage tests)' },
  { bin: 'gifsicle', pkg: 'gifsicle', why: 'GIF → GIF in the media proxy' },
  { bin: 'avifdec', pkg: 'libavif-bin', why: 'the fallback AVIF decoder' },
  { bin: 'avifenc', pkg: 'libavif-bin', why: 'AVIF fixtures' },
  { bin: 'opusinfo', pkg: 'opus-tools', why: 'checking Ogg Opus output with an independent tool' },
  { bin: 'opusdec', pkg: 'opus-tools', why: 'decoding Ogg Opus output with an independent tool' },
  { bin: 'chromium', pkg: 'chromium', why: 'headless Chromium for the voice-in-the-browser tests (playwright-core)' },
];

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

export function missingTools(searchPath: string, tools = TOOLS): Tool[] {
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

export interface PreflightOptions {
  searchPath: string;
  isRoot: boolean;
  /** REDIS_URL as configured; undefined when unset (then the default, or a throw-away server on its port). */
  redisUrl: string | undefined;
  defaultRedisUrl?: string;
  /** Installs Debian packages; returns false when it could not. */
  install?: (pkgs: string[], searchPath: string) => boolean;
  tools?: Tool[];
}

export type PreflightResult = { ok: true; installed: string[]; redis?: ChildProcess } | { ok: false; message: string };

export async function preflight(o: PreflightOptions): Promise<PreflightResult> {
  const tools = o.tools ?? TOOLS;
  let missing = missingTools(o.searchPath, tools);
  const installed: string[] = [];
  if (missing.length) {
    const pkgs = packagesOf(missing);
    const canInstall = o.isRoot && which('apt-get', o.searchPath) !== null;
    if (canInstall && (o.install ?? aptInstall)(pkgs, o.searchPath)) {
      installed.push(...pkgs);
      missing = missingTools(o.searchPath, tools);
    }
    if (missing.length) {
      const names = missing.map((t) => t.bin).join(', ');
      return {
        ok: false,
        message: `npm test needs ${names} (${packagesOf(missing).join(', ')}); run: ${installLine(packagesOf(missing), o.isRoot)}`,
      };
    }
  }
  const url = o.redisUrl ?? o.defaultRedisUrl ?? 'redis://127.0.0.1:6379';
  if (await redisAnswers(url)) return { ok: true, installed };
  if (o.redisUrl !== undefined)
    return { ok: false, message: `npm test needs Redis at REDIS_URL=${url}, which does not answer; start it there` };
  const port = new URL(url).port || '6379';
  const redis = spawn(
    which('redis-server', o.searchPath)!,
    ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && redis.exitCode === null; i++) {
    if (await redisAnswers(url, 200)) return { ok: true, installed, redis };
    await new Promise((r) => setTimeout(r, 50));
  }
  redis.kill('SIGKILL');
  return { ok: false, message: `nothing answers ${url} and a redis-server started on port ${port} did not either` };
}
