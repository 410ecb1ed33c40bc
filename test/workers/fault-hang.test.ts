import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { finishedJob, testConfig, uniquePrefix, useFleet } from './helpers.ts';

const prefix = uniquePrefix('hang');
const config = testConfig(prefix, {
  WORKERS_QUEUES: 'audio',
  WORKERS_JOB_TIMEOUT_MS: '1500',
  WORKERS_CONCURRENCY_AUDIO: '2',
});
const t = useFleet(prefix, config, {
  attempts: 2,
  fleetOptions: { processorFiles: { audio: fileURLToPath(new URL('./fixtures/hang-processor.ts', import.meta.url)) } },
});

describe('fault: a processor that hangs', () => {
  it('is killed at the timeout, retried with backoff, then failed (not left active), and the worker keeps serving', async () => {
    const q = t.producers.queues.audio;
    const hung = await q.add(
      'transcode',
      { hang: true },
      { attempts: 2, backoff: { type: 'exponential', delay: 100 } },
    );
    const failed = await finishedJob(q, hung.id!);
    expect(await q.getJobState(hung.id!)).toBe('failed');
    expect(failed.attemptsMade).toBe(2);
    expect(failed.failedReason).toMatch(/^timeout: the processor did not finish within 1500 ms/);
    expect(await q.getActiveCount()).toBe(0);
    expect(await t.registry.metrics()).toMatch(
      /resound_workers_job_failures_total\{queue="audio",code="timeout",final="false"\} 1/,
    );
    expect(await t.registry.metrics()).toMatch(
      /resound_workers_job_failures_total\{queue="audio",code="timeout",final="true"\} 1/,
    );

    const ok = await q.add('transcode', { hang: false });
    const done = await finishedJob(q, ok.id!);
    expect(done.returnvalue).toMatch(/^ok:\d+$/);
  }, 90_000);
});
