/**
 * The media proxy's public face. Other parts (the workers' pre-render queue) import only from here.
 */
import type { AddressInfo } from 'node:net';
import { logListening } from '../common/http.ts';
import { httpLimitsOf } from '../common/connection-guard.ts';
import type { PartStarter } from '../common/part.ts';
import { createRedis } from '../common/redis.ts';
import { loadMediaProxyConfig } from './config.ts';
import { MediaProxy } from './server.ts';

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
export { MediaProxy, type MediaProxyOptions, type UploadEvent, type WarmOutcome, type Rendered } from './server.ts';
export { loadMediaProxyConfig, mediaProxyShape, type MediaProxyConfig } from './config.ts';
export { FsOriginStore, sha256, type OriginStore, type OriginRef } from './origin-store.ts';
export { normalizeRequest, resultKey } from './cache/keys.ts';
export { signPath, signedUrl, verifySignature } from './signing.ts';
export { SIZE_BUCKETS } from './routes/params.ts';

/** `resound start proxy`: the HTTP origin a CDN sits in front of. */
export const start: PartStarter = async (ctx) => {
  const config = loadMediaProxyConfig(ctx.env, ctx.common.RESOUND_DATA_DIR, ctx.common.RESOUND_BIND);
  const handle = await ctx.redis();
  // Fail cache commands fast while Redis is away (the proxy then serves uncached) instead of queueing them forever.
  const redis = createRedis(handle.url, { maxRetriesPerRequest: 1 });
  const logger = ctx.logger.child({ part: 'proxy' });
  const proxy = new MediaProxy({ config, redis, logger, httpLimits: httpLimitsOf(ctx.common) });
  // Uploads enqueue pre-render jobs for the workers part (which calls back into this part's public API to warm it).
  const prerender = config.prerenderOnUpload
    ? (await import('../workers/index.ts')).prerenderHookFromEnv(
        ctx.env,
        ctx.common.RESOUND_DATA_DIR,
        handle.url,
        logger,
      )
    : null;
  if (prerender) proxy.onUpload(prerender.hook);
  await proxy.app.listen({ port: config.port, host: config.bind });
  const { port } = proxy.app.server.address() as AddressInfo;
  const url = `http://${config.bind}:${port}`;
  logListening(ctx.logger, 'proxy', url, { gifsicle: proxy.gifsicle.binary ?? null, concurrency: config.concurrency });
  const internalBind = ctx.common.RESOUND_INTERNAL_BIND;
  await proxy.internal.listen({ port: config.internalPort, host: internalBind });
  const internal = `http://${internalBind}:${(proxy.internal.server.address() as AddressInfo).port}`;
  logListening(ctx.logger, 'proxy', internal, { internal: true, serves: ['/metrics'] });
  return {
    name: 'proxy',
    urls: { http: url, internal },
    close: async () => {
      await proxy.close();
      await prerender?.close();
      redis.disconnect();
    },
  };
};
