import type { Job } from 'bullmq';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { startProxy } from '../../bin/compose.ts';
import { loadCommonConfig } from '../../common/config.ts';
import { createRedis } from '../../common/redis.ts';
import {
  finishedJob,
  quietLogger,
  REDIS_URL,
  tempDir,
  testConfig,
  uniquePrefix,
  useFleet,
} from '../workers/helpers.ts';

/**
 * The composition root wires two parts that do not know each other: the media proxy's upload events to the workers'
 * pre-render queue. Real proxy listening on a port, real BullMQ workers in sandboxed children, real Redis.
 */
const prefix = uniquePrefix('compose');
const dataDir = tempDir('compose-data');
// The sandboxed pre-render children build their media service from the environment: same folders and keys as ours.
process.env.RESOUND_DATA_DIR = dataDir;
process.env.MEDIA_PROXY_REDIS_PREFIX = `${prefix}:mp:`;

afterAll(async () => {
  const redis = createRedis(REDIS_URL);
  const keys = await redis.keys(`${prefix}:mp:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});
// Declared after the key clean-up so its teardown (afterAll hooks run in reverse) stops the fleet first.
const workers = useFleet(prefix, testConfig(prefix, { WORKERS_QUEUES: 'prerender' }), { attempts: 2 });

async function start(extra: Record<string, string> = {}) {
  const env = {
    ...process.env,
    WORKERS_PREFIX: prefix,
    MEDIA_PROXY_PORT: '0',
    MEDIA_PROXY_SIGNING_SECRET: 'test-secret-0123456789abcdef',
    ...extra,
  };
  return startProxy({
    env,
    common: loadCommonConfig(env),
    logger: quietLogger,
    redis: async () => ({ url: REDIS_URL, close: async () => {} }),
  });
}

async function uploadAvatar(base: string, user: string, seed: number): Promise<{ avatar: string; hash: string }> {
  const png = await sharp({ create: { width: 300, height: 300, channels: 3, background: { r: seed, g: 90, b: 200 } } })
    .png()
    .toBuffer();
  const form = new FormData();
  form.append('file', new Blob([png]), 'me.png');
  const up = await fetch(`${base}/avatars/${user}`, { method: 'POST', body: form });
  expect(up.status).toBe(200);
  return (await up.json()) as { avatar: string; hash: string };
}

const jobsFor = async (avatar: string): Promise<Job[]> =>
  (await workers.producers.queues.prerender.getJobs(['waiting', 'active', 'completed', 'failed'])).filter((x) =>
    String(x.data.ref).includes(avatar),
  );

describe('bin/ composition root', () => {
  it('wires upload events to the pre-render queue: an uploaded avatar is warmed under its CDN keys', async () => {
    const running = await start();
    const base = running.urls.http;
    try {
      const { avatar, hash } = await uploadAvatar(base, '80351110224678912', 10);
      let job: Job | undefined;
      // The enqueue runs beside the upload's answer; poll the queue (a positive signal) until it shows up.
      while (!job) {
        job = (await jobsFor(avatar))[0];
        if (!job) await new Promise((r) => setTimeout(r, 20));
      }
      const done = await finishedJob(workers.producers.queues.prerender, job.id!);
      expect(done.data.hash).toBe(hash);
      expect((done.returnvalue as { errors: number }).errors).toBe(0);
      for (const size of [80, 128]) {
        const res = await fetch(`${base}/avatars/80351110224678912/${avatar}.webp?size=${size}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('x-resound-cache')).toBe('hit');
      }
    } finally {
      await running.close();
    }
  }, 60_000);

  it('MEDIA_PROXY_PRERENDER=false leaves the wire out: uploads enqueue nothing', async () => {
    const running = await start({ MEDIA_PROXY_PRERENDER: 'false' });
    let avatar: string;
    try {
      ({ avatar } = await uploadAvatar(running.urls.http, '80351110224678913', 20));
    } finally {
      await running.close();
    }
    expect(await jobsFor(avatar)).toEqual([]);
  }, 60_000);
});
