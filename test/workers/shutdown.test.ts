import { describe, expect, it } from 'vitest';
import {
  finishedJob,
  spawnWorkerProcess,
  tempDir,
  toneAudioJob,
  uniquePrefix,
  useProducers,
  waitFor,
} from './helpers.ts';

const prefix = uniquePrefix('sigterm');
const producers = useProducers(prefix);

describe('graceful shutdown', () => {
  it('past the grace, SIGTERM hands the active job back to the queue without spending an attempt', async () => {
    const dir = tempDir('handback');
    const env = {
      WORKERS_PREFIX: prefix,
      WORKERS_QUEUES: 'audio',
      WORKERS_SHUTDOWN_GRACE_MS: '200',
      RESOUND_DATA_DIR: tempDir('handback-data'),
    };
    const first = await spawnWorkerProcess(env);
    const id = await producers.addAudio(toneAudioJob(dir, 'long.wav', 300));
    await waitFor('the job to be under way', async () => {
      const j = await producers.queues.audio.getJob(id);
      return typeof j?.progress === 'number' && j.progress > 5;
    });
    const exited = new Promise<number | null>((r) => first.child.once('exit', (code) => r(code)));
    first.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(first.lines.some((l) => l.includes('handing them back'))).toBe(true);
    expect(await producers.queues.audio.getJobState(id)).toBe('waiting');
    expect((await producers.queues.audio.getJob(id))?.attemptsMade).toBe(0);
    const second = await spawnWorkerProcess(env);
    const done = await finishedJob(producers.queues.audio, id);
    await second.kill('SIGTERM');
    expect(await producers.queues.audio.getJobState(id)).toBe('completed');
    expect(done.attemptsMade).toBe(1);
  }, 120_000);

  it('on SIGTERM a worker process finishes its active job, takes no new one, and exits 0', async () => {
    const dir = tempDir('sigterm');
    const job = (name: string, seconds: number) => toneAudioJob(dir, name, seconds);
    const worker = await spawnWorkerProcess({
      WORKERS_PREFIX: prefix,
      WORKERS_QUEUES: 'audio',
      WORKERS_CONCURRENCY_AUDIO: '1',
      RESOUND_DATA_DIR: tempDir('sigterm-data'),
    });
    const long = await producers.addAudio(job('long.wav', 240));
    await waitFor('the long job to be under way', async () => {
      const j = await producers.queues.audio.getJob(long);
      return typeof j?.progress === 'number' && j.progress > 5;
    });
    const later = [await producers.addAudio(job('a.wav', 1)), await producers.addAudio(job('b.wav', 1.5))];
    const exited = new Promise<number | null>((r) => worker.child.once('exit', (code) => r(code)));
    worker.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const done = await finishedJob(producers.queues.audio, long);
    expect(await producers.queues.audio.getJobState(long)).toBe('completed');
    expect(done.attemptsMade).toBe(1); // one attempt: finished, not retried elsewhere
    for (const id of later) expect(await producers.queues.audio.getJobState(id)).toBe('waiting');
    expect(worker.lines.some((l) => l.includes('"shutting down"'))).toBe(true);
  }, 90_000);
});
