/**
 * What `resound audio convert` and `resound emoji convert` share around their own work: the --workers choice, the
 * CLI's quiet logger, Redis (started when none answers), fail-fast producers, a worker in this process when no fleet
 * consumes the queue, and the teardown in reverse order.
 */
import type { CommonConfig } from '../../common/config.ts';
import { rootLogger, type Logger } from '../../common/logger.ts';
import { ensureRedis, type RedisHandle } from '../../common/redis.ts';
import type { WorkersConfig } from '../config.ts';
import { WorkerFleet } from '../fleet.ts';
import { failFastProducers, type Producers } from '../producer.ts';
import { plural, UsageError } from './cli-args.ts';

/** --workers: auto (a local worker only when none consumes the queue), local (always) or fleet (never). */
export function checkWorkersMode(mode: string | undefined): void {
  if (!['auto', 'local', 'fleet'].includes(mode ?? 'auto'))
    throw new UsageError(`--workers=${JSON.stringify(mode)}: choose auto, local or fleet`);
}

/** The progress display is the CLI's report; JSON log lines would tear through it, so only errors are logged. */
export function cliLogger(common: CommonConfig): Logger {
  return rootLogger(['info', 'warn'].includes(common.LOG_LEVEL) ? 'error' : common.LOG_LEVEL);
}

export interface ConvertSession {
  redis: RedisHandle;
  producers: Producers;
  /** Set by startLocalWorkerIfIdle when this process converts. */
  fleet?: WorkerFleet;
}

export async function openConvertSession(
  common: CommonConfig,
  config: WorkersConfig,
  logger: Logger,
): Promise<ConvertSession> {
  const redis = await ensureRedis(common.REDIS_URL, common.RESOUND_DATA_DIR, logger, {
    onWaiting: (m) => process.stdout.write(`${m}\n`),
  });
  // Reads for the progress display fail fast while Redis is away, so the display can say so instead of freezing.
  return { redis, producers: failFastProducers(redis.url, 2000, config, logger) };
}

/**
 * Runs a worker for `queue` in this process when --workers says local, or auto and none is consuming; otherwise says
 * how many `items` go to the fleet.
 */
export async function startLocalWorkerIfIdle(
  session: ConvertSession,
  queue: 'audio' | 'emoji',
  mode: string | undefined,
  config: WorkersConfig,
  logger: Logger,
  items: string,
): Promise<void> {
  const consuming = await session.producers.queues[queue].getWorkersCount();
  if (mode === 'local' || (mode === 'auto' && consuming === 0)) {
    process.stdout.write(
      `no worker is consuming "${config.WORKERS_PREFIX}" ${queue} jobs; converting in this process\n`,
    );
    session.fleet = new WorkerFleet({
      connection: { url: session.redis.url, maxRetriesPerRequest: null },
      config: { ...config, WORKERS_QUEUES: [queue] },
      logger,
    });
    await session.fleet.waitUntilReady();
  } else {
    process.stdout.write(`handing ${items} to the worker fleet (${plural(consuming, 'worker')} connected)\n`);
  }
}

export async function closeConvertSession(session: ConvertSession): Promise<void> {
  await session.fleet?.close();
  await session.producers.close();
  await session.redis.close();
}
