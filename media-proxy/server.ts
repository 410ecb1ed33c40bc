import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { HttpError, createHttpServer } from '../common/http.ts';
import type { HttpLimits } from '../common/connection-guard.ts';
import { RateLimitedLog } from '../common/logger.ts';
import { Registry } from '../common/metrics.ts';
import { Coalescer } from './cache/coalesce.ts';
import { normalizeRequest, resultKey } from './cache/keys.ts';
import { ResultCache, type CachedMeta } from './cache/result-cache.ts';
import type { MediaProxyConfig } from './config.ts';
import { detectImage } from './detect/index.ts';
import { MediaError, isMediaError } from './errors.ts';
import { Gate, checkDetected } from './limits.ts';
import { createProxyMetrics, type ProxyMetrics } from './metrics.ts';
import { FsOriginStore, type OriginRef, type OriginStore } from './origin-store.ts';
import { registerServeRoutes } from './routes/serve.ts';
import { registerUploadRoutes } from './routes/upload.ts';
import { GifsiclePool } from './transform/gifsicle-pool.ts';
import { transformDetected, validateRequest } from './transform/pipeline.ts';
import type { DetectResult, TransformRequest, TransformResult } from './types.ts';

function metaOf(r: TransformResult): CachedMeta {
  const { data, ...facts } = r;
  return { ...facts, size: data.length };
}

/** Told about every stored original; the workers part uses it to enqueue pre-render jobs. */
export interface UploadEvent {
  kind: OriginRef['kind'];
  /** Ref key, e.g. `attachments/<channel>/<id>`, `emojis/<id>`, `avatars/<user>/<hash>`. */
  ref: string;
  hash: string;
  detect: DetectResult;
}

export interface MediaProxyOptions {
  config: MediaProxyConfig;
  redis: Redis;
  logger: Logger;
  registry?: Registry;
  store?: OriginStore;
  onUpload?: (event: UploadEvent) => void | Promise<void>;
  /** HTTP timeouts and connection caps (RESOUND_HTTP_*). */
  httpLimits?: HttpLimits;
}

export interface Rendered {
  key: string;
  data: Buffer;
  meta: CachedMeta;
  cache: 'hit' | 'miss' | 'coalesced';
}

export interface WarmOutcome {
  key: string;
  request: TransformRequest;
  cache: Rendered['cache'] | 'error';
  bytes?: number;
  error?: { code: string; message: string };
}

/**
 * The proxy as an object: origin store, result cache, coalescer, admission gate and the fastify app serving them.
 * Workers construct one without listening and call `warm()` to pre-render variants.
 */
export class MediaProxy {
  readonly app: FastifyInstance;
  /** /metrics and /healthz for operators; `resound start proxy` listens on it at RESOUND_INTERNAL_BIND. */
  readonly internal: FastifyInstance;
  readonly store: OriginStore;
  readonly cache: ResultCache;
  readonly gate: Gate;
  readonly gifsicle: GifsiclePool;
  readonly metrics: ProxyMetrics;
  readonly registry: Registry;
  readonly log: RateLimitedLog;
  readonly coalescer = new Coalescer<{ result: TransformResult }>();
  private readonly fresh = new Map<string, TransformResult>();
  private readonly writing = new Map<string, Promise<void>>();
  private readonly uploadHooks: ((e: UploadEvent) => void | Promise<void>)[] = [];

  constructor(readonly opts: MediaProxyOptions) {
    const c = opts.config;
    sharp.concurrency(c.sharp.concurrency);
    sharp.cache(c.sharp.cacheMb > 0 ? { memory: c.sharp.cacheMb, items: 100, files: 20 } : false);
    this.registry = opts.registry ?? new Registry();
    this.metrics = createProxyMetrics(this.registry);
    this.store = opts.store ?? new FsOriginStore(c.originDir);
    this.cache = new ResultCache(opts.redis, c.cacheDir, c.redisPrefix, c.cacheMaxBytes, (n) =>
      this.metrics.evictions.inc(n),
    );
    this.gate = new Gate(c.concurrency, c.queueSize);
    this.gifsicle = new GifsiclePool({
      binary: c.gifsicle.path,
      size: c.gifsicle.pool,
      queueSize: c.queueSize,
      timeoutMs: c.limits.timeoutMs,
      maxOutputBytes: c.limits.maxInputBytes,
    });
    this.log = new RateLimitedLog(opts.logger);
    if (opts.onUpload) this.uploadHooks.push(opts.onUpload);
    const health = async () => ({
      redis: await opts.redis.ping(),
      gifsicle: this.gifsicle.available,
      queued: this.gate.queued,
    });
    this.app = createHttpServer({
      part: 'proxy',
      logger: opts.logger,
      registry: this.registry,
      bodyLimit: c.limits.maxInputBytes + 64 * 1024,
      limits: opts.httpLimits,
      metrics: false,
      health,
    });
    this.internal = createHttpServer({
      part: 'proxy',
      logger: opts.logger,
      registry: this.registry,
      limits: opts.httpLimits,
      health,
    });
    // Errors must not be cached by the CDN as if they were the image.
    this.app.addHook('onSend', async (_req, reply, payload) => {
      if (reply.statusCode >= 400) {
        reply.header('cache-control', 'no-store');
        reply.removeHeader('etag');
      }
      return payload;
    });
    registerServeRoutes(this.app, this);
    registerUploadRoutes(this.app, this);
  }

  get config(): MediaProxyConfig {
    return this.opts.config;
  }

  /** Adds an upload listener (e.g. the workers' pre-render enqueuer). */
  onUpload(hook: (e: UploadEvent) => void | Promise<void>): void {
    this.uploadHooks.push(hook);
  }

  async emitUpload(e: UploadEvent): Promise<void> {
    for (const hook of this.uploadHooks) {
      try {
        await hook(e);
      } catch (err) {
        this.log.warn(
          'upload-hook',
          { err: (err as Error).message, ref: e.ref },
          'upload hook failed; the upload itself succeeded',
        );
      }
    }
  }

  /** Cache → coalesce → gate → transform → cache. `req` must already be normalised (see normalizeRequest). */
  async render(hash: string, d: DetectResult, req: TransformRequest, key = resultKey(hash, req)): Promise<Rendered> {
    validateRequest(req, this.config.limits);
    const hit = await this.cache.get(key).catch((err: Error) => this.cacheDown(err));
    if (hit) return { key, data: hit.data, meta: hit.meta, cache: 'hit' };
    const fresh = this.fresh.get(key);
    if (fresh) return { key, data: fresh.data, meta: metaOf(fresh), cache: 'hit' };
    checkDetected(d, this.config.limits);
    const before = this.coalescer.joined;
    const flight = this.coalescer.run(key, () => this.transform(hash, d, req, key));
    const joined = this.coalescer.joined > before;
    if (joined) this.metrics.coalesced.inc();
    const { result } = await flight;
    return { key, data: result.data, meta: metaOf(result), cache: joined ? 'coalesced' : 'miss' };
  }

  /** Resolves when every result-cache write started so far has landed (tests, shutdown, pre-rendering). */
  async flush(): Promise<void> {
    await Promise.all(this.writing.values());
  }

  private async transform(
    hash: string,
    d: DetectResult,
    req: TransformRequest,
    key: string,
  ): Promise<{ result: TransformResult }> {
    const original = await this.store.get(hash);
    if (!original) throw new MediaError('not_found', 'the original for this asset is missing from the origin store');
    this.metrics.queue.set(this.gate.queued);
    const result = await this.gate.run(async () => {
      this.metrics.active.set(this.gate.active);
      const end = this.metrics.transformSeconds.startTimer({ format: req.format });
      try {
        return await transformDetected(original, d, req, this.config.limits, { gifsicle: this.gifsicle });
      } finally {
        end();
        this.metrics.active.set(this.gate.active - 1);
      }
    });
    this.metrics.transforms.inc({ format: req.format });
    // The answer does not wait for the disk + Redis write; until it lands, `fresh` serves the result from memory.
    this.fresh.set(key, result);
    const write = this.cache
      .put(key, result)
      .catch((err: Error) => void this.cacheDown(err))
      .finally(() => {
        this.fresh.delete(key);
        this.writing.delete(key);
      });
    this.writing.set(key, write);
    return { result };
  }

  /**
   * Pre-renders variants of an original into the result cache without HTTP (the workers' `prerender` queue). Each
   * variant is normalised exactly as the routes do, so a later request for the same variant is a cache hit.
   */
  async warm(originalHash: string, variants: TransformRequest[]): Promise<WarmOutcome[]> {
    const original = await this.store.get(originalHash);
    if (!original) throw new MediaError('not_found', `no original ${originalHash} in the origin store`);
    const d = detectImage(original);
    const out: WarmOutcome[] = [];
    for (const v of variants) {
      const request = normalizeRequest(v, d);
      const key = resultKey(originalHash, request);
      try {
        validateRequest(v, this.config.limits);
        const r = await this.render(originalHash, d, request, key);
        await this.writing.get(key); // pre-rendering is done only when the result is in the cache
        out.push({ key, request, cache: r.cache, bytes: r.data.length });
      } catch (err) {
        if (!isMediaError(err)) throw err;
        this.reject(err, { route: 'warm', hash: originalHash });
        out.push({ key, request, cache: 'error', error: { code: err.code, message: err.message } });
      }
    }
    return out;
  }

  /** Without Redis (or the cache disk) images are still served, just uncached: a cache outage must not be an outage. */
  private cacheDown(err: Error): undefined {
    this.metrics.cacheErrors.inc();
    this.log.warn('cache-down', { err: err.message }, 'result cache unavailable; serving uncached');
    return undefined;
  }

  /** Counts and logs (rate-limited) a refusal, then returns it as the HTTP error the shared handler renders. */
  reject(err: MediaError, ctx: Record<string, unknown>): HttpError {
    this.metrics.rejections.inc({ code: err.code });
    this.log.warn(`reject:${err.code}`, { code: err.code, ...ctx, reason: err.message }, 'media request refused');
    return new HttpError(err.statusCode, err.code, err.message, err.headers);
  }

  async close(): Promise<void> {
    await this.flush();
    await Promise.all([this.app.close(), this.internal.close()]);
  }
}
