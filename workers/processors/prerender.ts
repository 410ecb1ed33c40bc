import type { SandboxedJob } from 'bullmq';
import { loadCommonConfig } from '../../common/config.ts';
import { rootLogger } from '../../common/logger.ts';
import { DEFAULT_REDIS_URL, createRedis, watchRedis } from '../../common/redis.ts';
import {
  MediaService,
  configureSharp,
  isMediaError,
  loadMediaProxyConfig,
  type WarmOutcome,
} from '../../media-proxy/index.ts';
import { JobInputError } from '../errors.ts';
import { prerenderJobData } from '../queues.ts';
import { parseJobData } from './input.ts';

export interface PrerenderResult {
  hash: string;
  outcomes: WarmOutcome[];
  warmed: number;
  errors: number;
}

let service: MediaService | undefined;

/**
 * One media service per child process, with no HTTP app: `warm()` runs the proxy's own resolve → cache → transform
 * path, so what we put in its result cache is exactly what a later CDN request would have produced. This child owns
 * its process, so it applies sharp's settings, once.
 */
function mediaService(): MediaService {
  if (!service) {
    const common = loadCommonConfig();
    const config = loadMediaProxyConfig(process.env, common.RESOUND_DATA_DIR, common.RESOUND_BIND);
    configureSharp(config.sharp);
    const logger = rootLogger(common.LOG_LEVEL).child({ part: 'workers', queue: 'prerender' });
    // The parent resolved REDIS_URL (and exports a private child's URL) before forking this sandbox. Unlike the
    // proxy's request path, a pre-render job waits out a Redis outage: its whole point is the cache entry.
    const redis = createRedis(common.REDIS_URL ?? DEFAULT_REDIS_URL);
    watchRedis(redis, logger, 'prerender-cache');
    service = new MediaService({ config, redis, logger });
  }
  return service;
}

/** Sandboxed processor of the `prerender` queue: warms the media service's result cache for a freshly uploaded original. */
export default async function processPrerender(job: SandboxedJob): Promise<PrerenderResult> {
  const data = parseJobData(prerenderJobData, job.data);
  const outcomes: WarmOutcome[] = [];
  // One variant per call so progress moves as each lands in the cache.
  for (const [i, variant] of data.variants.entries()) {
    try {
      outcomes.push(...(await mediaService().warm(data.hash, [variant])));
    } catch (err) {
      if (isMediaError(err) && err.code === 'not_found') throw new JobInputError('source_missing', err.message);
      if (isMediaError(err)) throw new JobInputError('invalid_image', `${err.code}: ${err.message}`);
      throw err;
    }
    await job.updateProgress(Math.round(((i + 1) / data.variants.length) * 100));
  }
  const errors = outcomes.filter((o) => o.cache === 'error');
  // A transient refusal (overload, timeout) is worth a retry; a variant the image cannot have is not.
  const transient = errors.find(
    (o) =>
      o.error && ['overloaded', 'transform_timeout', 'gifsicle_unavailable', 'gifsicle_failed'].includes(o.error.code),
  );
  if (transient) throw new Error(`internal: media proxy ${transient.error?.code}: ${transient.error?.message}`);
  return { hash: data.hash, outcomes, warmed: outcomes.length - errors.length, errors: errors.length };
}
