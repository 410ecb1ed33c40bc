import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerFleet } from '../../workers/fleet.ts';
import { packStatus } from '../../workers/pack-progress.ts';
import { scanPack } from '../../workers/pack-scan.ts';
import type { Producers } from '../../workers/producer.ts';
import { writeSamplePack } from '../../workers/sample-pack.ts';
import {
  obliterateQueues,
  quietLogger,
  REDIS_URL,
  spawnWorkerProcess,
  tempDir,
  testConfig,
  testProducers,
  treeOf,
  uniquePrefix,
  waitFor,
} from './helpers.ts';
import type { Spawned } from '../../testkit/index.ts';

const SIZES = [16, 32, 48, 64, 96, 128];
const connection = { url: REDIS_URL, maxRetriesPerRequest: null };
const prefixes: string[] = [];
const spawned: Spawned[] = [];
let packDir: string;

function producersFor(prefix: string): Producers {
  prefixes.push(prefix);
  return testProducers(prefix);
}

async function runToCompletion(p: Producers, packId: string) {
  return waitFor(
    'pack to complete',
    async () => {
      const s = await packStatus(p.queues.emoji, packId);
      return s?.state === 'completed' ? s : undefined;
    },
    120_000,
  );
}

beforeAll(async () => {
  packDir = tempDir('kill-pack');
  await writeSamplePack(packDir, 12, { seed: 11, frames: 8 });
});

afterAll(async () => {
  for (const s of spawned) await s.kill();
  for (const prefix of prefixes.splice(0)) await obliterateQueues(prefix);
});

describe('fault: a worker process is SIGKILLed in the middle of a pack', () => {
  it('a new worker finishes the pack; every emoji is present once and byte-identical to a clean run', async () => {
    // The clean run: same pack, no faults, in this process.
    const cleanPrefix = uniquePrefix('kill-clean');
    const cleanOut = tempDir('kill-clean-out');
    const clean = producersFor(cleanPrefix);
    const fleet = new WorkerFleet({
      connection,
      config: testConfig(cleanPrefix, { WORKERS_QUEUES: 'emoji' }),
      logger: quietLogger,
    });
    const cleanPack = await clean.addEmojiPack(
      await scanPack(packDir, { outDir: cleanOut, sizes: SIZES, maxBytes: 1_000_000 }),
    );
    const cleanStatus = await runToCompletion(clean, cleanPack.packId);
    await fleet.close();
    await clean.close();
    expect(cleanStatus.summary).toMatchObject({ total: 12, completed: 12, failed: 0 });

    // The faulty run: a real worker process, killed with SIGKILL (with its sandbox children) mid-pack.
    const prefix = uniquePrefix('kill');
    const out = tempDir('kill-out');
    const env = {
      WORKERS_PREFIX: prefix,
      WORKERS_QUEUES: 'emoji',
      WORKERS_LOCK_MS: '3000',
      WORKERS_STALLED_INTERVAL_MS: '1000',
      RESOUND_DATA_DIR: tempDir('kill-data'),
    };
    const p = producersFor(prefix);
    const first = await spawnWorkerProcess(env);
    spawned.push(first);
    const { packId } = await p.addEmojiPack(
      await scanPack(packDir, { outDir: out, sizes: SIZES, maxBytes: 1_000_000 }),
    );
    const atKill = await waitFor('some emojis done', async () => {
      const s = await packStatus(p.queues.emoji, packId);
      return s && s.done >= 2 ? s : undefined;
    });
    await first.kill('SIGKILL');
    expect(atKill.done).toBeLessThan(12);

    const second = await spawnWorkerProcess(env);
    spawned.push(second);
    const status = await runToCompletion(p, packId);
    await second.kill('SIGTERM');
    expect(status.summary).toMatchObject({ total: 12, completed: 12, failed: 0 });

    const want = treeOf(cleanOut);
    const got = treeOf(out);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [rel, bytes] of want) expect(got.get(rel)!.equals(bytes), rel).toBe(true);
    expect(fs.readdirSync(out).filter((d) => fs.statSync(path.join(out, d)).isDirectory())).toHaveLength(12);
    const done = await p.queues.emoji.getJobs(['completed']);
    expect(done.filter((j) => j.name === 'emoji')).toHaveLength(12);
  }, 120_000);
});
