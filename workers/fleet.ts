import { fileURLToPath } from 'node:url';
import type { ConnectionOptions, Job } from 'bullmq';
import { RateLimitedLog, type Logger } from '../common/logger.ts';
import { watchRedis } from '../common/redis.ts';
import { concurrencyOf, type QueueName, type WorkersConfig } from './config.ts';
import { failureCode } from './errors.ts';
import type { WorkerMetrics } from './metrics.ts';
import { finishPack } from './pack-summary.ts';
import { updatePackProgress } from './pack-progress.ts';
import { JOB_NAMES } from './queues.ts';
import { pathGuard } from './path-roots.ts';
import { SandboxedWorker } from './sandboxed-worker.ts';

/** Processor files, one per queue; each runs in BullMQ's child processes. */
export const PROCESSOR_FILES: Record<QueueName, string> = {
  emoji: fileURLToPath(new URL('./processors/emoji.ts', import.meta.url)),
  prerender: fileURLToPath(new URL('./processors/prerender.ts', import.meta.url)),
  audio: fileURLToPath(new URL('./processors/audio.ts', import.meta.url)),
};

export interface FleetOptions {
  connection: ConnectionOptions;
  config: WorkersConfig;
  logger: Logger;
  metrics?: WorkerMetrics;
  /** Tests swap in a misbehaving processor file for one queue. */
  processorFiles?: Partial<Record<QueueName, string>>;
}

/**
 * The workers of one process. Any number of such processes, on any number of machines, may consume the same queues:
 * BullMQ's locks hand each job to one of them, and stalled-job recovery gives a dead process's jobs to the others.
 */
export class WorkerFleet {
  readonly workers: SandboxedWorker[] = [];
  private closing?: Promise<{ handedBack: number }>;

  constructor(private readonly opts: FleetOptions) {
    const c = opts.config;
    const rlog = new RateLimitedLog(opts.logger);
    const admit = pathGuard(c.pathRoots);
    for (const q of c.WORKERS_QUEUES) {
      const inProcess: Record<string, (job: Job) => Promise<unknown>> = {};
      // eslint-disable-next-line prefer-const -- the pack handler runs only after the worker below exists
      let w: SandboxedWorker;
      if (q === 'emoji') inProcess[JOB_NAMES.pack] = (job: Job) => finishPack(job, w, opts.logger);
      w = new SandboxedWorker(q, opts.processorFiles?.[q] ?? PROCESSOR_FILES[q], {
        connection: opts.connection,
        prefix: c.WORKERS_PREFIX,
        concurrency: concurrencyOf(c, q),
        timeoutMs: c.WORKERS_JOB_TIMEOUT_MS,
        lockDuration: c.WORKERS_LOCK_MS,
        stalledInterval: c.WORKERS_STALLED_INTERVAL_MS,
        maxStalledCount: c.WORKERS_MAX_STALLED,
        inProcess,
        admit,
      });
      watchRedis(w, opts.logger, `worker:${q}`);
      w.on('failed', (job, err) => {
        if (!job) return;
        const code = failureCode(err.message);
        // Keyed by queue and code: a pack of a thousand corrupt files logs one line per interval, not a thousand.
        rlog.warn(
          `failed:${q}:${code}`,
          { queue: q, id: job.id, code, attempt: job.attemptsMade, reason: err.message },
          'job attempt failed',
        );
      });
      if (q === 'emoji') {
        const progress = (job: Job | undefined) => {
          if (job?.name === JOB_NAMES.emoji && job.parent) void updatePackProgress(w, job).catch(() => {});
        };
        w.on('completed', progress);
        w.on('failed', progress);
      }
      opts.metrics?.observe(w);
      this.workers.push(w);
    }
  }

  async waitUntilReady(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  /**
   * Stops taking jobs and lets active ones finish for up to `graceMs`; past that it kills the children and moves
   * their jobs back to waiting (attempt not counted) for another worker. In-process jobs (a pack's summary) are
   * short; if one is still running it is left to stalled-job recovery. Resolves with how many jobs were handed back.
   */
  close(graceMs = this.opts.config.WORKERS_SHUTDOWN_GRACE_MS): Promise<{ handedBack: number }> {
    this.closing ??= (async () => {
      const graceful = Promise.all(this.workers.map((w) => w.close())).then(() => true);
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)));
      const clean = await Promise.race([graceful, expired]);
      clearTimeout(timer);
      let handedBack = 0;
      if (!clean) {
        this.opts.logger.warn({ graceMs }, 'active jobs did not finish in the shutdown grace; handing them back');
        for (const n of await Promise.all(this.workers.map((w) => w.handBack()))) handedBack += n;
        const settled = await Promise.race([
          graceful,
          new Promise<false>((r) => setTimeout(() => r(false), 5000).unref()),
        ]);
        if (!settled) await Promise.all(this.workers.map((w) => w.close(true)));
      }
      return { handedBack };
    })();
    return this.closing;
  }
}
