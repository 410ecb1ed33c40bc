import { FlowProducer, Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { z } from 'zod';
import { RateLimitedLog, type Logger } from '../common/logger.ts';
import { failFastRedisOptions, watchRedis } from '../common/redis.ts';
import { Counter, type Registry } from '../common/metrics.ts';
import { QUEUE_NAMES, type QueueName, type WorkersConfig } from './config.ts';
import {
  JOB_NAMES,
  audioJobData,
  emojiJobData,
  jobIdFor,
  packJobData,
  prerenderJobData,
  type AudioJobData,
  type EmojiJobData,
  type PackJobData,
  type PrerenderJobData,
} from './queues.ts';

/** A producer's data failed its schema: nothing was enqueued. */
export class JobDataError extends Error {
  readonly code = 'invalid_data';
  constructor(
    readonly queue: QueueName,
    readonly issues: string[],
  ) {
    super(`invalid_data: ${queue} job rejected: ${issues.join('; ')}`);
    this.name = 'JobDataError';
  }
}

export interface ProducerOptions {
  connection: ConnectionOptions;
  prefix: string;
  attempts: number;
  backoffMs: number;
  logger: Logger;
  registry?: Registry;
}

export interface EmojiPackInput {
  pack: PackJobData;
  emojis: EmojiJobData[];
}

/** Retries with exponential backoff; finished jobs kept long enough for dashboards and re-runs to find them. */
export function jobOptions(o: Pick<ProducerOptions, 'attempts' | 'backoffMs'>): JobsOptions {
  return {
    attempts: o.attempts,
    backoff: { type: 'exponential', delay: o.backoffMs },
    removeOnComplete: { age: 7 * 86_400, count: 100_000 },
    removeOnFail: { age: 30 * 86_400 },
  };
}

/** Every way work enters the queues; each add validates its data first and derives the job id from content. */
export class Producers {
  readonly queues: Record<QueueName, Queue>;
  private readonly flows: FlowProducer;
  private readonly rejected: Counter<'queue'>;
  private readonly rlog: RateLimitedLog;

  constructor(private readonly opts: ProducerOptions) {
    const base = { connection: opts.connection, prefix: opts.prefix };
    this.queues = Object.fromEntries(QUEUE_NAMES.map((q) => [q, new Queue(q, base)])) as Record<QueueName, Queue>;
    this.flows = new FlowProducer(base);
    for (const q of Object.values(this.queues)) watchRedis(q, opts.logger, `queue:${q.name}`);
    watchRedis(this.flows, opts.logger, 'flows');
    this.rejected = new Counter({
      name: 'resound_workers_rejected_jobs_total',
      help: 'Jobs refused at enqueue because their data failed validation',
      labelNames: ['queue'],
      registers: opts.registry ? [opts.registry] : [],
    });
    this.rlog = new RateLimitedLog(opts.logger);
  }

  private check<S extends z.ZodType>(queue: QueueName, schema: S, data: unknown): z.infer<S> {
    const r = schema.safeParse(data);
    if (r.success) return r.data;
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    this.rejected.inc({ queue });
    this.rlog.warn(`reject:${queue}`, { queue, issues }, 'job data rejected at enqueue');
    throw new JobDataError(queue, issues);
  }

  async addAudio(data: AudioJobData): Promise<string> {
    const d = this.check('audio', audioJobData, data);
    const id = jobIdFor('audio', 'ogg', { sha256: d.sha256, input: d.input, bitrate: d.bitrate, outDir: d.outDir });
    const job = await this.queues.audio.add(JOB_NAMES.audio, d, { ...jobOptions(this.opts), jobId: id });
    return job.id ?? id;
  }

  async addPrerender(data: PrerenderJobData): Promise<string> {
    const d = this.check('prerender', prerenderJobData, data);
    const id = jobIdFor('prerender', 'warm', { hash: d.hash, variants: d.variants });
    const job = await this.queues.prerender.add(JOB_NAMES.prerender, d, { ...jobOptions(this.opts), jobId: id });
    return job.id ?? id;
  }

  /**
   * A pack is a flow: the parent `pack` job waits for one `emoji` child per file and then writes the summary. A
   * child that fails does not block its parent (ignoreDependencyOnFailure); the summary lists it instead.
   */
  async addEmojiPack(input: EmojiPackInput): Promise<{ packId: string; childIds: string[] }> {
    const pack = this.check('emoji', packJobData, input.pack);
    const emojis = input.emojis.map((e) => this.check('emoji', emojiJobData, e));
    const childIds = emojis.map((e) => jobIdFor('emoji', 'one', { ...e, source: undefined }));
    const packId = jobIdFor('emoji', 'pack', { pack, children: childIds });
    const opts = jobOptions(this.opts);
    await this.flows.add({
      name: JOB_NAMES.pack,
      queueName: 'emoji',
      data: pack,
      opts: { ...opts, jobId: packId },
      children: emojis.map((e, i) => ({
        name: JOB_NAMES.emoji,
        queueName: 'emoji',
        data: e,
        opts: { ...opts, jobId: childIds[i], ignoreDependencyOnFailure: true },
      })),
    });
    return { packId, childIds };
  }

  async close(): Promise<void> {
    await Promise.all([...Object.values(this.queues).map((q) => q.close()), this.flows.close()]);
  }
}

/**
 * Producers with this part's prefix and retry settings whose commands fail after `failFastMs` while Redis is away,
 * for callers that must keep answering (HTTP endpoints, upload hooks, the CLI's progress display) instead of hanging.
 */
export function failFastProducers(
  redisUrl: string,
  failFastMs: number,
  config: Pick<WorkersConfig, 'WORKERS_PREFIX' | 'WORKERS_ATTEMPTS' | 'WORKERS_BACKOFF_MS'>,
  logger: Logger,
): Producers {
  return new Producers({
    connection: { url: redisUrl, ...failFastRedisOptions(failFastMs) },
    prefix: config.WORKERS_PREFIX,
    attempts: config.WORKERS_ATTEMPTS,
    backoffMs: config.WORKERS_BACKOFF_MS,
    logger,
  });
}
