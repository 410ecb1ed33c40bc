/**
 * What `npm test` needs from the machine, checked before any test runs (test/global-setup.ts): the system tools the
 * suites call and a Redis. On a fresh Debian/Ubuntu machine run as root it installs the missing packages itself and
 * starts a throw-away redis-server; anywhere else it stops at once with the one command to run, rather than letting
 * sixteen tests fail one by one. Everything it touches (PATH, the installer, the Redis URL) is a parameter so the
 * branches can be tested on a machine that already has the tools.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { redisAnswers } from '../common/redis.ts';
import { ensureTools, missingTools as missingOn, which, type Tool } from '../common/system-tools.ts';

export const TOOLS: Tool[] = [
  { bin: 'redis-server', pkg: 'redis-server', why: 'Redis for the workers and proxy tests (and their outage tests)' },
  { bin: 'gifsicle', pkg: 'gifsicle', why: 'GIF → GIF in the media proxy' },
  { bin: 'avifdec', pkg: 'libavif-bin', why: 'the fallback AVIF decoder' },
  { bin: 'avifenc', pkg: 'libavif-bin', why: 'AVIF fixtures' },
  { bin: 'opusinfo', pkg: 'opus-tools', why: 'checking Ogg Opus output with an independent tool' },
  { bin: 'opusdec', pkg: 'opus-tools', why: 'decoding Ogg Opus output with an independent tool' },
  { bin: 'chromium', pkg: 'chromium', why: 'headless Chromium for the voice-in-the-browser tests (playwright-core)' },
];

/** The tools this suite lacks on `searchPath` (all of TOOLS by default). */
export function missingTools(searchPath: string, tools = TOOLS): Tool[] {
  return missingOn(searchPath, tools);
}

export { which };

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
  const checked = ensureTools(tools, {
    searchPath: o.searchPath,
    isRoot: o.isRoot,
    purpose: 'npm test',
    ...(o.install ? { install: o.install } : {}),
  });
  if (!checked.ok) return checked;
  const installed = checked.installed;
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
