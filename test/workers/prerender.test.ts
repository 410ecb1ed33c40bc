import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../common/redis.ts';
import { MediaService, detectImage, loadMediaProxyConfig } from '../../media-proxy/index.ts';
import { prerenderHookFromEnv } from '../../workers/index.ts';
import { defaultVariants } from '../../workers/prerender-hook.ts';
import type { PrerenderResult } from '../../workers/processors/prerender.ts';
import { animatedEmoji, staticEmoji } from '../../workers/sample-pack.ts';
import { finishedJob, quietLogger, REDIS_URL, tempDir, testConfig, uniquePrefix, useFleet } from './helpers.ts';

const prefix = uniquePrefix('prerender');
// The sandboxed children build their own media proxy from the environment: point both at the same folders and keys.
process.env.RESOUND_DATA_DIR = tempDir('prerender-data');
process.env.MEDIA_PROXY_REDIS_PREFIX = `${prefix}:mp:`;
const redis = createRedis(REDIS_URL);
let proxy: MediaService;

beforeAll(() => {
  proxy = new MediaService({
    config: loadMediaProxyConfig(process.env, process.env.RESOUND_DATA_DIR!),
    redis,
    logger: quietLogger,
  });
});

afterAll(async () => {
  await proxy.close();
  const keys = await redis.keys(`${prefix}:mp:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});
// Declared after the proxy's hooks: started after it, and (afterAll hooks run in reverse) stopped before it.
const workers = useFleet(prefix, testConfig(prefix, { WORKERS_QUEUES: 'prerender' }), { attempts: 2 });

const finished = (id: string): Promise<Job> => finishedJob(workers.producers.queues.prerender, id);

describe('prerender queue', () => {
  it('warms the media proxy result cache so the first request is a hit', async () => {
    const original = await staticEmoji(42, 256);
    const hash = await proxy.store.put(original);
    const id = await workers.producers.addPrerender({
      hash,
      ref: 'attachments/1/2',
      variants: [
        { format: 'webp', width: 64 },
        { format: 'png', width: 128 },
      ],
    });
    const j = await finished(id);
    expect(j.failedReason).toBeUndefined();
    const r = j.returnvalue as PrerenderResult;
    expect(r).toMatchObject({ hash, warmed: 2, errors: 0 });
    for (const o of r.outcomes) expect(await proxy.cache.get(o.key)).toBeDefined();
    const again = await proxy.warm(hash, [{ format: 'webp', width: 64 }]);
    expect(again[0].cache).toBe('hit');
  }, 60_000);

  it('enqueues from the upload hook with common sizes, once per original', async () => {
    const original = await animatedEmoji(7, 200, 3);
    const hash = await proxy.store.put(original);
    const detect = detectImage(original);
    const variants = defaultVariants({ kind: 'attachment', detect }, [64, 320]);
    expect(variants).toEqual([
      { format: 'webp', width: 64, animated: true },
      { format: 'webp', animated: true },
    ]);
    const { hook, close } = prerenderHookFromEnv(
      { WORKERS_PREFIX: prefix, WORKERS_PRERENDER_WIDTHS: '64,320' },
      tempDir('hook'),
      REDIS_URL,
      quietLogger,
    );
    await hook({ kind: 'attachment', ref: 'attachments/1/3', hash, detect });
    await hook({ kind: 'attachment', ref: 'attachments/1/3', hash, detect });
    await close();
    const jobs = (await workers.producers.queues.prerender.getJobs(['waiting', 'active', 'completed'])).filter(
      (x) => x.data.hash === hash,
    );
    expect(jobs).toHaveLength(1);
    const j = await finished(jobs[0].id!);
    expect((j.returnvalue as PrerenderResult).warmed).toBe(2);
  }, 60_000);

  it('fails a job for an original the store does not have, as source_missing without retries', async () => {
    const id = await workers.producers.addPrerender({
      hash: 'f'.repeat(64),
      variants: [{ format: 'webp', width: 32 }],
    });
    const j = await finished(id);
    expect(j.failedReason).toMatch(/^source_missing: /);
    expect(j.attemptsMade).toBe(1);
  }, 60_000);
});
