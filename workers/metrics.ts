import type { Job, Queue, Worker } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from '../common/metrics.ts';
import { failureCode } from './errors.ts';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'waiting-children', 'prioritized'] as const;

/**
 * Queue depth is read from Redis at scrape time (so any fleet member's /metrics shows the whole queue); latency and
 * failures are counted by the worker that ran the job.
 */
export class WorkerMetrics {
  readonly wait: Histogram<'queue'>;
  readonly duration: Histogram<'queue' | 'name' | 'outcome'>;
  readonly failures: Counter<'queue' | 'code' | 'final'>;
  readonly stalled: Counter<'queue'>;

  constructor(
    readonly registry: Registry,
    queues: () => Queue[],
  ) {
    const registers = [registry];
    new Gauge({
      name: 'resound_workers_queue_jobs',
      help: 'Jobs per queue and state, read from Redis at scrape time',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        for (const q of queues()) {
          // Redis away: leave the series out rather than fail the whole scrape (the process's own figures still count).
          const counts = await q.getJobCounts(...STATES).catch(() => undefined);
          if (!counts) {
            for (const s of STATES) this.remove({ queue: q.name, state: s });
            continue;
          }
          for (const s of STATES) this.set({ queue: q.name, state: s }, counts[s] ?? 0);
        }
      },
    });
    this.wait = new Histogram({
      name: 'resound_workers_job_wait_seconds',
      help: 'Time from enqueue (or last retry) to a worker taking the job',
      labelNames: ['queue'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    });
    this.duration = new Histogram({
      name: 'resound_workers_job_duration_seconds',
      help: 'Processing time of one attempt',
      labelNames: ['queue', 'name', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers,
    });
    this.failures = new Counter({
      name: 'resound_workers_job_failures_total',
      help: 'Failed attempts by stable code; final="true" when the job is out of retries or the input was rejected',
      labelNames: ['queue', 'code', 'final'],
      registers,
    });
    this.stalled = new Counter({
      name: 'resound_workers_stalled_jobs_total',
      help: 'Jobs whose worker died or hung past its lock and were handed to another worker',
      labelNames: ['queue'],
      registers,
    });
  }

  observe(worker: Worker): void {
    const queue = worker.name;
    worker.on('active', (job: Job) => {
      // First attempts only: a retry's wait is mostly its own backoff delay, which is policy, not latency.
      if (job.attemptsMade === 0)
        this.wait.observe({ queue }, Math.max(0, (job.processedOn ?? Date.now()) - job.timestamp) / 1000);
    });
    worker.on('completed', (job: Job) => {
      this.duration.observe({ queue, name: job.name, outcome: 'completed' }, spent(job));
    });
    worker.on('failed', (job: Job | undefined, err: Error) => {
      if (!job) return;
      this.duration.observe({ queue, name: job.name, outcome: 'failed' }, spent(job));
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError';
      this.failures.inc({ queue, code: failureCode(err.message), final: String(final) });
    });
    worker.on('stalled', () => this.stalled.inc({ queue }));
  }
}

function spent(job: Job): number {
  return Math.max(0, (job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now())) / 1000;
}
