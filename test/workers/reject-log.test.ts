import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Registry } from '../../common/metrics.ts';
import { WorkerFleet } from '../../workers/fleet.ts';
import { WorkerMetrics } from '../../workers/metrics.ts';
import { Producers } from '../../workers/producer.ts';
import { finishedJob, obliterateAll, REDIS_URL, testConfig, uniquePrefix } from './helpers.ts';

const prefix = uniquePrefix('rlog');
const connection = { url: REDIS_URL, maxRetriesPerRequest: null };
const lines: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'warn' },
  new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  }),
);
const registry = new Registry();
const producers = new Producers({ connection, prefix, attempts: 3, backoffMs: 100, logger, registry });

afterAll(async () => {
  await obliterateAll(producers);
  await producers.close();
});

describe('a flood of bad jobs', () => {
  it('counts every rejection but logs one line per code and interval', async () => {
    const fleet = new WorkerFleet({
      connection,
      config: testConfig(prefix, { WORKERS_QUEUES: 'audio', WORKERS_CONCURRENCY_AUDIO: '2' }),
      logger,
      metrics: new WorkerMetrics(registry, () => [producers.queues.audio]),
    });
    await fleet.waitUntilReady();
    const jobs = await producers.queues.audio.addBulk(
      Array.from({ length: 8 }, (_, i) => ({ name: 'transcode', data: { bogus: i } })),
    );
    for (const j of jobs)
      expect((await finishedJob(producers.queues.audio, j.id!)).failedReason).toMatch(/^invalid_data: /);
    for (let i = 0; i < 5; i++)
      await expect(producers.addAudio({} as never)).rejects.toMatchObject({ code: 'invalid_data' });
    await fleet.close();
    const text = await registry.metrics();
    expect(text).toMatch(/resound_workers_job_failures_total\{queue="audio",code="invalid_data",final="true"\} 8/);
    expect(text).toMatch(/resound_workers_rejected_jobs_total\{queue="audio"\} 5/);
    expect(lines.filter((l) => l.msg === 'job attempt failed' && l.code === 'invalid_data')).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'job data rejected at enqueue')).toHaveLength(1);
  });
});
