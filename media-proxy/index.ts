/**
 * The media proxy's public face. Other parts (the workers' pre-render queue) and `bin/` import only from here; this part
 * imports no other part.
 */
import { httpLimitsOf } from '../common/connection-guard.ts';
import { listenHttp, logListening } from '../common/http.ts';
import type { PartContext, PartStarter, RunningPart } from '../common/part.ts';
import { createFailFastRedis, redisReady } from '../common/redis.ts';
import { loadMediaProxyConfig, type MediaProxyConfig } from './config.ts';
import { configureSharp, createMediaApp, createMediaInternalApp } from './server.ts';
import { MediaService } from './service.ts';

export { detectImage } from './detect/index.ts';
export { transformImage } from './transform/pipeline.ts';
export { toneMapToSdr, pqEotf, pqInverseEotf, hlgInverseOetf, eetf } from './transform/tone-map.ts';
export { MediaError, isMediaError, MEDIA_ERRORS, type MediaErrorCode } from './errors.ts';
export { DEFAULT_LIMITS, CONTENT_TYPES } from './types.ts';
export type {
  DetectResult,
  HdrInfo,
  Cicp,
  InputFormat,
  OutputFormat,
  Fit,
  Limits,
  TransformRequest,
  TransformResult,
} from './types.ts';
export {
  MediaService,
  type MediaServiceOptions,
  type MediaServiceEvents,
  type UploadEvent,
  type WarmOutcome,
  type Rendered,
  type Resolved,
} from './service.ts';
export { mediaRoutes, type MediaRoutesOptions } from './routes/index.ts';
export { configureSharp, createMediaApp, createMediaInternalApp } from './server.ts';
export { loadMediaProxyConfig, mediaProxyShape, type MediaProxyConfig } from './config.ts';
export { FsOriginStore, sha256, type OriginStore, type OriginRef } from './origin-store.ts';
export { normalizeRequest, resultKey, SIZE_BUCKETS } from './cache/keys.ts';
export { signPath, signedUrl, verifySignature } from './signing.ts';

/** A running proxy: what `resound start` keeps, plus the service and config so `bin/` can wire other parts to it. */
export interface MediaProxyPart extends RunningPart {
  service: MediaService;
  config: MediaProxyConfig;
}

/** `resound start proxy`: the HTTP origin a CDN sits in front of. Wiring to other parts is `bin/`'s job. */
export async function startMediaProxy(ctx: PartContext): Promise<MediaProxyPart> {
  const config = loadMediaProxyConfig(ctx.env, ctx.common.RESOUND_DATA_DIR, ctx.common.RESOUND_BIND);
  configureSharp(config.sharp);
  const handle = await ctx.redis();
  const logger = ctx.logger.child({ part: 'proxy' });
  // Cache commands fail fast while Redis is away (the proxy then serves uncached and /healthz says 503 at once).
  const redis = createFailFastRedis(handle.url, logger, 'proxy-cache');
  await redisReady(redis, 2000);
  const service = new MediaService({ config, redis, logger });
  await service.start();
  const limits = httpLimitsOf(ctx.common);
  const app = await createMediaApp(service, logger, limits);
  const internalApp = createMediaInternalApp(service, logger, limits);
  const url = await listenHttp(app, {
    listener: 'media proxy',
    variable: 'MEDIA_PROXY_PORT',
    host: config.bind,
    port: config.port,
  });
  logListening(ctx.logger, 'proxy', url, {
    gifsicle: service.gifsicle.binary ?? null,
    concurrency: config.concurrency,
  });
  const internal = await listenHttp(internalApp, {
    listener: 'media proxy internal',
    variable: 'MEDIA_PROXY_INTERNAL_PORT',
    host: ctx.common.RESOUND_INTERNAL_BIND,
    port: config.internalPort,
  }).catch(async (err: unknown) => {
    await app.close();
    throw err;
  });
  logListening(ctx.logger, 'proxy', internal, { internal: true, serves: ['/metrics'] });
  return {
    name: 'proxy',
    urls: { http: url, internal },
    service,
    config,
    // Stop taking requests, then let the service finish its cache writes, then drop its Redis connection.
    close: async () => {
      await Promise.all([app.close(), internalApp.close()]);
      await service.close();
      redis.disconnect();
    },
  };
}

export const start: PartStarter = startMediaProxy;
