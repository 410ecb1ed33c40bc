import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../../common/metrics.ts';
import { WorkerFleet } from '../../workers/fleet.ts';
import { WorkerMetrics } from '../../workers/metrics.ts';
import { Producers } from '../../workers/producer.ts';
import { finishedJob, obliterateAll, quietLogger, REDIS_URL, testConfig, uniquePrefix } from './helpers.ts';

const prefix = uniquePrefix('hang');
const config = testConfig(prefix, { WORKERS_QUEUES: 'audio', WORKERS_JOB_TIMEOUT_MS: '1500', WORKERS_CONCURRENCY_AUDIO: '2' });
const connection = { url: REDIS_URL, maxRetriesPerRequest: null };
const registry = new Registry();
let producers: Producers;
let fleet: WorkerFleet;

beforeAll(async () => {
  producers = new Producers({ connection, prefix, attempts: 2, backoffMs: 100, logger: quietLogger, registry });
  fleet = new WorkerFleet({
    connection,
    config,
    logger: quietLogger,
    metrics: new WorkerMetrics(registry, () => Object.values(producers.queues)),
    processorFiles: { audio: fileURLToPath(new URL('./fixtures/hang-processor.ts', import.meta.url)) },
  });
  await fleet.waitUntilReady();
});

afterAll(async () => {
  await fleet.close();
  await obliterateAll(producers);
  await producers.close();
});

describe('fault: a processor that hangs', () => {
  it('is killed at the timeout, retried with backoff, then failed (not left active), and the worker keeps serving', async () => {
    const q = producers.queues.audio;
    const hung = await q.add('transcode', { hang: true }, { attempts: 2, backoff: { type: 'exponential', delay: 100 } });
    const failed = await finishedJob(q, hung.id!);
    expect(await q.getJobState(hung.id!)).toBe('failed');
    expect(failed.attemptsMade).toBe(2);
    expect(failed.failedReason).toMatch(/^timeout: the processor did not finish within 1500 ms/);
    expect(await q.getActiveCount()).toBe(0);
    expect(await registry.metrics()).toMatch(/resound_workers_job_failures_total\{queue="audio",code="timeout",final="false"\} 1/);
    expect(await registry.metrics()).toMatch(/resound_workers_job_failures_total\{queue="audio",code="timeout",final="true"\} 1/);

    const ok = await q.add('transcode', { hang: false });
    const done = await finishedJob(q, ok.id!);
    expect(done.returnvalue).toMatch(/^ok:\d+$/);
  }, 90_000);
});
