/**
 * The machine check that runs before the suite (test/preflight.ts), on a machine that already has every tool: PATHs
 * that hide them stand in for a fresh machine, and an installer that links the real binaries into the hidden PATH
 * stands in for apt-get (which this machine cannot reach the network for).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, redisAnswers } from '../common/redis.ts';
import { missingTools, preflight, TOOLS, which } from './preflight.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const realPath = process.env.PATH ?? '';
const ALL = 'redis-server, gifsicle, avifdec, avifenc, opusinfo, opusdec, chromium';
const PKGS = 'redis-server gifsicle libavif-bin opus-tools chromium';

/** A PATH holding only node (and, optionally, apt-get): what a fresh machine looks like to the check. */
function freshPath(withApt: boolean): string {
  const dir = fs.mkdtempSync(path.join(process.env.RESOUND_TEST_DATA_DIR!, 'fresh-path-'));
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  if (withApt) fs.symlinkSync(which('apt-get', realPath) ?? '/usr/bin/apt-get', path.join(dir, 'apt-get'));
  return dir;
}

const ROOT = path.resolve(import.meta.dirname, '..');

/** Runs node with `args` in the repository on a PATH without any tool; its exit code and stdout + stderr. */
async function runOnFreshMachine(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, PATH: freshPath(false), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, out };
}

describe('npm test on a fresh machine', () => {
  it('finds every tool on this machine and none on a PATH that hides them', () => {
    expect(missingTools(realPath)).toEqual([]);
    expect(missingTools(freshPath(false)).map((t) => t.bin)).toEqual(TOOLS.map((t) => t.bin));
  });

  it('without root, stops with the one line to run', async () => {
    const r = await preflight({ searchPath: freshPath(true), isRoot: false, redisUrl: REDIS_URL });
    expect(r).toEqual({
      ok: false,
      message: `npm test needs ${ALL} (${PKGS.replaceAll(' ', ', ')}); run: sudo apt-get install -y ${PKGS}`,
    });
  });

  it('as root without apt-get, names the packages to install', async () => {
    const r = await preflight({ searchPath: freshPath(false), isRoot: true, redisUrl: REDIS_URL });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(new RegExp(`; run: apt-get install -y ${PKGS}$`));
  });

  it('as root with apt-get, installs exactly the missing packages and goes on', async () => {
    const dir = freshPath(true);
    const asked: string[][] = [];
    const r = await preflight({
      searchPath: dir,
      isRoot: true,
      redisUrl: REDIS_URL,
      install: (pkgs) => {
        asked.push(pkgs);
        for (const t of TOOLS.filter((x) => pkgs.includes(x.pkg)))
          fs.symlinkSync(which(t.bin, realPath)!, path.join(dir, t.bin));
        return true;
      },
    });
    expect(asked).toEqual([PKGS.split(' ')]);
    expect(r).toEqual({ ok: true, installed: PKGS.split(' ') });
  });

  it('reports what is still missing when the install fails', async () => {
    const r = await preflight({ searchPath: freshPath(true), isRoot: true, redisUrl: REDIS_URL, install: () => false });
    expect(!r.ok && r.message).toMatch(/^npm test needs redis-server, .*; run: apt-get install -y /);
  });

  it('starts a throw-away redis-server when REDIS_URL is unset and nothing answers; an explicit URL must answer', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const r = await preflight({ searchPath: realPath, isRoot: true, redisUrl: undefined, defaultRedisUrl: url });
    expect(r.ok && r.redis).toBeTruthy();
    expect(await redisAnswers(url)).toBe(true);
    if (r.ok) r.redis?.kill('SIGKILL');
    const dead = `redis://127.0.0.1:${await freePort()}`;
    expect(await preflight({ searchPath: realPath, isRoot: true, redisUrl: dead })).toEqual({
      ok: false,
      message: `npm test needs Redis at REDIS_URL=${dead}, which does not answer; start it there`,
    });
  });

  it('the test command itself stops before any test with that line, not with scattered failures', async () => {
    const vitest = path.join(ROOT, 'node_modules/vitest/vitest.mjs');
    const { code, out } = await runOnFreshMachine([vitest, 'run', 'test/common'], { RESOUND_TEST_DATA_DIR: '' });
    expect(code).toBe(1);
    expect(out).toContain(`npm test needs ${ALL} (${PKGS.replaceAll(' ', ', ')}); run: apt-get install -y ${PKGS}\n`);
    expect(out).not.toMatch(/Test Files|passed|failed/);
  }, 60_000);

  it('a benchmark that calls gifsicle stops at once on a machine without it, with the line to run', async () => {
    const { code, out } = await runOnFreshMachine(['--import', 'tsx', path.join(ROOT, 'bin/bench.ts'), 'proxy']);
    expect(code).toBe(2);
    const run = process.getuid?.() === 0 ? 'apt-get' : 'sudo apt-get';
    expect(out).toBe(`npm run bench -- proxy needs gifsicle (gifsicle); run: ${run} install -y gifsicle\n`);
  }, 60_000);

  it('npm ci leaves the clone clean: the CLI entry is committed with the executable bit npm gives it', () => {
    const r = spawnSync('git', ['ls-files', '--stage', 'bin/resound.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.stdout).toMatch(/^100755 /);
  });
});
