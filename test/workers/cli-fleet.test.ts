/**
 * `resound emoji convert --workers fleet` when the fleet misbehaves: it is there (and counted right), it died, or
 * Redis restarted without persistence under it. Real worker processes, real Redis (a private one when it must die).
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSamplePack } from '../../workers/sample-pack.ts';
import { ownRedis, ROOT, watch, type Watched } from '../ops/process.ts';
import { obliterateQueues, REDIS_URL, spawnWorkerProcess, tempDir, uniquePrefix } from './helpers.ts';

const prefix = uniquePrefix('cli-fleet');
const started: Watched[] = [];

afterAll(async () => {
  for (const w of started) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  await obliterateQueues(prefix);
});

function convert(dir: string, env: Record<string, string> = {}): Watched {
  const w = watch(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'bin', 'resound.ts'),
      'emoji',
      'convert',
      dir,
      '--workers',
      'fleet',
      '--sizes',
      '16',
    ],
    {
      env: {
        ...process.env,
        REDIS_URL,
        WORKERS_PREFIX: prefix,
        RESOUND_DATA_DIR: tempDir('cli-fleet-data'),
        ...env,
      },
    },
  );
  started.push(w);
  return w;
}

describe('emoji convert against a fleet', () => {
  it('counts one worker as "1 worker", and says so when no worker has taken a job for a while', async () => {
    const worker = await spawnWorkerProcess({
      WORKERS_PREFIX: prefix,
      WORKERS_QUEUES: 'emoji',
      RESOUND_DATA_DIR: tempDir('cli-fleet-worker'),
    });
    const first = tempDir('cli-fleet-pack1');
    await writeSamplePack(first, 2, { seed: 21, frames: 2 });
    const ok = convert(first);
    expect((await ok.exited).code).toBe(0);
    expect(ok.other).toContain('handing 2 emojis to the worker fleet (1 worker connected)');

    await worker.kill('SIGKILL'); // the whole fleet dies
    const second = tempDir('cli-fleet-pack2');
    await writeSamplePack(second, 2, { seed: 22, frames: 2 });
    const stuck = convert(second);
    await stuck.text(/^pack {2}\[\.+\] 0\/2 {2}no worker has taken a job for \d+ s$/, 60_000);
    stuck.child.kill('SIGTERM');
    await stuck.exited;
  }, 120_000);

  it('shows "Redis unreachable, retrying" in place while Redis is down, and after a restart that lost the pack says re-running resumes it', async () => {
    const redis = await ownRedis();
    await redis.start();
    try {
      const dir = tempDir('cli-fleet-pack3');
      await writeSamplePack(dir, 2, { seed: 23, frames: 2 });
      const cli = convert(dir, { REDIS_URL: redis.url });
      await cli.text(/^pack {2}\[/);
      await redis.kill();
      await cli.text(/^Redis unreachable, retrying \(\d+ s\)$/);
      await redis.start(); // empty: this server keeps nothing across restarts
      const { code } = await cli.exited;
      expect(code).toBe(1);
      expect(cli.stderr()).toMatch(/^pack job \S+ disappeared from the queue .*run the same command again to resume/);
      expect(cli.stderr()).not.toMatch(/ECONNREFUSED|\n\s+at /);
      expect(cli.other.filter((l) => l.startsWith('{'))).toEqual([]);
      expect(cli.lines).toEqual([]); // no JSON log lines tore through the display
    } finally {
      await redis.kill();
    }
  }, 120_000);
});
