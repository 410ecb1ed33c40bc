import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerFleet } from '../../workers/fleet.ts';
import { packStatus } from '../../workers/pack-progress.ts';
import { scanPack } from '../../workers/pack-scan.ts';
import { Producers } from '../../workers/producer.ts';
import { writeSamplePack } from '../../workers/sample-pack.ts';
import {
  quietLogger,
  startDedicatedRedis,
  tempDir,
  testConfig,
  treeOf,
  uniquePrefix,
  waitFor,
  type DedicatedRedis,
} from './helpers.ts';

let redis: DedicatedRedis;

beforeAll(async () => {
  redis = await startDedicatedRedis();
});

afterAll(async () => {
  await redis?.stop();
});

describe('fault: Redis restarts in the middle of a pack', () => {
  it('loses no job: the pack completes with every emoji', async () => {
    const prefix = uniquePrefix('redis');
    const connection = { url: redis.url, maxRetriesPerRequest: null };
    const dir = tempDir('redis-pack');
    const out = tempDir('redis-out');
    await writeSamplePack(dir, 12, { seed: 5, frames: 8 });
    const producers = new Producers({ connection, prefix, attempts: 3, backoffMs: 100, logger: quietLogger });
    const fleet = new WorkerFleet({
      connection,
      config: testConfig(prefix, { WORKERS_QUEUES: 'emoji' }),
      logger: quietLogger,
    });
    await fleet.waitUntilReady();
    const input = await scanPack(dir, { outDir: out, sizes: [16, 32, 48, 64, 96, 128], maxBytes: 1_000_000 });
    const { packId, childIds } = await producers.addEmojiPack(input);
    const before = await waitFor('some emojis done', async () => {
      const s = await packStatus(producers.queues.emoji, packId);
      return s && s.done >= 2 ? s : undefined;
    });
    await redis.restart();
    expect(before.done).toBeLessThan(12);
    const status = await waitFor(
      'pack to complete after the restart',
      async () => {
        const s = await packStatus(producers.queues.emoji, packId).catch(() => undefined);
        return s?.state === 'completed' ? s : undefined;
      },
      120_000,
    );
    expect(status.summary).toMatchObject({ total: 12, completed: 12, failed: 0 });
    for (const id of childIds) expect(await (await producers.queues.emoji.getJob(id))?.getState()).toBe('completed');
    const names = new Set([...treeOf(out).keys()].map((rel) => rel.split('/')[0]));
    expect([...names].sort()).toEqual(input.emojis.map((e) => e.name).sort());
    await fleet.close();
    await producers.close();
  }, 120_000);
});
