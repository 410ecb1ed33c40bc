import type { Env } from '../common/config.ts';
import type { Logger } from '../common/logger.ts';
import type { PartStarter, RunningPart } from '../common/part.ts';
import type { UploadEvent } from '../media-proxy/index.ts';
import { secretFromConfigOrDataDir } from '../common/secrets.ts';
import { httpLimitsOf } from '../common/connection-guard.ts';
import { loadWorkersConfig, type WorkersConfig } from './config.ts';
import { WorkerFleet } from './fleet.ts';
import { prerenderOnUpload } from './prerender-hook.ts';
import { failFastProducers } from './producer.ts';
import type { AudioJobData } from './queues.ts';
import { startWorkersServer } from './server.ts';

export { loadWorkersConfig, QUEUE_NAMES, type QueueName, type WorkersConfig } from './config.ts';
export { Producers, JobDataError, type EmojiPackInput } from './producer.ts';
export { sha256Of } from './queues.ts';
export { WorkerFleet, PROCESSOR_FILES } from './fleet.ts';
export { packStatus, type PackStatus } from './pack-progress.ts';
export { prerenderOnUpload, defaultVariants } from './prerender-hook.ts';
export { scanPack, emojiNameFor } from './pack-scan.ts';
export { emojiCommand } from './cli/emoji-command.ts';
export { audioCommand } from './cli/audio-command.ts';
export { writeSamplePack } from './sample-pack.ts';
export { renderEmoji } from './emoji-render.ts';
export { SandboxedWorker, type SandboxedWorkerOptions } from './sandboxed-worker.ts';
export { writeFileAtomic } from './atomic-write.ts';
export type { EmojiResult, PackSummary, PackFailure } from './emoji-types.ts';
export type { AudioJobData, EmojiJobData, PrerenderJobData } from './queues.ts';
export {
  parseWav,
  parseS16le,
  encodeWav16,
  encodePcm16Wav,
  AudioInputError,
  type Pcm,
  type AudioErrorCode,
} from './audio/wav.ts';

/**
 * Audio job data for a stored upload with this part's settings (output folder, bitrate, length limit); pass it to
 * `Producers.addAudio`. The caller hashes the file it already holds, so the worker can tell if it changed.
 */
export function audioJob(
  config: WorkersConfig,
  upload: { source: string; sha256: string; input: AudioJobData['input']; purpose: AudioJobData['purpose'] },
): AudioJobData {
  return {
    ...upload,
    outDir: config.audioOutDir,
    bitrate: config.WORKERS_AUDIO_BITRATE,
    maxSeconds: config.WORKERS_AUDIO_MAX_SECONDS,
    maxBytes: config.WORKERS_AUDIO_MAX_BYTES,
  };
}

/**
 * `resound start workers`: this process's workers for WORKERS_QUEUES plus the HTTP server (dashboard, /metrics,
 * /healthz). Start it on as many machines as you like against one Redis; they share the queues.
 */
export const start: PartStarter = async (ctx) => {
  const config = loadWorkersConfig(ctx.env, ctx.common.RESOUND_DATA_DIR);
  const logger = ctx.logger.child({ part: 'workers' });
  const redis = await ctx.redis();
  const connection = { url: redis.url, maxRetriesPerRequest: null };
  // The dashboard, /metrics and /healthz read the queues through these: they fail fast while Redis is away, so the
  // HTTP endpoints still answer (the blocking worker connections above wait it out instead).
  const producers = failFastProducers(redis.url, 500, config, logger);
  const token = secretFromConfigOrDataDir(
    config.WORKERS_ADMIN_TOKEN,
    ctx.common.RESOUND_DATA_DIR,
    'workers-admin-token',
    'WORKERS_ADMIN_TOKEN',
  );
  // The dashboard and /metrics are operator surfaces: they listen on the internal interface.
  const server = await startWorkersServer({
    host: ctx.common.RESOUND_INTERNAL_BIND,
    port: config.WORKERS_PORT,
    redisUrl: redis.url,
    token,
    producers,
    logger,
    listenLogger: ctx.logger,
    httpLimits: httpLimitsOf(ctx.common),
    dashboardWritable: config.WORKERS_DASHBOARD_WRITABLE,
  });
  const fleet = new WorkerFleet({ connection, config, logger, metrics: server.metrics });
  await fleet.waitUntilReady();
  logger.info({ queues: config.WORKERS_QUEUES, prefix: config.WORKERS_PREFIX }, 'workers consuming');
  const running: RunningPart = {
    name: 'workers',
    urls: { http: server.url, dashboard: `${server.url}/admin/queues` },
    close: async () => {
      const { handedBack } = await fleet.close();
      await server.close();
      await producers.close();
      return { jobs: handedBack };
    },
  };
  return running;
};

/**
 * For `bin/`'s wiring: a listener for the media service's `upload` event that enqueues pre-render jobs using this part's
 * configuration (prefix, retries, attachment widths). `close` releases its Redis connections.
 */
export function prerenderHookFromEnv(
  env: Env,
  dataDir: string,
  redisUrl: string,
  logger: Logger,
): { hook: (e: UploadEvent) => Promise<void>; close(): Promise<void> } {
  const config = loadWorkersConfig(env, dataDir);
  // Fail fast: an upload while Redis is away succeeds without its pre-render instead of hanging on the enqueue.
  const producers = failFastProducers(redisUrl, 500, config, logger);
  return { hook: prerenderOnUpload(producers, config.WORKERS_PRERENDER_WIDTHS), close: () => producers.close() };
}
